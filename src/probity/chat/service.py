"""Chat domain logic. Services flush, never commit; side effects are queued with after_commit.

Messages are their own permanent record (append-only table); conversation lifecycle changes
(start, close, CSAT, reassign, recall, availability) also write an audit row.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import math
import secrets
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import case, insert, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from probity.analytics.rollup import record_batch
from probity.audit.service import record_audit
from probity.auth.deps import AFTER_COMMIT, after_commit
from probity.auth.permissions import Perm, Principal
from probity.chat import attachments, routing
from probity.chat.screening import (
    record_refusals,
    screen_image_bytes,
    screen_in_context,
    screen_text,
    screen_voice_bytes,
    screening_evidence,
    warm_screener,
)
from probity.db import PRIORITY_OPTION, make_engine, yield_write_gate
from probity.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from probity.governance.notices import (
    agent_warning,
    notice_texts,
    sender_notice,
    warm_notices,
)
from probity.ledger.facts import alert_payload, message_payload
from probity.ledger.service import CHECKPOINT_INTERVAL_S, append_entries, maybe_checkpoint
from probity.models import (
    AgentStatus,
    Alert,
    Conversation,
    ConversationStatus,
    Customer,
    Message,
    MessageKind,
    Order,
    OrgUnit,
    OrgUnitKind,
    Payment,
    Refund,
    Role,
    Tenant,
    Transfer,
    User,
)
from probity.models.base import utcnow
from probity.monitoring.enforce import policy_for_sender
from probity.ops.metrics import screening_decision
from probity.policy.registry import policy_for
from probity.screening import CompiledPolicy
from probity.screening.context import Turn

RECALL_WINDOW = timedelta(minutes=2)
MAX_TEXT = 2000

Publish = Callable[[str, dict[str, Any]], Awaitable[None]]
log = logging.getLogger("probity.chat")


@dataclass(frozen=True)
class Participant:
    """Who acts on a conversation: its customer, its agent, or a supervisor (lead/HR/...)."""

    role: str  # customer | agent | supervisor
    user_id: int | None
    employee_id: int | None
    principal: Principal | None

    @property
    def can_see_evidence(self) -> bool:
        return self.principal is not None and self.principal.can(Perm.chat_evidence)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def conv_channel(conv_id: int) -> str:
    return f"conv:{conv_id}"


def agent_channel(user_id: int) -> str:
    return f"agent:{user_id}"


ALERTS_CHANNEL = "alerts"


# ---- starting and routing --------------------------------------------------------------------


async def _pick_team(session: AsyncSession, tenant_id: int, team_id: int | None) -> OrgUnit:
    q = select(OrgUnit).where(OrgUnit.tenant_id == tenant_id, OrgUnit.kind == OrgUnitKind.team)
    if team_id is not None:
        q = q.where(OrgUnit.id == team_id)
    team = await session.scalar(q.order_by(OrgUnit.id).limit(1))
    if team is None:
        raise NotFound("no customer-service team for this request")
    return team


async def start_conversation(
    session: AsyncSession, principal: Principal | None, publish: Publish, *,
    order_no: str | None = None, phone_last4: str | None = None, team_id: int | None = None,
) -> tuple[Conversation, str | None]:
    """Open a conversation for a signed-in customer, or a guest identified by order number plus
    the last four digits of the order's phone. Returns the conversation and, for a guest, the
    access token (shown once; only its hash is stored)."""
    order: Order | None = None
    token: str | None = None
    if principal is not None and principal.customer_id is not None:
        customer = await session.get(Customer, principal.customer_id)
        if customer is None:
            raise NotFound("no customer record for this account")
        if order_no:
            order = await session.scalar(select(Order).where(
                Order.order_no == order_no, Order.customer_id == customer.id))
    else:
        if not order_no or not phone_last4:
            raise InvalidInput("sign in, or give the order number and the last four digits of "
                               "the order's phone", code="identify")
        order = await session.scalar(select(Order).where(Order.order_no == order_no.strip()))
        phone = (order.contact_phone or "") if order else ""
        # Same answer whether the order is missing or the digits are wrong.
        if order is None or len(phone) < 4 or not hmac.compare_digest(phone[-4:],
                                                                      phone_last4.strip()):
            raise NotFound("no order matches this number and phone")
        customer = await session.get(Customer, order.customer_id)
        assert customer is not None
        token = secrets.token_urlsafe(24)
    team = await _pick_team(session, customer.tenant_id, team_id)
    conv = Conversation(
        tenant_id=customer.tenant_id, org_unit_id=team.id, customer_id=customer.id,
        customer_user_id=principal.user_id if principal and principal.customer_id else None,
        order_id=order.id if order else None,
        guest_token_hash=hash_token(token) if token else None,
        status=ConversationStatus.waiting, last_seq=0,
        customer_delivered_seq=0, customer_read_seq=0, agent_delivered_seq=0, agent_read_seq=0)
    session.add(conv)
    await session.flush()
    agent = await routing.route(session, conv)
    record_audit(session, principal, "conversation.start", target_type="conversation",
                 target_id=conv.id, tenant_id=conv.tenant_id,
                 actor_name=None if principal else "guest",
                 after={"team": team.id, "agent_user_id": conv.agent_user_id,
                        "status": conv.status.value, "via": "account" if not token else "order"})
    if agent is not None:
        _notify_assigned(session, publish, conv)
    return conv, token


def _notify_assigned(session: AsyncSession, publish: Publish, conv: Conversation) -> None:
    event = {"type": "assigned", "conversation_id": conv.id, "agent_user_id": conv.agent_user_id,
             "status": conv.status.value}
    agent_id = conv.agent_user_id

    async def effect() -> None:
        await publish(conv_channel(conv.id), event)
        if agent_id is not None:
            await publish(agent_channel(agent_id), event)

    after_commit(session, effect)


async def _agent_team(session: AsyncSession, principal: Principal) -> tuple[int, int]:
    for g in principal.grants:
        if g.role == Role.agent and g.org_unit_id is not None:
            return g.org_unit_id, g.tenant_id
    raise Forbidden("only agents of a team take conversations")


async def set_availability(session: AsyncSession, principal: Principal, publish: Publish,
                           available: bool) -> AgentStatus:
    team_id, tenant_id = await _agent_team(session, principal)
    if available:
        # The training gate (a group standard): mandatory courses before the first chat.
        from probity.training.service import check_chat_gate

        await check_chat_gate(session, tenant_id, principal.employee_id)
    status = await session.get(AgentStatus, principal.user_id)
    if status is None:
        status = AgentStatus(user_id=principal.user_id, org_unit_id=team_id, tenant_id=tenant_id,
                             employee_id=principal.employee_id, available=available,
                             updated_at=utcnow())
        session.add(status)
    elif status.available != available or status.org_unit_id != team_id:
        status.available, status.org_unit_id, status.updated_at = available, team_id, utcnow()
    else:
        return status
    await session.flush()
    record_audit(session, principal, "agent.availability", target_type="user",
                 target_id=principal.user_id, tenant_id=tenant_id,
                 after={"available": available, "team": team_id})
    if available:
        for conv in await routing.drain_queue(session, team_id):
            _notify_assigned(session, publish, conv)
    return status


# ---- access ----------------------------------------------------------------------------------


async def participant_for(session: AsyncSession, principal: Principal | None,
                          guest_token: str | None, conv_id: int
                          ) -> tuple[Conversation, Participant]:
    """The conversation and the caller's part in it; anything else is NotFound."""
    conv = await session.get(Conversation, conv_id)
    if conv is None:
        raise NotFound("no such conversation")
    await warm_notices(session, conv.tenant_id)  # the tenant's notice texts (group standards)
    if guest_token and conv.guest_token_hash and hmac.compare_digest(
            conv.guest_token_hash, hash_token(guest_token)):
        return conv, Participant("customer", None, None, None)
    if principal is None:
        raise NotFound("no such conversation")
    if principal.customer_id is not None and conv.customer_user_id == principal.user_id:
        return conv, Participant("customer", principal.user_id, None, principal)
    if conv.agent_user_id == principal.user_id:
        return conv, Participant("agent", principal.user_id, principal.employee_id, principal)
    if principal.can(Perm.chat_supervise):
        scope = principal.scope(Perm.chat_supervise)
        ok = await session.scalar(select(Conversation.id).where(
            Conversation.id == conv.id,
            scope.filter(Conversation.tenant_id, Conversation.org_unit_id)))
        if ok is not None:
            return conv, Participant("supervisor", principal.user_id, principal.employee_id,
                                     principal)
    raise NotFound("no such conversation")


def record_read(session: AsyncSession, conv: Conversation, who: Participant) -> None:
    """Every read of a conversation by anyone but its participants is itself recorded."""
    if who.role == "supervisor":
        record_audit(session, who.principal, "conversation.read", target_type="conversation",
                     target_id=conv.id, tenant_id=conv.tenant_id)


async def list_conversations(session: AsyncSession, principal: Principal, *,
                             status: str | None = None, limit: int = 100) -> list[Conversation]:
    """Agents (and customers) see only their own; supervisors see their scope."""
    if principal.customer_id is not None:
        q = select(Conversation).where(Conversation.customer_user_id == principal.user_id)
    elif principal.can(Perm.chat_supervise):
        scope = principal.scope(Perm.chat_supervise)
        q = select(Conversation).where(
            scope.filter(Conversation.tenant_id, Conversation.org_unit_id)
            | (Conversation.agent_user_id == principal.user_id))
    else:
        q = select(Conversation).where(Conversation.agent_user_id == principal.user_id)
    if status:
        q = q.where(Conversation.status == ConversationStatus(status))
    return list((await session.scalars(q.order_by(Conversation.id.desc()).limit(limit))).all())


# ---- messages --------------------------------------------------------------------------------


def message_view(msg: Any, viewer: Participant) -> dict[str, Any] | None:
    """What `viewer` may see of `msg`, or None when it must see nothing at all."""
    own = msg.sender_role == viewer.role
    base: dict[str, Any] = {
        "type": "message", "id": msg.id, "conversation_id": msg.conversation_id, "seq": msg.seq,
        "sender": msg.sender_role, "kind": msg.kind.value, "created_at": msg.created_at.isoformat(),
    }
    if msg.decision == "block":
        if viewer.role == "supervisor":
            base.update(blocked=True, decision="block", categories=msg.categories,
                        severity=msg.severity)
            if viewer.can_see_evidence:
                base.update(body=msg.body, spans=msg.spans, attachment=msg.attachment_sha256)
            return base
        if not own:
            return None  # the recipient sees nothing of it
        # The sender gets the notice (the official-channel notice for a customer, the internal
        # compliance warning for an agent; texts per category: group standards) and keeps their
        # own text, marked not sent.
        base.update(blocked=True, notice=sender_notice(notice_texts(msg.tenant_id),
                                                       msg.sender_role, msg.categories),
                    body=msg.body, categories=msg.categories)
        return base
    if msg.recalled_at is not None and viewer.role == "customer":
        base.update(recalled=True)
        return base
    base.update(body=msg.body, attachment=msg.attachment_sha256, mime=msg.attachment_mime,
                screening=msg.screening_status)
    if msg.recalled_at is not None:
        base["recalled_at"] = msg.recalled_at.isoformat()
    if viewer.role in ("agent", "supervisor"):
        base.update(decision=msg.decision, categories=msg.categories)
        if msg.decision == "warn":
            base["reminder"] = agent_reminder(msg)
        if viewer.role == "supervisor":
            base["spans"] = msg.spans
    return base


@dataclass
class PendingSend:
    """A message that passed validation and screening, on its way to the database."""

    conv_id: int
    who: Participant
    publish: Publish
    text: str
    client_id: str | None
    result: Any  # the screening result (None: unscreened attachment)
    screening_status: str = "screened"
    kind: MessageKind = MessageKind.text
    mime: str | None = None
    digest: str | None = None
    size: int | None = None
    turn: Turn | None = None  # the conversation context's record of this message
    offer: Turn | None = None  # the other party's latest offer (a refusal's episode)

    @property
    def decision(self) -> str:
        return str(self.result.decision) if self.result is not None else "allow"


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


async def official_reminder(session: AsyncSession, tenant_id: int) -> str | None:
    """The reminder a customer sees when a conversation starts, if the standards want one."""
    from probity.governance import effective_settings
    from probity.governance.sections import ChatProcessSettings

    rules = (await effective_settings(session, tenant_id, ChatProcessSettings)).values
    return rules.reminder_text if rules.official_channel_reminder else None


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
        verdict = screen_in_context(conv_id, text, who.role, policy)
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
) -> tuple[Message, bool]:
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


Outcome = tuple[Message, bool] | DomainError


_MESSAGE_COLUMNS = (
    "conversation_id", "tenant_id", "seq", "sender_role", "sender_user_id",
    "sender_employee_id", "client_id", "kind", "body", "attachment_sha256", "attachment_mime",
    "attachment_size", "decision", "screening_status", "categories", "severity", "spans",
    "policy_version", "created_at")
_ALERT_COLUMNS = (
    "tenant_id", "org_unit_id", "conversation_id", "message_id", "sender_role",
    "sender_user_id", "agent_employee_id", "decision", "category", "categories", "severity",
    "snippet", "spans", "created_at", "source", "customer_id", "subject", "agent_part",
    "evidence")


async def _insert_returning_ids(session: AsyncSession, model: Any, rows: list[Any],
                                columns: tuple[str, ...], key: tuple[str, ...]) -> None:
    """INSERT the rows (plain, unattached ORM objects) in ONE statement and give each its new
    id. The ORM's unit of work would send one INSERT per row on SQLite (it cannot rely on the
    order of RETURNING there); this is a Core executemany, which SQLAlchemy sends as a single
    multi-row INSERT … RETURNING ("insertmanyvalues", compiled once and cached, whatever the
    number of rows), and RETURNING carries a unique key of each row, so its order does not
    matter."""
    table = model.__table__
    stmt = insert(table).returning(table.c.id, *(table.c[k] for k in key))
    params = [{c: getattr(r, c) for c in columns} for r in rows]
    result = await session.execute(stmt, params[0] if len(params) == 1 else params)
    ids = {tuple(row[1:]): row[0] for row in result}
    for r in rows:
        r.id = ids[tuple(getattr(r, k) for k in key)]


async def store_messages(session: AsyncSession, sends: list[PendingSend], *,
                         checkpoint_due: CheckpointDue | None = None) -> list[Outcome]:
    """Store screened messages of any conversations in the session's transaction (flush only)
    with a fixed number of round trips, whatever the number of messages:

    1. one ``UPDATE conversations … RETURNING`` allocates every conversation's seqs (and says
       which are closed, and their current tenant/team/agent);
    2. one SELECT finds idempotent resends (by client_id), then a rare UPDATE gives back the
       seqs they did not use; the write comes first so that, on SQLite, the transaction takes
       the write lock before it reads (a deferred read-then-write can fail outright);
    3. one INSERT for the messages, one for the alerts (multi-row, see
       `_insert_returning_ids`), the ledger entries per tenant;
    4. delivery and alert events queued with after_commit, in seq order.

    Returns, per send in order, (message, duplicate) or the DomainError for that send alone.
    """
    counts: dict[int, int] = {}
    for s in sends:
        counts[s.conv_id] = counts.get(s.conv_id, 0) + 1
    ids = sorted(counts)
    bump: Any = (Conversation.last_seq + counts[ids[0]] if len(ids) == 1 else
                 Conversation.last_seq + case(counts, value=Conversation.id))
    rows = (await session.execute(
        update(Conversation)
        .where(Conversation.id.in_(ids), Conversation.status != ConversationStatus.closed)
        .values(last_seq=bump)
        .returning(Conversation.id, Conversation.last_seq, Conversation.tenant_id,
                   Conversation.org_unit_id, Conversation.agent_employee_id,
                   Conversation.customer_id)
        .execution_options(synchronize_session=False))).all()
    convs = {r[0]: r for r in rows}
    keyed = [s for s in sends if s.client_id and s.conv_id in convs]
    stored: dict[tuple[int, str, str], Message] = {}
    if keyed:
        found = await session.scalars(select(Message).where(
            Message.conversation_id.in_({s.conv_id for s in keyed}),
            Message.client_id.in_({s.client_id for s in keyed})))
        for m in found:
            assert m.client_id is not None
            stored[(m.conversation_id, m.sender_role, m.client_id)] = m
    # Which sends are new: the closed ones fail, resends (stored before, or twice in the batch)
    # return the stored message.
    plan: list[Outcome | PendingSend | tuple[int, str, str]] = []
    fresh: dict[int, int] = {}
    seen_keys: set[tuple[int, str, str]] = set()
    for s in sends:
        if s.conv_id not in convs:
            plan.append(Conflict("the conversation is closed", code="closed"))
            continue
        key = (s.conv_id, s.who.role, s.client_id) if s.client_id else None
        if key is not None and key in stored:
            plan.append((stored[key], True))
            continue
        if key is not None and key in seen_keys:
            plan.append(key)  # resolved once its first copy is built
            continue
        if key is not None:
            seen_keys.add(key)
        fresh[s.conv_id] = fresh.get(s.conv_id, 0) + 1
        plan.append(s)
    unused = {cid: counts[cid] - fresh.get(cid, 0) for cid in convs}
    for cid, n in unused.items():
        if n:  # rare: give back the seqs allocated to resends (we hold the row lock)
            await session.execute(
                update(Conversation).where(Conversation.id == cid)
                .values(last_seq=Conversation.last_seq - n)
                .execution_options(synchronize_session=False))
    next_seq_of = {cid: int(convs[cid][1]) - counts[cid] + 1 for cid in convs}
    now = utcnow()
    messages: list[tuple[PendingSend, Message]] = []
    by_key: dict[tuple[int, str, str], Message] = {}
    for item in plan:
        if not isinstance(item, PendingSend):
            continue
        s = item
        seq = next_seq_of[s.conv_id]
        next_seq_of[s.conv_id] = seq + 1
        r = s.result
        msg = Message(
            conversation_id=s.conv_id, tenant_id=convs[s.conv_id][2], seq=seq,
            sender_role=s.who.role, sender_user_id=s.who.user_id,
            sender_employee_id=s.who.employee_id if s.who.role == "agent" else None,
            client_id=s.client_id, kind=s.kind, body=s.text, attachment_sha256=s.digest,
            attachment_mime=s.mime, attachment_size=s.size, decision=s.decision,
            screening_status=s.screening_status,
            categories=list(r.categories) if r is not None else [],
            severity=int(r.severity) if r is not None else 0,
            spans=[sp.to_dict() for sp in r.spans] if r is not None else [],
            policy_version=int(getattr(r, "policy_version", 0) or 0),
            created_at=now)
        messages.append((s, msg))
        if s.client_id:
            by_key[(s.conv_id, s.who.role, s.client_id)] = msg
    outcomes: list[Outcome] = []
    for item in plan:
        if isinstance(item, PendingSend):
            continue
        if isinstance(item, tuple) and len(item) == 3:
            outcomes.append((by_key[item], True))
        else:
            outcomes.append(item)
    if messages:
        await _insert_returning_ids(session, Message, [m for _s, m in messages],
                                    _MESSAGE_COLUMNS, ("conversation_id", "seq"))
        await record_refusals(session, [(s, m, convs[s.conv_id]) for s, m in messages])
        alerts: dict[int, Alert] = {}
        for s, msg in messages:
            if msg.decision in ("warn", "block"):
                masked = str(getattr(s.result, "masked", "") or "")
                alerts[msg.id] = Alert(
                    tenant_id=msg.tenant_id, org_unit_id=convs[s.conv_id][3],
                    conversation_id=s.conv_id, message_id=msg.id, sender_role=s.who.role,
                    sender_user_id=s.who.user_id, agent_employee_id=convs[s.conv_id][4],
                    source="screening", customer_id=convs[s.conv_id][5],
                    subject=s.who.role,
                    agent_part="initiator" if s.who.role == "agent" else "recipient",
                    evidence=screening_evidence(s.result), decision=msg.decision,
                    category=msg.categories[0] if msg.categories else "other",
                    categories=msg.categories, severity=msg.severity, snippet=masked[:200],
                    spans=msg.spans, created_at=now)
        if alerts:
            await _insert_returning_ids(session, Alert, list(alerts.values()), _ALERT_COLUMNS,
                                        ("message_id",))
        # Risk analytics: the batch's hourly rollups (one grouped upsert) and the monitoring
        # rules in force (QA sampling, alerts to HR on duty) — ONE call per batch.
        await record_batch(session, [(m, convs[s.conv_id][3], convs[s.conv_id][4])
                                     for s, m in messages])
        await ledger_messages(session, [m for _s, m in messages], list(alerts.values()),
                              checkpoint_due)
        if alerts:
            # Alerts join (or open) a case in the same transaction: same agent and customer
            # within the tenant's grouping window, de-duplicated.
            from probity.cases.service import group_alert

            for alert in alerts.values():
                await group_alert(session, alert)
        for s, msg in messages:
            _queue_delivery(session, s.publish, s.conv_id, msg, alerts.get(msg.id))
    # Put the outcomes back in the order of `sends`.
    fresh_iter = iter(messages)
    other_iter = iter(outcomes)
    result: list[Outcome] = []
    for item in plan:
        result.append((next(fresh_iter)[1], False) if isinstance(item, PendingSend)
                      else next(other_iter))
    return result


CheckpointDue = Callable[[int], bool]
# The writer looks for a due checkpoint at most this often per tenant (instead of one SELECT per
# batch); it asks for one when the latest is older than CHECKPOINT_INTERVAL_S minus this, so a
# ledger being written still gets a checkpoint at least every CHECKPOINT_INTERVAL_S.
CHECKPOINT_CHECK_S = 10


async def ledger_messages(session: AsyncSession, messages: list[Message], alerts: list[Alert],
                          checkpoint_due: CheckpointDue | None = None) -> None:
    """The ledger entries of stored messages and their alerts: per tenant (in tenant order, so
    concurrent writers take the tenants' append locks in the same order), the messages (salted:
    a message is personal data that retention may purge) and then their alerts, one INSERT
    each. A single message gives [chat.message, alert.raised], as before batching.

    Without `checkpoint_due`, every append looks for a due checkpoint (append_entries'
    default); with it, only the tenants for which it says so."""
    for tenant_id in sorted({m.tenant_id for m in messages}):
        ms = [("chat.message", message_payload(m)) for m in messages if m.tenant_id == tenant_id]
        al = [("alert.raised", alert_payload(a)) for a in alerts if a.tenant_id == tenant_id]
        default = checkpoint_due is None
        await append_entries(session, tenant_id, ms, purgeable=True,
                             checkpoint=default and not al)
        if al:
            await append_entries(session, tenant_id, al, checkpoint=default)
        if checkpoint_due is not None and checkpoint_due(tenant_id):
            await maybe_checkpoint(session, tenant_id,
                                   max_age_s=CHECKPOINT_INTERVAL_S - CHECKPOINT_CHECK_S)


# ---- group commit ----------------------------------------------------------------------------

T = TypeVar("T")
Job = Callable[[AsyncSession], Awaitable[Any]]


@dataclass
class _Queued:
    future: asyncio.Future[Any]  # resolved on the submitter's event loop
    send: PendingSend | None = None  # a message to store (batched), or
    job: Job | None = None  # another chat write, run alone in its own transaction


@dataclass
class _Done:
    items: list[_Queued]
    effects: list[Callable[[], Awaitable[None]]]
    outcomes: list[Any]  # per item: its result, or the exception to raise


class MessageWriter:
    """Group commit: the one writer of chat data for a database in this process.

    Every send (WebSocket or HTTP) is validated and screened by its caller, then queued here.
    The writer takes whatever is queued (up to `max_batch` messages), stores it with
    `store_messages` in ONE transaction, commits, and hands the batch back to the application's
    event loop, which publishes the deliveries (seq order) and only then resolves each sender's
    future — an ack still means "durably stored". While one batch commits the next one gathers,
    so the commit, the seq allocation and the ledger append are paid per batch, not per message,
    and batches grow with the load.

    The writer runs in its own thread with its own event loop and database connection: a batch
    costs several round trips, and on the application's loop — busy with hundreds of sockets —
    every round trip would wait for a turn of that loop. Here they follow each other directly.

    The other chat writes of the sockets (receipts, recall) go through `run`, in the same queue,
    each in its own transaction: on SQLite this process then never competes with itself for the
    single writer (a deferred read-then-write transaction fails outright when another writer
    committed in between). A transaction that fails on a transient database error (another
    process holding SQLite's lock, a PostgreSQL deadlock) is retried whole — nothing of it was
    committed; a batch that fails otherwise is retried one message at a time, so one bad message
    cannot fail the others.
    """

    def __init__(self, url: str, *, max_batch: int = 64, retries: int = 5) -> None:
        self.url = url
        self.max_batch = max_batch
        self.retries = retries
        self.sqlite = url.startswith("sqlite")
        self._main: asyncio.AbstractEventLoop | None = None  # the submitters' loop
        self._done: asyncio.Queue[_Done] | None = None
        self._finisher: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the writer's own loop
        self._ready = threading.Event()
        self._pending: list[_Queued] = []  # touched on the writer's loop only
        self._wakeup: asyncio.Event | None = None
        self._engine: AsyncEngine | None = None
        self._checked: dict[int, float] = {}  # tenant → when a due checkpoint was looked for
        # Counters (tests and the benchmark read them).
        self.batches = 0
        self.messages = 0
        self.largest_batch = 0

    async def submit(self, send: PendingSend) -> tuple[Message, bool]:
        """Queue one screened message; returns (message, duplicate) once it is committed.
        Raises the send's DomainError (e.g. the conversation was closed meanwhile)."""
        result: tuple[Message, bool] = await self._enqueue(send=send)
        return result

    async def run(self, job: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `job(session)` in its own transaction on the writer, commit, then run the
        session's after_commit effects on the caller's loop; returns the job's result."""
        result: T = await self._enqueue(job=job)
        return result

    async def _enqueue(self, **item: Any) -> Any:
        loop = asyncio.get_running_loop()
        if self._main is not loop or self._finisher is None or self._finisher.done():
            self._start_finisher(loop)
        if self._thread is None or not self._thread.is_alive():
            self._start_thread()
        assert self._loop is not None
        future: asyncio.Future[Any] = loop.create_future()
        future.add_done_callback(_consume)
        self._loop.call_soon_threadsafe(self._push, _Queued(future, **item))
        # A sender that goes away (socket closed) does not cancel its message: it is written
        # anyway, and a resend with the same client_id returns it.
        return await asyncio.shield(future)

    def _start_finisher(self, loop: asyncio.AbstractEventLoop) -> None:
        self._main = loop
        self._done = asyncio.Queue()
        self._finisher = loop.create_task(self._finish(self._done), name="chat-writer-finish")

    def _start_thread(self) -> None:
        self._ready.clear()
        self._thread = threading.Thread(target=self._thread_main, name="chat-writer",
                                        daemon=True)
        self._thread.start()
        self._ready.wait()

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._wakeup = asyncio.Event()
        # On SQLite its transactions go first through the process's write gate (probity.db):
        # every message's sender waits for them.
        self._engine = make_engine(self.url, pool_size=1, max_overflow=0, pool_pre_ping=False) \
            if not self.sqlite else make_engine(self.url).execution_options(
                **{PRIORITY_OPTION: True})
        loop.call_soon(self._ready.set)
        try:
            loop.run_until_complete(self._run())
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(self._engine.dispose())
            loop.close()

    def _push(self, item: _Queued) -> None:
        assert self._wakeup is not None
        self._pending.append(item)
        self._wakeup.set()

    def stop_soon(self) -> None:
        """Ask the writer's thread to stop once what is queued is written (any thread)."""
        loop = self._loop
        if loop is not None and not loop.is_closed() and self._thread is not None \
                and self._thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._push, _Queued(future=None))  # type: ignore[arg-type]

    async def close(self) -> None:
        """Stop the writer (what is queued is written first) and its finisher."""
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._push, _Queued(future=None))  # type: ignore[arg-type]
            await asyncio.to_thread(self._thread.join, 30)
        if self._finisher is not None:
            if self._done is not None:
                await asyncio.sleep(0)  # let the hand-backs scheduled by the thread land
                await self._done.join()
            self._finisher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._finisher
            self._finisher = None

    # -- on the writer's thread ------------------------------------------------------------

    async def _run(self) -> None:
        assert self._wakeup is not None
        while True:
            if not self._pending:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            first = self._pending[0]
            if first.future is None:  # close(): stop once everything before it is written
                return
            if first.job is not None:
                batch = [self._pending.pop(0)]
            else:
                n = 0
                while (n < len(self._pending) and n < self.max_batch
                       and self._pending[n].send is not None):
                    n += 1
                batch = self._pending[:n]
                del self._pending[:n]
            try:
                await self._write(batch)
            except DomainError as exc:  # a job refused (e.g. recall too late): the caller's
                self._hand_back(_Done(batch, [], [exc]))
            except Exception as exc:  # never let the writer die with senders waiting
                log.exception("chat writer: transaction failed")
                self._hand_back(_Done(batch, [], [exc] * len(batch)))

    async def _write(self, batch: list[_Queued]) -> None:
        for attempt in range(self.retries):
            try:
                await self._write_once(batch)
                return
            except OperationalError:
                if attempt == self.retries - 1:
                    raise
                await asyncio.sleep(0.01 * (attempt + 1))
            except Exception:
                if len(batch) == 1:
                    raise
                log.exception("chat writer: batch of %d failed; writing one by one",
                              len(batch))
                for item in batch:
                    try:
                        await self._write([item])
                    except Exception as exc:
                        self._hand_back(_Done([item], [], [exc]))
                return

    async def _write_once(self, batch: list[_Queued]) -> None:
        assert self._engine is not None
        async with AsyncSession(self._engine, expire_on_commit=False) as session:
            try:
                if batch[0].job is not None:
                    outcomes: list[Any] = [await batch[0].job(session)]
                else:
                    outcomes = await store_messages(
                        session, [item.send for item in batch],  # type: ignore[misc]
                        checkpoint_due=self._checkpoint_due)
                effects = session.info.pop(AFTER_COMMIT, [])
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
        if batch[0].send is not None:
            self.batches += 1
            self.messages += len(batch)
            self.largest_batch = max(self.largest_batch, len(batch))
        self._hand_back(_Done(batch, effects, outcomes))

    def _checkpoint_due(self, tenant_id: int) -> bool:
        now = time.monotonic()
        if now - self._checked.get(tenant_id, -math.inf) < CHECKPOINT_CHECK_S:
            return False
        self._checked[tenant_id] = now
        return True

    def _hand_back(self, done: _Done) -> None:
        if self._main is not None and self._done is not None and not self._main.is_closed():
            self._main.call_soon_threadsafe(self._done.put_nowait, done)

    # -- back on the application's loop ----------------------------------------------------

    async def _finish(self, queue: asyncio.Queue[_Done]) -> None:
        """Committed: deliver (in commit order), then ack."""
        while True:
            done = await queue.get()
            for effect in done.effects:
                try:
                    await effect()
                except Exception:  # a fan-out failure must not turn a stored write into an error
                    log.exception("chat delivery failed after commit")
            for item, outcome in zip(done.items, done.outcomes, strict=True):
                if item.future.done():
                    continue
                if isinstance(outcome, BaseException):
                    item.future.set_exception(outcome)
                else:
                    item.future.set_result(outcome)
            queue.task_done()


def _consume(future: asyncio.Future[Any]) -> None:
    # The sender may have gone away: retrieve the exception so it is not reported as lost.
    if not future.cancelled():
        future.exception()


_WRITERS: weakref.WeakKeyDictionary[Any, MessageWriter] = weakref.WeakKeyDictionary()


def writer_for(engine: AsyncEngine) -> MessageWriter:
    """The process's writer for `engine`'s database (created on first use)."""
    writer = _WRITERS.get(engine.sync_engine)
    if writer is None:
        writer = _WRITERS[engine.sync_engine] = MessageWriter(
            engine.url.render_as_string(hide_password=False))
        # The writer's thread ends with the engine it writes for.
        weakref.finalize(engine.sync_engine, writer.stop_soon)
    return writer


def writer_for_session(session: AsyncSession) -> MessageWriter | None:
    """The group-commit writer for a session bound to an engine; None for a session bound to a
    connection (its owner holds an outer transaction the message must join)."""
    bind = session.bind
    return writer_for(bind) if isinstance(bind, AsyncEngine) else None


def _rank(decision: str) -> int:
    return {"allow": 0, "warn": 1, "block": 2}.get(decision, 0)


def agent_reminder(msg: Any) -> str:
    """What an agent is told beside a flagged message: for a customer's attempt to move
    off-platform, that the customer tried; otherwise the compliance warning of its category."""
    texts = notice_texts(msg.tenant_id)
    if msg.sender_role == "customer" and "contact" in (msg.categories or []):
        return texts.agent_customer_attempt
    return agent_warning(texts, msg.categories or [])


def ack_notices(msg: Any, role: str) -> dict[str, str]:
    """The notice (block) or reminder (warn, agents) that goes with a send acknowledgement."""
    if msg.decision == "block":
        return {"notice": sender_notice(notice_texts(msg.tenant_id), role, msg.categories)}
    if msg.decision == "warn" and role == "agent":
        return {"reminder": agent_reminder(msg)}
    return {}


def _queue_delivery(session: AsyncSession, publish: Publish, conv_id: int, msg: Message,
                    alert: Alert | None) -> None:
    # Carry the stored row (by value) to every process; each connection renders its own view.
    payload = {"type": "message", "message": message_wire(msg)}
    alert_payload = alert_event(alert) if alert is not None else None
    deliver = msg.decision != "block"
    # A customer's blocked attempt never reaches the agent, but the agent is told it happened
    # (staff connections only; customers' sockets drop this event).
    attempt = None
    if not deliver and msg.sender_role == "customer":
        attempt = {"type": "customer_attempt", "conversation_id": conv_id, "seq": msg.seq,
                   "categories": list(msg.categories or []),
                   "notice": notice_texts(msg.tenant_id).agent_customer_attempt}

    async def effect() -> None:
        if deliver:
            await publish(conv_channel(conv_id), payload)
        elif attempt is not None:
            await publish(conv_channel(conv_id), attempt)
        if alert_payload is not None:
            await publish(ALERTS_CHANNEL, alert_payload)

    after_commit(session, effect)


def message_wire(msg: Message) -> dict[str, Any]:
    """The full stored row, for the bus only (never sent to a client as is)."""
    return {
        "id": msg.id, "conversation_id": msg.conversation_id, "tenant_id": msg.tenant_id,
        "seq": msg.seq, "sender_role": msg.sender_role, "sender_user_id": msg.sender_user_id,
        "sender_employee_id": msg.sender_employee_id, "client_id": msg.client_id,
        "kind": msg.kind.value, "body": msg.body, "attachment_sha256": msg.attachment_sha256,
        "attachment_mime": msg.attachment_mime, "attachment_size": msg.attachment_size,
        "decision": msg.decision, "screening_status": msg.screening_status,
        "categories": msg.categories, "severity": msg.severity, "spans": msg.spans,
        "policy_version": msg.policy_version, "created_at": msg.created_at.isoformat(),
        "recalled_at": msg.recalled_at.isoformat() if msg.recalled_at else None,
    }


def message_from_wire(d: dict[str, Any]) -> Any:
    """A plain, read-only stand-in for the row (cheap: no ORM instrumentation per delivery)."""
    from datetime import datetime
    from types import SimpleNamespace

    return SimpleNamespace(
        id=d["id"], conversation_id=d["conversation_id"], tenant_id=d["tenant_id"], seq=d["seq"],
        sender_role=d["sender_role"], sender_user_id=d["sender_user_id"],
        sender_employee_id=d["sender_employee_id"], client_id=d["client_id"],
        kind=MessageKind(d["kind"]), body=d["body"], attachment_sha256=d["attachment_sha256"],
        attachment_mime=d["attachment_mime"], attachment_size=d["attachment_size"],
        decision=d["decision"], screening_status=d["screening_status"],
        categories=d["categories"], severity=d["severity"], spans=d["spans"],
        policy_version=d["policy_version"], created_at=datetime.fromisoformat(d["created_at"]),
        recalled_at=datetime.fromisoformat(d["recalled_at"]) if d["recalled_at"] else None)


def alert_event(alert: Alert, conv: Conversation | None = None) -> dict[str, Any]:
    return {"type": "alert", "alert": {
        "id": alert.id, "tenant_id": alert.tenant_id, "org_unit_id": alert.org_unit_id,
        "conversation_id": alert.conversation_id, "message_id": alert.message_id,
        "sender_role": alert.sender_role, "sender_user_id": alert.sender_user_id,
        "agent_employee_id": alert.agent_employee_id, "subject": alert.subject,
        "agent_part": alert.agent_part, "decision": alert.decision,
        "category": alert.category, "categories": alert.categories, "severity": alert.severity,
        "snippet": alert.snippet, "created_at": alert.created_at.isoformat()}}


async def history(session: AsyncSession, conv: Conversation, who: Participant, *,
                  after_seq: int = 0, limit: int = 500) -> list[dict[str, Any]]:
    rows = (await session.scalars(
        select(Message).where(Message.conversation_id == conv.id, Message.seq > after_seq)
        .order_by(Message.seq).limit(limit))).all()
    return [v for v in (message_view(m, who) for m in rows) if v is not None]


async def recall_message(session: AsyncSession, conv: Conversation, who: Participant,
                         publish: Publish, seq: int) -> Message:
    """An agent recalls (撤回) its own message within two minutes. The original stays."""
    if who.role != "agent":
        raise Forbidden("only the agent can recall a message")
    msg = await session.scalar(select(Message).where(Message.conversation_id == conv.id,
                                                     Message.seq == seq))
    if msg is None or msg.sender_role != "agent" or msg.sender_user_id != who.user_id:
        raise NotFound("no such message of yours")
    if msg.recalled_at is not None:
        raise Conflict("the message is already recalled", code="recalled")
    now = utcnow()
    if now - msg.created_at > RECALL_WINDOW:
        raise Conflict("messages can be recalled within 2 minutes only", code="recall_window")
    msg.recalled_at = now
    await session.flush()
    record_audit(session, who.principal, "message.recall", target_type="message",
                 target_id=msg.id, tenant_id=conv.tenant_id,
                 after={"conversation_id": conv.id, "seq": seq})
    event = {"type": "recalled", "conversation_id": conv.id, "seq": seq,
             "recalled_at": now.isoformat()}

    async def effect() -> None:
        await publish(conv_channel(conv.id), event)

    after_commit(session, effect)
    return msg


async def mark(session: AsyncSession, conv: Conversation, who: Participant, publish: Publish, *,
               delivered: int | None = None, read: int | None = None) -> None:
    """Delivery/read receipts: monotonic, per side."""
    if who.role not in ("customer", "agent"):
        return
    side = who.role
    values: dict[str, int] = {}
    cur_d = getattr(conv, f"{side}_delivered_seq")
    cur_r = getattr(conv, f"{side}_read_seq")
    top = conv.last_seq
    if read is not None and cur_r < min(read, top):
        values[f"{side}_read_seq"] = min(read, top)
        delivered = max(delivered or 0, read)
    if delivered is not None and cur_d < min(delivered, top):
        values[f"{side}_delivered_seq"] = min(delivered, top)
    if not values:
        return
    for k, v in values.items():
        setattr(conv, k, v)
    await session.flush()
    event = {"type": "receipt", "conversation_id": conv.id, "by": side,
             "delivered": getattr(conv, f"{side}_delivered_seq"),
             "read": getattr(conv, f"{side}_read_seq")}

    async def effect() -> None:
        await publish(conv_channel(conv.id), event)

    after_commit(session, effect)


async def close_conversation(session: AsyncSession, conv: Conversation, who: Participant,
                             publish: Publish) -> Conversation:
    if who.role not in ("agent", "customer") and not (
            who.principal is not None and who.principal.can(Perm.chat_reassign)):
        raise Forbidden("you cannot close this conversation")
    if conv.status == ConversationStatus.closed:
        return conv
    before = conv.status.value
    conv.status, conv.closed_at = ConversationStatus.closed, utcnow()
    await session.flush()
    record_audit(session, who.principal, "conversation.close", target_type="conversation",
                 target_id=conv.id, tenant_id=conv.tenant_id,
                 actor_name=None if who.principal else "guest",
                 before={"status": before}, after={"status": "closed"})
    freed = await routing.drain_queue(session, conv.org_unit_id)
    for c in freed:
        _notify_assigned(session, publish, c)
    event = {"type": "closed", "conversation_id": conv.id}

    async def effect() -> None:
        await publish(conv_channel(conv.id), event)

    after_commit(session, effect)
    return conv


async def rate(session: AsyncSession, conv: Conversation, who: Participant, score: int,
               comment: str | None) -> Conversation:
    if who.role != "customer":
        raise Forbidden("only the customer rates the service")
    if conv.status != ConversationStatus.closed:
        raise Conflict("rate the service once the conversation has ended", code="not_closed")
    if conv.csat_score is not None:
        raise Conflict("this conversation is already rated", code="rated")
    conv.csat_score, conv.csat_comment = score, comment
    await session.flush()
    record_audit(session, who.principal, "conversation.rate", target_type="conversation",
                 target_id=conv.id, tenant_id=conv.tenant_id,
                 actor_name=None if who.principal else "guest", after={"csat": score})
    return conv


async def reassign(session: AsyncSession, principal: Principal, publish: Publish, conv_id: int,
                   to_user_id: int, reason: str | None) -> Transfer:
    """A team lead moves a conversation to another agent in scope. Recorded as a transfer."""
    scope = principal.scope(Perm.chat_reassign)
    conv = await session.scalar(select(Conversation).where(
        Conversation.id == conv_id,
        scope.filter(Conversation.tenant_id, Conversation.org_unit_id)))
    if conv is None:
        raise NotFound("no such conversation")
    if conv.status == ConversationStatus.closed:
        raise Conflict("the conversation is closed", code="closed")
    target = await session.scalar(select(AgentStatus).where(
        AgentStatus.user_id == to_user_id,
        scope.filter(AgentStatus.tenant_id, AgentStatus.org_unit_id)))
    if target is None:
        # An agent who never opened the workspace: derive the team from the role assignment.
        user = await session.get(User, to_user_id)
        from probity.auth.service import load_principal

        p = await load_principal(session, to_user_id) if user else None
        grant = next((g for g in (p.grants if p else []) if g.role == Role.agent
                      and g.org_unit_id is not None), None)
        if p is None or grant is None or not (
                grant.org_unit_id in scope.org_unit_ids or scope.covers_path(grant.tenant_path)):
            raise NotFound("no such agent")
        target = AgentStatus(user_id=to_user_id, org_unit_id=grant.org_unit_id,
                             tenant_id=grant.tenant_id, employee_id=p.employee_id,
                             available=False, updated_at=utcnow())
        session.add(target)
    if target.user_id == conv.agent_user_id:
        raise Conflict("the conversation is already with this agent", code="same_agent")
    previous = conv.agent_user_id
    transfer = routing.assign(session, conv, target, kind="reassign",
                              actor_user_id=principal.user_id, reason=reason)
    conv.org_unit_id = target.org_unit_id
    await session.flush()
    record_audit(session, principal, "conversation.reassign", target_type="conversation",
                 target_id=conv.id, tenant_id=conv.tenant_id,
                 before={"agent_user_id": previous},
                 after={"agent_user_id": to_user_id, "reason": reason})
    _notify_assigned(session, publish, conv)
    return transfer


async def customer_panel(session: AsyncSession, conv: Conversation) -> dict[str, Any]:
    """The customer's orders, payments and refunds, for the agent beside the chat."""
    customer = await session.get(Customer, conv.customer_id)
    assert customer is not None
    orders = (await session.scalars(select(Order).where(
        Order.customer_id == customer.id).order_by(Order.placed_at.desc()).limit(50))).all()
    payments = (await session.scalars(select(Payment).where(
        Payment.customer_id == customer.id).order_by(Payment.paid_at.desc()).limit(50))).all()
    refunds = (await session.scalars(select(Refund).where(
        Refund.customer_id == customer.id).order_by(Refund.refunded_at.desc()).limit(50))).all()
    from probity.masking import mask_phone

    return {
        "customer": {"id": customer.id, "customer_no": customer.customer_no,
                     "name": customer.name, "phone": mask_phone(customer.phone)},
        "orders": [{"id": o.id, "order_no": o.order_no, "item": o.item, "amount": str(o.amount),
                    "currency": o.currency, "status": o.status.value,
                    "placed_at": o.placed_at.isoformat()} for o in orders],
        "payments": [{"id": p.id, "payment_no": p.payment_no, "amount": str(p.amount),
                      "method": p.method.value, "order_id": p.order_id,
                      "paid_at": p.paid_at.isoformat()} for p in payments],
        "refunds": [{"id": r.id, "refund_no": r.refund_no, "amount": str(r.amount),
                     "reason": r.reason, "status": r.status, "order_id": r.order_id,
                     "refunded_at": r.refunded_at.isoformat()} for r in refunds],
    }


async def tenant_path(session: AsyncSession, tenant_id: int) -> str:
    return str(await session.scalar(select(Tenant.path).where(Tenant.id == tenant_id)) or "")
