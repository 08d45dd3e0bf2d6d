"""Write and query the operations audit trail. Rows are inserted in the caller's transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Perm, Principal
from probity.context import client_ip_var, request_id_var
from probity.csvexport import to_csv
from probity.ledger.auditlog import install as _ledger_audit_rows
from probity.models import AuditEntry

_ledger_audit_rows()  # every audit row gets its ledger entry in the same transaction


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def snapshot(obj: Any, fields: Sequence[str]) -> dict[str, Any]:
    """The named attributes of an ORM object, as JSON-ready values."""
    return {f: _jsonable(getattr(obj, f)) for f in fields}


def record_audit(
    session: AsyncSession,
    actor: Principal | None,
    action: str,
    *,
    target_type: str,
    target_id: int | str | None,
    tenant_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor_name: str | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        tenant_id=tenant_id,
        actor_user_id=actor.user_id if actor else None,
        actor_name=actor.username if actor else actor_name,
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
        ip=client_ip_var.get(),
        request_id=request_id_var.get(),
    )
    session.add(entry)
    return entry


def audit_query(
    principal: Principal,
    *,
    action: str | None = None,
    actor: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    tenant_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[AuditEntry]:
    scope = principal.scope(Perm.audit_read)
    q = select(AuditEntry).where(scope.filter(AuditEntry.tenant_id))  # type: ignore[arg-type]
    if action:
        q = q.where(AuditEntry.action.startswith(action, autoescape=True))
    if actor:
        q = q.where(AuditEntry.actor_name == actor)
    if target_type:
        q = q.where(AuditEntry.target_type == target_type)
    if target_id:
        q = q.where(AuditEntry.target_id == target_id)
    if tenant_id is not None:
        q = q.where(AuditEntry.tenant_id == tenant_id)
    if since:
        q = q.where(AuditEntry.created_at >= since)
    if until:
        q = q.where(AuditEntry.created_at < until)
    return q.order_by(AuditEntry.id.desc())


async def list_audit(
    session: AsyncSession, principal: Principal, *, limit: int, offset: int, **filters: Any
) -> list[AuditEntry]:
    q = audit_query(principal, **filters).limit(limit).offset(offset)
    return list((await session.scalars(q)).all())


CSV_FIELDS = ("id", "created_at", "tenant_id", "actor_name", "action", "target_type",
              "target_id", "before", "after", "ip", "request_id")


def audit_csv(rows: Sequence[AuditEntry]) -> str:
    def as_json(value: dict[str, Any] | None) -> str:
        return json.dumps(value, ensure_ascii=False) if value is not None else ""

    return to_csv(CSV_FIELDS, ([
        r.id, r.created_at.isoformat(), r.tenant_id, r.actor_name, r.action, r.target_type,
        r.target_id, as_json(r.before), as_json(r.after), r.ip, r.request_id,
    ] for r in rows))
