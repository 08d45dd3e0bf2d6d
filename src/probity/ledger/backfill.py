"""One-off back-fill for migration 0007: the ``ledger_refs`` of the entries written before the
index existed (from their payloads; entries already purged have none to give), and an
``audit.entry`` for every audit row written before audit rows were ledgered."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

from probity.ledger.auditlog import AUDIT_ENTRY_TYPE, append_sync, audit_payload, root_tenant_id
from probity.ledger.refs import refs_of
from probity.models.audit import AuditEntry
from probity.models.ledger import LedgerEntry, LedgerRef

__all__ = ["backfill"]

_BATCH = 2000


def _backfill_refs(conn: Connection) -> None:
    batch: list[dict[str, Any]] = []
    rows = conn.execute(select(LedgerEntry.tenant_id, LedgerEntry.seq, LedgerEntry.type,
                               LedgerEntry.payload)
                        .where(LedgerEntry.payload.is_not(None))
                        .order_by(LedgerEntry.tenant_id, LedgerEntry.seq)).all()
    for tenant_id, seq, type_, raw in rows:
        try:
            payload = json.loads(str(raw))
        except ValueError:
            continue
        batch += [{"tenant_id": tenant_id, "seq": seq, "ref_type": rt, "ref_id": rid}
                  for rt, rid in refs_of(str(type_), payload)]
        if len(batch) >= _BATCH:
            conn.execute(insert(LedgerRef), batch)
            batch = []
    if batch:
        conn.execute(insert(LedgerRef), batch)


def _backfill_audit(conn: Connection) -> None:
    session = Session(bind=conn)
    root = root_tenant_id(session)
    cols = (AuditEntry.id, AuditEntry.tenant_id, AuditEntry.actor_user_id,
            AuditEntry.actor_name, AuditEntry.action, AuditEntry.target_type,
            AuditEntry.target_id, AuditEntry.before, AuditEntry.after, AuditEntry.ip,
            AuditEntry.request_id, AuditEntry.created_at)
    by_tenant: dict[int, list[tuple[str, Any]]] = {}
    for row in conn.execute(select(*cols).order_by(AuditEntry.id)):
        tenant_id = row.tenant_id if row.tenant_id is not None else root
        if tenant_id is not None:
            by_tenant.setdefault(tenant_id, []).append((AUDIT_ENTRY_TYPE, audit_payload(row)))
    for tenant_id, items in sorted(by_tenant.items()):
        for start in range(0, len(items), _BATCH):
            append_sync(session, tenant_id, items[start:start + _BATCH], purgeable=True)


def backfill(conn: Connection) -> None:
    _backfill_refs(conn)
    _backfill_audit(conn)
