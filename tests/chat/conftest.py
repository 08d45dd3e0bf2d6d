"""Live servers for WebSocket tests: real uvicorn processes on loopback, their own SQLite file."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url
from tests.browser.conftest import start_server
from tests.conftest import pg_admin
from websockets.sync.client import ClientConnection, connect

from probity.demo import DEMO_PASSWORD


@pytest.fixture(scope="module")
def chat_db_url(fresh_sqlite: Callable[[str], str]) -> str:
    """The module's own copy of the run's seeded SQLite file."""
    return fresh_sqlite("chatlive")


@pytest.fixture(scope="module")
def pg_chat_url(fresh_postgres: Callable[[str], str]) -> Iterator[str]:
    """The PostgreSQL twin of `chat_db_url`: a database of the module's own that the writer
    and servers commit to (a copy of the run's seeded database), dropped afterwards."""
    url = fresh_postgres("chat")
    yield url
    pg_admin(url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def writer_url(request: pytest.FixtureRequest) -> str:
    """A database the writer commits to: the module's SQLite file, then (when the run has
    one) PostgreSQL."""
    fixture = "chat_db_url" if request.param == "sqlite" else "pg_chat_url"
    url: str = request.getfixturevalue(fixture)
    return url


def run_server(url: str, tmp: Path, **env: str) -> Iterator[str]:
    proc, base = start_server(url, extra_env={"PROBITY_ATTACHMENTS_DIR": str(tmp / "att"), **env},
                              log=tmp / f"server-{uuid.uuid4().hex[:6]}.log")
    try:
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def chat_server(chat_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from run_server(chat_db_url, tmp_path_factory.mktemp("chatsrv"))


def sign_in(base: str, username: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=10)
    r = c.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    c.headers["X-CSRF-Token"] = c.get("/api/v1/auth/csrf").json()["csrf_token"]
    return c


def open_conversation(base: str) -> tuple[int, httpx.Client, httpx.Client]:
    """The demo agent available and the demo customer's new conversation with them:
    (conversation id, customer client, agent client)."""
    agent = sign_in(base, "agent")
    assert agent.put("/api/v1/chat/agent/availability", json={"available": True}).status_code == 200
    customer = sign_in(base, "customer")
    r = customer.post("/api/v1/chat/conversations", json={})
    assert r.status_code == 201, r.text
    conv = r.json()["conversation"]
    assert conv["status"] == "active"
    return conv["id"], customer, agent


def ws_connect(base: str, path: str, client: httpx.Client | None = None) -> ClientConnection:
    headers = {}
    if client is not None:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    return connect(base.replace("http://", "ws://") + path, additional_headers=headers,
                   open_timeout=10)


def recv(ws: ClientConnection, timeout: float = 5) -> dict[str, Any]:
    return json.loads(ws.recv(timeout=timeout))  # type: ignore[no-any-return]


def recv_until(ws: ClientConnection, kind: str, timeout: float = 5) -> tuple[
        dict[str, Any], list[dict[str, Any]]]:
    """The first frame of `kind`, and the frames received before it."""
    before: list[dict[str, Any]] = []
    while True:
        frame = recv(ws, timeout)
        if frame.get("type") == kind:
            return frame, before
        before.append(frame)
