"""The asynchronous client (same methods as :class:`probity_client.Client`, awaited)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
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
from probity_client.streams import AsyncAlertStream, AsyncChatStream

__all__ = ["AsyncClient"]


class AsyncClient:
    """``async with AsyncClient(url, token="pbt_…") as client: await client.me()``."""

    def __init__(self, base_url: str, token: str | None = None, *, timeout: float = 30.0,
                 headers: Mapping[str, str] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = ClientConfig(base_url, token, timeout, headers)
        self.http = httpx.AsyncClient(base_url=self.config.base_url,
                                      headers=self.config.headers, timeout=timeout,
                                      transport=transport)

    async def send(self, request: httpx.Request) -> Any:
        """Send a built request; the decoded answer, or the error answer raised. A request
        the server answers 421 (misdirected: it closed the connection) is sent once more, on
        a new connection."""
        response = await self.http.send(request)
        if response.status_code == MISDIRECTED:
            response = await self.http.send(request)
        return decode(response)

    async def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                      json: Any = None, files: Any = None,
                      data: Mapping[str, Any] | None = None,
                      headers: Mapping[str, str] | None = None) -> Any:
        return await self.send(build_request(self.http, method, path, params=params, json=json,
                                             files=files, data=data, headers=headers))

    async def get(self, path: str, **params: Any) -> Any:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return await self.request("POST", path, json=json, **kwargs)

    async def put(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return await self.request("PUT", path, json=json, **kwargs)

    async def patch(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return await self.request("PATCH", path, json=json, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Any:
        return await self.request("DELETE", path, **kwargs)

    async def paginate(self, path: str, params: Mapping[str, Any] | None = None, *,
                       page_size: int = DEFAULT_PAGE_SIZE, max_items: int | None = None
                       ) -> AsyncIterator[Any]:
        """``async for item in client.paginate("/api/v1/cases"): ...``"""
        pager = Pager(self.http, path, params, page_size, max_items)
        while (request := pager.request()) is not None:
            for item in pager.take(await self.send(request)):
                yield item

    async def login(self, username: str, password: str) -> dict[str, Any]:
        me: dict[str, Any] = await self.send(login_request(self.http, username, password))
        self.http.headers["X-CSRF-Token"] = (await self.send(csrf_request(self.http))
                                             )["csrf_token"]
        return me

    async def create_token(self, name: str, *, days: int | None = None) -> str:
        return str((await self.send(token_request(self.http, name, days)))["token"])

    async def post_signed_feed(self, tenant_id: int, secret: str, kind: str,
                               rows: list[dict[str, Any]], *, dry_run: bool = False,
                               msg_id: str | None = None) -> dict[str, Any]:
        """As :meth:`probity_client.Client.post_signed_feed`."""
        result: dict[str, Any] = await self.send(signed_feed_request(
            self.http, tenant_id, secret, kind, rows, dry_run=dry_run, msg_id=msg_id))
        return result

    async def health(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.get("/api/v1/health")
        return result

    async def me(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.get("/api/v1/me")
        return result

    def alerts(self, *, decision: str | None = None, page_size: int = DEFAULT_PAGE_SIZE,
               max_items: int | None = None) -> AsyncIterator[dict[str, Any]]:
        return self.paginate("/api/v1/alerts", {"decision": decision}, page_size=page_size,
                             max_items=max_items)

    def cases(self, *, status: str | None = None, page_size: int = DEFAULT_PAGE_SIZE,
              max_items: int | None = None) -> AsyncIterator[dict[str, Any]]:
        return self.paginate("/api/v1/cases", {"status": status}, page_size=page_size,
                             max_items=max_items)

    async def job(self, job_id: int) -> dict[str, Any]:
        result: dict[str, Any] = await self.get(f"/api/v1/jobs/{job_id}")
        return result

    async def wait_for_job(self, job_id: int, *, timeout: float = 300.0,  # noqa: ASYNC109
                           interval: float = 1.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = await self.job(job_id)
            if job_settled(job, job_id, deadline, timeout, time.monotonic()):
                return job
            await asyncio.sleep(interval)

    def alert_stream(self, *, open_timeout: float = 10.0) -> AsyncAlertStream:
        """``async with client.alert_stream() as alerts: async for alert in alerts: ...``"""
        return AsyncAlertStream(ws_url(self.config.base_url, "/ws/alerts", {}),
                                self.config.ws_headers(self.http.cookies), open_timeout)

    def chat(self, conversation_id: int, *, after: int = 0, reason: str | None = None,
             open_timeout: float = 10.0) -> AsyncChatStream:
        return AsyncChatStream(chat_url(self.config.base_url, conversation_id, after, reason),
                               self.config.ws_headers(self.http.cookies), open_timeout)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()
