"""Large imports as background jobs, with progress.

The project has no job queue yet (see `probity.ledger.jobs`), so an import job is an asyncio task
in this process with its own session; its state and progress (rows validated, rows written) live
in this process's memory and are read with `GET /api/v1/finance/imports/jobs/{id}`. The write is
the same all-or-nothing transaction as a synchronous import.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.deps import commit
from probity.auth.permissions import Perm, Principal
from probity.errors import DomainError, NotFound
from probity.finance import importer
from probity.finance.service import check_tenant
from probity.models.base import utcnow

log = logging.getLogger("probity.finance.jobs")
SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]

_JOBS: dict[str, dict[str, Any]] = {}
_TASKS: set[asyncio.Task[None]] = set()
KEEP = 200  # finished jobs remembered per process


def pending() -> list[asyncio.Task[None]]:
    return [t for t in _TASKS if not t.done()]


def job_state(principal: Principal, job_id: str) -> dict[str, Any]:
    job = _JOBS.get(job_id)
    if job is None or job["user_id"] != principal.user_id:
        raise NotFound("no such import job")
    return {k: v for k, v in job.items() if k != "user_id"}


def _forget_old() -> None:
    done = [k for k, j in _JOBS.items() if j["state"] in ("done", "failed")]
    for k in done[:-KEEP]:
        _JOBS.pop(k, None)


async def start_import_job(session: AsyncSession, sessions: SessionFactory,
                           principal: Principal, *, tenant_id: int, kind: str, data: bytes,
                           filename: str, mapping: dict[str, str], ignore: list[str],
                           dry_run: bool) -> dict[str, Any]:
    await check_tenant(session, principal, tenant_id, Perm.finance_import)
    job_id = uuid.uuid4().hex
    job: dict[str, Any] = {
        "id": job_id, "user_id": principal.user_id, "tenant_id": tenant_id, "kind": kind,
        "filename": filename, "dry_run": dry_run, "state": "queued", "stage": None,
        "validated": 0, "written": 0, "to_write": None, "result": None, "error": None,
        "started_at": utcnow().isoformat(), "finished_at": None}
    _JOBS[job_id] = job
    _forget_old()

    def progress(stage: str, done: int, total: int) -> None:
        job["stage"] = stage
        if stage == "validate":
            job["validated"] = done
        else:
            job["written"], job["to_write"] = done, total

    async def run() -> None:
        job["state"] = "running"
        try:
            async with sessions() as s:
                headers, rows = importer.read_table(data, filename)
                plan = await importer.plan_import(s, tenant_id, kind, headers, rows,
                                                  mapping=mapping, ignore=ignore,
                                                  progress=progress)
                job["validated"] = plan.rows
                result: dict[str, Any] = {**plan.summary(), "dry_run": dry_run}
                if not dry_run:
                    job["to_write"] = len(plan.inserts)
                    batch, alerts = await importer.apply_plan(
                        s, plan, principal, source="file", filename=filename,
                        sha256=importer.digest(data), progress=progress)
                    await commit(s)
                    result |= {"import_id": batch.id, "new_alerts": alerts}
                job["result"], job["state"] = result, "done"
        except DomainError as exc:
            job["state"], job["error"] = "failed", {"code": exc.code, "detail": exc.message,
                                                    **exc.extra}
        except Exception as exc:  # the job must end in a state the caller can read
            log.exception("import job %s failed", job_id)
            job["state"], job["error"] = "failed", {"code": "internal", "detail": str(exc)}
        finally:
            job["finished_at"] = utcnow().isoformat()

    task = asyncio.create_task(run())
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)
    return job_state(principal, job_id)
