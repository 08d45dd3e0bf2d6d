"""Approved overtime reaches the payslip at the rate its day calls for (the rota decides a
working day from a rest day); requested or refused overtime does not."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.jobs.runtime import InlineRuntime
from probity.models import (
    Employee,
    OvertimeRequest,
    PayrollRun,
    Payslip,
    RequestStatus,
    RunStatus,
    SalaryAssignment,
    ShiftAssignment,
    User,
)
from probity.payroll.common import next_month
from probity.payroll.compute import LEGAL_OVERTIME, overtime_pay
from probity.payroll.gather import overtime_kind
from probity.payroll.settings import STATUTORY_HOLIDAYS


async def test_approved_overtime_is_paid_at_its_days_rate(
        shared_jobs: InlineRuntime, as_user: Any, db: AsyncSession) -> None:
    draft = await db.scalar(select(PayrollRun).where(PayrollRun.status == RunStatus.draft))
    assert draft is not None
    emp_id = await db.scalar(select(User.employee_id).where(User.username == "agent"))
    emp = await db.get(Employee, emp_id)
    assert emp is not None
    end = next_month(draft.month)
    shifts = set((await db.scalars(select(ShiftAssignment.day).where(
        ShiftAssignment.employee_id == emp.id, ShiftAssignment.day >= draft.month,
        ShiftAssignment.day < end))).all())
    days = [draft.month + timedelta(days=n) for n in range((end - draft.month).days)]
    holidays = {d for d in days if d.isoformat() in STATUTORY_HOLIDAYS}
    # Two days of different kinds where the month allows (a shift day and a day off).
    on = next((d for d in days if d in shifts and d not in holidays), days[0])
    off = next((d for d in days if d not in shifts and d not in holidays), days[-1])
    for day, minutes, status in ((on, 90, RequestStatus.approved),
                                 (off, 240, RequestStatus.approved),
                                 (on, 600, RequestStatus.requested),
                                 (off, 600, RequestStatus.rejected)):
        db.add(OvertimeRequest(tenant_id=emp.tenant_id, org_unit_id=emp.org_unit_id,
                               employee_id=emp.id, day=day, minutes=minutes, reason="peak",
                               status=status))
    await db.flush()
    expected: dict[str, int] = {}
    for day, minutes in ((on, 90), (off, 240)):
        kind = overtime_kind(day, rostered=(day in shifts) if shifts else None,
                             holidays=holidays, makeup=set())
        expected[kind] = expected.get(kind, 0) + minutes

    hr = await as_user("hr")
    r = await hr.post("/api/v1/payroll/runs", json={"tenant_id": draft.tenant_id,
                                                    "month": draft.month.isoformat()})
    assert r.status_code == 202, r.text
    await shared_jobs.wait()
    slip = await db.scalar(select(Payslip).where(Payslip.run_id == draft.id,
                                                 Payslip.employee_id == emp.id))
    base = await db.scalar(select(SalaryAssignment.base).where(
        SalaryAssignment.employee_id == emp.id, SalaryAssignment.effective_from <= draft.month)
        .order_by(SalaryAssignment.effective_from.desc()).limit(1))
    assert slip is not None and base is not None
    want, _items = overtime_pay(expected, LEGAL_OVERTIME, Decimal(base), Decimal("21.75"))
    assert slip.overtime == want > 0
    assert {k: m for k, m, *_rest in slip.lines["overtime"]} == expected
    await db.refresh(draft)
    assert Decimal(draft.totals["overtime"]) >= slip.overtime
    # The employee sees it on the payslip page.
    r = await hr.get(f"/payroll/payslips/{slip.id}")
    assert r.status_code == 200 and "加班工资" in r.text and str(slip.overtime) in r.text
