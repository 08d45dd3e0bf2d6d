"""Task and schedule registration: the one place a domain declares its background work.

A domain writes ``<domain>/tasks.py``::

    from probity.jobs import JobContext, schedule, task

    @task("governance.policy_replay", perm=Perm.policy_read)
    async def policy_replay(ctx: JobContext, *, policy_id: int) -> dict[str, Any]:
        ...
        ctx.progress(done, total, stage="replay")
        return {"replayed": n}

    schedule("analytics.rollup", "analytics.rollup", cron="15 2 * * *")

and adds its module to :data:`TASK_MODULES` (one line per domain). Both the app (which
enqueues) and the worker (which runs) import every module listed there.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from probity.auth.permissions import Perm

__all__ = [
    "SCHEDULES",
    "TASKS",
    "TASK_MODULES",
    "Schedule",
    "TaskFn",
    "TaskSpec",
    "get_task",
    "load_tasks",
    "schedule",
    "task",
]

# Registration point: every module that declares tasks or schedules (one line per domain).
TASK_MODULES: list[str] = [
    "probity.jobs.tasks",
    "probity.ledger.tasks",
    "probity.finance.tasks",
    "probity.cases.tasks",
    "probity.governance.tasks",
    "probity.onboarding.tasks",
    "probity.attendance.tasks",
    "probity.payroll.tasks",
    "probity.training.tasks",
    "probity.analytics.tasks",
    "probity.performance.tasks",
    "probity.imports.tasks",
    "probity.webhooks.tasks",
]

TaskFn = Callable[..., Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class TaskSpec:
    """A background task. ``fn(ctx, **params)`` must be idempotent: it may run again after a
    worker died mid-job, and its effects count only if they commit together with the job's
    ``done`` state (``ctx.session``'s transaction)."""

    name: str
    fn: TaskFn
    # Who may read the job besides the user who started it: the holders of ``perm`` whose
    # scope covers the job's tenant. ``owner_only`` jobs are visible to their starter alone.
    perm: Perm | None = None
    owner_only: bool = False
    max_retries: int = 3
    min_backoff_ms: int = 2_000
    max_backoff_ms: int = 300_000
    time_limit_ms: int = 2 * 3600 * 1000
    queue: str = "default"

    @property
    def actor_name(self) -> str:
        return "probity_" + self.name.replace(".", "_")


@dataclass(frozen=True)
class Schedule:
    """A recurring job: ``every`` (an interval) or ``cron`` (five fields, UTC)."""

    name: str
    task: str
    every: timedelta | None = None
    cron: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


TASKS: dict[str, TaskSpec] = {}
SCHEDULES: dict[str, Schedule] = {}


def task(name: str, *, perm: Perm | None = None, owner_only: bool = False,
         max_retries: int = 3, min_backoff_ms: int = 2_000, max_backoff_ms: int = 300_000,
         time_limit_ms: int = 2 * 3600 * 1000, queue: str = "default",
         ) -> Callable[[TaskFn], TaskFn]:
    """Register ``fn`` as the task ``name`` (dotted, ``<domain>.<what>``)."""

    def register(fn: TaskFn) -> TaskFn:
        existing = TASKS.get(name)
        if existing is not None and existing.fn is not fn:
            raise ValueError(f"task {name!r} is registered twice")
        TASKS[name] = TaskSpec(name=name, fn=fn, perm=perm, owner_only=owner_only,
                               max_retries=max_retries, min_backoff_ms=min_backoff_ms,
                               max_backoff_ms=max_backoff_ms, time_limit_ms=time_limit_ms,
                               queue=queue)
        return fn

    return register


def schedule(name: str, task_name: str, *, every: timedelta | None = None,
             cron: str | None = None, params: dict[str, Any] | None = None) -> Schedule:
    """Run ``task_name`` periodically. ``PROBITY_SCHEDULES`` may override the period per
    schedule name (seconds; 0 switches it off)."""
    if (every is None) == (cron is None):
        raise ValueError("a schedule needs exactly one of every= or cron=")
    entry = Schedule(name=name, task=task_name, every=every, cron=cron, params=params or {})
    SCHEDULES[name] = entry
    return entry


def load_tasks(extra: Sequence[str] = ()) -> None:
    """Import every task module, and ``extra`` ones (``PROBITY_TASK_MODULES``); idempotent."""
    for module in (*TASK_MODULES, *extra):
        importlib.import_module(module)


def get_task(name: str) -> TaskSpec:
    load_tasks()
    spec = TASKS.get(name)
    if spec is None:
        raise LookupError(f"no task named {name!r}")
    return spec
