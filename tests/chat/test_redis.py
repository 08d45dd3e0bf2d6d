"""Scale-out: two app processes share conversations through Redis pub/sub."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import redis
from tests.chat.conftest import recv, recv_until, run_server, sign_in, ws_connect

REDIS_URL = os.environ.get("PROBITY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_up() -> bool:
    u = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or 6379), timeout=1):
            pass
        return bool(redis.Redis.from_url(REDIS_URL).ping())
    except OSError:
        return False
    except redis.RedisError:
        return False


pytestmark = [pytest.mark.redis,
              pytest.mark.skipif(not _redis_up(), reason=f"Redis unreachable at {REDIS_URL}")]


@pytest.fixture(scope="module")
def two_servers(chat_db_url: str, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[tuple[str, str]]:
    tmp = tmp_path_factory.mktemp("redis")
    # A prefix of this run's own: another run sharing the Redis server must not cross-talk.
    prefix = f"probity-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    a = run_server(chat_db_url, tmp, PROBITY_REDIS_URL=REDIS_URL,
                   PROBITY_REDIS_CHANNEL_PREFIX=prefix)
    b = run_server(chat_db_url, tmp, PROBITY_REDIS_URL=REDIS_URL,
                   PROBITY_REDIS_CHANNEL_PREFIX=prefix)
    base_a, base_b = next(a), next(b)
    try:
        yield base_a, base_b
    finally:
        for gen in (a, b):
            gen.close()


def test_customer_on_one_process_agent_on_another(two_servers: tuple[str, str]) -> None:
    base_a, base_b = two_servers
    assert base_a != base_b
    agent = sign_in(base_b, "agent")
    assert agent.put("/api/v1/chat/agent/availability", json={"available": True}).status_code == 200
    customer = sign_in(base_a, "customer")
    conv = customer.post("/api/v1/chat/conversations", json={}).json()["conversation"]
    hr = sign_in(base_b, "hr")
    cws = ws_connect(base_a, f"/ws/chat/{conv['id']}", customer)
    aws = ws_connect(base_b, f"/ws/chat/{conv['id']}", agent)
    feed = ws_connect(base_b, "/ws/alerts", hr)
    try:
        for ws in (cws, aws):
            recv_until(ws, "synced")
        assert recv(feed)["type"] == "ready"
        cws.send('{"type": "send", "client_id": "x1", "text": "您好，我想退货"}')
        ack, _ = recv_until(cws, "ack")
        got = recv(aws)
        assert got["type"] == "message" and got["seq"] == ack["seq"]
        aws.send('{"type": "send", "client_id": "y1", "text": "好的，我来帮您处理退货"}')
        recv_until(aws, "ack")
        reply, _ = recv_until(cws, "message")
        if reply["sender"] == "customer":  # its own message, echoed through Redis after the ack
            reply, _ = recv_until(cws, "message")
        assert reply["sender"] == "agent" and reply["body"].startswith("好的")
        # A block on process A reaches the HR feed on process B, and never the agent.
        cws.send('{"type": "send", "client_id": "x2", "text": "加我vx abc12345"}')
        blocked = recv_until(cws, "ack")[0]
        assert blocked["decision"] == "block"
        assert recv(feed)["alert"]["conversation_id"] == conv["id"]
        aws.send('{"type": "ping"}')
        _pong, before = recv_until(aws, "pong")
        # The agent never gets the blocked message itself, only the notice that the customer
        # attempted to leave the channel (no text of it).
        assert all(f.get("seq") != blocked["seq"] for f in before if f.get("type") == "message")
        assert all("body" not in f and "text" not in f for f in before
                   if f.get("type") == "customer_attempt")
    finally:
        for ws in (cws, aws, feed):
            ws.close()
