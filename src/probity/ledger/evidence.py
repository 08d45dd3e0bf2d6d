"""Evidence packs from the database: everything the ledger holds about one conversation, with
the proofs to check it offline (``probity evidence verify PACK.zip --key PUBKEY``).

The pack (format in :mod:`probity.ledger.pack`) holds the transcript, the attachments (from the
content-addressed store), screening decisions and alerts, related payments and refunds, case
actions (a hook, empty until the cases domain provides them), each ledger entry involved with its
inclusion proof, and the signed checkpoint those proofs lead to. If the latest checkpoint does
not yet cover the newest entry, a fresh one is signed first (in the caller's transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Perm, Principal
from probity.errors import Conflict, NotFound
from probity.finance.records import payment_proofs
from probity.ledger.chain import EntryRecord, format_time
from probity.ledger.checkpoint import Keyring, verify_checkpoint
from probity.ledger.merkle import inclusion_proof
from probity.ledger.pack import EvidenceContents, build_pack
from probity.ledger.service import (
    default_keyring,
    entries_about,
    latest_checkpoint,
    make_checkpoint,
)
from probity.models.alerts import Alert
from probity.models.base import utcnow
from probity.models.chat import Conversation, Message
from probity.models.commerce import Payment, Refund
from probity.models.ledger import LedgerEntry

__all__ = ["CONVERSATION_ENTRY_TYPES", "build_conversation_pack", "conversation_in_scope"]

# Ledger entry types that carry a conversation_id in their payload.
CONVERSATION_ENTRY_TYPES = ("chat.message", "alert.raised")


async def conversation_in_scope(
    session: AsyncSession, principal: Principal, conversation_id: int
) -> Conversation:
    scope = principal.scope(Perm.evidence_export)
    conv = await session.scalar(select(Conversation).where(
        Conversation.id == conversation_id,
        scope.filter(Conversation.tenant_id, Conversation.org_unit_id)))
    if conv is None:
        raise NotFound("no such conversation")
    return conv


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


async def _entries_for(session: AsyncSession, conv: Conversation) -> list[EntryRecord]:
    """The conversation's entries, found through the ``ledger_refs`` index (so purged entries,
    whose payload is gone, are in the pack too)."""
    return await entries_about(session, conv.tenant_id, [("conversation", [conv.id])],
                               CONVERSATION_ENTRY_TYPES)


async def _case_actions(session: AsyncSession, conv: Conversation) -> list[dict[str, Any]]:
    """Hook: the actions of cases opened on this conversation (none until cases provide them)."""
    return []


def _payments_query(conv: Conversation) -> Any:
    pay_q = select(Payment).where(Payment.tenant_id == conv.tenant_id)
    if conv.order_id is not None:
        return pay_q.where(Payment.order_id == conv.order_id)
    return pay_q.where(Payment.customer_id == conv.customer_id)


async def _payments(session: AsyncSession, conv: Conversation) -> list[dict[str, Any]]:
    """Payments and refunds of the conversation's order (or, without one, of its customer)."""
    pay_q = select(Payment).where(Payment.tenant_id == conv.tenant_id)
    ref_q = select(Refund).where(Refund.tenant_id == conv.tenant_id)
    if conv.order_id is not None:
        pay_q = pay_q.where(Payment.order_id == conv.order_id)
        ref_q = ref_q.where(Refund.order_id == conv.order_id)
    else:
        pay_q = pay_q.where(Payment.customer_id == conv.customer_id)
        ref_q = ref_q.where(Refund.customer_id == conv.customer_id)
    out: list[dict[str, Any]] = []
    for p in (await session.scalars(pay_q.order_by(Payment.paid_at).limit(200))).all():
        out.append({"kind": "payment", "id": p.id, "no": p.payment_no, "order_id": p.order_id,
                    "amount": str(p.amount), "currency": p.currency, "method": _value(p.method),
                    "payee_account": p.payee_account, "time": format_time(p.paid_at)})
    for r in (await session.scalars(ref_q.order_by(Refund.refunded_at).limit(200))).all():
        out.append({"kind": "refund", "id": r.id, "no": r.refund_no, "order_id": r.order_id,
                    "amount": str(r.amount), "currency": r.currency, "reason": r.reason,
                    "status": r.status, "time": format_time(r.refunded_at)})
    return out


def _read_attachments(root: Path, shas: Sequence[str]) -> dict[str, bytes]:
    from probity.chat.attachments import path_for

    out: dict[str, bytes] = {}
    for sha in shas:
        path = path_for(root, sha)
        if path.is_file():
            out[sha] = path.read_bytes()
    return out


async def build_conversation_pack(
    session: AsyncSession,
    principal: Principal,
    conversation_id: int,
    *,
    attachments_dir: Path | None = None,
    keyring: Keyring | None = None,
) -> bytes:
    """The evidence pack (zip bytes) of one conversation in the principal's evidence scope."""
    keys = keyring or default_keyring()
    conv = await conversation_in_scope(session, principal, conversation_id)
    entries = await _entries_for(session, conv)
    paid = list((await session.scalars(_payments_query(conv).order_by(Payment.paid_at)
                                       .limit(200))).all())
    # Batched payments (probity-record-batch/v1): leaf, audit path and batch entry.
    batch_entries, record_proofs = await payment_proofs(session, conv.tenant_id, paid)
    if batch_entries:
        by_seq = {e.seq: e for e in (*entries, *batch_entries)}
        entries = [by_seq[seq] for seq in sorted(by_seq)]
    if not entries:
        raise Conflict("nothing about this conversation is in the ledger yet", code="no_entries")
    newest = max(e.seq for e in entries)
    cp_row = await latest_checkpoint(session, conv.tenant_id)
    if cp_row is None or cp_row.tree_size <= newest:
        cp_row = await make_checkpoint(session, conv.tenant_id, keys) or cp_row
    if cp_row is None or cp_row.tree_size <= newest:
        raise Conflict("no signed checkpoint covers this conversation yet", code="no_checkpoint")
    checkpoint = verify_checkpoint(cp_row.note, keys)
    leaves = [bytes.fromhex(h) for h in await session.scalars(
        select(LedgerEntry.entry_hash)
        .where(LedgerEntry.tenant_id == conv.tenant_id, LedgerEntry.seq < checkpoint.tree_size)
        .order_by(LedgerEntry.seq))]
    proofs = {e.seq: inclusion_proof(leaves, e.seq, checkpoint.tree_size) for e in entries}

    messages = (await session.scalars(select(Message).where(
        Message.conversation_id == conv.id).order_by(Message.seq))).all()
    anchored = {e.payload.decode("utf-8") for e in entries if e.payload is not None}
    anchor_text = "\n".join(anchored)
    transcript: list[dict[str, Any]] = []
    decisions: list[dict[str, Any]] = []
    shas: list[str] = []
    for m in messages:
        sha = m.attachment_sha256
        item: dict[str, Any] = {
            "message_id": m.id, "seq": m.seq, "time": format_time(m.created_at),
            "sender": m.sender_role, "sender_user_id": m.sender_user_id,
            "sender_employee_id": m.sender_employee_id, "kind": _value(m.kind),
            "text": m.body, "attachments": [sha] if sha else [],
            "decision": m.decision,
            "recalled_at": format_time(m.recalled_at) if m.recalled_at else None,
        }
        transcript.append(item)
        decisions.append({
            "message_id": m.id, "seq": m.seq, "decision": m.decision,
            "screening_status": m.screening_status, "categories": list(m.categories or []),
            "severity": m.severity, "spans": list(m.spans or []),
            "policy_version": m.policy_version,
        })
        if sha and sha in anchor_text and sha not in shas:
            shas.append(sha)
    for a in (await session.scalars(select(Alert).where(
            Alert.conversation_id == conv.id).order_by(Alert.id))).all():
        decisions.append({
            "alert_id": a.id, "message_id": a.message_id, "decision": a.decision,
            "category": a.category, "categories": list(a.categories or []),
            "severity": a.severity, "snippet": a.snippet, "time": format_time(a.created_at),
        })
    contents = EvidenceContents(
        subject={"kind": "conversation", "id": conv.id, "tenant_id": conv.tenant_id,
                 "customer_id": conv.customer_id, "agent_employee_id": conv.agent_employee_id,
                 "order_id": conv.order_id, "exported_by": principal.username},
        entries=entries,
        proofs=proofs,
        checkpoint=checkpoint,
        transcript=transcript,
        attachments=_read_attachments(attachments_dir, shas) if attachments_dir else {},
        decisions=decisions,
        payments=await _payments(session, conv),
        case_actions=await _case_actions(session, conv),
        record_proofs=record_proofs,
    )
    return build_pack(contents, keys, created=format_time(utcnow()))
