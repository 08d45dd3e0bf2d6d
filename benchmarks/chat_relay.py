"""The bare relay: the baseline `benchmarks/chat.py` measures the chat against, in the same run.

The same WebSocket path and frames as `/ws/chat/{id}` (hello → synced; send → ack with a seq and
the message; the message to the other side; delivered/read → receipt to the other side), on
Starlette under the same uvicorn, but nothing else: no authentication, no screening, no
database, no ledger, no event bus — a conversation is a set of sockets in a dict. What the
product costs beyond this is what screening, storage and fan-out add.

    uvicorn --app-dir benchmarks chat_relay:app

With RELAY_REDIS_URL set (the benchmark's relay in two processes, `--relay-workers 1,2`), the
sockets of a conversation may sit on different processes, so the frames go through the
product's event bus on Redis (`probity.events.RedisEventBus`: each socket subscribes to its
conversation, a frame reaches the other processes that hold it): the least a relay in several
processes must do, to set beside the product in two processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

_rooms: dict[int, set[WebSocket]] = {}
_seqs: dict[int, int] = {}
_bus: Any = None


def bus() -> Any:
    """The Redis event bus when RELAY_REDIS_URL is set (several processes), else None."""
    global _bus
    url = os.environ.get("RELAY_REDIS_URL")
    if url and _bus is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
        from probity.events import RedisEventBus

        _bus = RedisEventBus(url, os.environ.get("RELAY_REDIS_PREFIX", "relay"))
    return _bus


async def health(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def chat(ws: WebSocket) -> None:
    conv_id = int(ws.path_params["conv_id"])
    role = "customer" if "token" in ws.query_params else "agent"
    await ws.accept()
    await ws.send_text(json.dumps({"type": "hello", "role": role,
                                   "conversation": {"id": conv_id, "status": "active"}}))
    if bus() is not None:
        await _chat_on_bus(ws, conv_id, role)
        return
    await ws.send_text(json.dumps({"type": "synced", "seq": _seqs.get(conv_id, 0)}))
    peers = _rooms.setdefault(conv_id, set())
    peers.add(ws)

    async def to_peers(frame: str) -> None:
        for peer in list(peers):
            if peer is not ws:
                await peer.send_text(frame)

    try:
        await _relay(ws, conv_id, role, to_peers)
    finally:
        peers.discard(ws)


async def _chat_on_bus(ws: WebSocket, conv_id: int, role: str) -> None:
    """`chat` with the frames going through the event bus (several processes)."""
    me = f"{os.getpid()}:{id(ws)}"
    async with _bus.subscribe(f"conv:{conv_id}") as sub:
        await ws.send_text(json.dumps({"type": "synced", "seq": _seqs.get(conv_id, 0)}))

        async def pump() -> None:
            while True:
                event = await sub.get()
                if event.get("from") != me and "frame" in event:
                    await ws.send_text(event["frame"])

        async def to_bus(frame: str) -> None:
            await _bus.publish(f"conv:{conv_id}", {"from": me, "frame": frame})

        task = asyncio.create_task(pump())
        try:
            await _relay(ws, conv_id, role, to_bus)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _relay(ws: WebSocket, conv_id: int, role: str,
                 fan_out: Callable[[str], Awaitable[None]]) -> None:
    """A socket's frames until it closes: send → ack and the message to the other side,
    delivered/read → a receipt to the other side (``fan_out``), ping → pong."""
    try:
        while True:
            data = json.loads(await ws.receive_text())
            kind = data.get("type")
            if kind == "send":
                seq = _seqs[conv_id] = _seqs.get(conv_id, 0) + 1
                msg = {"type": "message", "conversation_id": conv_id, "seq": seq,
                       "sender": role, "kind": "text", "body": str(data.get("text") or ""),
                       "created_at": datetime.now(UTC).isoformat()}
                await ws.send_text(json.dumps(
                    {"type": "ack", "client_id": data.get("client_id"), "seq": seq,
                     "decision": "allow", "duplicate": False, "message": msg},
                    ensure_ascii=False))
                await fan_out(json.dumps(msg, ensure_ascii=False))
            elif kind in ("delivered", "read"):
                await fan_out(json.dumps({"type": "receipt", "conversation_id": conv_id,
                                          "by": role, kind: data.get("seq")}))
            elif kind == "ping":
                await ws.send_text('{"type":"pong"}')
    except WebSocketDisconnect:
        pass


app = Starlette(routes=[Route("/api/v1/health", health),
                        WebSocketRoute("/ws/chat/{conv_id:int}", chat)])
