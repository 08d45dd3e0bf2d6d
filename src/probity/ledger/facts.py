"""What other domains write into the ledger: one function per recorded fact.

Each appends in the caller's transaction (flush only), so the fact and its ledger entry are
committed or rolled back together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from probity.ledger.chain import format_time
from probity.ledger.service import AppendedEntry, append_entry
from probity.models.alerts import Alert
from probity.models.chat import Message

if TYPE_CHECKING:
    from probity.chat.wire import MessageRow


def _value(value: Any) -> Any:
    return getattr(value, "value", value)  # enums as their stored value


def message_payload(msg: Message | MessageRow | Row[Any]) -> dict[str, Any]:
    """A chat message with its screening decision and attachment hash."""
    return {
        "message_id": msg.id,
        "conversation_id": msg.conversation_id,
        "conv_seq": msg.seq,
        "created_at": format_time(msg.created_at),
        "sender_role": msg.sender_role,
        "sender_user_id": msg.sender_user_id,
        "sender_employee_id": msg.sender_employee_id,
        "client_id": msg.client_id,
        "kind": _value(msg.kind),
        "body": msg.body,
        "attachment_sha256": msg.attachment_sha256,
        "attachment_mime": msg.attachment_mime,
        "attachment_size": msg.attachment_size,
        "decision": msg.decision,
        "screening_status": msg.screening_status,
        "categories": list(msg.categories or []),
        "severity": msg.severity,
        "spans": list(msg.spans or []),
        "policy_version": msg.policy_version,
    }


def alert_payload(alert: Alert | Row[Any]) -> dict[str, Any]:
    return {
        "alert_id": alert.id,
        "message_id": alert.message_id,
        "conversation_id": alert.conversation_id,
        "customer_id": alert.customer_id,
        "org_unit_id": alert.org_unit_id,
        "sender_role": alert.sender_role,
        "sender_user_id": alert.sender_user_id,
        "agent_employee_id": alert.agent_employee_id,
        "decision": alert.decision,
        "category": alert.category,
        "categories": list(alert.categories or []),
        "severity": alert.severity,
        "snippet": alert.snippet,
    }


async def ledger_message(session: AsyncSession, msg: Message) -> AppendedEntry:
    # Salted: a message is personal data that retention may purge; its hash must not leak it.
    return await append_entry(
        session, msg.tenant_id, "chat.message", message_payload(msg), purgeable=True
    )


async def ledger_alert(session: AsyncSession, alert: Alert) -> AppendedEntry:
    return await append_entry(session, alert.tenant_id, "alert.raised", alert_payload(alert))
