"""`ChatSocketProtocol` against uvicorn's own websockets-sansio protocol: the same bytes from a
client, in the same pieces, over a real socket, give the application the same messages and the
client the same bytes back — valid frames, control frames, fragments, errors, closes, limits."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import struct
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.importer import import_from_string
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.protocol import Protocol

from probity.config import SOCKET_PROTOCOL
from probity.socket_protocol import ChatSocketProtocol

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
REQUEST = ("GET /ws HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()


def frame(payload: bytes, opcode: int = 1, *, fin: bool = True, rsv: int = 0,
          masked: bool = True, mask: bytes | None = None) -> bytes:
    """A client frame, masked unless told otherwise."""
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    n = len(payload)
    m = 0x80 if masked else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack("!H", n)
    else:
        head += bytes([m | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    mask = mask if mask is not None else os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def text(s: str) -> bytes:
    return frame(s.encode())


async def serve(cls: type[WebSocketsSansIOProtocol], app: Any, **options: Any
                ) -> tuple[Any, socket.socket]:
    """`cls` serving `app` on one end of a socketpair (`options`: uvicorn's `Config`, no
    permessage-deflate); returns the protocol and the client's end, non-blocking."""
    config = Config(app=app, ws_per_message_deflate=False, **options)
    config.load()
    server_sock, client_sock = socket.socketpair()
    client_sock.setblocking(False)
    proto = cls(config=config, server_state=ServerState(), app_state={})
    await asyncio.get_running_loop().connect_accepted_socket(lambda: proto, server_sock)
    return proto, client_sock


async def exchange(cls: type[WebSocketsSansIOProtocol], pieces: list[bytes],
                   sends: tuple[str, ...] = (), max_size: int = 16 * 1024 * 1024,
                   early: bytes = b"") -> tuple[list[dict[str, Any]], bytes, list[bool], Any]:
    """Serve one socket with `cls` over a socketpair: the client writes `pieces` one after the
    other (each read by the server on its own; `early` with the request, before the
    handshake is answered), the application receives until the socket
    ends, after sending `sends` (through `send_text_now` where the protocol has it). Returns
    what the application received, every byte the client got, what `send_text_now`
    answered, and whether the frames were delimited by `ChatSocketProtocol` to the end."""
    received: list[dict[str, Any]] = []
    answered: list[bool] = []
    accepted = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        for s in sends:
            now = getattr(send.__self__, "send_text_now", None)
            if now is not None and now(s):
                answered.append(True)
            else:
                answered.append(False)
                await send({"type": "websocket.send", "text": s})
        accepted.set()
        while True:
            message = await receive()
            received.append(message)
            if message["type"] == "websocket.disconnect":
                return

    proto, client_sock = await serve(cls, app, ws_max_size=max_size, ws_ping_interval=None)
    loop = asyncio.get_running_loop()
    got = bytearray()

    async def read_all() -> None:
        while True:
            try:
                chunk = await asyncio.wait_for(loop.sock_recv(client_sock, 1 << 20), 0.5)
            except TimeoutError:
                return
            if not chunk:
                return
            got.extend(chunk)

    reader = asyncio.ensure_future(read_all())
    await loop.sock_sendall(client_sock, REQUEST + early)
    await asyncio.wait_for(accepted.wait(), 5)
    for piece in pieces:
        try:
            await loop.sock_sendall(client_sock, piece)
        except (BrokenPipeError, ConnectionResetError):
            break  # the server closed the socket
        await asyncio.sleep(0.002)  # each piece read on its own
    await asyncio.sleep(0.05)
    client_sock.close()
    await reader
    await asyncio.sleep(0.05)
    return received, bytes(got), answered, getattr(proto, "_fast", None)


async def both(pieces: list[bytes], sends: tuple[str, ...] = (),
               max_size: int = 16 * 1024 * 1024, early: bytes = b""
               ) -> tuple[list[dict[str, Any]], bytes, Any]:
    stock = await exchange(WebSocketsSansIOProtocol, pieces, sends, max_size, early)
    fast = await exchange(ChatSocketProtocol, pieces, sends, max_size, early)
    assert fast[0] == stock[0]
    assert _frames_only(fast[1]) == _frames_only(stock[1])
    return fast[0], fast[1], fast[3]


def _frames_only(data: bytes) -> bytes:
    """What came after the handshake's answer (its Date header differs by the second)."""
    return data.partition(b"\r\n\r\n")[2]


def texts(received: list[dict[str, Any]]) -> list[str]:
    return [m["text"] for m in received if m["type"] == "websocket.receive" and "text" in m]


def chunked(data: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 6))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


async def test_text_frames_of_every_length_encoding_in_any_pieces() -> None:
    rng = random.Random(7)
    msgs = ["", "a", "您好，请问订单什么时候发货？", "x" * 125, "y" * 126, "é" * 100,
            "z" * 65535, "w" * 65536, "q" * 200_000, '{"type": "send", "text": "hi"}']
    stream = b"".join(text(m) for m in msgs)
    received, _, fast = await both([stream])
    assert texts(received) == msgs
    assert fast is True  # delimited here, not by websockets
    for _ in range(3):
        received, _, _ = await both(chunked(stream, rng))
        assert texts(received) == msgs
    # byte by byte across a frame's header and mask
    small = text("abc") + text("d" * 300)
    received, _, _ = await both([small[i:i + 1] for i in range(len(small))])
    assert texts(received) == ["abc", "d" * 300]


async def test_control_frames_fragments_and_binary_between_text_frames() -> None:
    stream = [text("one"), frame(b"ping!", 9), text("two"),
              frame(b"par", 1, fin=False), frame(b"t", 0, fin=False), frame(b"s", 0),
              frame(b"\x00\x01", 2), frame(b"unsolicited", 10), text("three")]
    received, out, _ = await both([b"".join(stream)])
    assert texts(received) == ["one", "two", "parts", "three"]
    assert b"ping!" in out  # the pong
    received, _, _ = await both(stream)
    assert texts(received) == ["one", "two", "parts", "three"]


async def test_pings_and_pongs_are_answered_here_as_websockets_answers_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stream = [frame(b"ping!", 9), frame(b"", 9), frame(b"p" * 125, 9),
              frame(b"par", 1, fin=False), frame(b"mid", 9), frame(b"ts", 0),
              frame(b"unsolicited", 10), text("end")]
    for pieces in ([b"".join(stream)], stream, chunked(b"".join(stream), random.Random(3))):
        received, out, fast = await both(pieces)  # the same pongs, bytes for bytes
        assert texts(received) == ["parts", "end"]
        frames = _frames_only(out)
        for payload in (b"ping!", b"", b"p" * 125, b"mid"):
            assert bytes((0x8A, len(payload))) + payload in frames
        assert fast is True
    # Neither a ping nor a pong reaches websockets' parser: only the opening request does.
    parsed: list[bytes] = []
    receive_data = Protocol.receive_data

    def counting(self: Protocol, data: bytes) -> None:
        parsed.append(bytes(data))
        receive_data(self, data)

    monkeypatch.setattr(Protocol, "receive_data", counting)
    _, out, _, fast = await exchange(ChatSocketProtocol,
                                     [frame(b"ping!", 9), frame(b"late", 10)])
    assert parsed == [REQUEST] and fast is True
    assert _frames_only(out) == b"\x8a\x05ping!"


async def keepalive(cls: type[WebSocketsSansIOProtocol], talk_s: float, silent_s: float,
                    answer: bool) -> tuple[list[bytes], list[dict[str, Any]], Any]:
    """A socket served with `cls`, pinged every 0.5 s (pong timeout 0.5 s): the client sends a
    text frame every 20 ms for `talk_s`, then nothing for `silent_s` but, if `answer`, the
    pongs to the server's pings. Returns the server's frames as the client read them (header
    and payload), what the application received and the protocol."""
    received: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] != "websocket.disconnect":
            received.append(message)
        received.append(message)

    proto, client_sock = await serve(cls, app, ws_ping_interval=0.5, ws_ping_timeout=0.5)
    loop = asyncio.get_running_loop()
    await loop.sock_sendall(client_sock, REQUEST)
    buf = bytearray()
    frames: list[bytes] = []

    async def read_for(seconds: float) -> None:
        end = loop.time() + seconds
        while (left := end - loop.time()) > 0:
            try:
                chunk = await asyncio.wait_for(loop.sock_recv(client_sock, 1 << 16), left)
            except TimeoutError:
                return
            if not chunk:
                return
            buf.extend(chunk)
            if not frames and b"\r\n\r\n" in buf:  # the handshake's answer
                del buf[:buf.index(b"\r\n\r\n") + 4]
                frames.append(b"")
            while frames and len(buf) >= 2 and len(buf) >= 2 + (buf[1] & 0x7F):
                n = 2 + (buf[1] & 0x7F)  # the server's frames here are short
                frames.append(bytes(buf[:n]))
                if answer and buf[0] == 0x89:
                    await loop.sock_sendall(client_sock, frame(bytes(buf[2:n]), 10))
                del buf[:n]

    reader = asyncio.ensure_future(read_for(talk_s + silent_s))
    end = loop.time() + talk_s
    while loop.time() < end:
        await loop.sock_sendall(client_sock, text("t"))
        await asyncio.sleep(0.02)
    await reader
    client_sock.close()
    await asyncio.sleep(0.05)
    return [f for f in frames if f], received, proto


async def test_the_keepalive_ping_goes_only_to_a_peer_that_went_silent() -> None:
    # Talking for 1.6 s: uvicorn pings every 0.5 s; here frames received prove the peer alive.
    stock, _, _ = await keepalive(WebSocketsSansIOProtocol, 1.6, 0, answer=True)
    fast, received, _ = await keepalive(ChatSocketProtocol, 1.6, 0, answer=True)
    assert sum(f[0] == 0x89 for f in stock) >= 2
    assert [f[0] for f in fast] == [] and len(texts(received)) >= 40
    # Silent but answering: pinged (at most one interval later than by uvicorn) and kept open;
    # the pongs (through this protocol's own path) settle each ping.
    fast, received, proto = await keepalive(ChatSocketProtocol, 0.3, 2.0, answer=True)
    assert [f[0] for f in fast].count(0x89) >= 1 and 0x88 not in [f[0] for f in fast]
    assert proto.last_ping_rtt > 0  # set by `handle_pong` for the ping's own payload only
    # Silent and not answering: closed for the keepalive timeout, as uvicorn closes it.
    for cls in (WebSocketsSansIOProtocol, ChatSocketProtocol):
        got, received, _ = await keepalive(cls, 0.3, 2.5, answer=False)
        assert [f[0] for f in got] == [0x89, 0x88]
        assert got[-1][2:4] == (1011).to_bytes(2, "big")
        assert received[-1]["type"] == "websocket.disconnect"


@pytest.mark.parametrize("bad", ids=["utf8", "unmasked", "rsv", "opcode", "cont", "interleaved",
                                     "close"], argvalues=[
    frame(b"\xff\xfe", 1),                   # invalid UTF-8: 1007
    frame(b"hello", 1, masked=False),        # a client's frame must be masked: 1002
    frame(b"hello", 1, rsv=4),               # a reserved bit without an extension: 1002
    frame(b"x", 3),                          # a reserved opcode
    frame(b"cont", 0),                       # a continuation without a start
    frame(b"a", 1, fin=False) + text("b"),   # a new message inside a fragmented one
    frame(b"\x03\xe8bye", 8),                # the client closes
])
async def test_errors_and_closes_end_the_socket_as_uvicorn_does(bad: bytes) -> None:
    received, _, _ = await both([text("before"), bad, text("after")])
    assert texts(received) == ["before"]
    # In one piece: the same close, the same bytes back. uvicorn's own protocol drops the valid
    # frames that came in the same piece before a protocol error (it returns on the parser's
    # error before it handles the events parsed); this one has delivered them already.
    stream = text("before") + bad + text("after")
    stock = await exchange(WebSocketsSansIOProtocol, [stream])
    fast = await exchange(ChatSocketProtocol, [stream])
    assert _frames_only(fast[1]) == _frames_only(stock[1])
    assert fast[0][-1] == stock[0][-1]
    assert fast[0][-1]["type"] == "websocket.disconnect"
    assert texts(fast[0]) == ["before"]
    assert texts(stock[0]) in ([], ["before"])


async def test_the_size_limit_is_websockets_own() -> None:
    received, _, _ = await both([text("a" * 1000) + text("ok")], max_size=1000)
    assert texts(received) == ["a" * 1000, "ok"]
    received, _, _ = await both([text("a" * 1001) + text("late")], max_size=1000)
    assert texts(received) == []  # 1009, as uvicorn's


async def test_frames_before_the_handshake_ended_go_to_websockets() -> None:
    # A client that does not wait for the server's answer (RFC 6455 4.1 says it must): its
    # early bytes are in websockets' buffer, so the protocol leaves all parsing to it.
    early = text("early")
    received, _, fast = await both([early[3:] + text("x")], early=early[:3])
    assert texts(received) == ["early", "x"]
    assert fast is False
    received, _, fast = await both([text("x")], early=early)
    assert texts(received) == ["early", "x"]
    assert fast is False


async def test_send_text_now_writes_what_uvicorns_send_writes() -> None:
    sends = ("", "ack", "您好" * 40, "y" * 126, "z" * 70_000)
    stock = await exchange(WebSocketsSansIOProtocol, [], sends)
    fast = await exchange(ChatSocketProtocol, [], sends)
    assert stock[2] == [False] * len(sends)
    assert fast[2] == [True] * len(sends)
    assert _frames_only(fast[1]) == _frames_only(stock[1])


async def test_reading_pauses_while_the_application_has_a_message_it_has_not_taken() -> None:
    go = asyncio.Event()
    taken: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await go.wait()
        while len(taken) < 3:
            taken.append((await receive())["text"])
        await go.wait()

    proto, client_sock = await serve(ChatSocketProtocol, app, ws_ping_interval=None)
    loop = asyncio.get_running_loop()
    await loop.sock_sendall(client_sock, REQUEST)
    await asyncio.sleep(0.05)
    await loop.sock_sendall(client_sock, text("one"))
    await asyncio.sleep(0.02)
    assert proto._fast is True
    assert not proto.read_paused  # one message waiting to be taken: reading goes on
    await loop.sock_sendall(client_sock, text("two"))
    await asyncio.sleep(0.02)
    assert proto.read_paused  # a second one: paused until the application takes them
    await loop.sock_sendall(client_sock, text("three"))
    go.set()
    await asyncio.sleep(0.05)
    assert taken == ["one", "two", "three"]
    assert not proto.read_paused
    client_sock.close()
    await asyncio.sleep(0.05)


def test_the_servers_protocol_is_this_one() -> None:
    # What `probity serve` and the live-server tests pass to uvicorn (`ws`, `--ws`).
    assert import_from_string(SOCKET_PROTOCOL) is ChatSocketProtocol
    assert issubclass(ChatSocketProtocol, WebSocketsSansIOProtocol)
