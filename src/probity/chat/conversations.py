"""Conversations: who takes part (access), their lifecycle (start, routing, availability, close,
rating, reassignment), history, receipts and recall. Services flush, never commit; side effects
are queued with after_commit.

Messages are their own permanent record (append-only table, stored by `probity.chat.store`);
lifecycle changes (start, close, CSAT, reassign, recall, availability) also write an audit row.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.deps import after_commit
from probity.auth.permissions import Perm, Principal
from probity.chat import routing
from probity.chat.wire import Publish, agent_channel, conv_channel, message_view
from probity.errors import Conflict, Forbidden, InvalidInput, NotFound
from probity.governance.notices import warm_notices
from probity.models import (
    AgentStatus,
    Conversation,
    ConversationStatus,
    Customer,
    Message,
    Order,
    OrgUnit,
    OrgUnitKind,
    Payment,
    Refund,
    Role,
    Transfer,
    User,
)
from probity.models.base import utcnow

RECALL_WINDOW = timedelta(minutes=2)


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
        await _notify_assigned(session, publish, [conv])
    return conv, token


async def _notify_assigned(session: AsyncSession, publish: Publish,
                           convs: list[Conversation]) -> None:
    """After commit: tell each conversation's sockets and its new agent who took it (the
    customer's page says "客服 <name> 已接入" / "Agent <name> has joined")."""
    if not convs:
        return
    names = await routing.agent_names(session, convs)
    events = [(c.id, c.agent_user_id, routing.assigned_event(c, names.get(c.id))) for c in convs]

    async def effect() -> None:
        for conv_id, agent_id, event in events:
            await publish(conv_channel(conv_id), event)
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
        await _notify_assigned(session, publish, await routing.drain_queue(session, team_id))
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



async def official_reminder(session: AsyncSession, tenant_id: int) -> str | None:
    """The reminder a customer sees when a conversation starts, if the standards want one."""
    from probity.governance import effective_settings
    from probity.governance.sections import ChatProcessSettings

    rules = (await effective_settings(session, tenant_id, ChatProcessSettings)).values
    return rules.reminder_text if rules.official_channel_reminder else None



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
    await _notify_assigned(session, publish, await routing.drain_queue(session, conv.org_unit_id))
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
    await _notify_assigned(session, publish, [conv])
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
