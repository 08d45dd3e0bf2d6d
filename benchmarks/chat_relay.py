"""The bare relay: the baseline `benchmarks/chat.py` measures the chat against, in the same run.

The same WebSocket path and frames as `/ws/chat/{id}` (hello → synced; send → ack with a seq and
the message; the message to the other side; delivered/read → receipt to the other side), on
Starlette under the same uvicorn, but nothing else: no authentication, no screening, no
database, no ledger, no event bus — a conversation is a set of sockets in a dict. What the
product costs beyond this is what screening, storage and fan-out add.

    uvicorn --app-dir benchmarks chat_relay:app
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

_rooms: dict[int, set[WebSocket]] = {}
_seqs: dict[int, int] = {}


async def health(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def chat(ws: WebSocket) -> None:
    conv_id = int(ws.path_params["conv_id"])
    role = "customer" if "token" in ws.query_params else "agent"
    await ws.accept()
    await ws.send_text(json.dumps({"type": "hello", "role": role,
                                   "conversation": {"id": conv_id, "status": "active"}}))
    await ws.send_text(json.dumps({"type": "synced", "seq": _seqs.get(conv_id, 0)}))
    peers = _rooms.setdefault(conv_id, set())
    peers.add(ws)
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
                frame = json.dumps(msg, ensure_ascii=False)
                for peer in list(peers):
                    if peer is not ws:
                        await peer.send_text(frame)
            elif kind in ("delivered", "read"):
                frame = json.dumps({"type": "receipt", "conversation_id": conv_id, "by": role,
                                    kind: data.get("seq")})
                for peer in list(peers):
                    if peer is not ws:
                        await peer.send_text(frame)
            elif kind == "ping":
                await ws.send_text('{"type":"pong"}')
    except WebSocketDisconnect:
        pass
    finally:
        peers.discard(ws)


app = Starlette(routes=[Route("/api/v1/health", health),
                        WebSocketRoute("/ws/chat/{conv_id:int}", chat)])
