"""Full ledger verification on demand: a :class:`LedgerVerification` row (the result, shown
on the ledger page) and a ``ledger.verify`` job (``ledger/tasks.py``) that does the work in a
worker and reports its progress on the job row, polled by the page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.permissions import Perm, Principal
from probity.errors import NotFound
from probity.models.base import utcnow
from probity.models.jobs import Job
from probity.models.ledger import LedgerEntry
from probity.models.records import LedgerVerification

__all__ = [
    "STALE_AFTER",
    "get_verification",
    "job_key",
    "ledger_status",
    "request_verification",
    "start_verifications",
    "verification_state",
]

STALE_AFTER = timedelta(hours=6)


def job_key(verification_id: int) -> str:
    return f"ledger.verify:{verification_id}"


async def start_verifications(
    session: AsyncSession, principal: Principal | None, tenant_ids: list[int]
) -> list[LedgerVerification]:
    """Create one pending verification row per tenant (flush only; audited)."""
    rows = []
    for tenant_id in tenant_ids:
        total = await session.scalar(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.tenant_id == tenant_id))
        row = LedgerVerification(
            tenant_id=tenant_id, started_by_user_id=principal.user_id if principal else None,
            started_at=utcnow(), total_entries=int(total or 0), entries_checked=0,
            message="running")
        session.add(row)
        rows.append(row)
    await session.flush()
    for row in rows:
        record_audit(session, principal, "ledger.verify", target_type="ledger_verification",
                     target_id=row.id, tenant_id=row.tenant_id,
                     after={"total_entries": row.total_entries},
                     actor_name=None if principal else "system")
    await session.flush()  # the audit rows, and with them their ledger entries: count those too
    for row in rows:
        row.total_entries = int(await session.scalar(select(func.count()).select_from(
            LedgerEntry).where(LedgerEntry.tenant_id == row.tenant_id)) or 0)
    return rows


async def get_verification(
    session: AsyncSession, principal: Principal, verification_id: int
) -> LedgerVerification:
    scope = principal.scope(Perm.ledger_read)
    row = await session.scalar(select(LedgerVerification).where(
        LedgerVerification.id == verification_id, scope.filter(LedgerVerification.tenant_id)))
    if row is None:
        raise NotFound("no such verification")
    return row


async def verification_state(session: AsyncSession, row: LedgerVerification) -> dict[str, Any]:
    """Running / ok / failed / interrupted, with progress (entries hashed) while running."""
    if row.finished_at is not None:
        return {"state": "ok" if row.ok else "failed", "progress": row.entries_checked,
                "error": None}
    job = await session.scalar(select(Job).where(Job.idempotency_key == job_key(row.id)))
    if job is None:  # a row from before the job system, or its job never committed
        stale = utcnow() - row.started_at > STALE_AFTER
        return {"state": "interrupted" if stale else "running", "progress": 0, "error": None}
    if job.state == "failed":
        detail = (job.error or {}).get("detail", "")
        return {"state": "failed", "progress": job.progress_done, "error": detail}
    return {"state": "running", "progress": job.progress_done, "error": None}


async def request_verification(session: AsyncSession, principal: Principal, tenant_id: int
                               ) -> LedgerVerification:
    """Create the verification row and its job (sent to the workers once the caller commits)."""
    from probity.auth.scoping import tenant_in_scope
    from probity.jobs import enqueue

    await tenant_in_scope(session, principal, Perm.ledger_read, tenant_id)
    (row,) = await start_verifications(session, principal, [tenant_id])
    await enqueue(session, "ledger.verify", params={"verification_id": row.id},
                  tenant_id=row.tenant_id, principal=principal, key=job_key(row.id))
    return row


async def ledger_status(session: AsyncSession, principal: Principal) -> list[dict[str, Any]]:
    """Per tenant in scope: size, latest checkpoint, latest verification."""
    from probity.auth.scoping import tenants_in_scope
    from probity.ledger.service import latest_checkpoint

    out = []
    for tenant in await tenants_in_scope(session, principal, Perm.ledger_read):
        head = await session.scalar(select(func.max(LedgerEntry.seq)).where(
            LedgerEntry.tenant_id == tenant.id))
        cp = await latest_checkpoint(session, tenant.id)
        last = await session.scalar(
            select(LedgerVerification).where(LedgerVerification.tenant_id == tenant.id)
            .order_by(LedgerVerification.id.desc()).limit(1))
        out.append({"tenant": tenant, "size": 0 if head is None else int(head) + 1,
                    "checkpoint": cp, "verification": last})
    return out
