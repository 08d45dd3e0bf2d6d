"""Jobs: enqueue (a row + a message after commit), read with scope, and execute once.

Delivery is at least once (a worker killed mid-job has its message re-delivered by the broker);
the effect is exactly once because a task's writes commit in the same transaction as the
conditional ``running → done`` update of its job row: a second delivery of a finished job does
nothing, and of two concurrent deliveries only the first commit counts.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from contextlib import suppress
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, func, literal, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.deps import after_commit, commit
from probity.auth.permissions import Principal
from probity.db import stale_snapshot
from probity.errors import DomainError, NotFound
from probity.jobs.context import JobContext, SessionFactory
from probity.jobs.registry import TaskSpec, get_task
from probity.models.base import UTCDateTime, utcnow
from probity.models.jobs import FINAL_STATES, Job

__all__ = [
    "HEARTBEAT_S",
    "enqueue",
    "execute_job",
    "get_job",
    "job_view",
    "list_jobs",
    "stalled_job_ids",
    "unfinished_job_ids",
    "worker_name",
]

log = logging.getLogger("probity.jobs")

HEARTBEAT_S = 0.5


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def enqueue(session: AsyncSession, task: str, *, params: dict[str, Any] | None = None,
                  tenant_id: int | None = None, principal: Principal | None = None,
                  key: str | None = None, payload: bytes | None = None) -> Job:
    """Create the job row (flush only) and send it to the workers once the caller commits.

    ``key`` makes the request idempotent: asking twice for the same key returns the first
    job. The caller checks permissions and scope before calling."""
    from probity.jobs.runtime import dispatch

    get_task(task)  # an unknown task is a programming error, refused before anything is stored
    if key is not None:
        existing = await session.scalar(select(Job).where(Job.idempotency_key == key))
        if existing is not None:
            return existing
    job = Job(task=task, idempotency_key=key, tenant_id=tenant_id,
              started_by_user_id=principal.user_id if principal else None,
              params=params or {}, payload=payload, state="queued", attempts=0,
              progress_done=0, created_at=utcnow())
    try:
        async with session.begin_nested():
            session.add(job)
            await session.flush()
    except IntegrityError:  # the same key, enqueued concurrently
        existing = await session.scalar(select(Job).where(Job.idempotency_key == key))
        if existing is None:
            raise
        return existing
    job_id = job.id

    async def send() -> None:
        await dispatch(job_id, task)

    after_commit(session, send)
    return job


async def get_job(session: AsyncSession, principal: Principal, job_id: int) -> Job:
    """The job, if the caller may see it: its tenant is in the scope of the task's read
    permission (owner-only tasks: and the caller started it). Otherwise 404."""
    from probity.auth.scoping import MAX_ID, tenant_in_scope

    job = await session.get(Job, job_id) if 0 < job_id <= MAX_ID else None
    if job is None:
        raise NotFound("no such job")
    spec = get_task(job.task)
    mine = job.started_by_user_id == principal.user_id
    if spec.perm is not None and job.tenant_id is not None:
        try:
            await tenant_in_scope(session, principal, spec.perm, job.tenant_id, body=False)
            visible = mine or not spec.owner_only
        except NotFound:
            visible = False
    else:
        visible = mine
    if not visible:
        raise NotFound("no such job")
    return job


async def list_jobs(session: AsyncSession, principal: Principal, limit: int = 50) -> list[Job]:
    """The jobs the caller started, newest first."""
    rows = await session.scalars(
        select(Job).where(Job.started_by_user_id == principal.user_id)
        .order_by(Job.id.desc()).limit(limit))
    return list(rows)


def job_view(job: Job) -> dict[str, Any]:
    return {
        "id": job.id, "task": job.task, "tenant_id": job.tenant_id, "state": job.state,
        "stage": job.stage, "done": job.progress_done, "total": job.progress_total,
        "detail": job.progress_detail or {}, "attempts": job.attempts, "result": job.result,
        "error": job.error, "created_at": job.created_at, "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


async def unfinished_job_ids(session: AsyncSession) -> list[tuple[int, str]]:
    rows = await session.execute(select(Job.id, Job.task)
                                 .where(Job.state.in_(("queued", "running"))).order_by(Job.id))
    return [(int(r[0]), str(r[1])) for r in rows]


async def stalled_job_ids(session: AsyncSession, older_than: timedelta) -> list[tuple[int, str]]:
    """Jobs whose message was lost (queued long ago, never started) or whose worker stopped
    beating: what the recovery schedule sends again (a duplicate delivery is harmless)."""
    cutoff = utcnow() - older_than
    rows = await session.execute(select(Job.id, Job.task).where(or_(
        and_(Job.state == "queued", Job.created_at < cutoff,
             or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < cutoff)),
        and_(Job.state == "running", Job.heartbeat_at < cutoff))).order_by(Job.id))
    return [(int(r[0]), str(r[1])) for r in rows]


async def _heartbeat(ctx: JobContext) -> None:
    """Write progress (and that the job is alive) while the task runs, in its own short
    transactions. A busy database (SQLite's single writer) only delays it."""
    written = -1
    while True:
        await asyncio.sleep(HEARTBEAT_S)
        if ctx.version == written:
            continue
        version = ctx.version
        try:
            async with ctx.sessions() as s:
                await s.execute(
                    update(Job).where(Job.id == ctx.job_id, Job.state == "running")
                    .values(progress_done=ctx.done, progress_total=ctx.total, stage=ctx.stage,
                            progress_detail=dict(ctx.detail), heartbeat_at=utcnow()))
                await s.commit()
            written = version
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # progress is best effort; the job goes on
            log.debug("job %s: progress not written (%s)", ctx.job_id, exc.__class__.__name__)


async def _end(session: AsyncSession, ctx: JobContext, state: str, *,
               result: dict[str, Any] | None = None, error: dict[str, Any] | None = None) -> bool:
    """The conditional end transition; False when another delivery finished it first."""
    outcome = await session.execute(
        update(Job).where(Job.id == ctx.job_id, Job.state.not_in(FINAL_STATES))
        .values(state=state, result=result, error=error, finished_at=utcnow(), payload=None,
                progress_done=ctx.done, progress_total=ctx.total, stage=ctx.stage,
                progress_detail=dict(ctx.detail) or None, heartbeat_at=utcnow())
        .execution_options(synchronize_session=False))
    assert isinstance(outcome, CursorResult)
    return bool(outcome.rowcount)


def _msgid(exc: DomainError) -> dict[str, Any]:
    """The error's msgid and parameters, so the job page says it in the reader's language."""
    if not exc.template:
        return {}
    params = {k: v if isinstance(v, int | float | str) else str(v) for k, v in exc.params.items()}
    return {"template": exc.template, "params": params}


async def _fail(ctx: JobContext, error: dict[str, Any]) -> None:
    async with ctx.sessions() as s:
        await _end(s, ctx, "failed", error=error)
        await s.commit()


async def _run_task(sessions: SessionFactory, spec: TaskSpec, ctx: JobContext,
                    params: dict[str, Any]) -> str:
    """The task and its ``done`` transition in one transaction: done, or skipped when another
    delivery finished the job first."""
    async with sessions() as s:
        ctx.session = s
        try:
            result = await spec.fn(ctx, **params)
            if await _end(s, ctx, "done", result=result):
                await commit(s)  # the task's effects and `done` together, then after_commit
                return "done"
            await s.rollback()
            log.info("job %s was finished by another delivery; this one rolled back", ctx.job_id)
            return "skipped"
        except BaseException:
            await s.rollback()
            raise
        finally:
            ctx.session = None


async def execute_job(sessions: SessionFactory, job_id: int, *, last_attempt: bool,
                      live_progress: bool = True,
                      write_sessions: SessionFactory | None = None) -> str:
    """Run one delivery of a job. Returns what happened: done, failed, skipped or missing.
    Raises (so the broker retries with backoff) on an unexpected error unless it was the
    last attempt; a :class:`DomainError` (bad input) fails the job at once. With
    ``write_sessions`` (SQLite's write-locked sessions), a task whose reads went stale before its
    first write runs again at once in one of them, instead of failing the delivery."""
    async with sessions() as s:
        # Claim with one UPDATE (no read first): on SQLite it waits for the write lock instead
        # of failing on a snapshot another writer moved; a finished job is left alone.
        now = utcnow()
        claimed = await s.execute(
            update(Job).where(Job.id == job_id, Job.state.not_in(FINAL_STATES))
            .values(state="running", attempts=Job.attempts + 1, worker=worker_name(),
                    started_at=func.coalesce(Job.started_at, literal(now, UTCDateTime)),
                    heartbeat_at=now)
            .execution_options(synchronize_session=False))
        assert isinstance(claimed, CursorResult)
        job = (await s.execute(select(Job).where(Job.id == job_id)
                               .execution_options(populate_existing=True))).scalar_one_or_none()
        await s.commit()
        if job is None:
            log.warning("job %s: no such job row (rolled back?)", job_id)
            return "missing"
        if not claimed.rowcount:
            log.info("job %s already %s: this delivery does nothing", job_id, job.state)
            return "skipped"
        spec = get_task(job.task)
        ctx = JobContext(job_id=job.id, task=job.task, tenant_id=job.tenant_id,
                         user_id=job.started_by_user_id, attempt=job.attempts,
                         sessions=sessions, done=job.progress_done, total=job.progress_total,
                         stage=job.stage)
        params = dict(job.params or {})
    beat = asyncio.create_task(_heartbeat(ctx)) if live_progress else None
    try:
        try:
            return await _run_task(sessions, spec, ctx, params)
        except OperationalError as exc:
            if write_sessions is None or not stale_snapshot(exc):
                raise
            # SQLite: another connection committed between the task's first read and its first
            # write, and its transaction cannot write on that snapshot (rolled back: nothing of
            # it stored). Once more, now holding the write lock from the start.
            log.info("job %s: its reads went stale before its first write; running it again "
                     "holding the write lock", job_id)
            return await _run_task(write_sessions, spec, ctx, params)
    except DomainError as exc:
        await _fail(ctx, {"code": exc.code, "detail": exc.message, **_msgid(exc), **exc.extra})
        return "failed"
    except Exception as exc:
        log.exception("job %s (%s) attempt %s failed", job_id, spec.name, ctx.attempt)
        if last_attempt:
            await _fail(ctx, {"code": "job_failed",
                              "detail": f"the job failed after {ctx.attempt} attempt(s): "
                                        f"{exc.__class__.__name__}"})
            return "failed"
        async with sessions() as s:
            await s.execute(update(Job).where(Job.id == job_id, Job.state == "running")
                            .values(state="queued", last_error=f"{exc.__class__.__name__}: "
                                                               f"{exc}"[:2000]))
            await s.commit()
        raise
    finally:
        if beat is not None:
            beat.cancel()
            with suppress(asyncio.CancelledError):
                await beat

