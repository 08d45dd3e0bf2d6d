"""Refuse request text no field may hold, before any handler sees it: NUL characters.

PostgreSQL's text types cannot store U+0000 (the driver raised a 500); SQLite stores it and a
later export or page truncates at it. So a NUL in the path, the query string or a JSON or form
body is a 422 with a message on every database. File uploads (multipart) carry binary data and
are checked by their own importers.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from probity.middleware import problem

__all__ = ["NulGuardMiddleware"]

_TEXT_BODIES = (b"application/json", b"application/problem+json",
                b"application/x-www-form-urlencoded")


def _has_nul_query(raw: bytes) -> bool:
    low = raw.lower()
    return b"%00" in low or b"\x00" in low


class NulGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        if "\x00" in path or _has_nul_query(scope.get("query_string", b"")):
            await self._reject(send, "the address contains a NUL character")
            return
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if ctype not in _TEXT_BODIES:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        form = ctype == b"application/x-www-form-urlencoded"
        if b"\x00" in body or (form and b"%00" in body.lower()) or (
                not form and b"\\u0000" in body and _json_has_nul(body)):
            await self._reject(send, "the request contains a NUL character (U+0000), which no "
                                     "field accepts")
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _reject(self, send: Send, detail: str) -> None:
        payload = json.dumps(problem(422, "nul_character", detail)).encode()
        await send({"type": "http.response.start", "status": 422,
                    "headers": [(b"content-type", b"application/problem+json"),
                                (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})


def _json_has_nul(body: bytes) -> bool:
    """True when the JSON text really decodes to a NUL (not an escaped backslash + u0000)."""
    try:
        value: Any = json.loads(body)
    except ValueError:
        return False  # not JSON: validation reports it

    def walk(v: Any) -> bool:
        if isinstance(v, str):
            return "\x00" in v
        if isinstance(v, dict):
            return any(walk(k) or walk(x) for k, x in v.items())
        if isinstance(v, list):
            return any(walk(x) for x in v)
        return False

    return walk(value)
