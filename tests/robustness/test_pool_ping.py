"""Server connections are pinged at checkout only after sitting idle in the pool
(`probity.db.PING_IDLE_S`): none on the hot path (a transaction right after another), and a
connection the server dropped while idle is replaced before the caller sees it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from probity import db as dbmod


async def test_idle_connections_are_pinged_and_dead_ones_replaced(
        database_url: str, dialect: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if dialect != "postgresql":
        pytest.skip("SQLite connections are files: nothing to ping")
    engine = dbmod.make_engine(database_url, pool_size=1, max_overflow=0)
    pings: list[Any] = []
    real_ping = engine.sync_engine.dialect.do_ping

    def ping(conn: Any) -> bool:
        pings.append(conn)
        return real_ping(conn)

    monkeypatch.setattr(engine.sync_engine.dialect, "do_ping", ping)
    try:
        async def backend() -> int:
            async with engine.connect() as conn:
                return int(await conn.scalar(text("SELECT pg_backend_pid()")) or 0)

        first = await backend()
        assert await backend() == first and await backend() == first
        assert pings == []  # back to back: no ping, the same connection
        # The server drops the pooled connection while it sits idle.
        other = dbmod.make_engine(database_url)
        async with other.connect() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:p, 5000)"), {"p": first})
            await admin.commit()
        await other.dispose()
        monkeypatch.setattr(dbmod, "PING_IDLE_S", 0.0)  # it has now been idle long enough
        second = await backend()  # no error: the ping found it dead, a new one was opened
        assert len(pings) == 1
        assert second != first
    finally:
        await engine.dispose()
