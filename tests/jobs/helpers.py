"""Reading and writing the job table of a child process's SQLite file from the test."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from typing import Any

from probity.config import Settings


def sqlite_path(db_url: str) -> str:
    return db_url.split(":///", 1)[1]


def query(db_url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(sqlite_path(db_url), timeout=10) as conn:
        return list(conn.execute(sql, args))


def job_row(db_url: str, job_id: int) -> dict[str, Any]:
    with sqlite3.connect(sqlite_path(db_url), timeout=10) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    out = dict(row)
    for key in ("params", "result", "error", "progress_detail"):
        if out.get(key) is not None:
            out[key] = json.loads(out[key])
    return out


def effects(db_url: str, job_id: int) -> int:
    return int(query(db_url, "SELECT count(*) FROM audit_entries WHERE action = "
                             "'test.job_effect' AND target_id = ?", str(job_id))[0][0])


def enqueue_now(settings: Settings, task: str, params: dict[str, Any]) -> int:
    """Enqueue like the app does: the row commits, then the message goes to the broker (none:
    the row waits for an embedded worker to find it)."""
    import tests.jobs.slow_tasks  # noqa: F401 (registers the test tasks here too)

    from probity.auth.deps import commit
    from probity.db import Database
    from probity.jobs import enqueue
    from probity.jobs.runtime import DramatiqRuntime, InlineRuntime, Runtime, set_runtime

    async def go() -> int:
        db = Database(settings.database_url)
        runtime: Runtime = (DramatiqRuntime(settings, embedded=False) if settings.broker_url
                            else InlineRuntime(db.sessionmaker))
        set_runtime(runtime)
        try:
            async with db.sessionmaker() as session:
                job = await enqueue(session, task, params=params)
                job_id = job.id
                await commit(session)
            return job_id
        finally:
            set_runtime(None)
            await db.dispose()

    return asyncio.run(go())
