"""The access log: every read of a conversation (a case, an evidence pack…) by anyone other than
its participants is recorded — who, what, when, and why where the policy asks for a reason.

Rows go into the append-only ``access_entries`` table in the caller's transaction (flush only),
so a read that fails records nothing and a recorded read cannot be edited away later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Perm, Principal
from probity.config import Settings
from probity.context import client_ip_var, request_id_var
from probity.csvexport import to_csv
from probity.errors import InvalidInput
from probity.models.base import utcnow
from probity.models.records import AccessEntry

__all__ = [
    "CSV_FIELDS",
    "AccessGate",
    "ConversationAccess",
    "access_csv",
    "access_gate",
    "access_query",
    "list_access",
    "reason_required",
    "record_access",
]

MAX_REASON = 500


def reason_required(settings: Settings, principal: Principal) -> bool:
    """Whether this reader must give a reason (a setting; by default compliance and HR)."""
    if not settings.access_reason_required:
        return False
    return any(role.value in settings.access_reason_roles for role in principal.roles)


async def record_access(
    session: AsyncSession,
    principal: Principal,
    target_type: str,
    target_id: int | str,
    tenant_id: int,
    reason: str | None,
    *,
    action: str = "read",
    require_reason: bool = False,
) -> AccessEntry:
    """Record one read (or export) by a non-participant. With ``require_reason`` a missing or
    blank reason is refused (422 ``reason_required``) before anything is shown."""
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise InvalidInput(f"the access reason is limited to {MAX_REASON} characters",
                           code="reason_too_long")
    if reason is None and require_reason:
        raise InvalidInput(
            f"give a reason for reading this {target_type.replace('_', ' ')} "
            "(?reason=…): your role's reads of records you do not take part in are logged "
            "with their reason",
            code="reason_required",
        )
    entry = AccessEntry(
        tenant_id=tenant_id,
        actor_user_id=principal.user_id,
        actor_name=principal.username,
        actor_roles=",".join(sorted(r.value for r in principal.roles)),
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        reason=reason,
        ip=client_ip_var.get(),
        request_id=request_id_var.get(),
        created_at=utcnow(),
    )
    session.add(entry)
    await session.flush()
    return entry


@dataclass(frozen=True)
class AccessGate:
    """Per-request helper for read endpoints: the settings and the ``?reason=`` given."""

    settings: Settings
    reason: str | None

    async def conversation(self, session: AsyncSession, conv: Any, who: Any) -> None:
        """Record a read of *conv* when *who* (a chat Participant) is not one of its parties."""
        if who.role != "supervisor" or who.principal is None:
            return
        await self.record(session, who.principal, "conversation", conv.id, conv.tenant_id)

    async def record(self, session: AsyncSession, principal: Principal, target_type: str,
                     target_id: int | str, tenant_id: int, *, action: str = "read"
                     ) -> AccessEntry:
        return await record_access(
            session, principal, target_type, target_id, tenant_id, self.reason, action=action,
            require_reason=reason_required(self.settings, principal))


def access_gate(
    request: Request,
    reason: Annotated[str | None, Query(max_length=MAX_REASON,
                                        description="Why you read this record")] = None,
) -> AccessGate:
    settings: Settings = request.app.state.settings
    return AccessGate(settings, reason)


ConversationAccess = Annotated[AccessGate, Depends(access_gate)]


# -- queries ----------------------------------------------------------------------------------


def access_query(
    principal: Principal,
    *,
    actor: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    tenant_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[AccessEntry]:
    scope = principal.scope(Perm.access_log_read)
    q = select(AccessEntry).where(scope.filter(AccessEntry.tenant_id))
    if actor:
        q = q.where(AccessEntry.actor_name == actor)
    if target_type:
        q = q.where(AccessEntry.target_type == target_type)
    if target_id:
        q = q.where(AccessEntry.target_id == target_id)
    if tenant_id is not None:
        q = q.where(AccessEntry.tenant_id == tenant_id)
    if since is not None:
        q = q.where(AccessEntry.created_at >= since)
    if until is not None:
        q = q.where(AccessEntry.created_at < until)
    return q.order_by(AccessEntry.id.desc())


async def list_access(
    session: AsyncSession, principal: Principal, *, limit: int, offset: int = 0, **filters: Any
) -> list[AccessEntry]:
    q = access_query(principal, **filters).limit(limit).offset(offset)
    return list((await session.scalars(q)).all())


CSV_FIELDS = ("id", "created_at", "tenant_id", "actor_user_id", "actor_name", "actor_roles",
              "action", "target_type", "target_id", "reason", "ip", "request_id")


def access_csv(rows: Sequence[AccessEntry]) -> str:
    return to_csv(CSV_FIELDS, ([
        r.id, r.created_at.isoformat(), r.tenant_id, r.actor_user_id, r.actor_name,
        r.actor_roles, r.action, r.target_type, r.target_id, r.reason, r.ip, r.request_id,
    ] for r in rows))
