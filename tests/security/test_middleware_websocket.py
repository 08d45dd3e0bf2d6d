"""The middleware stack and WebSockets: a socket's frames are not passed through per-frame
wrappers (issue 17), and a cookie session still reaches the socket (read-only)."""

from __future__ import annotations

import asyncio
from typing import Any

from itsdangerous import TimestampSigner

from probity.inputguard import NulGuardMiddleware
from probity.middleware import (
    BodySizeLimitMiddleware,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
    SessionMiddleware,
)


def _socket_scope(headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {"type": "websocket", "path": "/ws/chat/1", "headers": headers or [],
            "client": ("127.0.0.1", 1), "query_string": b""}


def test_no_middleware_wraps_a_sockets_send_or_receive() -> None:
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen["receive"], seen["send"] = receive, send

    stack: Any = app
    for make in (lambda a: SessionMiddleware(a, secret_key="k" * 32),
                 NulGuardMiddleware,
                 lambda a: BodySizeLimitMiddleware(a, max_bytes=10),
                 SecurityHeadersMiddleware,
                 RequestContextMiddleware):
        stack = make(stack)

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(_message: Any) -> None:
        return None

    asyncio.run(stack(_socket_scope(), receive, send))
    assert seen["receive"] is receive and seen["send"] is send


def test_a_socket_reads_its_cookie_session() -> None:
    import base64
    import json

    secret = "s" * 32
    payload = base64.b64encode(json.dumps({"uid": [3, 1]}).encode())
    cookie = TimestampSigner(secret).sign(payload).decode()
    got: dict[str, Any] = {}

    async def app(scope: Any, _receive: Any, _send: Any) -> None:
        got.update(scope["session"])

    mw = SessionMiddleware(app, secret_key=secret, session_cookie="probity_session")
    scope = _socket_scope([(b"cookie", f"probity_session={cookie}".encode())])
    asyncio.run(mw(scope, None, None))  # type: ignore[arg-type]
    assert got == {"uid": [3, 1]}
    got.clear()
    bad = _socket_scope([(b"cookie", b"probity_session=forged.value.sig")])
    asyncio.run(mw(bad, None, None))  # type: ignore[arg-type]
    assert got == {}
