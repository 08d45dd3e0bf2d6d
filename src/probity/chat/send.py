"""Sending a message: check the sender and the text, screen it (CPU only, no database), then
hand it to the group-commit writer (`probity.chat.writer`) — or, for a caller that holds its own
transaction, store it inline (`probity.chat.store`)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from probity.chat import attachments
from probity.chat.conversations import Participant
from probity.chat.screening import (
    ascreen_in_context,
    screen_image_bytes,
    screen_text,
    screen_voice_bytes,
    warm_screener,
)
from probity.chat.store import PendingSend, store_messages
from probity.chat.wire import MessageRow, Publish
from probity.chat.writer import writer_for_session
from probity.db import yield_write_gate
from probity.errors import Conflict, Forbidden, InvalidInput
from probity.models import Conversation, ConversationStatus, Message, MessageKind
from probity.monitoring.enforce import policy_for_sender
from probity.ops.metrics import screening_decision
from probity.policy.registry import policy_for
from probity.screening import CompiledPolicy
from probity.screening.context import Turn

MAX_TEXT = 2000


async def check_attachment_allowed(session: AsyncSession, tenant_id: int,
                                   kind: MessageKind) -> None:
    """Attachment types are a chat process rule of the group standards (section `chat`)."""
    from probity.governance import effective_settings
    from probity.governance.sections import ChatProcessSettings

    rules = (await effective_settings(session, tenant_id, ChatProcessSettings)).values
    if kind.value not in rules.allowed_attachments:
        raise InvalidInput(f"{kind.value} attachments are not allowed here",
                           code="attachment_not_allowed",
                           template=f"{kind.value} attachments are not allowed here")



def check_sender(who: Participant) -> None:
    if who.role not in ("customer", "agent"):
        raise Forbidden("only the conversation's customer and agent send messages")


async def prepare_send(
    conv_id: int, who: Participant, publish: Publish, *, text: str = "",
    client_id: str | None = None, kind: MessageKind = MessageKind.text,
    data: bytes | None = None, attachments_dir: Path | None = None,
    policy: CompiledPolicy | None = None,
) -> PendingSend:
    """Validate and screen one message with the tenant's compiled `policy` (CPU only, no
    database). Raises InvalidInput."""
    check_sender(who)
    await warm_screener()
    text = text.strip()
    if "\x00" in text:  # PostgreSQL cannot store it; refused on every database alike
        raise InvalidInput("the message contains a NUL character", code="nul_character")
    mime: str | None = None
    digest: str | None = None
    status = "screened"
    turn: Turn | None = None
    offer: Turn | None = None
    if kind == MessageKind.text:
        if not text:
            raise InvalidInput("the message is empty", code="empty")
        if len(text) > MAX_TEXT:
            raise InvalidInput(f"the message is longer than {MAX_TEXT} characters")
        verdict = await ascreen_in_context(conv_id, text, who.role, policy)
        result: Any = verdict.result
        turn, offer = verdict.turn, verdict.offer
    else:
        if data is None or attachments_dir is None:
            raise InvalidInput("no file", code="no_file")
        if kind == MessageKind.image:
            mime = attachments.check_image(data)
            # OCR is CPU work: keep it off the event loop.
            result, status = await asyncio.to_thread(
                attachments.rejected_image,
                lambda raw: screen_image_bytes(raw, who.role, policy), data)
        elif kind == MessageKind.voice:
            mime = attachments.check_voice(data)
            result, status = screen_voice_bytes(data, who.role, mime, policy)
        else:
            raise InvalidInput("unsupported message kind")
        digest = attachments.store(attachments_dir, data)
        if text:  # a caption is screened like any text; the stricter decision wins
            caption = screen_text(text, who.role, policy)
            if result is None or _rank(caption.decision) > _rank(result.decision):
                result = caption
    pending = PendingSend(conv_id=conv_id, who=who, publish=publish, text=text,
                          client_id=client_id, result=result, screening_status=status,
                          kind=kind, mime=mime, digest=digest,
                          size=len(data) if data is not None else None, turn=turn, offer=offer)
    screening_decision(pending.decision)
    return pending


async def find_resent(session: AsyncSession, conv_id: int, role: str,
                      client_id: str | None) -> Message | None:
    """The message already stored under this client_id (an idempotent resend), if any."""
    if not client_id:
        return None
    return await session.scalar(select(Message).where(
        Message.conversation_id == conv_id, Message.sender_role == role,
        Message.client_id == client_id))


async def send_message(
    session: AsyncSession, conv: Conversation, who: Participant, publish: Publish, *,
    text: str = "", client_id: str | None = None, kind: MessageKind = MessageKind.text,
    data: bytes | None = None, attachments_dir: Path | None = None,
) -> tuple[Message | MessageRow, bool]:
    """Screen, store and (after commit) deliver one message. Returns (message, duplicate).

    A session bound to an engine (the application's request sessions) hands the store to that
    engine's group-commit writer (`MessageWriter`): the message is then committed in the
    writer's own transaction before this returns, and delivered after that commit. A session
    bound to a connection (a caller that owns an outer transaction, e.g. the tests) stores the
    message inline: flush only, delivery queued with after_commit."""
    check_sender(who)
    if conv.status == ConversationStatus.closed:
        raise Conflict("the conversation is closed", code="closed")
    if kind != MessageKind.text:
        await check_attachment_allowed(session, conv.tenant_id, kind)
    try:
        policy = await policy_for_sender(await policy_for(session, conv.tenant_id),
                                         conv.tenant_id, who.role, who.employee_id,
                                         session=session)
        pending = await prepare_send(conv.id, who, publish, text=text, client_id=client_id,
                                     kind=kind, data=data, attachments_dir=attachments_dir,
                                     policy=policy)
    except InvalidInput:
        existing = await find_resent(session, conv.id, who.role, client_id)
        if existing is not None:
            return existing, True
        raise
    writer = writer_for_session(session)
    if writer is not None:
        # The writer commits in its own transaction: a request transaction that only read
        # must not hold the database's write gate while it waits for that commit.
        await yield_write_gate(session)
        return await writer.submit(pending)
    (outcome,) = await store_messages(session, [pending])
    if isinstance(outcome, BaseException):
        raise outcome
    msg, dup = outcome
    if not dup:
        # The row already holds the new last_seq (UPDATE … RETURNING): mirror it, no re-read.
        set_committed_value(conv, "last_seq", max(conv.last_seq, msg.seq))
    return msg, dup




def _rank(decision: str) -> int:
    return {"allow": 0, "warn": 1, "block": 2}.get(decision, 0)

