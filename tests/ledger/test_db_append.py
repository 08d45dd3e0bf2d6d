"""The append path's INSERT (a raw aiosqlite statement on SQLite, Core elsewhere) stays inside
the session's transaction and raises SQLAlchemy's exception classes."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from probity.ledger.service import _insert_rows, append_entry, verify_tenant
from probity.models import LedgerEntry, Tenant


async def _tenant_id(db: AsyncSession) -> int:
    tenant_id = await db.scalar(select(Tenant.id).where(Tenant.code == "HQ"))
    assert tenant_id is not None
    return int(tenant_id)


async def _count(db: AsyncSession, tenant_id: int) -> int:
    return int(await db.scalar(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.tenant_id == tenant_id)) or 0)


async def test_duplicate_seq_is_an_integrity_error(db: AsyncSession) -> None:
    tenant_id = await _tenant_id(db)
    entry = await append_entry(db, tenant_id, "test.event", {"n": 1}, checkpoint=False)
    with pytest.raises(IntegrityError):
        async with db.begin_nested():
            await _insert_rows(db, [dataclasses.asdict(entry)])
    assert (await verify_tenant(db, tenant_id)).ok


async def test_rolled_back_savepoint_takes_its_entries_along(db: AsyncSession) -> None:
    tenant_id = await _tenant_id(db)
    before = await _count(db, tenant_id)
    with pytest.raises(RuntimeError):
        async with db.begin_nested():
            for n in range(3):
                await append_entry(db, tenant_id, "test.event", {"n": n}, checkpoint=False)
            assert await _count(db, tenant_id) == before + 3
            raise RuntimeError("roll back")
    assert await _count(db, tenant_id) == before
    await append_entry(db, tenant_id, "test.event", {"n": "kept"}, checkpoint=False)
    assert await _count(db, tenant_id) == before + 1
    assert (await verify_tenant(db, tenant_id)).ok


async def test_sqlite_append_goes_in_one_hop_and_keeps_the_statement_events(
        db: AsyncSession) -> None:
    """On aiosqlite the append runs in one call to the driver's thread (head, INSERTs,
    checkpoint time); cursor-event listeners still see every statement it ran."""
    from sqlalchemy import event

    from probity.ledger import service

    conn = await db.connection()
    if conn.dialect.driver != "aiosqlite":
        pytest.skip("SQLite only")
    raw = await conn.get_raw_connection()
    assert service._can_hop(raw.driver_connection)  # an aiosqlite upgrade must not lose it
    tenant_id = await _tenant_id(db)
    seen: list[str] = []

    def listen(_c: object, _cur: object, statement: str, *_a: object) -> None:
        seen.append(" ".join(statement.split()[:3]))

    hops: list[object] = []
    driver = raw.driver_connection
    original = driver._execute

    async def counting(fn: object, *args: object, **kwargs: object) -> object:
        hops.append(fn)
        return await original(fn, *args, **kwargs)

    driver._execute = counting
    event.listen(conn.sync_connection, "before_cursor_execute", listen)
    try:
        await db.commit()  # a fresh transaction: the head is not cached
        await db.connection()  # (its BEGIN / SAVEPOINT)
        before = len(hops)
        entries = await service.append_entries(
            db, tenant_id, [("test.event", {"n": n, "message_id": n}) for n in range(5)],
            checkpoint=False)
        assert hops[before:] == [service._append_in_thread]
    finally:
        driver._execute = original
        event.remove(conn.sync_connection, "before_cursor_execute", listen)
    assert [e.seq for e in entries] == list(range(entries[0].seq, entries[0].seq + 5))
    assert any(s.startswith("SELECT seq,") for s in seen)
    assert "INSERT INTO ledger_entries" in seen and "INSERT INTO ledger_refs" in seen
    assert (await verify_tenant(db, tenant_id)).ok


async def test_sqlite_append_wraps_driver_errors(db: AsyncSession) -> None:
    """A stale head (here: forged) makes the one-hop INSERT collide: SQLAlchemy's
    IntegrityError, and the savepoint takes nothing along."""
    from probity.ledger import service

    tenant_id = await _tenant_id(db)
    first = await append_entry(db, tenant_id, "test.event", {"n": 1}, checkpoint=False)
    before = await _count(db, tenant_id)
    with pytest.raises(IntegrityError):
        async with db.begin_nested():
            service._remember_head(db, tenant_id, (first.seq - 1, first.prev_hash,
                                                   first.tenant_code))
            await append_entry(db, tenant_id, "test.event", {"n": 2}, checkpoint=False)
    assert await _count(db, tenant_id) == before
    assert (await verify_tenant(db, tenant_id)).ok


async def test_checkpoint_rule_holds_across_transactions(
        db: AsyncSession, monkeypatch: pytest.MonkeyPatch) -> None:
    """The append signs a checkpoint when the tenant has none or only one older than the
    interval, and finds a younger one in a later transaction (one a minute, not one per
    transaction)."""
    from datetime import timedelta

    from probity.ledger import service
    from probity.models import LedgerCheckpoint, TenantKind

    tenant = Tenant(code="CKPT", name="ckpt", kind=TenantKind.hq, path="/")
    db.add(tenant)
    await db.flush()
    tenant_id = tenant.id

    async def checkpoints() -> int:
        return int(await db.scalar(select(func.count()).select_from(LedgerCheckpoint).where(
            LedgerCheckpoint.tenant_id == tenant_id)) or 0)

    await append_entry(db, tenant_id, "test.event", {"n": 0})
    assert await checkpoints() == 1
    for n in range(3):
        await db.commit()
        await append_entry(db, tenant_id, "test.event", {"n": n})
    assert await checkpoints() == 1
    await db.commit()
    later = service.utcnow() + timedelta(seconds=service.CHECKPOINT_INTERVAL_S + 1)
    monkeypatch.setattr(service, "utcnow", lambda: later)
    await append_entry(db, tenant_id, "test.event", {"n": "later"})
    assert await checkpoints() == 2
    assert (await verify_tenant(db, tenant_id)).ok


async def test_postgres_checks_the_guessed_head(db: AsyncSession, dialect: str) -> None:
    """On PostgreSQL an append takes one round trip when the head this process appended last
    is still the head; a stale guess — another process appended since (the INSERT conflicts),
    or the transaction that appended rolled back (the guess is ahead) — is caught and undone,
    and the append lands on the true head."""
    if dialect != "postgresql":
        pytest.skip("PostgreSQL's pipelined append")
    from probity.ledger import service

    tenant_id = await _tenant_id(db)
    conn = await db.connection()
    key = (conn.sync_connection.engine.url, tenant_id)  # type: ignore[union-attr]
    before = await _count(db, tenant_id)
    async with db.begin_nested():  # a new savepoint: the transaction's own head cache misses
        first = await append_entry(db, tenant_id, "test.event", {"n": 0}, checkpoint=False)
    assert service._PG_HEADS[key][0] == first.seq
    code = first.tenant_code
    for n, guess in enumerate([(first.seq, first.entry_hash, code),  # right
                               (first.seq - 1, "0" * 64, code),      # behind: conflicts
                               (first.seq + 5, "1" * 64, code)],     # ahead: mismatches
                              start=1):
        service._PG_HEADS[key] = guess
        async with db.begin_nested():
            entry = await append_entry(db, tenant_id, "test.event", {"n": n}, checkpoint=False)
        assert entry.seq == first.seq + n
        assert await _count(db, tenant_id) == before + 1 + n
    assert (await verify_tenant(db, tenant_id)).ok
