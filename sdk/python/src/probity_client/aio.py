"""The asynchronous client (same methods as :class:`probity_client.Client`, awaited)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any

import httpx

from probity_client._base import DEFAULT_PAGE_SIZE, ClientConfig, decode, next_offset, ws_url
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

    async def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                      json: Any = None, files: Any = None,
                      data: Mapping[str, Any] | None = None,
                      headers: Mapping[str, str] | None = None) -> Any:
        clean = None if params is None else {k: v for k, v in params.items() if v is not None}
        response = await self.http.request(method, path, params=clean, json=json, files=files,
                                           data=data, headers=headers)
        return decode(response)

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
        offset, seen = 0, 0
        while True:
            page = await self.request("GET", path, params={**(params or {}),
                                                           "limit": page_size, "offset": offset})
            following = next_offset(page, offset, page_size)
            for item in page:
                if max_items is not None and seen >= max_items:
                    return
                seen += 1
                yield item
            if following is None:
                return
            offset = following

    async def login(self, username: str, password: str) -> dict[str, Any]:
        me: dict[str, Any] = await self.post("/api/v1/auth/login",
                                             json={"username": username, "password": password})
        csrf = (await self.get("/api/v1/auth/csrf"))["csrf_token"]
        self.http.headers["X-CSRF-Token"] = csrf
        return me

    async def create_token(self, name: str, *, days: int | None = None) -> str:
        body: dict[str, Any] = {"name": name}
        if days is not None:
            body["expires_in_days"] = days
        return str((await self.post("/api/v1/tokens", json=body))["token"])

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
            if job["state"] in ("done", "failed"):
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['state']} after {timeout} s")
            await asyncio.sleep(interval)

    def alert_stream(self, *, open_timeout: float = 10.0) -> AsyncAlertStream:
        """``async with client.alert_stream() as alerts: async for alert in alerts: ...``"""
        return AsyncAlertStream(ws_url(self.config.base_url, "/ws/alerts", {}),
                                self.config.ws_headers(self.http.cookies), open_timeout)

    def chat(self, conversation_id: int, *, after: int = 0, reason: str | None = None,
             open_timeout: float = 10.0) -> AsyncChatStream:
        url = ws_url(self.config.base_url, f"/ws/chat/{conversation_id}",
                     {"after": after, "reason": reason})
        return AsyncChatStream(url, self.config.ws_headers(self.http.cookies), open_timeout)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()
