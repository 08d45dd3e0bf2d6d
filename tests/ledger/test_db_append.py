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
