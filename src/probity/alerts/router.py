"""JSON API and live WebSocket feed for screening alerts."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

from fastapi import APIRouter, Depends, Query, WebSocket, WebSocketDisconnect

from probity.alerts import feedback, schemas, service
from probity.auth.deps import Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.auth.sessions import still_valid
from probity.chat.wire import ALERTS_CHANNEL
from probity.chat.ws import session_watch, ws_principal, ws_session
from probity.events import get_bus

router = APIRouter(tags=["alerts"])
AlertReader = Annotated[Principal, Depends(require(Perm.alerts_read))]
Reviewer = Annotated[Principal, Depends(require(Perm.case_manage))]


@router.get("/api/v1/alerts", response_model=list[schemas.AlertRead])
async def list_alerts(
    session: Session, principal: AlertReader,
    decision: Annotated[str | None, Query(pattern="^(warn|block)$")] = None,
    conversation_id: int | None = None, after_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[schemas.AlertRead]:
    rows = await service.list_alerts(session, principal, limit=limit, offset=offset,
                                     decision=decision, conversation_id=conversation_id,
                                     after_id=after_id)
    return [schemas.AlertRead.model_validate(a) for a in rows]


@router.get("/api/v1/alerts/{alert_id}", response_model=schemas.AlertRead)
async def get_alert(alert_id: int, session: Session, principal: AlertReader
                    ) -> schemas.AlertRead:
    return schemas.AlertRead.model_validate(await service.get_alert(session, principal, alert_id))


@router.post("/api/v1/alerts/{alert_id}/label", response_model=schemas.LabelRead,
             status_code=201)
async def label_alert(alert_id: int, body: schemas.AlertVerdict, session: Session,
                      principal: Reviewer) -> schemas.LabelRead:
    """Compliance marks a screening alert confirmed or a false positive (training feedback)."""
    label = await feedback.label_alert(session, principal, alert_id, body.verdict, body.note)
    await commit(session)
    return schemas.LabelRead.model_validate(label)


@router.post("/api/v1/messages/{message_id}/missed", response_model=schemas.LabelRead,
             status_code=201)
async def mark_missed(message_id: int, body: schemas.MissedReport, session: Session,
                      principal: Reviewer) -> schemas.LabelRead:
    """A reviewer marks an allowed message as a violation screening missed."""
    label = await feedback.mark_missed(session, principal, message_id, list(body.categories),
                                       body.note)
    await commit(session)
    return schemas.LabelRead.model_validate(label)


@router.websocket("/ws/alerts")
async def alert_feed(websocket: WebSocket) -> None:
    """Pushes {"type": "alert", "alert": {...}} for every new alert inside the caller's scope."""
    async with ws_session(websocket.app) as session:
        principal = await ws_principal(websocket, session)
        if principal is None:
            await websocket.close(code=4401)
            return
        if not principal.can(Perm.alerts_read):
            await websocket.close(code=4403)
            return
        feed = await service.feed_filter(session, principal)
    await websocket.accept()
    bus = get_bus(websocket.app)
    lock = asyncio.Lock()
    # Closed (4401) as soon as the account's sessions end; each ping re-checks the principal.
    async with bus.subscribe(ALERTS_CHANNEL) as sub, session_watch(websocket, principal, lock):
        await websocket.send_json({"type": "ready"})

        async def pump() -> None:
            while True:
                event = await sub.get()
                if event.get("type") == "alert" and feed.covers(event["alert"]):
                    async with lock:
                        await websocket.send_json(event)

        task = asyncio.create_task(pump())
        try:
            while True:
                msg = await websocket.receive_json()
                async with ws_session(websocket.app) as session:
                    if not await still_valid(session, principal):
                        await websocket.close(code=4401)
                        break
                if isinstance(msg, dict) and msg.get("type") == "ping":
                    async with lock:
                        await websocket.send_json({"type": "pong"})
        except (WebSocketDisconnect, RuntimeError, ValueError):
            pass
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
