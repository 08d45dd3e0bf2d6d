"""Monthly payroll runs: prepare (a background job computes the payslips), approve (four eyes:
never the preparer), close (immutable from then on, by database trigger). Approval and closing
are audited and ledgered with the digest of the payslips. Services flush, never commit."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.permissions import Perm, Principal
from probity.auth.scoping import tenant_in_scope
from probity.jobs import JobContext, enqueue
from probity.ledger.canonical import canonical_json
from probity.ledger.service import append_entry
from probity.models import PayrollRun, Payslip, RunStatus, Tenant
from probity.models.base import utcnow
from probity.payroll import compute
from probity.payroll.common import chain, fail, month_label, subtree
from probity.payroll.gather import gather

TOTAL_FIELDS = ("base", "allowances", "overtime", "bonus", "penalty", "attendance_deduction",
                "deduction_waived", "adjustments", "gross", "si_employee", "hf_employee",
                "si_employer", "hf_employer", "tax", "net")
CHUNK = 5000


def run_filter(principal: Principal, perm: Perm) -> Any:
    scope = principal.scope(perm)
    return PayrollRun.tenant_id.in_(select(Tenant.id).where(scope.tenant_ids_query()))


async def get_run(session: AsyncSession, principal: Principal, run_id: int,
                  perm: Perm = Perm.payroll_read) -> PayrollRun:
    run = await session.scalar(select(PayrollRun).where(PayrollRun.id == run_id,
                                                        run_filter(principal, perm)))
    if run is None:
        raise fail("not_found", "no such payroll run")
    return run


async def list_runs(session: AsyncSession, principal: Principal, tenant_id: int | None = None
                    ) -> Sequence[PayrollRun]:
    q = select(PayrollRun).where(run_filter(principal, Perm.payroll_read))
    if tenant_id is not None:
        q = q.where(PayrollRun.tenant_id == tenant_id)
    return (await session.scalars(q.order_by(PayrollRun.month.desc(), PayrollRun.id))).all()


async def prepare_run(session: AsyncSession, principal: Principal, tenant_id: int,
                      month: date) -> PayrollRun:
    """Start (or, for a draft, restart) the run of `month`; the payslips are computed by the
    job `payroll.compute`. 409 for a month already approved or closed."""
    tenant = await tenant_in_scope(session, principal, Perm.payroll_prepare, tenant_id)
    run = await session.scalar(select(PayrollRun).where(PayrollRun.tenant_id == tenant.id,
                                                        PayrollRun.month == month))
    if run is not None and run.status in (RunStatus.approved, RunStatus.closed):
        raise fail("conflict", "Payroll for {month} is closed: record a correction as an "
                   "adjustment in a later month", code="month_closed", month=month_label(month))
    if run is not None and run.status == RunStatus.computing and await _job_alive(session, run):
        raise fail("conflict", "The payroll for {month} is being computed", code="computing",
                   month=month_label(month))
    related = set(await chain(session, tenant.id)) | set(await subtree(session, tenant.id))
    related.discard(tenant.id)
    if related and await session.scalar(select(PayrollRun.id).where(
            PayrollRun.tenant_id.in_(related), PayrollRun.month == month).limit(1)):
        raise fail("conflict", "A run of {month} already covers part of this organisation",
                   code="overlapping_run", month=month_label(month))
    earlier = await session.scalar(select(PayrollRun.month).where(
        PayrollRun.tenant_id == tenant.id, PayrollRun.month < month,
        PayrollRun.status != RunStatus.closed).order_by(PayrollRun.month).limit(1))
    if earlier is not None:
        raise fail("conflict", "Close the payroll of {month} first: the tax of later months "
                   "builds on it", code="earlier_run_open", month=month_label(earlier))
    now = utcnow()
    if run is None:
        run = PayrollRun(tenant_id=tenant.id, month=month, status=RunStatus.computing,
                         prepared_by_user_id=principal.user_id, employees=0, totals={},
                         cycle_ids=[], created_at=now)
        session.add(run)
        action = "payroll.run.prepare"
    else:
        run.status, run.prepared_by_user_id, run.updated_at = (
            RunStatus.computing, principal.user_id, now)
        action = "payroll.run.recompute"
    await session.flush()
    job = await enqueue(session, "payroll.compute", params={"run_id": run.id},
                        tenant_id=tenant.id, principal=principal,
                        key=f"payroll.compute:{run.id}:{now.isoformat()}")
    run.job_id = job.id
    record_audit(session, principal, action, target_type="payroll_run", target_id=run.id,
                 tenant_id=tenant.id, after={"month": month_label(month), "job_id": job.id})
    await session.flush()
    return run


async def _job_alive(session: AsyncSession, run: PayrollRun) -> bool:
    """Whether the run's job may still finish (a failed job leaves the run to be restarted)."""
    from probity.models import Job

    if run.job_id is None:
        return False
    state = await session.scalar(select(Job.state).where(Job.id == run.job_id))
    return state in ("queued", "running")


async def compute_run(session: AsyncSession, run_id: int, ctx: JobContext | None = None
                      ) -> dict[str, Any]:
    """The job's work: gather with set-based queries, compute in a worker thread, insert with
    Core bulk inserts. Idempotent: a run no longer computing is left alone, and a retried
    attempt first removes what an earlier attempt wrote (inside the same transaction)."""
    run = await session.get(PayrollRun, run_id)
    if run is None or run.status != RunStatus.computing:
        return {"skipped": True}
    await session.execute(delete(Payslip).where(Payslip.run_id == run.id))
    if ctx:
        ctx.progress(0, None, stage="gather")
    g = await gather(session, run)
    total = len(g.inputs)
    rows: list[dict[str, Any]] = []
    for start in range(0, total, CHUNK):
        part = g.inputs[start:start + CHUNK]
        if ctx:
            rows.extend(await ctx.run_cpu(compute.payslips, part, g.rules))
            ctx.progress(len(rows), total, stage="compute")
        else:
            rows.extend(compute.payslips(part, g.rules))
    now = utcnow()
    sums = dict.fromkeys(TOTAL_FIELDS, Decimal("0.00"))
    digest_rows: list[list[Any]] = []
    for row in rows:
        row.update(run_id=run.id, month=run.month, created_at=now)
        for k in TOTAL_FIELDS:
            sums[k] += row[k]
        digest_rows.append([row["employee_id"], str(row["gross"]), str(row["tax"]),
                            str(row["net"])])
    for start in range(0, len(rows), CHUNK):
        await session.execute(insert(Payslip), rows[start:start + CHUNK])
        if ctx:
            ctx.progress(min(start + CHUNK, total), total, stage="save")
    run.status = RunStatus.draft
    run.employees = total
    run.totals = {k: str(v) for k, v in sums.items()} | {
        "missing_city": len(g.missing_city)}
    run.cycle_ids = g.cycle_ids
    run.digest = hashlib.sha256(canonical_json(digest_rows)).hexdigest()
    run.computed_at = now
    await session.flush()
    return {"run_id": run.id, "employees": total, "net": str(sums["net"]),
            "missing_city": g.missing_city[:50]}


async def approve_run(session: AsyncSession, principal: Principal, run_id: int) -> PayrollRun:
    run = await get_run(session, principal, run_id, Perm.payroll_approve)
    if run.status != RunStatus.draft:
        raise fail("conflict", "Only a computed draft can be approved (this run is {status})",
                   code="not_draft", status=run.status.value)
    if run.prepared_by_user_id == principal.user_id:
        raise fail("forbidden", "A payroll run must be approved by someone other than the "
                   "person who prepared it", code="four_eyes")
    entry = await append_entry(session, run.tenant_id, "payroll.run_approved", {
        "run_id": run.id, "month": month_label(run.month), "employees": run.employees,
        "payslips_sha256": run.digest, "totals": run.totals,
        "prepared_by_user_id": run.prepared_by_user_id, "approved_by_user_id": principal.user_id})
    run.status = RunStatus.approved
    run.approved_by_user_id = principal.user_id
    run.approved_at = utcnow()
    run.ledger_seq = entry.seq
    record_audit(session, principal, "payroll.run.approve", target_type="payroll_run",
                 target_id=run.id, tenant_id=run.tenant_id, before={"status": "draft"},
                 after={"status": "approved", "payslips_sha256": run.digest,
                        "ledger_seq": entry.seq})
    await session.flush()
    return run


async def close_run(session: AsyncSession, principal: Principal, run_id: int) -> PayrollRun:
    """Approved → closed: from here on the database refuses any change to the run and its
    payslips."""
    run = await get_run(session, principal, run_id, Perm.payroll_approve)
    if run.status == RunStatus.closed:
        raise fail("conflict", "Payroll for {month} is closed: record a correction as an "
                   "adjustment in a later month", code="month_closed",
                   month=month_label(run.month))
    if run.status != RunStatus.approved:
        raise fail("conflict", "A run is approved before it is closed", code="not_approved")
    entry = await append_entry(session, run.tenant_id, "payroll.run_closed", {
        "run_id": run.id, "month": month_label(run.month), "employees": run.employees,
        "payslips_sha256": run.digest, "net": run.totals.get("net"),
        "closed_by_user_id": principal.user_id})
    run.status = RunStatus.closed
    run.closed_by_user_id = principal.user_id
    run.closed_at = utcnow()
    run.ledger_seq = entry.seq
    record_audit(session, principal, "payroll.run.close", target_type="payroll_run",
                 target_id=run.id, tenant_id=run.tenant_id, before={"status": "approved"},
                 after={"status": "closed", "ledger_seq": entry.seq})
    await session.flush()
    return run
