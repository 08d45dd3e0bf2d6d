"""The synchronous client."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any

import httpx

from probity_client._base import (
    DEFAULT_PAGE_SIZE,
    MISDIRECTED,
    ClientConfig,
    Pager,
    build_request,
    chat_url,
    csrf_request,
    decode,
    job_settled,
    login_request,
    signed_feed_request,
    token_request,
    ws_url,
)
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

    # --- plumbing (requests are built and answers decoded in _base, shared with AsyncClient) -

    def send(self, request: httpx.Request) -> Any:
        """Send a built request; the decoded answer, or the error answer raised. A request
        the server answers 421 (misdirected: it closed the connection) is sent once more, on
        a new connection."""
        response = self.http.send(request)
        if response.status_code == MISDIRECTED:
            response = self.http.send(request)
        return decode(response)

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json: Any = None, files: Any = None, data: Mapping[str, Any] | None = None,
                headers: Mapping[str, str] | None = None) -> Any:
        """Call ``method path`` (``/api/v1/...``) and return the decoded JSON answer."""
        return self.send(build_request(self.http, method, path, params=params, json=json,
                                       files=files, data=data, headers=headers))

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
        pager = Pager(self.http, path, params, page_size, max_items)
        while (request := pager.request()) is not None:
            yield from pager.take(self.send(request))

    # --- session sign-in (tokens are the normal way; this is for scripts that mint one) ------

    def login(self, username: str, password: str) -> dict[str, Any]:
        """Sign in with a password (a cookie session) and arm CSRF for later writes."""
        me: dict[str, Any] = self.send(login_request(self.http, username, password))
        self.http.headers["X-CSRF-Token"] = self.send(csrf_request(self.http))["csrf_token"]
        return me

    def create_token(self, name: str, *, days: int | None = None) -> str:
        """Mint an API token for the signed-in account; returns the secret (shown once)."""
        return str(self.send(token_request(self.http, name, days))["token"])

    def post_signed_feed(self, tenant_id: int, secret: str, kind: str,
                         rows: list[dict[str, Any]], *, dry_run: bool = False,
                         msg_id: str | None = None) -> dict[str, Any]:
        """Send a finance batch to the HMAC-signed feed (no token needed): signed with the
        tenant's feed secret; ``msg_id`` (default: a new UUID) is accepted once."""
        result: dict[str, Any] = self.send(signed_feed_request(
            self.http, tenant_id, secret, kind, rows, dry_run=dry_run, msg_id=msg_id))
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
        while not job_settled(job := self.job(job_id), job_id, deadline, timeout,
                              time.monotonic()):
            time.sleep(interval)
        return job

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
        return ChatStream(chat_url(self.config.base_url, conversation_id, after, reason),
                          self.config.ws_headers(self.http.cookies), open_timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

