"""Concurrent HTTP writes and the chat writer share one SQLite database without a 5xx, without
"database is locked" (429) and without starving the writer (issue 16): real requests through
the application (its own sessions, no test transaction), each on its own connection, racing
the chat writer's thread."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from probity.app import create_app
from probity.config import Settings
from probity.db import Database, write_gate
from probity.demo import DEMO_PASSWORD
from probity.models import Conversation, Message


def _copy_database(database_url: str, target: Path) -> str:
    """A private copy of the migrated, seeded test database (SQLite's backup API: consistent
    whatever is in the WAL)."""
    source = sqlite3.connect(database_url.split("///", 1)[1])
    dest = sqlite3.connect(target)
    with dest:
        source.backup(dest)
    source.close()
    dest.close()
    return f"sqlite+aiosqlite:///{target}"


async def _signed_in(app: Any, username: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                               base_url="http://testserver")
    r = await client.post("/api/v1/auth/login",
                          json={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = (await client.get("/api/v1/auth/csrf")).json()["csrf_token"]
    return client


async def test_http_writes_and_the_chat_writer_coexist(
        database_url: str, settings: Settings, tmp_path: Path) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's single write lock")
    url = _copy_database(database_url, tmp_path / "concurrent.db")
    database = Database(url)
    app = create_app(settings.model_copy(update={"database_url": url}), database=database)
    agent = await _signed_in(app, "agent")
    customer = await _signed_in(app, "customer")
    try:
        r = await agent.put("/api/v1/chat/agent/availability", json={"available": True})
        assert r.status_code == 200, r.text
        r = await customer.post("/api/v1/chat/conversations", json={})
        assert r.status_code == 201, r.text
        conv_id = r.json()["conversation"]["id"]
        assert r.json()["conversation"]["status"] == "active"

        statuses: list[tuple[str, int, str]] = []

        async def call(what: str, coro: Any) -> None:
            resp = await coro
            statuses.append((what, resp.status_code, resp.text[:200]))

        rounds = 25
        jobs = []
        for i in range(rounds):
            # the chat writer's thread (messages from both sides) …
            jobs.append(call("customer send", customer.post(
                f"/api/v1/chat/conversations/{conv_id}/messages",
                json={"text": f"请问订单 {i} 什么时候发货", "client_id": f"c-{i}"})))
            jobs.append(call("agent send", agent.post(
                f"/api/v1/chat/conversations/{conv_id}/messages",
                json={"text": f"您好，第 {i} 条回复，马上为您查询", "client_id": f"a-{i}"})))
            # … racing request transactions that read, then write (receipts, availability).
            jobs.append(call("receipts", agent.post(
                f"/api/v1/chat/conversations/{conv_id}/receipts", params={"read": i + 1})))
            jobs.append(call("availability", agent.put(
                "/api/v1/chat/agent/availability", json={"available": i % 2 == 0})))
            jobs.append(call("customer reads", customer.get(
                f"/api/v1/chat/conversations/{conv_id}/messages")))
        await asyncio.gather(*jobs)

        bad = [s for s in statuses if s[1] >= 500 or s[1] == 429]
        assert not bad, bad
        assert all(code < 300 for _w, code, _t in statuses), \
            [s for s in statuses if s[1] >= 300]
        async with database.sessionmaker() as session:
            stored = await session.scalar(select(func.count()).select_from(Message).where(
                Message.conversation_id == conv_id))
            last_seq = await session.scalar(select(Conversation.last_seq).where(
                Conversation.id == conv_id))
        assert stored == 2 * rounds and last_seq == 2 * rounds
        gate = write_gate(url.split("///", 1)[1])
        assert gate.holder is None  # every transaction gave it back
        assert gate.waited > 0  # the writers really met (and queued instead of failing)
    finally:
        await agent.aclose()
        await customer.aclose()
        from probity.chat.writer import writer_for

        await writer_for(database.engine).close()
        await database.dispose()
