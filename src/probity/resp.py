"""A minimal Redis client for the per-message hot paths: RESP2 over an asyncio protocol.

The event bus (`probity.events.RedisEventBus`) and the conversation context
(`probity.screening.context.RedisContextStore.ascreen`) talk to Redis once or twice per chat
message. Through redis-py's asyncio client a command cost ~100-200 µs of CPU (argument
encoders, command packing, the connection pool, a stream reader and a task woken per reply);
here a command is one `transport.write` of bytes packed once, and its reply is parsed in the
connection's `data_received` and handed to a callback (or a future) — commands from any task
of the loop share one connection, pipelined, their replies coming back in order. Everything
else (registrations, scans, the blocking paths) stays on redis-py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Any, cast

log = logging.getLogger("probity.resp")

Reply = Callable[[Any], None]


class _More(Exception):
    """The buffer ends inside a reply."""


class RedisReplyError(Exception):
    """An error reply from Redis (``-ERR …``)."""


def command(*args: bytes) -> bytes:
    """A command as RESP (an array of bulk strings)."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        parts += (b"$%d\r\n" % len(arg), arg, b"\r\n")
    return b"".join(parts)


def _reply(buf: bytearray, pos: int) -> tuple[Any, int]:
    """One RESP2 reply in `buf` at `pos`: (its value, the position after it); `_More` when
    the buffer ends inside it. Errors are returned as `RedisReplyError` values."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise _More
    kind, line, pos = buf[pos], bytes(buf[pos + 1:end]), end + 2
    if kind == 0x24:  # $ bulk string
        size = int(line)
        if size < 0:
            return None, pos
        if len(buf) < pos + size + 2:
            raise _More
        return bytes(buf[pos:pos + size]), pos + size + 2
    if kind == 0x2A:  # * array
        count = int(line)
        if count < 0:
            return None, pos
        items = []
        for _ in range(count):
            item, pos = _reply(buf, pos)
            items.append(item)
        return items, pos
    if kind == 0x3A:  # : integer
        return int(line), pos
    if kind == 0x2B:  # + simple string
        return line, pos
    if kind == 0x2D:  # - error
        return RedisReplyError(line.decode(errors="replace")), pos
    raise ConnectionError(f"redis: unexpected reply type {chr(kind)!r}")


def _expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(TimeoutError("redis: no reply in time"))


class RespConnection(asyncio.Protocol):
    """One Redis connection. Commands are written as they come (pipelined); each reply goes to
    the callback sent with its command, in order, and what answers no command (pub/sub
    messages) to `push`. When the connection is lost, the callbacks still waiting get a
    `ConnectionError` value and `on_lost` is called."""

    def __init__(self, push: Reply | None = None) -> None:
        self.push = push
        self.on_lost: Callable[[], None] | None = None
        self.transport: asyncio.Transport | None = None
        self.waiting: deque[Reply] = deque()
        self.buffer = bytearray()

    @property
    def up(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        pos = 0
        try:
            while pos < len(buf):
                value, pos = _reply(buf, pos)
                self._dispatch(value)
        except _More:
            pass
        except (ValueError, ConnectionError):  # not RESP: this connection is of no more use
            log.exception("redis: unreadable reply")
            self.close()
            return
        del buf[:pos]

    def _dispatch(self, value: Any) -> None:
        callback = self.waiting.popleft() if self.waiting else self.push
        if callback is None:
            return
        try:
            callback(value)
        except Exception:  # a subscriber's watch, say: the other replies still go out
            log.exception("redis: handling a reply failed")

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        waiting, self.waiting = self.waiting, deque()
        for callback in waiting:
            with contextlib.suppress(Exception):
                callback(ConnectionError("redis: connection lost"))
        if self.on_lost is not None:
            self.on_lost()

    def send(self, data: bytes, on_reply: Reply) -> None:
        if self.transport is None or self.transport.is_closing():
            raise ConnectionError("redis: connection closed")
        self.waiting.append(on_reply)
        self.transport.write(data)

    async def call(self, *args: bytes, within_s: float = 5.0) -> Any:
        """Send a command and wait for its reply (an error reply is raised)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()

        def reply(value: Any) -> None:
            if not future.done():
                future.set_result(value)

        self.send(command(*args), reply)
        timer = loop.call_later(within_s, _expire, future)
        try:
            value = await future
        finally:
            timer.cancel()
        if isinstance(value, Exception):
            raise value
        return value

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def open_connection(where: dict[str, Any], select: bool, push: Reply | None = None,
                          within_s: float = 5.0) -> RespConnection:
    """A connection to the Redis of `where` (redis-py's `parse_url`), authenticated, and on
    its database number when `select` (pub/sub alone does not need one)."""
    loop = asyncio.get_running_loop()

    def protocol() -> RespConnection:
        return RespConnection(push)

    if "path" in where:
        opening = loop.create_unix_connection(protocol, where["path"])
    else:
        ssl: Any = None
        if getattr(where.get("connection_class"), "__name__", "") == "SSLConnection":
            ssl = tls_context(where)
        opening = loop.create_connection(protocol, where.get("host", "localhost"),
                                         int(where.get("port", 6379)), ssl=ssl)
    _, conn = await asyncio.wait_for(opening, within_s)
    try:
        if where.get("password"):
            user = [str(where["username"]).encode()] if where.get("username") else []
            await conn.call(b"AUTH", *user, str(where["password"]).encode(), within_s=within_s)
        if select and int(where.get("db") or 0):
            await conn.call(b"SELECT", b"%d" % int(where["db"]), within_s=within_s)
    except BaseException:
        conn.close()
        raise
    return conn


def tls_context(where: dict[str, Any]) -> Any:
    """The TLS context redis-py's own connections make for the same `rediss://` URL: its
    `ssl_*` query options (`ssl_cert_reqs=none`, `ssl_ca_certs`, `ssl_check_hostname`, client
    certificates, …) with redis-py's defaults (certificate required, host name checked), so the
    bus's registrations (redis-py) and its per-message traffic (this client) agree."""
    from redis.asyncio.connection import RedisSSLContext

    options: dict[str, Any] = {"cert_reqs": "required", "check_hostname": True}
    options.update((k[4:], v) for k, v in where.items() if k.startswith("ssl_"))
    return RedisSSLContext(**options).get()


def where(url: str) -> dict[str, Any]:
    """Where a Redis URL points (host/port or socket path, database, credentials, TLS)."""
    from redis.asyncio.connection import parse_url

    return dict(parse_url(url))


class RespClient:
    """Commands from any task of one event loop over one pipelined connection, opened on
    first use and again after it was lost; `timeout` bounds connecting and each reply."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self._where = where(url)
        self.timeout = timeout
        self._conn: RespConnection | None = None
        self._opening: asyncio.Future[RespConnection] | None = None

    async def _connect(self) -> RespConnection:
        opening = self._opening
        if opening is None:
            opening = self._opening = asyncio.ensure_future(
                open_connection(self._where, select=True, within_s=self.timeout))
        try:
            conn = await asyncio.shield(opening)
        finally:
            if self._opening is opening and opening.done():
                self._opening = None
        self._conn = conn
        return conn

    async def call(self, *args: bytes) -> Any:
        conn = self._conn
        if conn is None or not conn.up:
            conn = await self._connect()
        return await conn.call(*args, within_s=self.timeout)

    async def get(self, key: str) -> bytes | None:
        got: bytes | None = await self.call(b"GET", key.encode())
        return got

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
