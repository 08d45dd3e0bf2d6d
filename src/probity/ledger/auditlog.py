"""Every audit row gets a ledger entry (``audit.entry``) in the same transaction, so deleting or
rewriting audit rows behind the application's back is caught by ``probity ledger verify``.

``audit.service.record_audit`` only adds the row to the session (it is called synchronously from
everywhere), so the entry is appended from the session's ``after_flush`` event, when the row
has its id: a synchronous append on the session's own connection (inside the flush's greenlet
when the session is async), sharing the per-transaction ledger head with
:func:`probity.ledger.service.append_entries`. Audit rows without a tenant (a failed sign-in of
an unknown name, group-wide changes) go to the ledger of the group's root tenant.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Row, event, insert, select, text
from sqlalchemy.orm import Session

from probity.ledger.canonical import MAX_SAFE_INTEGER
from probity.ledger.chain import GENESIS_HASH, format_time
from probity.ledger.service import (
    _LOCK_CLASS,
    _TABLES,
    _cached_head,
    _remember_head,
    build_rows,
    row_dicts,
)
from probity.models.audit import AuditEntry
from probity.models.ledger import LedgerEntry
from probity.models.org import Tenant

__all__ = ["AUDIT_ENTRY_TYPE", "audit_payload", "install"]

AUDIT_ENTRY_TYPE = "audit.entry"


def _safe(value: Any) -> Any:
    """JSON the canonical form accepts: integers beyond ±2^53 and non-finite floats as text."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if abs(value) <= MAX_SAFE_INTEGER else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(k): _safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_safe(v) for v in value]
    return str(value)


def audit_payload(row: AuditEntry | Row[Any]) -> dict[str, Any]:
    """The ledgered form of an audit row (also what verification compares the row with)."""
    return {
        "audit_id": row.id,
        "tenant_id": row.tenant_id,
        "actor_user_id": row.actor_user_id,
        "actor_name": row.actor_name,
        "action": row.action,
        "target_type": row.target_type,
        "target_id": row.target_id,
        "before": _safe(row.before),
        "after": _safe(row.after),
        "ip": row.ip,
        "request_id": row.request_id,
        "created_at": format_time(row.created_at),
    }


def root_tenant_id(session: Session) -> int | None:
    conn = session.connection()
    value = conn.scalar(select(Tenant.id).where(Tenant.parent_id.is_(None))
                        .order_by(Tenant.id).limit(1))
    return None if value is None else int(value)


def ledger_tenant_of(session: Session, tenant_id: int | None) -> int | None:
    return tenant_id if tenant_id is not None else root_tenant_id(session)


def append_sync(session: Session, tenant_id: int, items: list[tuple[str, Any]],
                *, purgeable: bool = False) -> None:
    """Append entries on the session's connection without awaiting (callable from flush
    events). Same chain, refs and head cache as the async path; no checkpoint."""
    conn = session.connection()
    head = _cached_head(session, tenant_id)
    if head is None:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:cls, :tenant)"),
                         {"cls": _LOCK_CLASS, "tenant": tenant_id})
        last = conn.execute(
            select(LedgerEntry.seq, LedgerEntry.entry_hash, LedgerEntry.tenant_code)
            .where(LedgerEntry.tenant_id == tenant_id)
            .order_by(LedgerEntry.seq.desc()).limit(1)).first()
        if last is None:
            code = conn.scalar(select(Tenant.code).where(Tenant.id == tenant_id))
            if code is None:
                return
            start = (0, GENESIS_HASH, str(code))
        else:
            start = (int(last[0]) + 1, str(last[1]), str(last[2]))
    else:
        start = (head[0] + 1, head[1], head[2])
    rows, refs, new_head = build_rows(tenant_id, start, items, purgeable=purgeable)
    if not rows:
        return
    conn.execute(insert(_TABLES["ledger_entries"][0]), row_dicts("ledger_entries", rows))
    if refs:
        conn.execute(insert(_TABLES["ledger_refs"][0]), row_dicts("ledger_refs", refs))
    _remember_head(session, tenant_id, new_head)


def _after_flush(session: Session, _context: Any) -> None:
    rows = [obj for obj in session.new if isinstance(obj, AuditEntry)]
    if not rows:
        return
    rows.sort(key=lambda r: r.id)
    by_tenant: dict[int, list[tuple[str, Any]]] = {}
    root: int | None = None
    for row in rows:
        tenant_id = row.tenant_id
        if tenant_id is None:
            if root is None:
                root = root_tenant_id(session)
            tenant_id = root
        if tenant_id is None:
            continue  # no tenant exists yet: nothing to chain it to
        by_tenant.setdefault(tenant_id, []).append((AUDIT_ENTRY_TYPE, audit_payload(row)))
    for tenant_id, items in sorted(by_tenant.items()):
        # Salted: audit rows hold names and addresses that retention may purge.
        append_sync(session, tenant_id, items, purgeable=True)


_installed = False


def install() -> None:
    """Register the flush hook once per process (idempotent)."""
    global _installed
    if not _installed:
        event.listen(Session, "after_flush", _after_flush)
        _installed = True
