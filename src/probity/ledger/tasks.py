"""Ledger background work: verification on demand, checkpoints and the retention purge on a
schedule. Each is idempotent: its effect commits with its job's ``done`` state."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from probity.auth.permissions import Perm
from probity.jobs import JobContext, schedule, task
from probity.models.org import Tenant
from probity.models.records import LedgerVerification

__all__ = ["checkpoints", "retention_purge", "verify"]


@task("ledger.verify", perm=Perm.ledger_read)
async def verify(ctx: JobContext, *, verification_id: int) -> dict[str, Any]:
    """Verify one tenant's whole ledger and store the outcome on the verification row.

    The ledger is read in a session of its own; the job's transaction only writes the outcome,
    and its first statement is that write. On SQLite a transaction that read before a long
    verification would find its snapshot overtaken when it came to write (every poll of the
    verification's page is an audited write), and running it again under the write lock would
    hold every other writer back for the whole read."""
    from probity.ledger.service import verify_tenant
    from probity.models.base import utcnow

    async with ctx.sessions() as reading:
        row = await reading.get(LedgerVerification, verification_id)
        if row is None:
            return {"verification_id": verification_id, "skipped": "no such verification"}
        if row.finished_at is not None:  # a repeated delivery: the outcome is already stored
            return {"verification_id": row.id, "ok": row.ok}
        total = row.total_entries
        ctx.progress(0, total, stage="verify")
        result = await verify_tenant(reading, row.tenant_id,
                                     progress=lambda n: ctx.progress(n, total, stage="verify"))
    await ctx.db.execute(
        update(LedgerVerification)
        .where(LedgerVerification.id == verification_id,
               LedgerVerification.finished_at.is_(None))
        .values(finished_at=utcnow(), ok=result.ok, entries_checked=result.entries,
                first_bad_seq=result.first_bad_seq, message=result.message[:2000])
        .execution_options(synchronize_session=False))
    ctx.progress(result.entries, total, stage="verify")
    return {"verification_id": verification_id, "ok": result.ok, "entries": result.entries,
            "first_bad_seq": result.first_bad_seq}


@task("ledger.checkpoints")
async def checkpoints(ctx: JobContext) -> dict[str, Any]:
    """Sign a checkpoint for every ledger that grew since its last one (quiet periods)."""
    from probity.ledger.service import default_keyring, make_checkpoint

    keyring = default_keyring()
    tenant_ids = list(await ctx.db.scalars(select(Tenant.id).order_by(Tenant.id)))
    signed = 0
    for i, tenant_id in enumerate(tenant_ids):
        if await make_checkpoint(ctx.db, tenant_id, keyring) is not None:
            signed += 1
        ctx.progress(i + 1, len(tenant_ids), stage="checkpoint")
    return {"tenants": len(tenant_ids), "signed": signed}


@task("ledger.retention_purge", max_retries=1)
async def retention_purge(ctx: JobContext) -> dict[str, Any]:
    """Apply every tenant's retention rules (legal holds respected); see ledger/retention.py."""
    from probity.auth.deps import after_commit
    from probity.config import get_settings
    from probity.ledger.retention import purge

    tenant_ids = list(await ctx.db.scalars(select(Tenant.id).order_by(Tenant.id)))
    outcomes = await purge(ctx.db, None, tenant_ids=tenant_ids, dry_run=False,
                           attachments_dir=get_settings().attachments_dir,
                           after_commit=after_commit)
    return {"rules": len(outcomes), "purged": sum(o.purged for o in outcomes),
            "held": sum(o.held for o in outcomes)}


schedule("ledger.checkpoints", "ledger.checkpoints", every=timedelta(minutes=10))
# 19:00 UTC is 03:00 in Asia/Shanghai: a quiet hour (the purge locks tables on PostgreSQL).
schedule("ledger.retention_purge", "ledger.retention_purge", cron="0 19 * * *")
