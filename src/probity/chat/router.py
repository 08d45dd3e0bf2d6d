"""JSON API of the chat channel. Thin: authorise, call one service function, commit, return.

Guests (identified by order number + phone digits) authenticate with the X-Chat-Token header.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Header, Query, Request, UploadFile
from fastapi.responses import FileResponse
from sqlalchemy import select

from probity.auth.deps import (
    CurrentPrincipal,
    OptionalPrincipal,
    Session,
    commit,
    require,
)
from probity.auth.permissions import Perm, Principal
from probity.chat import attachments, conversations, schemas, send, wire
from probity.chat.routing import queue_position
from probity.chat.store import Receipt
from probity.chat.writer import writer_for_session
from probity.errors import Forbidden, NotFound
from probity.events import get_bus
from probity.ledger.access import ConversationAccess
from probity.models import Message, MessageKind, Transfer
from probity.ratelimit import AttemptLimiter

router = APIRouter(prefix="/api/v1/chat", tags=["chat"])
ChatToken = Annotated[str | None, Header(alias="X-Chat-Token")]
Agent = Annotated[Principal, Depends(require(Perm.chat_answer))]
Reassigner = Annotated[Principal, Depends(require(Perm.chat_reassign))]


def _publish(request: Request) -> wire.Publish:
    return get_bus(request.app).publish


# A guest proves who they are with an order number and four digits: 10,000 guesses at most, so
# attempts are limited per order number and per client address, counted before the check (so
# parallel guesses count too) on the shared store (`probity.ratelimit`).
GUEST_LIMITER = AttemptLimiter("guest-order", max_attempts=5, window_s=15 * 60)
GUEST_IP_LIMITER = AttemptLimiter("guest-ip", max_attempts=30, window_s=15 * 60)


@router.post("/conversations", status_code=201, response_model=schemas.ConversationStarted)
async def start(data: schemas.ConversationStart, request: Request, session: Session,
                principal: OptionalPrincipal) -> schemas.ConversationStarted:
    if principal is not None and principal.customer_id is None:
        # Staff accounts (the read-only auditor included) do not open customer conversations.
        raise Forbidden("staff accounts do not start customer conversations; sign out first",
                        code="staff_account")
    if principal is None:
        await GUEST_IP_LIMITER.take(request.client.host if request.client else "?")
        await GUEST_LIMITER.take((data.order_no or "").strip())
    conv, token = await conversations.start_conversation(
        session, principal, _publish(request), order_no=data.order_no,
        phone_last4=data.phone_last4, team_id=data.team_id)
    pos = await queue_position(session, conv)
    await commit(session)
    return schemas.ConversationStarted(
        conversation=schemas.ConversationRead.model_validate(conv), token=token,
        queue_position=pos)


@router.get("/conversations", response_model=list[schemas.ConversationRead])
async def list_conversations(
    session: Session, principal: CurrentPrincipal,
    status: Annotated[str | None, Query(pattern="^(waiting|active|closed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[schemas.ConversationRead]:
    rows = await conversations.list_conversations(session, principal, status=status, limit=limit)
    return [schemas.ConversationRead.model_validate(c) for c in rows]


@router.get("/conversations/{conv_id}", response_model=schemas.ConversationRead)
async def get_conversation(conv_id: int, session: Session, principal: OptionalPrincipal,
                           access: ConversationAccess, token: ChatToken = None
                           ) -> schemas.ConversationRead:
    conv, who = await conversations.participant_for(session, principal, token, conv_id)
    await access.conversation(session, conv, who)  # non-participants: access log (+ reason)
    conversations.record_read(session, conv, who)
    await commit(session)
    return schemas.ConversationRead.model_validate(conv)


@router.get("/conversations/{conv_id}/messages")
async def list_messages(conv_id: int, session: Session, principal: OptionalPrincipal,
                        access: ConversationAccess, token: ChatToken = None,
                        after: Annotated[int, Query(ge=0)] = 0,
                        limit: Annotated[int, Query(ge=1, le=1000)] = 500
                        ) -> list[dict[str, Any]]:
    conv, who = await conversations.participant_for(session, principal, token, conv_id)
    await access.conversation(session, conv, who)
    rows = await conversations.history(session, conv, who, after_seq=after, limit=limit)
    conversations.record_read(session, conv, who)
    await commit(session)
    return rows


def _ack(msg: Message | wire.MessageRow, who: conversations.Participant,
         dup: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"id": msg.id, "seq": msg.seq, "decision": msg.decision,
                           "duplicate": dup, "message": wire.message_view(msg, who)}
    out.update(wire.ack_notices(msg, who.role))
    return out


@router.post("/conversations/{conv_id}/messages", status_code=201)
async def send_message(conv_id: int, data: schemas.MessageCreate, request: Request,
                       session: Session, principal: OptionalPrincipal, token: ChatToken = None
                       ) -> dict[str, Any]:
    conv, who = await conversations.participant_for(session, principal, token, conv_id)
    msg, dup = await send.send_message(session, conv, who, _publish(request), text=data.text,
                                          client_id=data.client_id)
    await commit(session)
    return _ack(msg, who, dup)


@router.post("/conversations/{conv_id}/attachments", status_code=201)
async def send_attachment(conv_id: int, request: Request, session: Session,
                          principal: OptionalPrincipal, file: UploadFile,
                          kind: Annotated[str, Form(pattern="^(image|voice)$")] = "image",
                          caption: Annotated[str, Form(max_length=500)] = "",
                          client_id: Annotated[str | None, Form(max_length=64)] = None,
                          token: ChatToken = None) -> dict[str, Any]:
    conv, who = await conversations.participant_for(session, principal, token, conv_id)
    data = await file.read(attachments.MAX_IMAGE_BYTES + 1)
    msg, dup = await send.send_message(
        session, conv, who, _publish(request), text=caption, client_id=client_id,
        kind=MessageKind(kind), data=data,
        attachments_dir=request.app.state.settings.attachments_dir)
    await commit(session)
    return _ack(msg, who, dup)


@router.get("/conversations/{conv_id}/attachments/{sha256}")
async def get_attachment(conv_id: int, sha256: str, request: Request, session: Session,
                         principal: OptionalPrincipal, access: ConversationAccess,
                         token: ChatToken = None,
                         token_q: Annotated[str | None, Query(alias="token")] = None
                         ) -> FileResponse:
    # Guests' <img>/<audio> tags cannot send headers: the token may come as ?token= too.
    conv, who = await conversations.participant_for(session, principal, token or token_q, conv_id)
    msg = await session.scalar(select(Message).where(
        Message.conversation_id == conv.id, Message.attachment_sha256 == sha256).limit(1))
    view = wire.message_view(msg, who) if msg is not None else None
    if msg is None or view is None or view.get("attachment") != sha256:
        raise NotFound("no such attachment")
    path = attachments.path_for(request.app.state.settings.attachments_dir, sha256)
    if not path.exists():
        raise NotFound("the attachment file is missing")
    await access.conversation(session, conv, who)
    await commit(session)
    return FileResponse(path, media_type=msg.attachment_mime or "application/octet-stream",
                        headers={"X-Content-Type-Options": "nosniff",
                                 "Cache-Control": "private, max-age=3600"})


@router.post("/conversations/{conv_id}/messages/{seq}/recall")
async def recall(conv_id: int, seq: int, request: Request, session: Session,
                 principal: CurrentPrincipal) -> dict[str, Any]:
    conv, who = await conversations.participant_for(session, principal, None, conv_id)
    msg = await conversations.recall_message(session, conv, who, _publish(request), seq)
    await commit(session)
    assert msg.recalled_at is not None
    return {"seq": msg.seq, "recalled_at": msg.recalled_at.isoformat()}


@router.post("/conversations/{conv_id}/receipts")
async def receipts(conv_id: int, request: Request, session: Session,
                   principal: OptionalPrincipal, token: ChatToken = None,
                   delivered: int | None = None, read: int | None = None) -> dict[str, int]:
    conv, who = await conversations.participant_for(session, principal, token, conv_id)
    writer = writer_for_session(session)
    if writer is None or who.role not in ("customer", "agent"):
        # Inline in a caller's own transaction (tests), or a viewer whose receipts are not kept.
        await conversations.mark(session, conv, who, _publish(request), delivered=delivered,
                                 read=read)
        await commit(session)
        return {"delivered": getattr(conv, f"{who.role}_delivered_seq", 0),
                "read": getattr(conv, f"{who.role}_read_seq", 0)}
    # Batched by the chat writer with whatever else is queued (messages, the sockets'
    # receipts): one transaction, two statements for all of them. This request's own
    # transaction ends first, so it never holds SQLite's write gate while the writer waits.
    await commit(session)
    seqs = await writer.receipt(Receipt(conv.id, who.role, _publish(request),
                                        delivered=delivered, read=read))
    d, r = seqs if seqs is not None else (0, 0)
    return {"delivered": d, "read": r}


@router.post("/conversations/{conv_id}/close", response_model=schemas.ConversationRead)
async def close(conv_id: int, request: Request, session: Session, principal: OptionalPrincipal,
                token: ChatToken = None) -> schemas.ConversationRead:
    conv, who = await conversations.participant_for(session, principal, token, conv_id)
    await conversations.close_conversation(session, conv, who, _publish(request))
    await commit(session)
    return schemas.ConversationRead.model_validate(conv)


@router.post("/conversations/{conv_id}/csat", response_model=schemas.ConversationRead)
async def csat(conv_id: int, data: schemas.CsatCreate, session: Session,
               principal: OptionalPrincipal, token: ChatToken = None
               ) -> schemas.ConversationRead:
    conv, who = await conversations.participant_for(session, principal, token, conv_id)
    await conversations.rate(session, conv, who, data.score, data.comment)
    await commit(session)
    return schemas.ConversationRead.model_validate(conv)


@router.get("/conversations/{conv_id}/customer")
async def customer_panel(conv_id: int, session: Session, principal: CurrentPrincipal,
                         access: ConversationAccess) -> dict[str, Any]:
    conv, who = await conversations.participant_for(session, principal, None, conv_id)
    if who.role == "customer":
        raise NotFound("no such conversation")
    await access.conversation(session, conv, who)
    conversations.record_read(session, conv, who)
    panel = await conversations.customer_panel(session, conv)
    await commit(session)
    return panel


@router.get("/conversations/{conv_id}/transfers", response_model=list[schemas.TransferRead])
async def transfers(conv_id: int, session: Session, principal: CurrentPrincipal
                    ) -> list[schemas.TransferRead]:
    conv, who = await conversations.participant_for(session, principal, None, conv_id)
    if who.role == "customer":
        raise NotFound("no such conversation")
    rows = (await session.scalars(select(Transfer).where(
        Transfer.conversation_id == conv.id).order_by(Transfer.id))).all()
    return [schemas.TransferRead.model_validate(t) for t in rows]


@router.post("/conversations/{conv_id}/reassign", response_model=schemas.TransferRead)
async def reassign(conv_id: int, data: schemas.ReassignCreate, request: Request,
                   session: Session, principal: Reassigner) -> schemas.TransferRead:
    t = await conversations.reassign(session, principal, _publish(request), conv_id,
                                     data.to_user_id, data.reason)
    await commit(session)
    return schemas.TransferRead.model_validate(t)


@router.put("/agent/availability")
async def availability(data: schemas.Availability, request: Request, session: Session,
                       principal: Agent) -> dict[str, Any]:
    status = await conversations.set_availability(session, principal, _publish(request),
                                                  data.available)
    await commit(session)
    return {"available": status.available, "org_unit_id": status.org_unit_id}


CANNED_REPLIES = [
    "您好，我是您的专属客服，请问有什么可以帮您？",
    "请提供您的订单号，我马上为您查询。",
    "退款已为您提交，预计 1-3 个工作日原路退回。",
    "为了保障您的权益，请全程通过官方渠道沟通和付款。",
    "感谢您的好意，按公司规定我们不能收取任何红包或礼品。",
    "请问还有其他可以帮您的吗？",
]


@router.get("/canned-replies")
async def canned_replies(principal: Agent) -> list[str]:
    return CANNED_REPLIES
