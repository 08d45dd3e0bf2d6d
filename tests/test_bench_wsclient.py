"""The chat benchmark's lean WebSocket client (benchmarks/_wsclient.py) against the `websockets`
library's own codec and server: a parser or encoder bug would silently change the benchmark's
figures (a lost frame is a lost delivery, a mangled key an unmatched one)."""

from __future__ import annotations

import asyncio
import gc
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol
from websockets.streams import StreamReader

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import _wsclient as wc  # noqa: E402

LENGTHS = [*range(0, 131), 200, 1000, 4095, 65534, 65535, 65536, 65537, 70000, 200_000]


def payload(n: int, rng: random.Random) -> bytes:
    return rng.randbytes(n)


def ws_parse(data: bytes, *, mask: bool) -> list[Frame]:
    """Every frame in `data`, parsed by websockets' `Frame.parse` (its reader, its checks)."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    frames: list[Frame] = []
    while reader.buffer:
        gen = Frame.parse(reader.read_exact, mask=mask, max_size=None)
        try:
            next(gen)
        except StopIteration as done:
            frames.append(done.value)
        else:  # pragma: no cover - the data ended inside a frame
            raise AssertionError("truncated frame")
    return frames


def splits(data: bytes, rng: random.Random) -> Iterator[list[bytes]]:
    """`data` whole, byte by byte (for short data), and cut at random places."""
    yield [data]
    if len(data) <= 300:
        yield [data[i:i + 1] for i in range(len(data))]
    for _ in range(3):
        cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 12))))
        yield [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def test_mask_matches_websockets_c_and_pure() -> None:
    from websockets.utils import apply_mask as ws_pure

    rng = random.Random(1)
    for n in [0, 1, 3, 4, 5, 7, 8, 9, 63, 64, 65, 1000, 4097]:
        data, mask = rng.randbytes(n), rng.randbytes(4)
        assert wc.apply_mask_py(data, mask) == ws_pure(data, mask)
        assert wc.apply_mask(data, mask) == ws_pure(data, mask)


@pytest.mark.parametrize("opcode", [wc.OP_TEXT, wc.OP_BINARY, wc.OP_CONT])
def test_client_frames_parse_in_websockets(opcode: int) -> None:
    """What the lean client writes is what websockets' server-side parser reads: each length
    class (7-bit, 16-bit, 64-bit), FIN on and off, a fresh mask each frame."""
    rng = random.Random(opcode)
    for n in LENGTHS:
        data = payload(n, rng)
        for fin in (True, False):
            raw = wc.encode_frame(opcode, data, fin=fin)
            (frame,) = ws_parse(raw, mask=True)
            assert (frame.opcode, frame.fin, frame.data) == (Opcode(opcode), fin, data)
    masks = {wc.encode_frame(wc.OP_TEXT, b"x")[2:6] for _ in range(64)}
    assert len(masks) > 60  # random per frame


def test_text_frame_hot_path_is_websockets_text() -> None:
    rng = random.Random(7)
    for n in LENGTHS:
        data = payload(n, rng)
        (frame,) = ws_parse(wc.text_frame(data), mask=True)
        assert (frame.opcode, frame.fin, frame.data) == (Opcode.TEXT, True, data)
        # the same header websockets writes (the mask and masked bytes differ)
        ref = Frame(Opcode.TEXT, data).serialize(mask=True)
        assert wc.text_frame(data)[:len(ref) - n - 4] == ref[:len(ref) - n - 4]


def test_control_frames_parse_in_websockets() -> None:
    for opcode, data in [(wc.OP_PING, b"abcd"), (wc.OP_PONG, b""), (wc.OP_PONG, b"x" * 125),
                         (wc.OP_CLOSE, Close(1000, "bye").serialize())]:
        (frame,) = ws_parse(wc.encode_frame(opcode, data), mask=True)
        assert (frame.opcode, frame.data) == (Opcode(opcode), data)


def server_stream(rng: random.Random, *, mask: bool) -> tuple[bytes, list[tuple[int, bool,
                                                                                  bytes]]]:
    """Frames of every kind and length class serialized by websockets (as a server writes
    them, or masked as a client does), and what they are."""
    frames: list[Frame] = []
    for n in LENGTHS:
        frames.append(Frame(Opcode.TEXT, payload(n, rng)))
        if n % 7 == 0:
            frames.append(Frame(Opcode.PING, payload(min(n, 125), rng)))
    # a fragmented message with a control frame between its fragments (RFC 6455 §5.4)
    frames += [Frame(Opcode.TEXT, b"frag", fin=False), Frame(Opcode.PING, b"p"),
               Frame(Opcode.CONT, b"ment", fin=False), Frame(Opcode.CONT, b"ed", fin=True),
               Frame(Opcode.BINARY, payload(300, rng)), Frame(Opcode.PONG, b""),
               Frame(Opcode.CLOSE, Close(1001, "going away").serialize())]
    data = b"".join(f.serialize(mask=mask) for f in frames)
    return data, [(int(f.opcode), f.fin, f.data) for f in frames]


@pytest.mark.parametrize("mask", [False, True])
def test_parser_reads_websockets_frames_in_any_split(mask: bool) -> None:
    rng = random.Random(11 + mask)
    data, want = server_stream(rng, mask=mask)
    assert [(int(f.opcode), f.fin, f.data) for f in ws_parse(data, mask=mask)] == want
    for chunks in splits(data, rng):
        parser = wc.FrameParser()
        got: list[tuple[int, bool, bytes]] = []
        for chunk in chunks:
            got += parser.feed(chunk)
        assert got == want
        assert parser.buf == b""


def test_reassembler_joins_fragments() -> None:
    rng = random.Random(3)
    _data, frames = server_stream(rng, mask=False)
    messages = wc.Reassembler()
    got = [m for op, fin, p in frames if not op & 0x8
           if (m := messages.add(op, fin, p)) is not None]
    assert b"fragmented" in got
    assert len(got) == sum(1 for op, fin, _p in frames if op in (1, 2) and fin) + 1
    with pytest.raises(wc.ProtocolError):
        wc.Reassembler().add(wc.OP_CONT, True, b"x")


def test_parser_refuses_what_websockets_refuses() -> None:
    with pytest.raises(wc.ProtocolError):  # reserved bit without an extension
        wc.FrameParser().feed(bytes([0xC1, 0x01]) + b"x")
    with pytest.raises(wc.ProtocolError):  # a control frame over 125 bytes
        wc.FrameParser().feed(bytes([0x89, 126, 0, 126]) + b"x" * 126)
    with pytest.raises(wc.ProtocolError):  # a fragmented control frame
        wc.FrameParser().feed(bytes([0x09, 0x00]))
    with pytest.raises(wc.ProtocolError):
        wc.FrameParser(max_size=10).feed(bytes([0x81, 11]) + b"x" * 11)


def test_handshake_accepted_by_websockets_server_protocol() -> None:
    """The upgrade request parses in websockets' server, and its 101 passes our check."""
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    server = ServerProtocol()
    server.receive_data(wc.handshake_request("127.0.0.1", 8000, "/ws/chat/1?token=t", key,
                                             {"Cookie": "s=1"}))
    (request,) = server.events_received()
    assert isinstance(request, Request)
    assert request.path == "/ws/chat/1?token=t" and request.headers["Cookie"] == "s=1"
    response = server.accept(request)
    assert response.status_code == 101
    server.send_response(response)
    head = b"".join(server.data_to_send())
    assert head.endswith(b"\r\n\r\n")
    wc.check_handshake(head[:-4], key)
    assert wc.accept_for(key) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455 §1.3's example
    with pytest.raises(wc.ProtocolError):
        wc.check_handshake(head[:-4], "AAAAAAAAAAAAAAAAAAAAAA==")
    with pytest.raises(wc.ProtocolError):
        wc.check_handshake(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0", key)


async def test_lean_socket_against_websockets_server() -> None:
    """A real websockets server on loopback: text both ways (every length class, the 16- and
    64-bit ones included), the server's ping answered, fragments joined, the close handshake."""
    got: list[bytes] = []
    server_saw: list[Any] = []
    done = asyncio.Event()
    all_in = asyncio.Event()
    expect = 11  # hello, the fragmented one, and the nine echoes

    def received(message: bytes) -> None:
        got.append(message)
        if len(got) == expect:
            all_in.set()

    async def handler(ws: ServerConnection) -> None:
        await ws.send("hello")
        pong = await ws.ping(b"pi")
        await asyncio.wait_for(pong, 5)  # the client answered with a pong carrying b"pi"
        await ws.send(["frag", "mented"])  # a fragmented message
        async for msg in ws:
            server_saw.append(msg)
            await ws.send(msg)  # echo
        done.set()

    async with serve(handler, "127.0.0.1", 0, compression=None, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        sock = await wc.connect(f"ws://127.0.0.1:{port}/x?y=1", {}, received,
                                open_timeout=10)
        sent = [("é" * (n // 2) + "a" * (n % 2)).encode()  # n bytes of UTF-8
                for n in (0, 1, 125, 126, 127, 1000, 65535, 65536, 100_001)]
        for s in sent:
            sock.send(s)
        assert len(sent) + 2 == expect
        async with asyncio.timeout(10):
            await all_in.wait()
        await sock.close()
        async with asyncio.timeout(10):
            await done.wait()
    assert got[:2] == [b"hello", b"fragmented"]
    assert got[2:] == sent
    assert server_saw == [s.decode() for s in sent]
    assert sock.closed.done()


@pytest.fixture(scope="module")
def chat() -> Iterator[ModuleType]:
    """benchmarks/chat.py, without the GC callback it registers for its own process. Loaded
    from its file under a name of its own: in the whole suite `chat` is tests/chat."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_chat", BENCH / "chat.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_chat"] = module
    spec.loader.exec_module(module)
    gc.callbacks.remove(module.GEN_GC._cb)
    yield module


def test_lean_send_and_read_frames_are_the_websockets_clients(chat: ModuleType) -> None:
    """The lean client writes byte for byte what the `websockets` client's json.dumps did."""
    rng = random.Random(5)
    for key in ["s1m0", "s12m123456", *(f"s{rng.randint(1, 99)}m{rng.randint(0, 10**6)}"
                                         for _ in range(50))]:
        frame = chat.send_frame(key)
        text = json.loads(frame)["text"]
        assert text.rsplit(" #", 1)[0] in chat.TEXTS
        assert frame == json.dumps({"type": "send", "client_id": key, "text": text}).encode()
    for seq in [0, 1, 99, 2**31 - 1, None]:
        assert chat.read_frame(seq) == json.dumps({"type": "read", "seq": seq}).encode()


def test_frame_type_agrees_with_parsing(chat: ModuleType) -> None:
    """The cheap type check gives the parsed "type" for the server's layouts (orjson, as the
    product writes; json.dumps, as the bare relay writes), or None (then the frame is parsed)."""
    frames: list[dict[str, Any]] = [
        {"type": "ack", "client_id": "s1m2", "seq": 3, "message": {"type": "x", "body": "b"}},
        {"type": "message", "seq": 3, "sender": "agent", "body": "您好 #s1m2"},
        {"type": "receipt", "by": "customer", "read": 3}, {"type": "error", "code": "retry"},
        {"type": "synced", "seq": 0}, {"type": "pong"}, {"type": 'we"ird\\'},
        {"type": "\u00e9"}]
    for f in frames:
        for raw in (orjson.dumps(f), json.dumps(f).encode(),
                    json.dumps(f, ensure_ascii=False).encode()):
            kind = chat.frame_type(raw)
            assert kind is None or kind.decode() == json.loads(raw)["type"], raw
    assert chat.frame_type(b'{"seq": 1, "type": "ack"}') is None
    assert chat.frame_type(b'{"type":"receipt","by":"agent"}') == b"receipt"
    assert chat.frame_type(b'{"type":"\\u0061ck"}') is None  # an escape: parsed instead
