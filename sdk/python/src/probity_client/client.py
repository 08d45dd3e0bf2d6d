"""The synchronous client."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any

import httpx

from probity_client._base import DEFAULT_PAGE_SIZE, ClientConfig, decode, next_offset, ws_url
from probity_client.streams import AlertStream, ChatStream

__all__ = ["Client"]


class Client:
    """``Client("https://probity.example.com", token="pbt_…")``.

    Every method raises an :class:`~probity_client.errors.APIError` subclass carrying the
    problem details when the API answers an error. Use it as a context manager (or call
    :meth:`close`) to release its connections.
    """

    def __init__(self, base_url: str, token: str | None = None, *, timeout: float = 30.0,
                 headers: Mapping[str, str] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.config = ClientConfig(base_url, token, timeout, headers)
        self.http = httpx.Client(base_url=self.config.base_url, headers=self.config.headers,
                                 timeout=timeout, transport=transport)

    # --- plumbing -----------------------------------------------------------------------------

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json: Any = None, files: Any = None, data: Mapping[str, Any] | None = None,
                headers: Mapping[str, str] | None = None) -> Any:
        """Call ``method path`` (``/api/v1/...``) and return the decoded JSON answer."""
        response = self.http.request(method, path, params=_clean(params), json=json,
                                     files=files, data=data, headers=headers)
        return decode(response)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("PUT", path, json=json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("PATCH", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def paginate(self, path: str, params: Mapping[str, Any] | None = None, *,
                 page_size: int = DEFAULT_PAGE_SIZE, max_items: int | None = None
                 ) -> Iterator[Any]:
        """Every item of a list endpoint, fetched ``page_size`` at a time with
        ``limit``/``offset``; stops after ``max_items`` when given."""
        offset, seen = 0, 0
        while True:
            page = self.request("GET", path, params={**(params or {}), "limit": page_size,
                                                     "offset": offset})
            following = next_offset(page, offset, page_size)
            for item in page:
                if max_items is not None and seen >= max_items:
                    return
                seen += 1
                yield item
            if following is None:
                return
            offset = following

    # --- session sign-in (tokens are the normal way; this is for scripts that mint one) ------

    def login(self, username: str, password: str) -> dict[str, Any]:
        """Sign in with a password (a cookie session) and arm CSRF for later writes."""
        me: dict[str, Any] = self.post("/api/v1/auth/login",
                                       json={"username": username, "password": password})
        csrf = self.get("/api/v1/auth/csrf")["csrf_token"]
        self.http.headers["X-CSRF-Token"] = csrf
        return me

    def create_token(self, name: str, *, days: int | None = None) -> str:
        """Mint an API token for the signed-in account; returns the secret (shown once)."""
        body: dict[str, Any] = {"name": name}
        if days is not None:
            body["expires_in_days"] = days
        answer = self.post("/api/v1/tokens", json=body)
        return str(answer["token"])

    def post_signed_feed(self, tenant_id: int, secret: str, kind: str,
                         rows: list[dict[str, Any]], *, dry_run: bool = False,
                         msg_id: str | None = None) -> dict[str, Any]:
        """Send a finance batch to the HMAC-signed feed (no token needed): signed with the
        tenant's feed secret; ``msg_id`` (default: a new UUID) is accepted once."""
        import json as _json
        import uuid

        from probity_client.signatures import signed_headers

        body = _json.dumps({"kind": kind, "rows": rows, "dry_run": dry_run},
                           ensure_ascii=False).encode()
        headers = signed_headers(secret, msg_id or str(uuid.uuid4()), body)
        response = self.http.post(f"/api/v1/finance/feed/signed/{tenant_id}", content=body,
                                  headers=headers)
        result: dict[str, Any] = decode(response)
        return result

    # --- a few typed shortcuts ----------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self.get("/api/v1/health")
        return result

    def me(self) -> dict[str, Any]:
        result: dict[str, Any] = self.get("/api/v1/me")
        return result

    def alerts(self, *, decision: str | None = None, page_size: int = DEFAULT_PAGE_SIZE,
               max_items: int | None = None) -> Iterator[dict[str, Any]]:
        return self.paginate("/api/v1/alerts", {"decision": decision}, page_size=page_size,
                             max_items=max_items)

    def cases(self, *, status: str | None = None, page_size: int = DEFAULT_PAGE_SIZE,
              max_items: int | None = None) -> Iterator[dict[str, Any]]:
        return self.paginate("/api/v1/cases", {"status": status}, page_size=page_size,
                             max_items=max_items)

    def job(self, job_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self.get(f"/api/v1/jobs/{job_id}")
        return result

    def wait_for_job(self, job_id: int, *, timeout: float = 300.0, interval: float = 1.0
                     ) -> dict[str, Any]:
        """Poll a background job until it is done or failed (TimeoutError otherwise)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["state"] in ("done", "failed"):
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['state']} after {timeout} s")
            time.sleep(interval)

    # --- live streams -------------------------------------------------------------------------

    def alert_stream(self, *, open_timeout: float = 10.0) -> AlertStream:
        """``with client.alert_stream() as alerts: for alert in alerts: ...`` — every new alert
        in the caller's scope (needs the alerts.read permission)."""
        return AlertStream(ws_url(self.config.base_url, "/ws/alerts", {}),
                           self.config.ws_headers(self.http.cookies), open_timeout)

    def chat(self, conversation_id: int, *, after: int = 0, reason: str | None = None,
             open_timeout: float = 10.0) -> ChatStream:
        """A conversation's socket: ``send(text)``, iterate frames (backlog after ``after``,
        then live)."""
        url = ws_url(self.config.base_url, f"/ws/chat/{conversation_id}",
                     {"after": after, "reason": reason})
        return ChatStream(url, self.config.ws_headers(self.http.cookies), open_timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _clean(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if params is None else {k: v for k, v in params.items() if v is not None}
