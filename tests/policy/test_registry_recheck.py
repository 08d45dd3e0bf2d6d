"""The compiled-policy registry re-checks a tenant's policy chain once at a time: messages that
arrive while a re-check runs are screened with the serving policy instead of each reading the
chain again (under load, every message of the re-check's duration did, on the event loop)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event, pool, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from probity.db import make_engine
from probity.models import Tenant
from probity.policy import registry


async def test_concurrent_lookups_share_one_recheck(database_url: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(database_url, poolclass=pool.NullPool)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    sessions = async_sessionmaker(engine)
    try:
        async with sessions() as s:
            tenant_id = await s.scalar(select(Tenant.id).order_by(Tenant.id).limit(1))
        assert tenant_id is not None
        first = await registry.policy_for_tenant(sessions, tenant_id)  # compiled, serving
        monkeypatch.setattr(registry, "RECHECK_S", 0.0)  # every lookup is due for a re-check
        statements.clear()
        await registry.policy_for_tenant(sessions, tenant_id)
        one = len(statements)
        assert one > 0  # the chain was read
        statements.clear()
        got = await asyncio.gather(*(registry.policy_for_tenant(sessions, tenant_id)
                                     for _ in range(20)))
        assert len(statements) == one  # one re-check for the twenty
        assert all(p is first for p in got)
        # A change committed in this process while a re-check runs is not hidden by it.
        task = asyncio.ensure_future(registry.policy_for_tenant(sessions, tenant_id))
        await asyncio.sleep(0)
        await registry.policy_changed(tenant_id)
        await task
        monkeypatch.setattr(registry, "RECHECK_S", 60.0)
        assert registry.fresh(tenant_id) is None  # the next lookup reads the chain again
    finally:
        await engine.dispose()
