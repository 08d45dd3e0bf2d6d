"""Concurrent writes on SQLite are serialised, not refused (issue 16): a request that changes
something begins its transaction with the write lock (BEGIN IMMEDIATE) and waits for it up to
the busy timeout, so a read-then-write never fails with "database is locked"."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from probity.db import Database


async def _race(db: Database, immediate: bool) -> None:
    maker = db.write_sessionmaker if immediate else db.sessionmaker
    async with maker() as first, maker() as second:
        await first.execute(text("SELECT count(*) FROM counter"))  # read first …

        async def other_writer() -> None:
            await second.execute(text("INSERT INTO counter (n) VALUES (1)"))
            await second.commit()

        task = asyncio.create_task(other_writer())
        await asyncio.sleep(0.3)  # … another connection writes and commits meanwhile …
        await first.execute(text("INSERT INTO counter (n) VALUES (2)"))  # … then write
        await first.commit()
        await task


async def test_read_then_write_under_a_concurrent_writer(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE counter (n INTEGER)"))
        # The old deferred transactions: the reader's write fails at once.
        with pytest.raises(OperationalError, match="locked"):
            await _race(db, immediate=False)
        # Write sessions: serialised, both writes stored.
        await _race(db, immediate=True)
        async with db.sessionmaker() as s:
            assert (await s.execute(text("SELECT count(*) FROM counter"))).scalar() >= 2
    finally:
        await db.dispose()
