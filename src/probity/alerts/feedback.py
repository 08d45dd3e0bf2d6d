"""Reviewer feedback on screening: alerts confirmed or false positives, messages "missed".

Labels are append-only rows (`ScreeningLabel`) stored with the policy version that screened the
message, audited in the caller's transaction. `export_training_lines` turns the latest label of
each message into training lines for `probity screen train --feedback` (a confirmed alert: its
categories; a false positive: []; missed: the categories the reviewer named).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.permissions import Perm, Principal
from probity.errors import InvalidInput, NotFound
from probity.models import Alert, Conversation, Message, ScreeningLabel
from probity.models.base import utcnow

FLAGGED = ("contact", "bribe", "payment")


async def label_alert(session: AsyncSession, principal: Principal, alert_id: int,
                      verdict: str, note: str | None = None) -> ScreeningLabel:
    """Compliance marks a screening alert confirmed or a false positive."""
    scope = principal.scope(Perm.case_manage)
    alert = await session.scalar(select(Alert).where(
        Alert.id == alert_id, scope.filter(Alert.tenant_id, Alert.org_unit_id)))
    if alert is None:
        raise NotFound("no such alert")
    if alert.message_id is None:
        raise InvalidInput("only screening alerts on a message can be labelled",
                           code="not_a_screening_alert")
    if verdict not in ("confirmed", "false_positive"):
        raise InvalidInput("verdict must be confirmed or false_positive", code="invalid_verdict")
    msg = await session.get(Message, alert.message_id)
    if msg is None:
        raise NotFound("no such alert")
    cats = [c for c in alert.categories if c in FLAGGED] if verdict == "confirmed" else []
    return await _store(session, principal, msg, alert, verdict, cats, note)


async def mark_missed(session: AsyncSession, principal: Principal, message_id: int,
                      categories: list[str], note: str | None = None) -> ScreeningLabel:
    """A reviewer marks a message screening let through as a violation it missed."""
    scope = principal.scope(Perm.case_manage)
    msg = await session.scalar(
        select(Message).join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.id == message_id,
               scope.filter(Message.tenant_id, Conversation.org_unit_id)))
    if msg is None or msg.sender_role not in ("customer", "agent"):
        raise NotFound("no such message")
    cats = sorted({c for c in categories if c in FLAGGED})
    if not cats:
        raise InvalidInput("name at least one category: contact, bribe or payment",
                           code="categories_required")
    if msg.decision != "allow":
        raise InvalidInput("this message was already flagged: label its alert instead",
                           code="already_flagged")
    return await _store(session, principal, msg, None, "missed", cats, note)


async def _store(session: AsyncSession, principal: Principal, msg: Message,
                 alert: Alert | None, verdict: str, categories: list[str],
                 note: str | None) -> ScreeningLabel:
    label = ScreeningLabel(
        tenant_id=msg.tenant_id, message_id=msg.id, alert_id=alert.id if alert else None,
        verdict=verdict, categories=categories, policy_version=msg.policy_version,
        reviewer_user_id=principal.user_id, note=(note or "").strip()[:500] or None,
        created_at=utcnow())
    session.add(label)
    await session.flush()
    record_audit(session, principal, f"screening.label.{verdict}", target_type="message",
                 target_id=msg.id, tenant_id=msg.tenant_id,
                 after={"verdict": verdict, "categories": categories,
                        "alert_id": label.alert_id, "policy_version": msg.policy_version})
    return label


async def export_training_lines(session: AsyncSession, tenant_ids: list[int] | None = None
                                ) -> AsyncIterator[dict[str, Any]]:
    """The latest label per message as a training line ({"text", "role", "label", ...})."""
    q = (select(ScreeningLabel, Message.body, Message.sender_role)
         .join(Message, Message.id == ScreeningLabel.message_id)
         .order_by(ScreeningLabel.message_id, ScreeningLabel.id))
    if tenant_ids is not None:
        q = q.where(ScreeningLabel.tenant_id.in_(tenant_ids))
    latest: dict[int, tuple[ScreeningLabel, str, str]] = {}
    for label, body, role in (await session.execute(q)).all():
        latest[label.message_id] = (label, body, role)
    for label, body, role in latest.values():
        if not body or role not in ("customer", "agent"):
            continue  # an image or voice note without text, or a purged body
        yield {"text": body, "role": role, "label": list(label.categories),
               "verdict": label.verdict, "policy_version": label.policy_version,
               "message_id": label.message_id}
