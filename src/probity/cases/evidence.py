"""A case's evidence pack: the tamper-evident pack format of `probity.ledger.pack`, for a case.

It holds the case's conversations (transcript, attachments, screening decisions), its alerts
(screening, finance rules with their evidence, reports), the customer's payments, refunds and
compensations, and every case action (events and notes) — with each ledger entry involved, its
inclusion proof and the signed checkpoint they lead to, so it verifies offline with the ledger
public key (`probity evidence verify PACK.zip --key PUBKEY`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Perm, Principal
from probity.cases.service import case_alerts, case_events, case_notes, get_case
from probity.errors import Conflict
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
from probity.models import Case, Conversation, LedgerEntry, Message, Payment, Refund
from probity.models.base import utcnow


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


async def _entries(session: AsyncSession, case: Case, alert_ids: list[int],
                   conv_ids: list[int]) -> list[EntryRecord]:
    """The case's entries through the ``ledger_refs`` index (purged ones included): its own
    actions, its alerts, and the messages of its conversations."""
    own = await entries_about(session, case.tenant_id, [("case", [case.id])], ["case.*"])
    alerts = await entries_about(session, case.tenant_id, [("alert", alert_ids)],
                                 ["alert.raised"])
    messages = await entries_about(session, case.tenant_id, [("conversation", conv_ids)],
                                   ["chat.message"])
    by_seq = {e.seq: e for e in (*own, *alerts, *messages)}
    return [by_seq[seq] for seq in sorted(by_seq)]


async def case_conversations(session: AsyncSession, case: Case, alert_conv_ids: set[int]
                             ) -> list[int]:
    ids = set(alert_conv_ids)
    if case.customer_id is not None:
        q = select(Conversation.id).where(Conversation.customer_id == case.customer_id)
        if case.agent_employee_id is not None:
            q = q.where(Conversation.agent_employee_id == case.agent_employee_id)
        ids |= set((await session.scalars(q.limit(50))).all())
    return sorted(ids)


async def build_case_pack(session: AsyncSession, principal: Principal, case_id: int, *,
                          attachments_dir: Path | None = None,
                          keyring: Keyring | None = None) -> tuple[Case, list[int], bytes]:
    """(case, conversation ids, zip bytes) for a case in the principal's evidence scope."""
    keys = keyring or default_keyring()
    case = await get_case(session, principal, case_id, Perm.evidence_export)
    alerts = await case_alerts(session, case.id)
    conv_ids = await case_conversations(
        session, case, {a.conversation_id for a in alerts if a.conversation_id is not None})
    entries = await _entries(session, case, [a.id for a in alerts], conv_ids)
    paid = list((await session.scalars(select(Payment).where(
        Payment.customer_id == case.customer_id).order_by(Payment.paid_at)
        .limit(500))).all()) if case.customer_id is not None else []
    # Batched payments (probity-record-batch/v1): each with its leaf and audit path, and its
    # batch entry among the pack's entries (proven to the checkpoint like the others).
    batch_entries, record_proofs = await payment_proofs(session, case.tenant_id, paid)
    if batch_entries:
        by_seq = {e.seq: e for e in (*entries, *batch_entries)}
        entries = [by_seq[seq] for seq in sorted(by_seq)]
    if not entries:
        raise Conflict("nothing about this case is in the ledger yet", code="no_entries")
    newest = max(e.seq for e in entries)
    cp_row = await latest_checkpoint(session, case.tenant_id)
    if cp_row is None or cp_row.tree_size <= newest:
        cp_row = await make_checkpoint(session, case.tenant_id, keys) or cp_row
    if cp_row is None or cp_row.tree_size <= newest:
        raise Conflict("no signed checkpoint covers this case yet", code="no_checkpoint")
    checkpoint = verify_checkpoint(cp_row.note, keys)
    leaves = [bytes.fromhex(h) for h in await session.scalars(
        select(LedgerEntry.entry_hash).where(LedgerEntry.tenant_id == case.tenant_id,
                                             LedgerEntry.seq < checkpoint.tree_size)
        .order_by(LedgerEntry.seq))]
    proofs = {e.seq: inclusion_proof(leaves, e.seq, checkpoint.tree_size) for e in entries}

    transcript: list[dict[str, Any]] = []
    decisions: list[dict[str, Any]] = []
    anchor_text = "\n".join(e.payload.decode("utf-8") for e in entries if e.payload)
    shas: list[str] = []
    if conv_ids:
        for m in (await session.scalars(select(Message).where(
                Message.conversation_id.in_(conv_ids)).order_by(
                Message.conversation_id, Message.seq))).all():
            sha = m.attachment_sha256
            transcript.append({
                "conversation_id": m.conversation_id, "message_id": m.id, "seq": m.seq,
                "time": format_time(m.created_at), "sender": m.sender_role,
                "sender_user_id": m.sender_user_id, "sender_employee_id": m.sender_employee_id,
                "kind": _value(m.kind), "text": m.body, "attachments": [sha] if sha else [],
                "decision": m.decision,
                "recalled_at": format_time(m.recalled_at) if m.recalled_at else None})
            if m.decision != "allow":
                decisions.append({"message_id": m.id, "decision": m.decision,
                                  "categories": list(m.categories or []),
                                  "severity": m.severity, "spans": list(m.spans or []),
                                  "policy_version": m.policy_version})
            if sha and sha in anchor_text and sha not in shas:
                shas.append(sha)
    for a in alerts:
        decisions.append({
            "alert_id": a.id, "source": a.source, "rule": a.rule, "message_id": a.message_id,
            "conversation_id": a.conversation_id, "decision": a.decision,
            "category": a.category, "severity": a.severity, "snippet": a.snippet,
            "evidence": a.evidence, "time": format_time(a.created_at)})
    payments: list[dict[str, Any]] = []
    if case.customer_id is not None:
        for p in paid:
            payments.append({"kind": "payment", "id": p.id, "no": p.payment_no,
                             "order_id": p.order_id, "amount": str(p.amount),
                             "currency": p.currency, "method": _value(p.method),
                             "payee_account": p.payee_account, "time": format_time(p.paid_at)})
        for r in (await session.scalars(select(Refund).where(
                Refund.customer_id == case.customer_id).order_by(Refund.refunded_at)
                .limit(500))).all():
            payments.append({"kind": r.kind, "id": r.id, "no": r.refund_no,
                             "order_id": r.order_id, "amount": str(r.amount),
                             "currency": r.currency, "reason": r.reason,
                             "approved_by_employee_id": r.approved_by_employee_id,
                             "time": format_time(r.refunded_at)})
    actions: list[dict[str, Any]] = [
        {"event_id": e.id, "kind": e.kind, "from_status": e.from_status,
         "to_status": e.to_status, "actor_user_id": e.actor_user_id, "detail": e.detail,
         "time": format_time(e.created_at)} for e in await case_events(session, case.id)]
    actions += [{"note_id": n.id, "kind": "note", "author_user_id": n.author_user_id,
                 "text": n.body, "time": format_time(n.created_at)}
                for n in await case_notes(session, case.id)]
    attachments: dict[str, bytes] = {}
    if attachments_dir is not None and shas:
        from probity.chat.attachments import path_for

        for sha in shas:
            path = path_for(attachments_dir, sha)
            if path.is_file():
                attachments[sha] = path.read_bytes()
    contents = EvidenceContents(
        subject={"kind": "case", "id": case.id, "tenant_id": case.tenant_id,
                 "title": case.title, "status": case.status.value, "decision": case.decision,
                 "customer_id": case.customer_id, "agent_employee_id": case.agent_employee_id,
                 "conversation_ids": conv_ids, "exported_by": principal.username},
        entries=entries, proofs=proofs, checkpoint=checkpoint, transcript=transcript,
        attachments=attachments, decisions=decisions, payments=payments, case_actions=actions,
        record_proofs=record_proofs)
    return case, conv_ids, build_pack(contents, keys, created=format_time(utcnow()))
