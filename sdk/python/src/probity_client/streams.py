"""The live WebSocket streams: alerts (``/ws/alerts``) and a conversation (``/ws/chat/{id}``),
sync (``websockets.sync``) and async (``websockets.asyncio``). Frames are JSON objects; see
docs/CHAT.md in the Probity repository for the chat protocol."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from types import TracebackType
from typing import Any

from websockets.asyncio.client import ClientConnection as AsyncConnection
from websockets.asyncio.client import connect as aconnect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from probity_client.errors import StreamClosed

__all__ = ["AlertStream", "AsyncAlertStream", "AsyncChatStream", "ChatStream"]

Frame = dict[str, Any]


def _frame(raw: str | bytes) -> Frame:
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("the server sent a frame that is not a JSON object")
    return data


def _closed(exc: ConnectionClosed) -> StreamClosed:
    close = exc.rcvd
    return StreamClosed(close.code if close else None, close.reason if close else "")


def _refused(exc: InvalidStatus) -> StreamClosed:
    return StreamClosed(exc.response.status_code, "the handshake was refused")


class _SyncStream:
    def __init__(self, url: str, headers: dict[str, str], open_timeout: float) -> None:
        self.url, self.headers, self.open_timeout = url, headers, open_timeout
        self.ws: ClientConnection | None = None
        self._stack = ExitStack()

    def __enter__(self) -> _SyncStream:
        try:
            self.ws = self._stack.enter_context(connect(
                self.url, additional_headers=self.headers, open_timeout=self.open_timeout))
        except InvalidStatus as exc:
            raise _refused(exc) from exc
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self.ws is not None:
            self.ws = None
            self._stack.close()

    def _conn(self) -> ClientConnection:
        if self.ws is None:
            raise RuntimeError("the stream is not open: use it as a context manager")
        return self.ws

    def recv(self, timeout: float | None = None) -> Frame:
        """The next frame; :class:`StreamClosed` when the server closed the socket,
        ``TimeoutError`` after ``timeout`` seconds."""
        try:
            return _frame(self._conn().recv(timeout=timeout))
        except ConnectionClosed as exc:
            raise _closed(exc) from exc

    def send_frame(self, frame: Frame) -> None:
        try:
            self._conn().send(json.dumps(frame))
        except ConnectionClosed as exc:
            raise _closed(exc) from exc

    def ping(self) -> None:
        self.send_frame({"type": "ping"})

    def frames(self) -> Iterator[Frame]:
        """Every frame until the server closes the socket normally."""
        while True:
            try:
                yield self.recv()
            except StreamClosed as exc:
                if exc.code in (1000, 1001):
                    return
                raise


class AlertStream(_SyncStream):
    """Iterating it yields each new alert (the ``alert`` member of ``{"type": "alert"}``
    frames); ``ready`` and ``pong`` frames are skipped."""

    def __enter__(self) -> AlertStream:
        super().__enter__()
        return self

    def __iter__(self) -> Iterator[Frame]:
        for frame in self.frames():
            if frame.get("type") == "alert":
                alert = frame.get("alert")
                if isinstance(alert, dict):
                    yield alert

    def next_alert(self, timeout: float | None = None) -> Frame:
        while True:
            frame = self.recv(timeout)
            if frame.get("type") == "alert" and isinstance(frame.get("alert"), dict):
                return frame["alert"]  # type: ignore[no-any-return]


class ChatStream(_SyncStream):
    """A conversation's socket. :meth:`send` returns the client id to match its ``ack``;
    :meth:`send_and_ack` waits for it (the ack carries the screening decision)."""

    def __enter__(self) -> ChatStream:
        super().__enter__()
        return self

    def __iter__(self) -> Iterator[Frame]:
        return self.frames()

    def send(self, text: str, client_id: str | None = None) -> str:
        cid = client_id or uuid.uuid4().hex
        self.send_frame({"type": "send", "client_id": cid, "text": text})
        return cid

    def send_and_ack(self, text: str, timeout: float = 10.0) -> Frame:
        cid = self.send(text)
        while True:
            frame = self.recv(timeout)
            if frame.get("client_id") == cid and frame.get("type") in ("ack", "error"):
                return frame

    def mark_read(self, seq: int) -> None:
        self.send_frame({"type": "read", "seq": seq})


class _AsyncStream:
    def __init__(self, url: str, headers: dict[str, str], open_timeout: float) -> None:
        self.url, self.headers, self.open_timeout = url, headers, open_timeout
        self.ws: AsyncConnection | None = None

    async def __aenter__(self) -> _AsyncStream:
        try:
            self.ws = await aconnect(self.url, additional_headers=self.headers,
                                     open_timeout=self.open_timeout)
        except InvalidStatus as exc:
            raise _refused(exc) from exc
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            self.ws = None

    def _conn(self) -> AsyncConnection:
        if self.ws is None:
            raise RuntimeError("the stream is not open: use it as an async context manager")
        return self.ws

    async def recv(self) -> Frame:
        try:
            return _frame(await self._conn().recv())
        except ConnectionClosed as exc:
            raise _closed(exc) from exc

    async def send_frame(self, frame: Frame) -> None:
        try:
            await self._conn().send(json.dumps(frame))
        except ConnectionClosed as exc:
            raise _closed(exc) from exc

    async def frames(self) -> AsyncIterator[Frame]:
        while True:
            try:
                yield await self.recv()
            except StreamClosed as exc:
                if exc.code in (1000, 1001):
                    return
                raise


class AsyncAlertStream(_AsyncStream):
    async def __aenter__(self) -> AsyncAlertStream:
        await super().__aenter__()
        return self

    async def __aiter__(self) -> AsyncIterator[Frame]:
        async for frame in self.frames():
            if frame.get("type") == "alert" and isinstance(frame.get("alert"), dict):
                yield frame["alert"]


class AsyncChatStream(_AsyncStream):
    async def __aenter__(self) -> AsyncChatStream:
        await super().__aenter__()
        return self

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self.frames()

    async def send(self, text: str, client_id: str | None = None) -> str:
        cid = client_id or uuid.uuid4().hex
        await self.send_frame({"type": "send", "client_id": cid, "text": text})
        return cid

    async def send_and_ack(self, text: str) -> Frame:
        cid = await self.send(text)
        while True:
            frame = await self.recv()
            if frame.get("client_id") == cid and frame.get("type") in ("ack", "error"):
                return frame
