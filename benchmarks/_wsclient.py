"""A lean WebSocket client for the chat benchmark's load generator (`benchmarks/chat.py`).

The `websockets` library's client costs the generator ~0.09 ms of CPU per chat message (its
asyncio streams, generator-based frame parser, a task per connection and per sender, a `Frame`
object per frame): on a 2-core machine that shares the cores with the servers it measures, that
is CPU taken from the servers. This client is an `asyncio.Protocol` per connection with no task
of its own: one HTTP/1.1 upgrade handshake (RFC 6455 §4.1, `Sec-WebSocket-Accept` checked), then
frames written with a fresh random 4-byte mask each (from `os.urandom`, as `websockets` does
with `secrets.token_bytes`, drawn from a pool; masked by websockets' C `apply_mask` when
present) and read by a small
parser: FIN, text/binary/continuation, 7/16/64-bit lengths, close (answered, then the socket
ends), ping (answered with a pong carrying its payload), pong (ignored). Like the `websockets`
client it offers no extension, no subprotocol and no Origin, and sends a keepalive ping every
20 s (`websockets`' `ping_interval` default), so the servers see the same traffic.

`encode_frame` and `FrameParser` are tested against websockets' own codec
(tests/test_bench_wsclient.py).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import struct
from collections.abc import Callable
from typing import cast

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
KEEPALIVE_S = 20.0  # websockets' ping_interval default
CLOSE_TIMEOUT_S = 10.0  # websockets' close_timeout default
HANDSHAKE_LIMIT = 64 * 1024
MAX_PAYLOAD = 16 * 1024 * 1024  # a frame larger than this is a protocol error here


def apply_mask_py(data: bytes, mask: bytes) -> bytes:
    """XOR `data` with the 4-byte `mask` repeated (RFC 6455 §5.3), in pure Python."""
    if len(mask) != 4:
        raise ValueError("mask must contain 4 bytes")
    n = len(data)
    if not n:
        return b""
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(data, "big") ^ key).to_bytes(n, "big")


apply_mask: Callable[[bytes, bytes], bytes]
try:
    from websockets.speedups import apply_mask  # websockets' C extension
except ImportError:  # websockets without its C extension (or not installed)
    apply_mask = apply_mask_py


def encode_frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bytes | None = None,
                 masked: bool = True) -> bytes:
    """One frame as a client sends it: masked (with `mask`, or 4 fresh random bytes)."""
    n = len(payload)
    head1 = (0x80 if fin else 0) | opcode
    bit = 0x80 if masked else 0
    if n < 126:
        head = struct.pack("!BB", head1, bit | n)
    elif n < 65536:
        head = struct.pack("!BBH", head1, bit | 126, n)
    else:
        head = struct.pack("!BBQ", head1, bit | 127, n)
    if not masked:
        return head + payload
    if mask is None:
        mask = new_mask()
    return head + mask + apply_mask(payload, mask)


_pool = b""
_pos = 0


def new_mask() -> bytes:
    """4 bytes from the OS's random source (as websockets' `secrets.token_bytes(4)`), taken
    from a 4 KiB pool so that a frame costs no system call of its own."""
    global _pool, _pos
    if _pos >= len(_pool):
        _pool, _pos = os.urandom(4096), 0
    _pos += 4
    return _pool[_pos - 4:_pos]


def text_frame(payload: bytes) -> bytes:
    """A final, masked text frame (the hot path: no keyword arguments)."""
    n = len(payload)
    mask = new_mask()
    if n < 126:
        return bytes((0x81, 0x80 | n)) + mask + apply_mask(payload, mask)
    if n < 65536:
        return struct.pack("!BBH", 0x81, 0xFE, n) + mask + apply_mask(payload, mask)
    return struct.pack("!BBQ", 0x81, 0xFF, n) + mask + apply_mask(payload, mask)


class ProtocolError(Exception):
    """The peer broke RFC 6455 in a way this client does not accept."""


class FrameParser:
    """Incremental frame parser for what a server sends (unmasked frames; a masked one is
    unmasked too, for testing against a client's bytes). `feed` returns the complete frames as
    (opcode, fin, payload); fragments are returned as they come (`Reassembler` joins them)."""

    __slots__ = ("buf", "max_size")

    def __init__(self, max_size: int = MAX_PAYLOAD) -> None:
        self.buf = b""
        self.max_size = max_size

    def feed(self, data: bytes) -> list[tuple[int, bool, bytes]]:
        buf = self.buf + data if self.buf else data
        out: list[tuple[int, bool, bytes]] = []
        pos, end = 0, len(buf)
        while end - pos >= 2:
            b1 = buf[pos]
            b2 = buf[pos + 1]
            if b1 & 0x70:
                raise ProtocolError("reserved bits set (no extension was negotiated)")
            n = b2 & 0x7F
            start = pos + 2
            if n == 126:
                if end - start < 2:
                    break
                n = (buf[start] << 8) | buf[start + 1]
                start += 2
            elif n == 127:
                if end - start < 8:
                    break
                (n,) = struct.unpack_from("!Q", buf, start)
                start += 8
            if n > self.max_size:
                raise ProtocolError(f"frame of {n} bytes over the limit of {self.max_size}")
            opcode = b1 & 0x0F
            if opcode & 0x8 and (n > 125 or not b1 & 0x80):
                raise ProtocolError("control frame fragmented or over 125 bytes")
            if b2 & 0x80:
                if end - start < 4 + n:
                    break
                mask = buf[start:start + 4]
                payload = apply_mask(buf[start + 4:start + 4 + n], mask)
                start += 4
            else:
                if end - start < n:
                    break
                payload = buf[start:start + n]
            out.append((opcode, bool(b1 & 0x80), payload))
            pos = start + n
        self.buf = buf[pos:] if pos < end else b""
        return out


class Reassembler:
    """Data frames into messages: a non-final text/binary frame and its continuations become
    one payload (RFC 6455 §5.4)."""

    __slots__ = ("op", "parts")

    def __init__(self) -> None:
        self.op: int | None = None
        self.parts: list[bytes] = []

    def add(self, opcode: int, fin: bool, payload: bytes) -> bytes | None:
        """The message's payload when this frame completes one, else None."""
        if opcode == OP_CONT:
            if self.op is None:
                raise ProtocolError("continuation frame with no message in progress")
            self.parts.append(payload)
            if not fin:
                return None
            whole = b"".join(self.parts)
            self.op, self.parts = None, []
            return whole
        if opcode not in (OP_TEXT, OP_BINARY):
            raise ProtocolError(f"invalid opcode {opcode:#x}")
        if self.op is not None:
            raise ProtocolError("new message before the fragmented one ended")
        if fin:
            return payload
        self.op, self.parts = opcode, [payload]
        return None


def handshake_request(host: str, port: int, path: str, key: str,
                      headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13",
             *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def accept_for(key: str) -> str:
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def check_handshake(head: bytes, key: str) -> None:
    """Raise `ProtocolError` unless `head` (the response up to its blank line) accepts the
    upgrade: 101, Upgrade: websocket, Connection: upgrade, the right Sec-WebSocket-Accept, no
    extension or subprotocol (none was offered)."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or parts[0] != "HTTP/1.1" or parts[1] != "101":
        raise ProtocolError(f"handshake refused: {lines[0]!r}")
    fields: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
    if fields.get("upgrade", "").lower() != "websocket":
        raise ProtocolError("handshake: no Upgrade: websocket")
    if "upgrade" not in [t.strip().lower() for t in fields.get("connection", "").split(",")]:
        raise ProtocolError("handshake: no Connection: upgrade")
    if fields.get("sec-websocket-accept") != accept_for(key):
        raise ProtocolError("handshake: wrong Sec-WebSocket-Accept")
    if fields.get("sec-websocket-extensions") or fields.get("sec-websocket-protocol"):
        raise ProtocolError("handshake: an extension or subprotocol that was not offered")


class LeanSocket(asyncio.Protocol):
    """One client connection. `on_message(payload)` gets each complete text (or binary)
    message's bytes; `send(payload)` writes one text frame. `opened` resolves once the
    handshake is accepted, `closed` once the connection is gone."""

    def __init__(self, host: str, port: int, path: str, headers: dict[str, str],
                 on_message: Callable[[bytes], None], keepalive: float = KEEPALIVE_S) -> None:
        loop = asyncio.get_running_loop()
        self.loop = loop
        self.host, self.port, self.path, self.headers = host, port, path, headers
        self.on_message = on_message
        self.keepalive = keepalive
        self.key = base64.b64encode(os.urandom(16)).decode()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.head = b""
        self.open = False
        self.close_sent = False
        self.parser = FrameParser()
        self.messages = Reassembler()
        self.paused = False  # the transport asked us to stop writing (its buffer is full)
        self.on_resume: Callable[[], None] | None = None
        self._ping: asyncio.TimerHandle | None = None
        # transport.write once open; before, and once closing, writes are dropped (the
        # `websockets` client's send raised ConnectionClosed into its task, which then ended)
        self.write: Callable[[bytes], None] = self._drop

    def _drop(self, data: bytes) -> None:
        return None

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCP transport is not an asyncio.Transport subclass, but has its methods
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(handshake_request(self.host, self.port, self.path, self.key,
                                          self.headers))

    def data_received(self, data: bytes) -> None:
        if not self.open:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                if len(self.head) > HANDSHAKE_LIMIT:
                    self._fail(ProtocolError("handshake response too large"))
                return
            head, data = self.head[:end], self.head[end + 4:]
            self.head = b""
            try:
                check_handshake(head, self.key)
            except ProtocolError as exc:
                self._fail(exc)
                return
            self.open = True
            assert self.transport is not None
            self.write = self.transport.write
            if self.keepalive:
                self._ping = self.loop.call_later(self.keepalive, self._keepalive)
            if not self.opened.done():
                self.opened.set_result(None)
            if not data:
                return
        try:
            frames = self.parser.feed(data)
            for opcode, fin, payload in frames:
                if opcode & 0x8:
                    self._control(opcode, payload)
                    continue
                whole = self.messages.add(opcode, fin, payload)
                if whole is not None:
                    self.on_message(whole)
        except ProtocolError as exc:
            self._fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self.write = self._drop
        if self._ping is not None:
            self._ping.cancel()
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        if self.on_resume is not None:
            self.on_resume()

    # frames

    def send(self, payload: bytes) -> None:
        """One text frame (payload: UTF-8 bytes)."""
        self.write(text_frame(payload))

    def _control(self, opcode: int, payload: bytes) -> None:
        if opcode == OP_PING:
            if not self.close_sent:
                self.write(encode_frame(OP_PONG, payload))
        elif opcode == OP_CLOSE:
            if not self.close_sent:  # answer with the same code (RFC 6455 §5.5.1)
                self._closing(payload[:2])
            assert self.transport is not None
            self.transport.close()
        elif opcode != OP_PONG:
            raise ProtocolError(f"invalid opcode {opcode:#x}")

    def _closing(self, payload: bytes) -> None:
        """Our close frame; nothing is written after it."""
        self.close_sent = True
        self.write(encode_frame(OP_CLOSE, payload))
        self.write = self._drop

    def _keepalive(self) -> None:
        if self.open and not self.close_sent:
            self.write(encode_frame(OP_PING, os.urandom(4)))
            self._ping = self.loop.call_later(self.keepalive, self._keepalive)

    def _fail(self, exc: Exception) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc)
        if self.transport is not None:
            if self.open and not self.close_sent:
                self._closing(struct.pack("!H", 1002))
            self.transport.close()

    async def close(self, code: int = 1000) -> None:
        """The closing handshake: our close frame, the server's answer, then the TCP close
        (aborted after CLOSE_TIMEOUT_S, as the `websockets` client's close_timeout)."""
        if self.transport is None:
            return
        if self.open and not self.close_sent:
            self._closing(struct.pack("!H", code))
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await asyncio.shield(self.closed)
        except TimeoutError:
            self.transport.abort()


async def connect(url: str, headers: dict[str, str], on_message: Callable[[bytes], None],
                  open_timeout: float = 120.0, keepalive: float = KEEPALIVE_S) -> LeanSocket:
    """Open `url` (ws://host:port/path?query) and complete the handshake."""
    if not url.startswith("ws://"):
        raise ValueError("only ws:// URLs (loopback benchmark)")
    hostport, _, rest = url[5:].partition("/")
    host, _, port_s = hostport.rpartition(":")
    port = int(port_s) if host else 80
    host = host or hostport
    loop = asyncio.get_running_loop()

    def factory() -> LeanSocket:
        return LeanSocket(host, port, "/" + rest, headers, on_message, keepalive)

    async with asyncio.timeout(open_timeout):  # as the `websockets` client's open_timeout
        _transport, proto = await loop.create_connection(factory, host, port)
        await proto.opened
    return proto
