"""Verification covers the application rows, not only the ledger table (issue 16, item 7).

Each test drops the append-only triggers (inside the test's rolled-back transaction) and tampers
the way an administrator with database access could; `verify_tenant` must name the entry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from probity.db import drop_immutability_ddl
from probity.ledger.chain import TamperKind
from probity.ledger.service import verify_tenant
from probity.models import (
    Alert,
    AuditEntry,
    Case,
    LedgerCheckpoint,
    LedgerEntry,
    LedgerRef,
    Message,
    Payment,
    Tenant,
)


async def _drop(db: AsyncSession, dialect: str, *tables: str) -> None:
    for table in tables:
        for ddl in drop_immutability_ddl(table, dialect):
            await db.execute(text(ddl))


async def _seq_of(db: AsyncSession, tenant_id: int, ref_type: str, ref_id: Any) -> int:
    seq = await db.scalar(select(LedgerRef.seq).where(
        LedgerRef.tenant_id == tenant_id, LedgerRef.ref_type == ref_type,
        LedgerRef.ref_id == str(ref_id)).order_by(LedgerRef.seq).limit(1))
    assert seq is not None
    return int(seq)


async def test_demo_ledgers_and_rows_agree(db: AsyncSession) -> None:
    for tenant_id in (await db.scalars(select(Tenant.id))).all():
        result = await verify_tenant(db, tenant_id)
        assert result.ok, (tenant_id, result.message, result.problems)


async def test_rewritten_message_body(db: AsyncSession, dialect: str) -> None:
    msg = await db.scalar(select(Message).where(Message.body != "").order_by(Message.id))
    assert msg is not None
    await _drop(db, dialect, "messages")
    await db.execute(text("UPDATE messages SET body = 'nothing to see' WHERE id = :i"),
                     {"i": msg.id})
    result = await verify_tenant(db, msg.tenant_id)
    assert not result.ok and result.kind == TamperKind.ALTERED
    assert result.first_bad_seq == await _seq_of(db, msg.tenant_id, "message", msg.id)
    assert f"message {msg.id} differs" in result.message and "body" in result.message


async def test_rewritten_message_decision(db: AsyncSession, dialect: str) -> None:
    msg = await db.scalar(select(Message).where(Message.decision == "block").order_by(Message.id))
    assert msg is not None
    await _drop(db, dialect, "messages")
    await db.execute(text("UPDATE messages SET decision = 'allow' WHERE id = :i"), {"i": msg.id})
    result = await verify_tenant(db, msg.tenant_id)
    assert not result.ok and "decision" in result.message
    assert result.first_bad_seq == await _seq_of(db, msg.tenant_id, "message", msg.id)


async def test_rewritten_case_decision(db: AsyncSession) -> None:
    case = await db.scalar(select(Case).order_by(Case.id))
    assert case is not None
    other = "dismissed" if case.decision != "dismissed" else "substantiated"
    # (cases change as they are worked, so they carry no trigger: the ledger is the check)
    await db.execute(text("UPDATE cases SET decision = :d WHERE id = :i"),
                     {"d": other, "i": case.id})
    result = await verify_tenant(db, case.tenant_id)
    assert not result.ok and f"case {case.id} differs" in result.message
    assert "decision" in result.message


async def test_deleted_alert(db: AsyncSession, dialect: str) -> None:
    alert = await db.scalar(select(Alert).where(
        ~Alert.id.in_(select(text("alert_id FROM case_alerts")))).order_by(Alert.id))
    if alert is None:  # every alert is in a case: unlink it first
        alert = await db.scalar(select(Alert).order_by(Alert.id))
        assert alert is not None
        await db.execute(text("DELETE FROM case_alerts WHERE alert_id = :i"), {"i": alert.id})
    await _drop(db, dialect, "alerts")
    await db.execute(text("DELETE FROM alerts WHERE id = :i"), {"i": alert.id})
    result = await verify_tenant(db, alert.tenant_id)
    assert not result.ok and result.kind == TamperKind.REMOVED
    assert result.first_bad_seq == await _seq_of(db, alert.tenant_id, "alert", alert.id)
    assert f"alert {alert.id} is in the ledger but no longer in the database" in result.message


async def test_deleted_audit_row(db: AsyncSession, dialect: str) -> None:
    row = await db.scalar(select(AuditEntry).where(AuditEntry.tenant_id.is_not(None))
                          .order_by(AuditEntry.id.desc()))
    assert row is not None and row.tenant_id is not None
    await _drop(db, dialect, "audit_entries")
    await db.execute(text("DELETE FROM audit_entries WHERE id = :i"), {"i": row.id})
    result = await verify_tenant(db, row.tenant_id)
    assert not result.ok and result.kind == TamperKind.REMOVED
    assert result.first_bad_seq == await _seq_of(db, row.tenant_id, "audit", row.id)


async def test_payload_nulled_without_purge(db: AsyncSession, dialect: str) -> None:
    entry = await db.scalar(select(LedgerEntry).where(LedgerEntry.type == "chat.message")
                            .order_by(LedgerEntry.id))
    assert entry is not None
    await _drop(db, dialect, "ledger_entries")
    await db.execute(text("UPDATE ledger_entries SET payload = NULL WHERE id = :i"),
                     {"i": entry.id})
    result = await verify_tenant(db, entry.tenant_id)
    assert not result.ok and result.first_bad_seq == entry.seq
    assert "no retention purge records it" in result.message


async def test_changed_payment(db: AsyncSession, dialect: str) -> None:
    payment = await db.scalar(select(Payment).order_by(Payment.id))
    assert payment is not None
    await db.execute(text("UPDATE payments SET payee_account = 'acct-elsewhere' WHERE id = :i"),
                     {"i": payment.id})
    result = await verify_tenant(db, payment.tenant_id)
    assert not result.ok and "payee_account" in result.message
    assert result.first_bad_seq == await _seq_of(db, payment.tenant_id, "payment",
                                                 payment.payment_no)


async def test_row_without_entry(db: AsyncSession) -> None:
    row = await db.scalar(select(AuditEntry).where(AuditEntry.tenant_id.is_not(None))
                          .order_by(AuditEntry.id.desc()))
    assert row is not None and row.tenant_id is not None
    # Inserted behind the ledger's back: raw SQL, no flush hook.
    await db.execute(text(
        "INSERT INTO audit_entries (tenant_id, action, target_type, created_at) "
        "VALUES (:t, 'user.delete', 'user', :c)"), {"t": row.tenant_id, "c": row.created_at})
    result = await verify_tenant(db, row.tenant_id)
    assert not result.ok and result.kind == TamperKind.INSERTED
    assert "has no ledger entry" in result.message and result.first_bad_seq is None


async def test_checkpoint_signature_column(db: AsyncSession, dialect: str) -> None:
    tenant_id = await db.scalar(select(LedgerCheckpoint.tenant_id).order_by(
        LedgerCheckpoint.id))
    assert tenant_id is not None
    assert (await verify_tenant(db, tenant_id)).ok
    await _drop(db, dialect, "ledger_checkpoints")
    await db.execute(text(
        "UPDATE ledger_checkpoints SET signature = :s WHERE id = (SELECT MIN(id) FROM "
        "ledger_checkpoints WHERE tenant_id = :t)"), {"s": "00" * 64, "t": tenant_id})
    result = await verify_tenant(db, tenant_id)
    assert not result.ok and "columns differ from its signed note" in result.message
