"""`probity webhooks listen`, the local receiver the demo endpoint points at: it accepts what
Probity signs (checked with the endpoint's secret), refuses a bad or stale signature with 400,
and — the demo endpoint enabled, loopback allowed — a real delivery reaches it, air-gapped."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.cases.helpers import tenant

from probity import webhooks
from probity.auth.deps import commit
from probity.config import Settings
from probity.jobs.runtime import InlineRuntime
from probity.models.webhooks import WebhookDelivery, WebhookEndpoint
from probity.webhooks.demo import DEMO_URL
from probity.webhooks.listen import TOLERANCE_S, check_delivery, make_server
from probity.webhooks.signing import generate_secret, headers

SECRET = generate_secret()


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    lines: list[str] = []
    server = make_server("127.0.0.1", 0, SECRET, lines.append)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/probity/events", lines
    finally:
        server.shutdown()
        server.server_close()


def _post(url: str, secret: str, body: bytes, stamp: int | None = None) -> int:
    h = headers([secret], "msg_test1", stamp or int(time.time()), body)
    return httpx.post(url, content=body, headers=h, timeout=10).status_code


def test_the_listener_checks_signatures(listener: tuple[str, list[str]]) -> None:
    url, lines = listener
    body = json.dumps({"type": "case.decided", "data": {"case_id": 1}}).encode()
    assert _post(url, SECRET, body) == 204
    assert _post(url, generate_secret(), body) == 400
    assert _post(url, SECRET, body, stamp=int(time.time()) - TOLERANCE_S - 60) == 400
    assert lines[0] == "✓ case.decided msg_test1: signature OK"
    assert "BAD signature" in lines[1] and "timestamp outside" in lines[2]
    ok, line = check_delivery(None, {}, body)
    assert ok and "not checked" in line


async def test_the_demo_endpoint_delivers_to_the_local_listener(
        db: AsyncSession, listener: tuple[str, list[str]], jobs: InlineRuntime,
        webhook_settings: Settings) -> None:
    url, lines = listener
    hq = await tenant(db, "HQ")
    demo = await db.scalar(select(WebhookEndpoint).where(WebhookEndpoint.url == DEMO_URL))
    assert demo is not None and demo.url.startswith("http://127.0.0.1:8099/")
    # What the README says to do, with the test listener's port: enable it, with its secret.
    demo.url, demo.secret, demo.active = url, SECRET, True
    demo.disabled_reason = demo.disabled_at = None
    await db.flush()
    assert await webhooks.emit(db, hq.id, "training.overdue", {"assignment_id": 0}) == 1
    await commit(db)
    await jobs.wait()
    assert lines == [lines[0]] and lines[0].startswith("✓ training.overdue ")
    assert lines[0].endswith("signature OK")
    state: Any = await db.scalar(select(WebhookDelivery.state).where(
        WebhookDelivery.endpoint_id == demo.id))
    assert state == "delivered"
