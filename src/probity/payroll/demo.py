"""Demo payroll: HQ's city tables and salary structures, salary assignments for the e-commerce
subsidiary, a closed month (prepared by HR, approved and closed by finance — four eyes) and an
open draft month that pays the next appraisal cycle and carries a correction of the closed one.

The city figures are close to the published 2024 tables of each city but are demo data: check
the current table of your city before paying anyone.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import (
    Employee,
    EmploymentStatus,
    PayrollAdjustment,
    PayrollCity,
    PayrollRun,
    Position,
    RunStatus,
    SalaryAssignment,
    SalaryStructure,
    Tenant,
    User,
)
from probity.models.base import utcnow

D = Decimal
# city, name, minimum wage, SI floor, SI ceiling, HF floor, HF ceiling,
# (pension, medical, unemployment, injury, maternity) as (employee, employer), HF rates
CITIES = [
    ("shanghai", "上海", "2690", "7310", "36549", "2690", "36549",
     {"pension": ["0.08", "0.16"], "medical": ["0.02", "0.09"],
      "unemployment": ["0.005", "0.005"], "injury": ["0", "0.0026"],
      "maternity": ["0", "0.01"]}, "0.07", "0.07"),
    ("hangzhou", "杭州", "2490", "4462", "24930", "2490", "38390",
     {"pension": ["0.08", "0.16"], "medical": ["0.02", "0.095"],
      "unemployment": ["0.005", "0.005"], "injury": ["0", "0.002"],
      "maternity": ["0", "0"]}, "0.12", "0.12"),
    ("beijing", "北京", "2420", "6821", "35283", "2420", "35283",
     {"pension": ["0.08", "0.16"], "medical": ["0.02", "0.098"],
      "unemployment": ["0.005", "0.005"], "injury": ["0", "0.004"],
      "maternity": ["0", "0"]}, "0.12", "0.12"),
]
MEAL = {"code": "meal", "name": "餐补", "amount": "400.00"}
TRANSPORT = {"code": "transport", "name": "交通补贴", "amount": "200.00"}
PHONE = {"code": "phone", "name": "通讯补贴", "amount": "150.00"}
STRUCTURES = {"P1": ("5200.00", [MEAL, TRANSPORT]), "P2": ("6800.00", [MEAL, TRANSPORT]),
              "P3": ("8500.00", [MEAL, TRANSPORT]), "M1": ("12000.00", [MEAL, TRANSPORT, PHONE]),
              "M2": ("18000.00", [MEAL, TRANSPORT, PHONE])}
# Monthly special additional deductions (children's education 2,000, elderly care 3,000,
# housing rent 1,500 …), spread over the demo staff.
ADDITIONAL = [D("0"), D("1500"), D("2000"), D("3000"), D("0"), D("1000")]


def _month_start(day: date, back: int) -> date:
    y, m = divmod(day.year * 12 + day.month - 1 - back, 12)
    return date(y, m + 1, 1)


async def seed_payroll(session: AsyncSession) -> None:
    from probity.auth.service import load_principal
    from probity.payroll import runs

    tenants = {t.code: t for t in (await session.scalars(select(Tenant))).all()}
    hq, ecom = tenants.get("HQ"), tenants.get("ECOM")
    if hq is None or ecom is None:
        return
    now = utcnow()
    for (code, name, minimum, sif, sic, hff, hfc, si, hfe, hfr) in CITIES:
        session.add(PayrollCity(
            tenant_id=hq.id, city=code, name=name, minimum_wage=D(minimum), si_base_floor=D(sif),
            si_base_ceiling=D(sic), hf_base_floor=D(hff), hf_base_ceiling=D(hfc), si_rates=si,
            hf_employee_rate=D(hfe), hf_employer_rate=D(hfr), created_at=now))
    for grade, (base, allowances) in STRUCTURES.items():
        session.add(SalaryStructure(tenant_id=hq.id, grade=grade, base=D(base),
                                    allowances=allowances, created_at=now))
    today = now.astimezone(ZoneInfo(ecom.timezone)).date()
    closed_month, draft_month = _month_start(today, 2), _month_start(today, 1)
    subtree = (await session.scalars(select(Tenant.id).where(
        Tenant.path.startswith(ecom.path)))).all()
    staff = (await session.execute(
        select(Employee.id, Employee.tenant_id, Employee.employee_no, Position.grade)
        .outerjoin(Position, Position.id == Employee.position_id)
        .where(Employee.tenant_id.in_(subtree),
               (Employee.status != EmploymentStatus.left) | (Employee.left_date >= closed_month))
        .order_by(Employee.id))).all()
    rows = []
    for n, (emp_id, tenant_id, _no, grade) in enumerate(staff):
        base, allowances = STRUCTURES.get(grade or "P1", STRUCTURES["P1"])
        total = sum((D(a["amount"]) for a in allowances), D("0.00"))
        rows.append(SalaryAssignment(
            tenant_id=tenant_id, employee_id=emp_id, effective_from=closed_month,
            grade=grade, base=D(base), allowances=allowances, allowances_total=total,
            city="hangzhou", additional_deduction=ADDITIONAL[n % len(ADDITIONAL)],
            bank_name="招商银行杭州分行", bank_account=f"6225 8812 {emp_id:04d} {n:04d}",
            created_at=now))
    session.add_all(rows)
    await session.flush()

    users = {u.username: u.id for u in (await session.scalars(select(User).where(
        User.username.in_(["hr", "finance", "agent"])))).all()}
    hr = await load_principal(session, users["hr"]) if "hr" in users else None
    finance = await load_principal(session, users["finance"]) if "finance" in users else None
    if hr is None or finance is None:
        return
    closed = PayrollRun(tenant_id=ecom.id, month=closed_month, status=RunStatus.computing,
                        prepared_by_user_id=hr.user_id, employees=0, totals={}, cycle_ids=[],
                        created_at=now)
    session.add(closed)
    await session.flush()
    await runs.compute_run(session, closed.id)
    await runs.approve_run(session, finance, closed.id)
    await runs.close_run(session, finance, closed.id)
    # A correction of the closed month goes into the next one.
    agent = await session.scalar(select(User.employee_id).where(User.username == "agent"))
    if agent is not None:
        session.add(PayrollAdjustment(
            tenant_id=ecom.id, employee_id=agent, month=draft_month, amount=D("300.00"),
            reason="补发上月加班费", corrects_month=closed_month,
            created_by_user_id=hr.user_id, created_at=now))
    draft = PayrollRun(tenant_id=ecom.id, month=draft_month, status=RunStatus.computing,
                       prepared_by_user_id=hr.user_id, employees=0, totals={}, cycle_ids=[],
                       created_at=now)
    session.add(draft)
    await session.flush()
    await runs.compute_run(session, draft.id)
