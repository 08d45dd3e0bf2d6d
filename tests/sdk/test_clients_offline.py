"""The sync and async clients behave the same because they share one core (requests built,
answers decoded, pagination, sign-in, signed feed in ``probity_client._base``): the same calls
against the same fake server (httpx.MockTransport) give the same results and the same errors.
The live-server tests (test_sdk_live.py) cover the real API."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from probity_client import APIError, AsyncClient, Client, NotFoundError, ValidationError
from probity_client.signatures import verify_webhook

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ITEMS = list(range(7))


def handler(seen: list[httpx.Request]) -> Any:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path
        if path == "/api/v1/items":
            q = request.url.params
            limit, offset = int(q["limit"]), int(q["offset"])
            return httpx.Response(200, json=ITEMS[offset:offset + limit])
        if path == "/api/v1/missing":
            return httpx.Response(404, headers={"content-type": "application/problem+json"},
                                  json={"type": "about:blank", "title": "Not Found",
                                        "status": 404, "detail": "没有该案件。",
                                        "code": "not_found", "request_id": "r-1"})
        if path == "/api/v1/bad":
            return httpx.Response(422, json={"status": 422, "code": "unknown_columns",
                                             "detail": "x", "columns": ["部门"]})
        if path == "/api/v1/auth/login":
            return httpx.Response(200, json={"username": json.loads(request.content)["username"]})
        if path == "/api/v1/auth/csrf":
            return httpx.Response(200, json={"csrf_token": "tok"})
        if path == "/api/v1/tokens":
            assert request.headers["x-csrf-token"] == "tok"
            return httpx.Response(201, json={"token": "pbt_x", **json.loads(request.content)})
        if path.startswith("/api/v1/finance/feed/signed/"):
            verify_webhook(SECRET, dict(request.headers), request.content)
            return httpx.Response(200, json={"ok": True, **json.loads(request.content)})
        if path == "/api/v1/echo":
            return httpx.Response(200, json=dict(request.url.params))
        if path.endswith("/messages") or path == "/api/v1/astray":
            # A worker that does not own the conversation (`probity serve --workers N`):
            # 421 and the connection closed; /messages is then served, /astray never.
            if path == "/api/v1/astray" or sum(r.url.path == path for r in seen) == 1:
                return httpx.Response(421, headers={"connection": "close"}, json={
                    "status": 421, "code": "misdirected",
                    "detail": "此会话由另一个工作进程处理：请在新的连接上重试。"})
            return httpx.Response(201, json={"seq": 1, **json.loads(request.content)})
        return httpx.Response(500, text="unexpected")

    return handle


def run_sync() -> tuple[list[Any], list[httpx.Request]]:
    seen: list[httpx.Request] = []
    out: list[Any] = []
    with Client("http://probity.test", token="pbt_t",
                transport=httpx.MockTransport(handler(seen))) as c:
        out.append(list(c.paginate("/api/v1/items", page_size=3)))
        out.append(list(c.paginate("/api/v1/items", page_size=3, max_items=4)))
        out.append(c.get("/api/v1/echo", a=1, b=None))
        for path, kind in (("/api/v1/missing", NotFoundError), ("/api/v1/bad", ValidationError)):
            with pytest.raises(kind) as err:
                c.get(path)
            out.append((err.value.status, err.value.code, err.value.detail, err.value.extra))
        out.append(c.login("admin", "pw"))
        out.append(c.create_token("ci", days=7))
        out.append(c.post_signed_feed(3, SECRET, "orders", [{"order_no": "A1"}],
                                      msg_id="m1")["rows"])
        out.append(c.post("/api/v1/chat/conversations/2/messages", {"text": "在吗"}))
        with pytest.raises(APIError) as astray:
            c.post("/api/v1/astray", {"text": "在吗"})
        out.append((astray.value.status, astray.value.code))
    return out, seen


async def run_async() -> tuple[list[Any], list[httpx.Request]]:
    seen: list[httpx.Request] = []
    out: list[Any] = []
    async with AsyncClient("http://probity.test", token="pbt_t",
                           transport=httpx.MockTransport(handler(seen))) as c:
        out.append([i async for i in c.paginate("/api/v1/items", page_size=3)])
        out.append([i async for i in c.paginate("/api/v1/items", page_size=3, max_items=4)])
        out.append(await c.get("/api/v1/echo", a=1, b=None))
        for path, kind in (("/api/v1/missing", NotFoundError), ("/api/v1/bad", ValidationError)):
            with pytest.raises(kind) as err:
                await c.get(path)
            out.append((err.value.status, err.value.code, err.value.detail, err.value.extra))
        out.append(await c.login("admin", "pw"))
        out.append(await c.create_token("ci", days=7))
        out.append((await c.post_signed_feed(3, SECRET, "orders", [{"order_no": "A1"}],
                                             msg_id="m1"))["rows"])
        out.append(await c.post("/api/v1/chat/conversations/2/messages", {"text": "在吗"}))
        with pytest.raises(APIError) as astray:
            await c.post("/api/v1/astray", {"text": "在吗"})
        out.append((astray.value.status, astray.value.code))
    return out, seen


def test_sync_and_async_clients_agree() -> None:
    sync, sync_seen = run_sync()
    aio, aio_seen = asyncio.run(run_async())
    assert sync == aio
    assert sync[0] == ITEMS and sync[1] == ITEMS[:4]
    assert sync[2] == {"a": "1"}  # None parameters are left out
    assert sync[3] == (404, "not_found", "没有该案件。", {})
    assert sync[4][1] == "unknown_columns" and sync[4][3] == {"columns": ["部门"]}
    assert sync[5] == {"username": "admin"} and sync[6] == "pbt_x"
    assert sync[7] == [{"order_no": "A1"}]
    # A 421 (misdirected) send is repeated once, with the same body: then served, or raised.
    assert sync[8] == {"seq": 1, "text": "在吗"} and sync[9] == (421, "misdirected")
    for seen in (sync_seen, aio_seen):
        sends = [r for r in seen if r.url.path.endswith("/messages")]
        assert len(sends) == 2 and sends[0].content == sends[1].content
        assert len([r for r in seen if r.url.path == "/api/v1/astray"]) == 2
    # The same requests went out: pages (max_items stops early), bearer token, user agent.
    assert [(r.method, str(r.url)) for r in sync_seen] == \
        [(r.method, str(r.url)) for r in aio_seen]
    assert len([r for r in sync_seen if r.url.path == "/api/v1/items"]) == 3 + 2
    assert all(r.headers["authorization"] == "Bearer pbt_t" for r in sync_seen
               if "feed/signed" not in r.url.path)
