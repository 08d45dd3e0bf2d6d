"""Ledger verification hashes off the event loop (issue 16): the pure verifier runs in a worker
thread fed page by page, while the loop keeps running other tasks."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.ledger import verify as verify_module
from probity.ledger.service import verify_tenant
from probity.models import LedgerEntry


async def test_chain_is_hashed_in_a_worker_thread(db: AsyncSession,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    tenant_id = await db.scalar(select(LedgerEntry.tenant_id).group_by(LedgerEntry.tenant_id)
                                .order_by(LedgerEntry.tenant_id).limit(1))
    assert tenant_id is not None
    threads: list[threading.Thread] = []
    real = verify_module.verify_chain

    def spy(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(verify_module, "verify_chain", spy)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    seen: list[int] = []
    try:
        result = await verify_tenant(db, tenant_id, chunk=16, progress=seen.append)
    finally:
        task.cancel()
    assert result.ok, result.message
    assert threads and threads[0] is not threading.main_thread()
    assert seen and seen == sorted(seen) and seen[-1] == result.entries  # page by page
    assert ticks > len(seen)  # the loop ran other tasks between pages
