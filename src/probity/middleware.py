"""ASGI middleware: request id and client IP in context, a hard cap on body size, the
security headers on every response, and the signed-cookie session.

All of it is pure ASGI (no BaseHTTPMiddleware), and none of it wraps a WebSocket's `send` or
`receive`: every frame of every socket would pass through each wrapper (issue 17). The HTTP-only
ones hand a socket straight on."""

from __future__ import annotations

import json
import uuid
from base64 import b64decode
from typing import Any

from itsdangerous.exc import BadSignature
from starlette.middleware.sessions import Session
from starlette.middleware.sessions import SessionMiddleware as _StarletteSessionMiddleware
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from probity.context import client_ip_var, request_id_var

# The scope key under which `RequestContextMiddleware` leaves a WebSocket's (receive, send).
RAW_ASGI = "probity.raw_asgi"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        rid = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex
        client = scope.get("client")
        t1 = request_id_var.set(rid)
        t2 = client_ip_var.set(client[0] if client else None)

        if scope["type"] == "websocket":
            # No wrapper on a socket's sends: every frame would pass through it, and a socket
            # has no response headers after its handshake. The server's own send and receive
            # are left in the scope (`RAW_ASGI`): a chat socket sends and receives its frames
            # through them once accepted, past the wrappers of the middleware inside this one
            # and of Starlette's `WebSocket` (issue 17: four calls per frame).
            scope[RAW_ASGI] = (receive, send)
            try:
                await self.app(scope, receive, send)
            finally:
                request_id_var.reset(t1)
                client_ip_var.reset(t2)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(t1)
            client_ip_var.reset(t2)


# Pages load only their own scripts and styles (htmx, ECharts, Bootstrap and our modules are
# served from /vendor and /static), so inline script and style are refused outright; JSON data
# blocks (<script type="application/json">) are not executed and need no exception.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "font-src 'self' data:; connect-src 'self'; media-src 'self' blob:; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
# Swagger UI (/api/docs) starts itself with one inline script: that page alone allows it.
CSP_DOCS = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'")
HSTS = b"max-age=31536000; includeSubDomains"


class SecurityHeadersMiddleware:
    """Content-Security-Policy (with frame-ancestors), X-Frame-Options, nosniff,
    Referrer-Policy, a restrictive Permissions-Policy, and HSTS when `hsts` (production, which
    serves HTTPS only). A header the endpoint set itself is kept."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = CSP_DOCS if scope.get("path") == "/api/docs" else CSP
        extra = [
            (b"content-security-policy", csp.encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
        ]
        if self.hsts:
            extra.append((b"strict-transport-security", HSTS))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in extra if k not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodySizeLimitMiddleware:
    """Refuse bodies above `max_bytes` with 413, whether announced by Content-Length or not."""

    def __init__(self, app: ASGIApp, max_bytes: int,
                 overrides: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Exact paths allowed a different limit (file imports carry large CSV/XLSX files).
        self.overrides = overrides or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.overrides.get(scope.get("path", ""), self.max_bytes)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > max_bytes:
            await self._reject(send, max_bytes)
            return
        seen = 0
        started = False
        rejected = False

        async def limited_receive() -> Message:
            # Frameworks turn exceptions raised while reading into their own 400, so on overflow
            # answer 413 here and tell the app the client went away.
            nonlocal seen, rejected
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    rejected = True
                    if not started:
                        await self._reject(send, max_bytes)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if rejected:
                return  # the 413 has been sent already
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not rejected:
                raise

    async def _reject(self, send: Send, max_bytes: int) -> None:
        # The limit of *this* path (file imports have their own), in MB and bytes.
        size = (f"{max_bytes / (1024 * 1024):g} MB ({max_bytes} bytes)"
                if max_bytes >= 1024 * 1024 else f"{max_bytes} bytes")
        body = json.dumps(problem(413, "payload_too_large",
                                  f"request body exceeds {size}", limit=max_bytes)).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/problem+json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
          405: "Method Not Allowed", 409: "Conflict", 413: "Content Too Large",
          415: "Unsupported Media Type", 421: "Misdirected Request",
          422: "Unprocessable Content", 429: "Too Many Requests", 500: "Internal Server Error"}


def problem(status: int, code: str, detail: str, **extra: Any) -> dict[str, Any]:
    """An RFC 9457 problem-details body."""
    return {"type": f"https://probity.local/problems/{code}", "title": TITLES.get(status, "Error"),
            "status": status, "code": code, "detail": detail, "request_id": request_id_var.get(),
            **extra}


class SessionMiddleware(_StarletteSessionMiddleware):
    """Starlette's signed-cookie session; for a WebSocket the session is only read (a socket
    cannot set a cookie after its handshake), so its sends are not wrapped."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await super().__call__(scope, receive, send)
            return
        scope["session"] = self._read_session(scope)
        await self.app(scope, receive, send)

    def _read_session(self, scope: Scope) -> Session:
        raw = HTTPConnection(scope).cookies.get(self.session_cookie)
        if raw is None:
            return Session()
        try:
            data = self.signer.unsign(raw.encode("utf-8"), max_age=self.max_age)
            return Session(json.loads(b64decode(data)))
        except BadSignature:
            return Session()
