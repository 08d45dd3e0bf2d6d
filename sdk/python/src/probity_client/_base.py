"""What the sync and async clients share: configuration, headers, answers, pagination rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from probity_client.errors import error_from_response

__all__ = ["DEFAULT_PAGE_SIZE", "USER_AGENT", "ClientConfig", "decode", "next_offset", "ws_url"]

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
