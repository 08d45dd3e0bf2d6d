"""Large finance imports as durable jobs, with progress (rows validated, rows written).

The upload is stored with the job (so any worker can read it) and cleared when the job ends.
The write is the same all-or-nothing transaction as a synchronous import, and it commits with
the job's ``done`` state, so a job re-delivered after a worker died writes its rows once.
A job is visible only to the user who started it, and only while the tenant is in their scope.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Perm, Principal
from probity.auth.scoping import tenant_in_scope
from probity.finance import importer
from probity.jobs import JobContext, enqueue, get_job, task
from probity.models.jobs import Job

__all__ = ["import_job_view", "read_import_job", "run_import", "start_import_job"]

TASK = "finance.import"


@task(TASK, perm=Perm.finance_import, owner_only=True)
async def run_import(ctx: JobContext, *, kind: str, filename: str, mapping: dict[str, str],
                     ignore: list[str], dry_run: bool) -> dict[str, Any]:
    def progress(stage: str, done: int, total: int) -> None:
        if stage == "validate":
            ctx.progress(done, None, stage=stage, validated=done)
        else:
            ctx.progress(done, total, stage=stage, written=done, to_write=total)

    assert ctx.tenant_id is not None
    data = await ctx.payload()
    headers, rows = importer.read_table(data, filename)
    plan = await importer.plan_import(ctx.db, ctx.tenant_id, kind, headers, rows,
                                      mapping=mapping, ignore=ignore, progress=progress)
    ctx.progress(plan.rows, None, stage="validate", validated=plan.rows)
    result: dict[str, Any] = {**plan.summary(), "dry_run": dry_run}
    if not dry_run:
        ctx.progress(0, plan.insert_count(), stage="write", written=0,
                     to_write=plan.insert_count())
        batch, alerts = await importer.apply_plan(
            ctx.db, plan, await ctx.principal(), source="file", filename=filename,
            sha256=importer.digest(data), progress=progress)
        result |= {"import_id": batch.id, "new_alerts": alerts}
    return result


async def start_import_job(session: AsyncSession, principal: Principal, *, tenant_id: int,
                           kind: str, data: bytes, filename: str, mapping: dict[str, str],
                           ignore: list[str], dry_run: bool) -> Job:
    await tenant_in_scope(session, principal, Perm.finance_import, tenant_id)
    return await enqueue(session, TASK, tenant_id=tenant_id, principal=principal, payload=data,
                         params={"kind": kind, "filename": filename, "mapping": mapping,
                                 "ignore": ignore, "dry_run": dry_run})


async def read_import_job(session: AsyncSession, principal: Principal, job_id: int) -> Job:
    job = await get_job(session, principal, job_id)
    if job.task != TASK:
        from probity.errors import NotFound

        raise NotFound("no such import job")
    return job


def import_job_view(job: Job) -> dict[str, Any]:
    """The import job's state as the API has always shown it."""
    params, detail = job.params or {}, job.progress_detail or {}
    return {
        "id": job.id, "tenant_id": job.tenant_id, "kind": params.get("kind"),
        "filename": params.get("filename"), "dry_run": params.get("dry_run"),
        "state": job.state, "stage": job.stage, "validated": detail.get("validated", 0),
        "written": detail.get("written", 0), "to_write": detail.get("to_write"),
        "result": job.result, "error": job.error, "attempts": job.attempts,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
