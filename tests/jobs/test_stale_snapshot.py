"""A job whose reads go stale on SQLite (another connection commits between the task's first
read and its first write) still finishes in the same delivery, with its effect once."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from sqlalchemy import func, select
from tests.jobs.helpers import effects, enqueue_now, job_row, sqlite_path

from probity.audit.service import record_audit
from probity.config import Settings
from probity.db import Database
from probity.jobs import JobContext, task
from probity.jobs.service import execute_job
from probity.models.jobs import Job

_read = asyncio.Event()  # the task has read (its snapshot is taken)
_moved = asyncio.Event()  # another connection has committed since


@task("tests.read_then_write")
async def read_then_write(ctx: JobContext) -> dict[str, Any]:
    jobs = await ctx.db.scalar(select(func.count()).select_from(Job))
    _read.set()
    await _moved.wait()
    record_audit(ctx.db, None, "test.job_effect", target_type="job", target_id=ctx.job_id,
                 tenant_id=None, after={"jobs": jobs}, actor_name="system")
    return {"attempt": ctx.attempt}


def test_a_job_whose_snapshot_went_stale_runs_again_holding_the_write_lock(db_url: str) -> None:
    """Before: the task's first INSERT failed at once with "database is locked"
    (SQLITE_BUSY_SNAPSHOT; no busy timeout covers it), the delivery raised and the broker retried
    it later with a traceback in the log (`make run`: `cases.sla_sweep`, whose sweep reads and
    then writes, while the scheduler and the chat writer commit)."""
    settings = Settings(database_url=db_url, env="development")
    job_id = enqueue_now(settings, "tests.read_then_write", {})

    async def run() -> str:
        _read.clear()
        _moved.clear()
        db = Database(db_url)
        try:
            delivery = asyncio.create_task(execute_job(
                db.sessionmaker, job_id, last_attempt=False, live_progress=False,
                write_sessions=db.write_sessionmaker))
            await asyncio.wait_for(_read.wait(), 30)
            with sqlite3.connect(sqlite_path(db_url), timeout=10) as other:
                other.execute("UPDATE jobs SET worker = 'elsewhere' WHERE id = ?",
                              (job_id,))
            _moved.set()
            return await asyncio.wait_for(delivery, 60)
        finally:
            await db.dispose()

    assert asyncio.run(run()) == "done"
    row = job_row(db_url, job_id)
    assert row["state"] == "done"
    assert row["attempts"] == 1
    assert effects(db_url, job_id) == 1
