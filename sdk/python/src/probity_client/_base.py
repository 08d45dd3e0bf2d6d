"""What the sync and async clients share — everything but the I/O: configuration and headers,
how a call becomes an ``httpx.Request`` (:func:`build_request`), how an answer becomes a value or
an :class:`~probity_client.errors.APIError` (:func:`decode`), the pagination state
(:class:`Pager`), the bodies of sign-in, token and signed-feed calls, the job-wait rule and the
stream URLs. ``Client`` and ``AsyncClient`` only send and await."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from probity_client.errors import error_from_response

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "USER_AGENT",
    "ClientConfig",
    "Pager",
    "build_request",
    "chat_url",
    "csrf_request",
    "decode",
    "job_settled",
    "login_request",
    "next_offset",
    "signed_feed_request",
    "token_request",
    "ws_url",
]

USER_AGENT = "probity-client/1.0"
DEFAULT_PAGE_SIZE = 100

Params = Mapping[str, Any]


class ClientConfig:
    def __init__(self, base_url: str, token: str | None, timeout: float,
                 headers: Mapping[str, str] | None) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must be an http:// or https:// URL")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.headers: dict[str, str] = {"User-Agent": USER_AGENT, "Accept": "application/json",
                                        **(headers or {})}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def ws_headers(self, cookies: httpx.Cookies) -> dict[str, str]:
        """Headers for a WebSocket handshake: the bearer token, else the session cookie."""
        out = {"User-Agent": USER_AGENT}
        if self.token:
            out["Authorization"] = f"Bearer {self.token}"
        elif cookies:
            out["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        return out


# 421 Misdirected Request: the server (`probity serve --workers N`) cannot serve this request on
# this connection, which it closes (another worker owns the conversation); RFC 9110 lets a
# client repeat it on a new connection, which the server places right. Once: a second 421 is
# raised as the error it is.
MISDIRECTED = 421


def decode(response: httpx.Response) -> Any:
    """The JSON of a successful answer (None for an empty one, bytes for a file); raises the
    problem details of an error answer as an :class:`~probity_client.errors.APIError`."""
    if response.status_code >= 400:
        raise error_from_response(response.status_code, response.headers, response.content)
    if response.status_code == 204 or not response.content:
        return None
    kind = response.headers.get("content-type", "")
    if "json" in kind:
        return response.json()
    if kind.startswith("text/"):
        return response.text
    return response.content


def next_offset(page: Any, offset: int, page_size: int) -> int | None:
    """Offset pagination (``limit``/``offset``, as every list endpoint of /api/v1 takes): the
    next offset, or None when this page was the last (shorter than asked)."""
    if not isinstance(page, list):
        raise TypeError("this endpoint does not answer a list; it cannot be paginated")
    return offset + len(page) if len(page) >= page_size else None


def ws_url(base_url: str, path: str, query: Mapping[str, Any]) -> str:
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    qs = str(httpx.QueryParams({k: v for k, v in query.items() if v is not None}))
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + path, qs, ""))


def build_request(http: httpx.Client | httpx.AsyncClient, method: str, path: str, *,
                  params: Params | None = None, json: Any = None, files: Any = None,
                  data: Params | None = None, headers: Mapping[str, str] | None = None,
                  content: bytes | None = None) -> httpx.Request:
    """The request for a call (``None`` query parameters are left out)."""
    clean = None if params is None else {k: v for k, v in params.items() if v is not None}
    return http.build_request(method, path, params=clean, json=json, files=files, data=data,
                              headers=headers, content=content)


class Pager:
    """Offset pagination as state: ``request()`` is the next page's request (None when done),
    ``take(page)`` the items of that page to yield (``max_items`` honoured)."""

    def __init__(self, http: httpx.Client | httpx.AsyncClient, path: str,
                 params: Params | None, page_size: int, max_items: int | None) -> None:
        self.http, self.path, self.params = http, path, dict(params or {})
        self.page_size, self.max_items = page_size, max_items
        self.offset: int | None = 0
        self.seen = 0

    def request(self) -> httpx.Request | None:
        if self.offset is None or (self.max_items is not None
                                   and self.seen >= self.max_items):
            return None
        return build_request(self.http, "GET", self.path, params={
            **self.params, "limit": self.page_size, "offset": self.offset})

    def take(self, page: Any) -> list[Any]:
        assert self.offset is not None
        self.offset = next_offset(page, self.offset, self.page_size)
        items = list(page)
        if self.max_items is not None:
            items = items[:max(0, self.max_items - self.seen)]
        self.seen += len(items)
        return items


def login_request(http: httpx.Client | httpx.AsyncClient, username: str, password: str
                  ) -> httpx.Request:
    return build_request(http, "POST", "/api/v1/auth/login",
                         json={"username": username, "password": password})


def csrf_request(http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
    return build_request(http, "GET", "/api/v1/auth/csrf")


def token_request(http: httpx.Client | httpx.AsyncClient, name: str, days: int | None
                  ) -> httpx.Request:
    body: dict[str, Any] = {"name": name}
    if days is not None:
        body["expires_in_days"] = days
    return build_request(http, "POST", "/api/v1/tokens", json=body)


def signed_feed_request(http: httpx.Client | httpx.AsyncClient, tenant_id: int, secret: str,
                        kind: str, rows: list[dict[str, Any]], *, dry_run: bool,
                        msg_id: str | None) -> httpx.Request:
    """A finance batch for the HMAC-signed feed, signed with the tenant's feed secret;
    ``msg_id`` (default: a new UUID) is accepted once."""
    import json as _json
    import uuid

    from probity_client.signatures import signed_headers

    body = _json.dumps({"kind": kind, "rows": rows, "dry_run": dry_run},
                       ensure_ascii=False).encode()
    return build_request(http, "POST", f"/api/v1/finance/feed/signed/{tenant_id}",
                         content=body, headers=signed_headers(secret, msg_id or str(uuid.uuid4()),
                                                              body))


def job_settled(job: dict[str, Any], job_id: int, deadline: float, timeout: float,
                now: float) -> bool:
    """True when the job is done or failed; TimeoutError past the deadline."""
    if job["state"] in ("done", "failed"):
        return True
    if now > deadline:
        raise TimeoutError(f"job {job_id} still {job['state']} after {timeout} s")
    return False


def chat_url(base_url: str, conversation_id: int, after: int, reason: str | None) -> str:
    return ws_url(base_url, f"/ws/chat/{conversation_id}", {"after": after, "reason": reason})
