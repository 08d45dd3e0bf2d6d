"""Where jobs run: Dramatiq workers fed by a broker, an embedded worker, or inline in tests.

* ``PROBITY_BROKER_URL=redis://…`` (production): the app only sends messages; ``probity worker``
  processes run them and ``probity scheduler`` fires the schedules. Dramatiq's Redis broker keeps
  a delivered message on the worker's ack list until the task returns, and requeues the messages
  of a worker whose heartbeat stopped (killed, host lost), so a job interrupted mid-way runs
  again; retries back off exponentially.
* No broker (``make run``): the same actors on Dramatiq's in-memory broker, consumed by worker
  threads inside the app process (never on its event loop), and the schedules fire in the app.
  Messages are lost with the process, not the jobs: at start the embedded worker sends again
  every job its table says is unfinished (idempotent, so a repeat is harmless).
* Tests (``env=test``): jobs run as asyncio tasks of the test's loop with an overridable session
  factory, so they see the test's rolled-back transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage
from dramatiq.middleware.asyncio import AsyncIO

from probity.config import Settings
from probity.db import Database
from probity.jobs.context import SessionFactory
from probity.jobs.registry import TASKS, TaskSpec, get_task, load_tasks
from probity.jobs.service import execute_job, unfinished_job_ids

__all__ = [
    "DramatiqRuntime",
    "InlineRuntime",
    "Runtime",
    "current_runtime",
    "dispatch",
    "make_broker",
    "make_runtime",
    "set_runtime",
]

log = logging.getLogger("probity.jobs")


class Runtime(Protocol):
    async def dispatch(self, job_id: int, task: str) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


_current: Runtime | None = None


def set_runtime(runtime: Runtime | None) -> None:
    global _current
    _current = runtime


def current_runtime() -> Runtime:
    if _current is None:
        raise RuntimeError("no job runtime: create the app, or run `probity worker`")
    return _current


async def dispatch(job_id: int, task: str) -> None:
    """Send a committed job to whoever runs jobs in this process's configuration."""
    await current_runtime().dispatch(job_id, task)


class InlineRuntime:
    """Tests: dispatched jobs wait until the test calls :meth:`wait`, which runs them (one
    attempt each, no live progress) on the test's loop with :attr:`sessions` — like
    Dramatiq's StubBroker joined in a test, and never concurrently with a request on the
    test's shared session."""

    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions
        self.queued: list[int] = []
        self.outcomes: dict[int, str] = {}

    async def dispatch(self, job_id: int, task: str) -> None:
        self.queued.append(job_id)

    def pending(self) -> list[int]:
        return list(self.queued)

    async def wait(self) -> None:
        """Run every queued job, including jobs those jobs enqueue."""
        while self.queued:
            job_id = self.queued.pop(0)
            self.outcomes[job_id] = await execute_job(self.sessions, job_id, last_attempt=True,
                                                      live_progress=False)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


# --- Dramatiq ------------------------------------------------------------------------------

_worker_db: Database | None = None
_worker_db_url: str | None = None


def _worker_database() -> Database:
    """The worker's own engine, created on the loop Dramatiq runs async actors on."""
    global _worker_db
    if _worker_db is None:
        if _worker_db_url is None:
            raise RuntimeError("the worker has no database configured")
        _worker_db = Database(_worker_db_url)
    return _worker_db


def _actor_fn(spec: TaskSpec) -> Callable[[int], Coroutine[Any, Any, None]]:
    async def run(job_id: int) -> None:
        message = CurrentMessage.get_current_message()
        retries = int(message.options.get("retries", 0)) if message is not None else 0
        db = _worker_database()
        await execute_job(db.sessionmaker, job_id, last_attempt=retries >= spec.max_retries,
                          write_sessions=db.write_sessionmaker)

    run.__name__ = spec.actor_name
    run.__qualname__ = spec.actor_name
    return run


def make_broker(settings: Settings) -> dramatiq.Broker:
    """The broker for the configured URL (in-memory without one), with one actor per task."""
    global _worker_db_url
    _worker_db_url = settings.database_url
    broker: dramatiq.Broker
    url = settings.broker_url
    if url is None:
        broker = StubBroker()
    elif url.startswith(("redis://", "rediss://", "unix://")):
        from dramatiq.brokers.redis import RedisBroker

        # Every so often (maintenance_chance per million commands) a broker command looks
        # for workers silent longer than heartbeat_timeout and requeues their messages.
        broker = RedisBroker(  # type: ignore[no-untyped-call]
            url=url, namespace=f"{settings.redis_channel_prefix}-jobs",
            heartbeat_timeout=settings.jobs_heartbeat_timeout_ms,
            maintenance_chance=settings.jobs_maintenance_chance)
    else:
        raise ValueError("PROBITY_BROKER_URL must be a redis:// URL (or unset for the embedded "
                         "worker)")
    broker.add_middleware(AsyncIO())
    broker.add_middleware(CurrentMessage())
    load_tasks(settings.task_modules)
    for spec in TASKS.values():
        declare = dramatiq.actor(actor_name=spec.actor_name, queue_name=spec.queue,
                                 broker=broker, max_retries=spec.max_retries,
                                 min_backoff=spec.min_backoff_ms,
                                 max_backoff=spec.max_backoff_ms, time_limit=spec.time_limit_ms)
        declare(_actor_fn(spec))
    dramatiq.set_broker(broker)
    return broker


class DramatiqRuntime:
    """Sends jobs through a Dramatiq broker; with ``embedded=True`` it also runs worker
    threads and the schedules inside this process."""

    def __init__(self, settings: Settings, *, embedded: bool,
                 sessions: SessionFactory | None = None,
                 write_sessions: SessionFactory | None = None) -> None:
        self.settings = settings
        self.embedded = embedded
        self.broker = make_broker(settings)
        self.sessions = sessions
        # The schedules' enqueues (read the idempotency key, then INSERT): on SQLite their
        # transactions take the write lock first (`Database.write_sessionmaker`), so schedules
        # falling due in the same second wait for each other instead of failing "database is
        # locked" when one's read snapshot is overtaken by another's commit.
        self.write_sessions = write_sessions  # None: `sessions`
        self.worker: dramatiq.Worker | None = None
        self.scheduler: Any = None

    async def dispatch(self, job_id: int, task: str) -> None:
        actor = self.broker.get_actor(get_task(task).actor_name)
        if isinstance(self.broker, StubBroker):
            actor.send(job_id)
        else:
            await asyncio.to_thread(actor.send, job_id)

    def start_worker(self, threads: int) -> dramatiq.Worker:
        worker = dramatiq.Worker(self.broker, worker_threads=threads, worker_timeout=500)
        worker.start()
        self.worker = worker
        return worker

    async def start(self) -> None:
        if not self.embedded:
            return
        from probity.jobs.scheduler import JobScheduler

        self.start_worker(self.settings.jobs_worker_threads)
        if self.sessions is not None:
            async with self.sessions() as session:
                unfinished = await unfinished_job_ids(session)
            for job_id, task in unfinished:  # lost with the last process's memory broker
                await self.dispatch(job_id, task)
            if unfinished:
                log.info("embedded worker: %d unfinished job(s) sent again", len(unfinished))
            self.scheduler = JobScheduler(
                self.settings,
                self.sessions if self.write_sessions is None else self.write_sessions)
            self.scheduler.start()

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown()
            self.scheduler = None
        if self.worker is not None:
            worker, self.worker = self.worker, None
            await asyncio.to_thread(worker.stop, 10_000)
        global _worker_db
        if _worker_db is not None and self.embedded:
            db, _worker_db = _worker_db, None
            await _dispose_on_worker_loop(db)


async def _dispose_on_worker_loop(db: Database) -> None:
    try:
        await db.dispose()
    except Exception:  # its connections belong to the (stopped) worker loop
        log.debug("worker engine disposed with errors", exc_info=True)


def make_runtime(settings: Settings, db: Database) -> Runtime:
    runner = settings.jobs_runner or ("inline" if settings.env == "test" else "worker")
    if runner == "inline":
        return InlineRuntime(db.sessionmaker)
    return DramatiqRuntime(settings, embedded=settings.broker_url is None,
                           sessions=db.sessionmaker, write_sessions=db.write_sessionmaker)
