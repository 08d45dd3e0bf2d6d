"""The chat's wire format: bus channels, the stored row as it travels on the bus, and what each
viewer is shown of a message (a customer, the agent, a supervisor)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from probity.governance.notices import agent_warning, notice_texts, sender_notice
from probity.models import Alert, Conversation, Message, MessageKind

if TYPE_CHECKING:
    from probity.chat.conversations import Participant

Publish = Callable[[str, dict[str, Any]], Awaitable[None]]


def conv_channel(conv_id: int) -> str:
    return f"conv:{conv_id}"


def agent_channel(user_id: int) -> str:
    return f"agent:{user_id}"


ALERTS_CHANNEL = "alerts"


def message_view(msg: Message | MessageRow, viewer: Participant) -> dict[str, Any] | None:
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



def agent_reminder(msg: Message | MessageRow) -> str:
    """What an agent is told beside a flagged message: for a customer's attempt to move
    off-platform, that the customer tried; otherwise the compliance warning of its category."""
    texts = notice_texts(msg.tenant_id)
    if msg.sender_role == "customer" and "contact" in (msg.categories or []):
        return texts.agent_customer_attempt
    return agent_warning(texts, msg.categories or [])


def ack_notices(msg: Message | MessageRow, role: str) -> dict[str, str]:
    """The notice (block) or reminder (warn, agents) that goes with a send acknowledgement."""
    if msg.decision == "block":
        return {"notice": sender_notice(notice_texts(msg.tenant_id), role, msg.categories)}
    if msg.decision == "warn" and role == "agent":
        return {"reminder": agent_reminder(msg)}
    return {}



class WireMessage(dict[str, Any]):
    """`message_wire`'s dict, holding the row it was made from (`row`): this process's sockets
    render their views from the row itself, as the event is delivered, instead of parsing the
    wire form back (`message_from_wire`: a 21-field row and an ISO timestamp, ~3.4 µs). What
    crosses processes is the dict alone (serialised as a plain dict, parsed as one)."""

    __slots__ = ("row",)

    row: MessageRow


def message_wire(msg: Message | MessageRow) -> dict[str, Any]:
    """The full stored row, for the bus only (never sent to a client as is)."""
    wire = WireMessage({
        "id": msg.id, "conversation_id": msg.conversation_id, "tenant_id": msg.tenant_id,
        "seq": msg.seq, "sender_role": msg.sender_role, "sender_user_id": msg.sender_user_id,
        "sender_employee_id": msg.sender_employee_id, "client_id": msg.client_id,
        "kind": msg.kind.value, "body": msg.body, "attachment_sha256": msg.attachment_sha256,
        "attachment_mime": msg.attachment_mime, "attachment_size": msg.attachment_size,
        "decision": msg.decision, "screening_status": msg.screening_status,
        "categories": msg.categories, "severity": msg.severity, "spans": msg.spans,
        "policy_version": msg.policy_version, "created_at": msg.created_at.isoformat(),
        "recalled_at": msg.recalled_at.isoformat() if msg.recalled_at else None,
    })
    if isinstance(msg, MessageRow):  # an ORM row is not kept: it may expire with its session
        wire.row = msg
    return wire


def row_of(wire: dict[str, Any]) -> MessageRow:
    """The row a bus event's "message" stands for: the one it was made from in this process
    (`WireMessage`), else parsed from it."""
    row = getattr(wire, "row", None) if type(wire) is WireMessage else None
    return row if row is not None else message_from_wire(wire)


@dataclass(frozen=True, slots=True)
class MessageRow:
    """A stored message as it arrives from the bus: a plain, read-only stand-in for the ORM row
    (cheap: no ORM instrumentation per delivery), with the same attribute names."""

    id: int
    conversation_id: int
    tenant_id: int
    seq: int
    sender_role: str
    sender_user_id: int | None
    sender_employee_id: int | None
    client_id: str | None
    kind: MessageKind
    body: str
    attachment_sha256: str | None
    attachment_mime: str | None
    attachment_size: int | None
    decision: str
    screening_status: str
    categories: list[str]
    severity: int
    spans: list[dict[str, Any]]
    policy_version: int
    created_at: datetime
    recalled_at: datetime | None


# The kinds by value: a dict look-up per delivered message, not an Enum call (~1.7 µs each).
_KINDS: dict[str, MessageKind] = {k.value: k for k in MessageKind}


def message_from_wire(d: dict[str, Any]) -> MessageRow:
    """The row `message_wire` put on the bus."""
    kind = d["kind"]
    return MessageRow(
        id=d["id"], conversation_id=d["conversation_id"], tenant_id=d["tenant_id"], seq=d["seq"],
        sender_role=d["sender_role"], sender_user_id=d["sender_user_id"],
        sender_employee_id=d["sender_employee_id"], client_id=d["client_id"],
        kind=_KINDS.get(kind) or MessageKind(kind), body=d["body"],
        attachment_sha256=d["attachment_sha256"],
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

