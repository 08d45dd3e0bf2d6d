"""The Python SDK (sdk/python, ``probity_client``) against a live server: a real uvicorn process
on loopback with its own migrated, seeded SQLite file (the chat tests' live-server helpers)."""

from __future__ import annotations

import asyncio

import pytest
from probity_client import (
    AsyncClient,
    AuthenticationError,
    Client,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    StreamClosed,
    ValidationError,
)

from probity.demo import DEMO_PASSWORD


def token_for(base: str, username: str) -> str:
    with Client(base) as c:
        c.login(username, DEMO_PASSWORD)
        return c.create_token(f"sdk test {username}", days=1)


@pytest.fixture(scope="module")
def admin_token(server: str) -> str:
    return token_for(server, "admin")


def test_token_auth_and_typed_shortcuts(server: str, admin_token: str) -> None:
    with Client(server, token=admin_token) as probity:
        assert probity.health()["status"] == "ok"
        me = probity.me()
        assert me["username"] == "admin"
        spec = probity.get("/api/openapi.json")
        assert spec["info"]["version"].startswith("1.")


def test_pagination_walks_every_page(server: str, admin_token: str) -> None:
    with Client(server, token=admin_token) as probity:
        everything = probity.get("/api/v1/customers", limit=500)
        assert len(everything) > 7
        paged = list(probity.paginate("/api/v1/customers", page_size=7))
        assert [c["id"] for c in paged] == [c["id"] for c in everything]
        assert len(list(probity.paginate("/api/v1/customers", page_size=7, max_items=10))) == 10


def test_errors_carry_the_problem_details(server: str, admin_token: str) -> None:
    with Client(server, token=admin_token) as probity:
        with pytest.raises(NotFoundError) as missing:
            probity.get("/api/v1/cases/999999")
        err = missing.value
        assert err.status == 404 and err.code and err.detail and err.title
        assert err.type.startswith("https://") and err.request_id
        assert err.problem["status"] == 404
        with pytest.raises(ValidationError) as bad:
            probity.get("/api/v1/cases", limit=0)
        assert bad.value.status == 422 and bad.value.code == "invalid_input"
        assert isinstance(bad.value.extra["errors"], list)
    with Client(server, token="pbt_not-a-real-token") as stranger, \
            pytest.raises(AuthenticationError) as anon:
        stranger.me()
    assert anon.value.status == 401
    with Client(server, token=token_for(server, "agent")) as agent, \
            pytest.raises(PermissionDeniedError):
        agent.get("/api/v1/audit")


def test_async_client(server: str, admin_token: str) -> None:
    async def run() -> None:
        async with AsyncClient(server, token=admin_token) as probity:
            assert (await probity.me())["username"] == "admin"
            sync_ids = [c["id"] async for c in probity.paginate("/api/v1/customers",
                                                                 page_size=50)]
            assert len(sync_ids) == len(set(sync_ids)) > 50
            with pytest.raises(NotFoundError) as missing:
                await probity.get("/api/v1/cases/999999")
            assert missing.value.code and missing.value.request_id

    asyncio.run(run())


def test_chat_and_alert_streams(server: str) -> None:
    """A customer chats through the SDK's chat stream; a blocked message reaches the HR
    account's alert stream."""
    with Client(server) as agent:
        agent.login("agent", DEMO_PASSWORD)
        agent.put("/api/v1/chat/agent/availability", json={"available": True})
    with Client(server, token=token_for(server, "customer")) as customer, \
            Client(server, token=token_for(server, "hr")) as hr:
        conv = customer.post("/api/v1/chat/conversations", json={})["conversation"]
        with hr.alert_stream() as alerts, customer.chat(conv["id"]) as chat:
            assert alerts.recv(timeout=30)["type"] == "ready"
            for frame in chat:
                if frame.get("type") == "synced":
                    break
            ok = chat.send_and_ack("您好，订单什么时候发货", timeout=60)
            assert ok["type"] == "ack" and ok["decision"] == "allow"
            blocked = chat.send_and_ack("加我vx abc12345 私下转账", timeout=30)
            assert blocked["decision"] == "block"
            alert = alerts.next_alert(timeout=30)
            assert alert["conversation_id"] == conv["id"]

    async def async_stream() -> None:
        async with AsyncClient(server, token=token_for(server, "agent")) as agent_client:
            # An agent has no alerts.read: the server refuses the socket (HTTP 403 handshake).
            with pytest.raises(StreamClosed) as closed:
                async with agent_client.alert_stream() as stream:
                    await stream.recv()
            assert closed.value.code in (403, 4403)  # refused before or after the accept

    asyncio.run(async_stream())


def test_signed_finance_feed_through_the_sdk(server: str) -> None:
    with Client(server) as finance:
        finance.login("finance", DEMO_PASSWORD)
        tenant_id = next(t["id"] for t in finance.get("/api/v1/tenants") if t["code"] == "ECOM")
        secret = finance.post(f"/api/v1/finance/feed/secrets/{tenant_id}")["secret"]
        customer_no = finance.get("/api/v1/customers", limit=1)[0]["customer_no"]
    rows = [{"order_no": "SDK-1", "customer_no": customer_no, "amount": "9.90",
             "status": "paid", "placed_at": "2026-11-20T10:00:00+08:00"}]
    with Client(server) as system:  # no session, no token: the signature is the credential
        result = system.post_signed_feed(tenant_id, secret, "orders", rows, msg_id="sdk-1")
        assert result["insert"] == 1
        with pytest.raises(ConflictError) as again:
            system.post_signed_feed(tenant_id, secret, "orders", rows, msg_id="sdk-1")
        assert again.value.code == "feed_replayed"
        with pytest.raises(AuthenticationError) as forged:
            system.post_signed_feed(tenant_id, "whsec_" + "A" * 44, "orders", rows)
        assert forged.value.code == "signature_invalid"
