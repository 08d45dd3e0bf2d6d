"""Webhook test fixtures: a real HTTP receiver on loopback, jobs on the test's session, and the
operator setting that lets a webhook reach 127.0.0.1 (refused by default)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from probity.config import Settings
from probity.jobs.runtime import InlineRuntime


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each POST with the next status of ``statuses`` (the last one repeats)."""

    url: str
    statuses: list[int] = field(default_factory=lambda: [200])
    got: list[Received] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            state.got.append(Received(self.path, {k.lower(): v for k, v in
                                                  self.headers.items()}, body))
            status = state.statuses.pop(0) if len(state.statuses) > 1 else state.statuses[0]
            self.send_response(status)
            self.send_header("content-type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if status < 300 else b"receiver error")

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/probity"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def webhook_settings(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Settings:
    """The operator allows loopback (the test receiver); everything else as configured."""
    allowed = settings.model_copy(update={"webhook_allowed_networks": ["127.0.0.1/32"],
                                          "webhook_disable_after": 15})
    from probity.webhooks import delivery, service

    monkeypatch.setattr(service, "get_settings", lambda: allowed)
    monkeypatch.setattr(delivery, "get_settings", lambda: allowed)
    return allowed


@pytest.fixture
def jobs(app: Any, db: AsyncSession) -> InlineRuntime:
    """Background jobs run on the test's session (its rolled-back transaction)."""

    @asynccontextmanager
    async def same_session() -> AsyncIterator[AsyncSession]:
        yield db

    runtime: InlineRuntime = app.state.jobs
    runtime.sessions = same_session
    return runtime
