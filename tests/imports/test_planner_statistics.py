"""PostgreSQL plans from statistics that autovacuum refreshes only on its next pass; a table
loaded in one go has none until then, and the planner takes it for nearly empty. The demo seed
(and so every PostgreSQL test database, cloned from the seeded one) refreshes them itself
(`db.refresh_statistics`): without that, the transcripts export's look-up of each message's
ledger entry read every `chat.message` entry of the tenant per message (12 s against 20 ms for
the demo's 3,180 messages of one tenant) — 117 s of CI in test_export_memory.py alone."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from probity.db import refresh_statistics
from probity.models import Message


async def test_the_seeded_database_has_planner_statistics(db: AsyncSession, dialect: str
                                                          ) -> None:
    if dialect != "postgresql":
        # SQLite plans without statistics unless ANALYZE ran once; the product never runs it
        await refresh_statistics(db)
        assert await db.scalar(text(
            "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")) == 0
        return
    messages = int(await db.scalar(select(func.count()).select_from(Message)) or 0)
    assert messages > 1_000
    estimated = await db.scalar(text(
        "SELECT reltuples FROM pg_class WHERE relname = 'messages'"))
    assert estimated is not None and estimated >= messages / 2, (estimated, messages)
    analysed = set((await db.scalars(text(
        "SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = 'public' AND tablename IN "
        "('messages', 'ledger_entries', 'ledger_refs')"))).all())
    assert analysed == {"messages", "ledger_entries", "ledger_refs"}
