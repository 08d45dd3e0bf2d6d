"""Schedules that fall due in the same second, on SQLite: every one enqueues its job."""

from __future__ import annotations

import asyncio

from probity.config import Settings
from probity.db import Database
from probity.jobs.runtime import DramatiqRuntime, make_runtime, set_runtime
from probity.jobs.scheduler import JobScheduler, planned


class _Sent:
    """Where the enqueued jobs go after their commit (no worker: only what was sent counts)."""

    def __init__(self) -> None:
        self.sent: list[int] = []

    async def dispatch(self, job_id: int, task: str) -> None:
        self.sent.append(job_id)


async def _fire_all(db_url: str) -> tuple[list[object], DramatiqRuntime, Database]:
    db = Database(db_url)
    settings = Settings(database_url=db_url, env="development", jobs_runner="worker")
    runtime = make_runtime(settings, db)
    assert isinstance(runtime, DramatiqRuntime)
    sent = _Sent()
    set_runtime(sent)  # type: ignore[arg-type]
    try:
        scheduler = JobScheduler(settings, runtime.write_sessions)
        entries = planned(settings)
        assert len(entries) >= 4
        got = await asyncio.gather(*(scheduler.fire(e, p) for e, p in entries),
                                   return_exceptions=True)
    finally:
        set_runtime(None)
    assert sorted(sent.sent) == sorted(g for g in got if isinstance(g, int))
    return got, runtime, db


def test_schedules_due_together_all_enqueue(db_url: str) -> None:
    """Every schedule fired at once (as the minute's cron and the intervals fall due together)
    enqueues its job: the embedded scheduler's sessions take SQLite's write lock first. With
    the ordinary sessions some failed "database is locked" (`make run`'s first minute)."""

    async def run() -> None:
        got, runtime, db = await _fire_all(db_url)
        try:
            assert runtime.write_sessions is db.write_sessionmaker
            failed = [g for g in got if isinstance(g, BaseException)]
            assert not failed, failed
            assert len(set(got)) == len(got)
        finally:
            await db.dispose()

    asyncio.run(run())
