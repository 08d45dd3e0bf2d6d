"""How a chat socket sends the conversation's events (issue 17, session 14): once its backlog is
sent, an event is rendered and written by whoever publishes it, with no task of the socket woken;
every frame of a socket goes out in the order it was emitted, also while the client reads slowly
(the server's send waits); too many frames waiting end in a `resync` and nothing after it; a
closed connection drops frames and fails the socket's own sends."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from probity import events
from probity.chat.conversations import Participant
from probity.chat.ws import Connection
from probity.events import EventBus
from probity.middleware import RAW_ASGI


class _Server:
    """The server's raw ASGI send of one socket: frames in the order written; `paused` makes a
    send wait (the transport paused for writing), `closed` makes it fail as uvicorn's does."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.writable = asyncio.Event()
        self.writable.set()
        self.closed = False

    async def receive(self) -> dict[str, Any]:
        await asyncio.Event().wait()
        return {}

    async def send(self, message: dict[str, Any]) -> None:
        await self.writable.wait()
        if self.closed:
            raise OSError("client disconnected")  # uvicorn's ClientDisconnected is an OSError
        self.frames.append(json.loads(message["text"]))


def _connection(server: _Server, bus: EventBus, role: str = "agent") -> Connection:
    socket = SimpleNamespace(
        app=SimpleNamespace(state=SimpleNamespace(
            bus=bus, db=SimpleNamespace(sessionmaker=None),
            settings=SimpleNamespace(chat_access_recheck_s=10.0))),
        scope={RAW_ASGI: (server.receive, server.send)})
    return Connection(socket, 7, 1, Participant(role, None, None, None),  # type: ignore[arg-type]
                      None, None)


def _receipt(n: int) -> dict[str, Any]:
    return {"type": "receipt", "conversation_id": 7, "by": "customer", "delivered": n, "read": n}


async def test_a_live_socket_is_sent_an_event_as_it_is_published() -> None:
    bus, server = EventBus(), _Server()
    conn = _connection(server, bus)
    async with bus.subscribe("conv:7", conn.take) as sub:
        await bus.publish("conv:7", _receipt(1))  # before the backlog is sent: queued
        assert server.frames == [] and len(sub.queue) == 1
        await conn.send({"type": "synced", "seq": 0})
        conn.go_live(sub)  # what was queued goes first, in order
        assert [f.get("read") for f in server.frames] == [None, 1] and sub.empty()
        tasks = len(asyncio.all_tasks())
        await bus.publish("conv:7", _receipt(2))
        # Written during the publish itself: no task woken, nothing queued.
        assert server.frames[-1]["read"] == 2 and sub.empty()
        assert len(asyncio.all_tasks()) == tasks


async def test_frames_keep_their_order_while_the_client_reads_slowly() -> None:
    bus, server = EventBus(), _Server()
    conn = _connection(server, bus)
    async with bus.subscribe("conv:7", conn.take) as sub:
        conn.go_live(sub)
        server.writable.clear()  # the transport paused its writes
        await bus.publish("conv:7", _receipt(1))
        await bus.publish("conv:7", _receipt(2))
        own = asyncio.ensure_future(conn.send({"type": "pong"}))  # the socket's own frame
        await asyncio.sleep(0.01)
        await bus.publish("conv:7", _receipt(3))
        assert server.frames == [] and not own.done()  # the socket's task waits too
        server.writable.set()
        await asyncio.wait_for(own, 1)
        for _ in range(5):
            await asyncio.sleep(0)
        assert [f.get("read", f["type"]) for f in server.frames] == [1, 2, "pong", 3]
        await bus.publish("conv:7", _receipt(4))  # written at once again
        assert server.frames[-1]["read"] == 4


async def test_too_many_waiting_frames_end_in_a_resync(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("probity.chat.ws.QUEUE_SIZE", 3)
    bus, server = EventBus(), _Server()
    conn = _connection(server, bus)
    async with bus.subscribe("conv:7", conn.take) as sub:
        conn.go_live(sub)
        conn.access_until = 1e18
        server.writable.clear()
        for n in range(1, 7):
            await bus.publish("conv:7", _receipt(n))
        assert conn.access_until == 0.0  # as an overflow: access is checked again
        server.writable.set()
        await asyncio.sleep(0.01)
        await bus.publish("conv:7", _receipt(7))
        # The send that was waiting, then the resync; nothing after it.
        assert [f.get("read", f["type"]) for f in server.frames] == [1, "resync"]


async def test_a_closed_connection_drops_frames_and_fails_the_sockets_own_sends() -> None:
    bus, server = EventBus(), _Server()
    conn = _connection(server, bus)
    other_server = _Server()
    other = _connection(other_server, bus, role="supervisor")
    async with bus.subscribe("conv:7", conn.take) as sub, \
            bus.subscribe("conv:7", other.take) as other_sub:
        conn.go_live(sub)
        other.go_live(other_sub)
        server.closed = True
        await bus.publish("conv:7", _receipt(1))  # never raises into the publisher
        assert conn.gone and [f["read"] for f in other_server.frames] == [1]
        with pytest.raises(WebSocketDisconnect):
            await conn.send({"type": "pong"})


async def test_an_overflow_while_the_backlog_is_read_is_a_resync(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "QUEUE_SIZE", 2)
    bus, server = EventBus(), _Server()
    conn = _connection(server, bus)
    async with bus.subscribe("conv:7", conn.take) as sub:
        for n in range(1, 4):
            await bus.publish("conv:7", _receipt(n))
        conn.go_live(sub)
        assert [f.get("read", f["type"]) for f in server.frames] == [2, "resync"]


def test_a_delivery_renders_from_its_own_row_in_process_and_from_the_wire_elsewhere() -> None:
    from datetime import UTC, datetime

    import orjson

    from probity.chat.wire import MessageRow, message_from_wire, message_wire, row_of
    from probity.models import MessageKind

    row = MessageRow(
        id=5, conversation_id=7, tenant_id=1, seq=3, sender_role="customer", sender_user_id=None,
        sender_employee_id=None, client_id="c1", kind=MessageKind.text, body="你好",
        attachment_sha256=None, attachment_mime=None, attachment_size=None, decision="allow",
        screening_status="screened", categories=[], severity=0, spans=[], policy_version=1,
        created_at=datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC), recalled_at=None)
    wire = message_wire(row)
    assert row_of(wire) is row  # this process: the row itself, nothing parsed
    # Another process gets the plain dict (serialised as one), and parses the same row from it.
    crossed = orjson.loads(orjson.dumps({"type": "message", "message": wire}))["message"]
    assert type(crossed) is dict and crossed == dict(wire)
    assert row_of(crossed) == message_from_wire(crossed) == row
