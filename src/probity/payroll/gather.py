"""Everything a run needs, read with a handful of set-based queries (never one per employee):
assignments in force, city tables, the standard, the closed appraisal cycles' bonus and
penalty points, attendance exceptions and unpaid leave, adjustments and the year so far.

Which cycles a run pays: the closed cycles of the run's subtree that ended by the end of the
month and that no other run has paid (each run records its `cycle_ids`), so a cycle closed late
is paid by the next run and never twice.

Year to date: the employee's payslips of earlier months of the same year in approved or closed
runs of the run's subtree; the months of employment for the standard deduction are the months
paid so far this year plus this one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import (
    AppraisalCycle,
    AttendanceException,
    CycleStatus,
    Employee,
    EmploymentStatus,
    LeaveRequest,
    LeaveType,
    OvertimeRequest,
    PayrollAdjustment,
    PayrollRun,
    Payslip,
    PerformanceLine,
    PerformanceScore,
    RequestStatus,
    RunStatus,
    SalaryAssignment,
    ShiftAssignment,
)
from probity.payroll import deductions
from probity.payroll.common import chain, next_month, subtree
from probity.payroll.compute import (
    LEGAL_OVERTIME,
    ZERO,
    Attendance,
    CityRates,
    Inputs,
    Rules,
    YearToDate,
    days_not_employed,
)
from probity.payroll.settings import effective_settings
from probity.payroll.tables import cities_for, city_rates, structures_for

PENALTY_KINDS = ("violation", "concealment", "adjustment")


@dataclass
class Gathered:
    inputs: list[Inputs] = field(default_factory=list)
    rules: dict[int, Rules] = field(default_factory=dict)
    cycle_ids: list[int] = field(default_factory=list)
    # Employees with an assignment whose city has no table (left out, named on the run).
    missing_city: list[int] = field(default_factory=list)


async def paid_cycles(session: AsyncSession, run: PayrollRun, tenants: list[int]) -> set[int]:
    others = set(tenants) | set(await chain(session, run.tenant_id))
    paid: set[int] = set()
    for ids in (await session.scalars(select(PayrollRun.cycle_ids).where(
            PayrollRun.tenant_id.in_(others), PayrollRun.id != run.id))).all():
        paid.update(int(i) for i in (ids or []))
    return paid


async def gather(session: AsyncSession, run: PayrollRun) -> Gathered:
    month, end = run.month, next_month(run.month)
    tenants = await subtree(session, run.tenant_id)
    out = Gathered()

    # Assignments in force: the latest effective on or before the month, per employee.
    latest = (select(SalaryAssignment.employee_id.label("emp"),
                     func.max(SalaryAssignment.effective_from).label("eff"))
              .join(Employee, Employee.id == SalaryAssignment.employee_id)
              .where(Employee.tenant_id.in_(tenants), SalaryAssignment.effective_from <= month)
              .group_by(SalaryAssignment.employee_id).subquery())
    rows = (await session.execute(
        select(Employee.id, Employee.tenant_id, Employee.org_unit_id, Employee.hire_date,
               Employee.left_date,
               SalaryAssignment.base, SalaryAssignment.allowances,
               SalaryAssignment.allowances_total, SalaryAssignment.city,
               SalaryAssignment.additional_deduction, SalaryAssignment.additional_items,
               SalaryAssignment.bank_account, SalaryAssignment.grade)
        .join(latest, latest.c.emp == Employee.id)
        .join(SalaryAssignment, and_(SalaryAssignment.employee_id == latest.c.emp,
                                     SalaryAssignment.effective_from == latest.c.eff))
        .where(Employee.tenant_id.in_(tenants), Employee.hire_date < end,
               (Employee.status != EmploymentStatus.left) | (Employee.left_date >= month))
        .order_by(Employee.id))).all()
    if not rows:
        return out

    cities: dict[int, dict[str, CityRates]] = {}
    overtime_rates: dict[int, dict[str, dict[str, Decimal]]] = {}  # tenant → grade → rates
    calendars: dict[int, tuple[set[date], set[date]]] = {}  # tenant → (holidays, makeup days)
    unpaid_leave: set[int] = set()
    for tid in sorted({r.tenant_id for r in rows}):
        cities[tid] = {code: city_rates(c) for code, c in (await cities_for(session, tid)).items()}
        overtime_rates[tid] = {st.grade: {"weekday": Decimal(st.overtime_weekday),
                                          "rest_day": Decimal(st.overtime_rest_day),
                                          "holiday": Decimal(st.overtime_holiday)}
                               for st in await structures_for(session, tid)}
        s = await effective_settings(session, tid)
        out.rules[tid] = Rules(penalty_per_point=s.penalty_per_point, late=s.late_deduction,
                               early_leave=s.early_leave_deduction,
                               missing_punch=s.missing_punch_deduction,
                               absence_days=s.absence_days_pay,
                               working_days=s.working_days_per_month,
                               overtime_on_allowances=s.overtime_base == "base_and_allowances",
                               cap_share=s.deduction_cap_share, floor=s.deduction_floor,
                               floor_amount=s.deduction_floor_amount)
        calendars[tid] = ({date.fromisoformat(d) for d in s.statutory_holidays},
                          {date.fromisoformat(d) for d in s.makeup_workdays})
        if s.personal_leave_unpaid:
            unpaid_leave.add(tid)

    overtime = await overtime_minutes(session, tenants, month, end, calendars)

    # Closed appraisal cycles not yet paid: their bonus and penalty points.
    paid = await paid_cycles(session, run, tenants)
    cycles = [c for c in (await session.execute(select(AppraisalCycle.id, AppraisalCycle.name)
              .where(AppraisalCycle.tenant_id.in_(tenants),
                     AppraisalCycle.status == CycleStatus.closed,
                     AppraisalCycle.ends_on <= end).order_by(AppraisalCycle.id))).all()
              if c.id not in paid]
    out.cycle_ids = [c.id for c in cycles]
    names = {c.id: c.name for c in cycles}
    bonus: dict[int, list[dict[str, Any]]] = defaultdict(list)
    points: dict[int, int] = defaultdict(int)
    cases: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if cycles:
        for emp_id, cycle_id, amount, adj in await session.execute(
                select(PerformanceScore.employee_id, PerformanceScore.cycle_id,
                       PerformanceScore.bonus_amount, PerformanceScore.bonus_adjustment)
                .where(PerformanceScore.cycle_id.in_(out.cycle_ids))):
            total = Decimal(amount) + Decimal(adj)
            if total:
                bonus[emp_id].append({"cycle_id": cycle_id, "cycle": names[cycle_id],
                                      "amount": str(amount), "adjustment": str(adj)})
        for emp_id, cycle_id, case_id, kind, pts in await session.execute(
                select(PerformanceLine.employee_id, PerformanceLine.cycle_id,
                       PerformanceLine.case_id, PerformanceLine.kind, PerformanceLine.points)
                .where(PerformanceLine.cycle_id.in_(out.cycle_ids),
                       PerformanceLine.kind.in_(PENALTY_KINDS))
                .order_by(PerformanceLine.id)):
            # Deductions are stored as negative points, restorations (appeals) as positive.
            points[emp_id] -= int(pts)
            cases[emp_id].append({"cycle_id": cycle_id, "case_id": case_id, "kind": kind,
                                  "points": -int(pts)})

    # Attendance: exceptions of the month, approved personal leave overlapping it.
    att: dict[int, dict[str, int]] = defaultdict(dict)
    # Only days employed: a part month's other days are already unpaid (not_employed_days).
    for emp_id, kind, n in await session.execute(
            select(AttendanceException.employee_id, AttendanceException.kind, func.count())
            .join(Employee, Employee.id == AttendanceException.employee_id)
            .where(AttendanceException.tenant_id.in_(tenants),
                   AttendanceException.day >= month, AttendanceException.day < end,
                   AttendanceException.day >= Employee.hire_date,
                   Employee.left_date.is_(None) | (AttendanceException.day
                                                   <= Employee.left_date))
            .group_by(AttendanceException.employee_id, AttendanceException.kind)):
        att[emp_id][kind] = int(n)
    leave_days: dict[int, Decimal] = defaultdict(Decimal)
    for emp_id, start, stop in await session.execute(
            select(LeaveRequest.employee_id, LeaveRequest.start_date, LeaveRequest.end_date)
            .where(LeaveRequest.tenant_id.in_(tenants),
                   LeaveRequest.leave_type == LeaveType.personal,
                   LeaveRequest.status == RequestStatus.approved,
                   LeaveRequest.start_date < end, LeaveRequest.end_date >= month)):
        first, last = max(start, month), min(stop, end - timedelta(days=1))
        leave_days[emp_id] += Decimal((last - first).days + 1)

    adjustments: dict[int, list[tuple[Decimal, str]]] = defaultdict(list)
    annual_bonus: dict[int, Decimal] = defaultdict(Decimal)
    for emp_id, amount, reason, is_bonus in await session.execute(
            select(PayrollAdjustment.employee_id, PayrollAdjustment.amount,
                   PayrollAdjustment.reason, PayrollAdjustment.annual_bonus)
            .where(PayrollAdjustment.tenant_id.in_(tenants), PayrollAdjustment.month == month)
            .order_by(PayrollAdjustment.id)):
        adjustments[emp_id].append((Decimal(amount), reason))
        if is_bonus:
            annual_bonus[emp_id] += Decimal(amount)

    ytd: dict[int, YearToDate] = {}
    paid_months: dict[int, int] = {}
    if month.month > 1:
        # The year-end one-off bonus and its tax are outside the cumulative method.
        for emp_id, n, gross, si, hf, add, tax in await session.execute(
                select(Payslip.employee_id, func.count(distinct(Payslip.month)),
                       func.sum(Payslip.gross - Payslip.annual_bonus),
                       func.sum(Payslip.si_employee), func.sum(Payslip.hf_employee),
                       func.sum(Payslip.additional_deduction),
                       func.sum(Payslip.tax - Payslip.annual_bonus_tax))
                .join(PayrollRun, PayrollRun.id == Payslip.run_id)
                .where(Payslip.month >= date(month.year, 1, 1), Payslip.month < month,
                       PayrollRun.status.in_([RunStatus.approved, RunStatus.closed]),
                       Payslip.tenant_id.in_(tenants))
                .group_by(Payslip.employee_id)):
            ytd[emp_id] = YearToDate(income=_d(gross), special=_d(si) + _d(hf),
                                     additional=_d(add), withheld=_d(tax))
            paid_months[emp_id] = int(n)

    for r in rows:
        city = cities[r.tenant_id].get(r.city)
        if city is None:
            out.missing_city.append(r.id)
            continue
        # 累计减除费用 counts the months this employer paid in the year: the earlier payslips
        # plus this one (an employee whose earlier months were paid elsewhere is withheld
        # conservatively; the annual reconciliation settles it).
        months = min(paid_months.get(r.id, 0) + 1, 12)
        a = att.get(r.id, {})
        additional = Decimal(r.additional_deduction)
        additional_lines: list[list[str]] = []
        if r.additional_items:
            additional, additional_lines = deductions.monthly(r.additional_items, month)
        out.inputs.append(Inputs(
            employee_id=r.id, tenant_id=r.tenant_id, org_unit_id=r.org_unit_id,
            base=Decimal(r.base), allowances=r.allowances or [],
            allowances_total=Decimal(r.allowances_total), city=city,
            additional_deduction=additional, additional_lines=additional_lines,
            tax_months=months, annual_bonus=annual_bonus.get(r.id, ZERO),
            bank_account=r.bank_account,
            bonus=sum((Decimal(b["amount"]) + Decimal(b["adjustment"])
                       for b in bonus.get(r.id, ())), ZERO),
            bonus_lines=bonus.get(r.id, ()), penalty_points=points.get(r.id, 0),
            penalty_lines=cases.get(r.id, ()),
            attendance=Attendance(
                late=a.get("late", 0), early_leave=a.get("early_leave", 0),
                absent=a.get("absent", 0), missing_punch=a.get("missing_punch", 0),
                unpaid_leave_days=leave_days.get(r.id, Decimal(0))
                if r.tenant_id in unpaid_leave else Decimal(0),
                not_employed_days=days_not_employed(
                    month, end, r.hire_date, r.left_date, calendars[r.tenant_id][1])
                if r.hire_date > month or (r.left_date is not None and r.left_date < end)
                else 0),
            adjustments=adjustments.get(r.id, ()), ytd=ytd.get(r.id, YearToDate()),
            overtime_minutes=overtime.get(r.id, {}),
            overtime_rates=overtime_rates[r.tenant_id].get(r.grade or "", LEGAL_OVERTIME)))
    return out


def overtime_kind(day: date, *, rostered: bool | None, holidays: set[date],
                  makeup: set[date]) -> str:
    """Which rate a day's approved overtime is paid at. A statutory holiday is always the
    holiday rate. Otherwise an employee on a rota that month works overtime on a rest day when
    no shift of theirs falls on that day, and extends a working day when one does
    (`rostered`); an employee with no rota that month keeps the calendar week: Saturday and
    Sunday are rest days, unless the State Council moved a working day there (调休)."""
    if day in holidays:
        return "holiday"
    if rostered is not None:
        return "weekday" if rostered else "rest_day"
    if day.weekday() >= 5 and day not in makeup:
        return "rest_day"
    return "weekday"


async def overtime_minutes(session: AsyncSession, tenants: list[int], month: date, end: date,
                           calendars: dict[int, tuple[set[date], set[date]]]
                           ) -> dict[int, dict[str, int]]:
    """Approved overtime of the month per employee, by rate (two set-based queries)."""
    requests = (await session.execute(
        select(OvertimeRequest.employee_id, OvertimeRequest.tenant_id, OvertimeRequest.day,
               OvertimeRequest.minutes)
        .where(OvertimeRequest.tenant_id.in_(tenants),
               OvertimeRequest.status == RequestStatus.approved,
               OvertimeRequest.day >= month, OvertimeRequest.day < end))).all()
    if not requests:
        return {}
    shifts: dict[int, set[date]] = defaultdict(set)
    for emp_id, day in await session.execute(
            select(ShiftAssignment.employee_id, ShiftAssignment.day).distinct()
            .where(ShiftAssignment.tenant_id.in_(tenants), ShiftAssignment.day >= month,
                   ShiftAssignment.day < end)):
        shifts[emp_id].add(day)
    out: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for emp_id, tid, day, minutes in requests:
        holidays, makeup = calendars.get(tid, (set(), set()))
        days = shifts.get(emp_id)
        kind = overtime_kind(day, rostered=(day in days) if days else None,
                             holidays=holidays, makeup=makeup)
        out[emp_id][kind] += int(minutes)
    return {e: dict(k) for e, k in out.items()}


def _d(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else ZERO
