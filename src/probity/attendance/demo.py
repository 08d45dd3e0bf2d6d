"""Demo shifts: three shift templates for the e-commerce subsidiary, rotas for its teams this
week and next (published through the rota service), leave balances, and clock-ins for the
shifts already worked this week (through the clock service: a few late, a few absent)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.attendance import rota, schemas, service
from probity.auth.permissions import Grant, Principal
from probity.models import (
    Employee,
    EmploymentStatus,
    LeaveType,
    OrgUnit,
    OrgUnitKind,
    Role,
    ShiftAssignment,
    Tenant,
    User,
)

TEMPLATES = [("EARLY", "早班", time(8), time(16)), ("MID", "中班", time(12), time(20)),
             ("LATE", "晚班", time(16), time(0))]
ENTITLEMENT = {LeaveType.annual: Decimal(5), LeaveType.sick: Decimal(10),
               LeaveType.personal: Decimal(3)}


async def seed_attendance(session: AsyncSession, today: date | None = None,
                          now: datetime | None = None, seed: int = 11) -> None:
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    today = today or date.today()
    ecom = await session.scalar(select(Tenant).where(Tenant.code == "ECOM"))
    hr_user = await session.scalar(select(User).where(User.username == "hr"))
    assert ecom is not None and hr_user is not None
    hr = Principal(user_id=hr_user.id, username="hr", display_name=hr_user.display_name,
                   tenant_id=ecom.id, employee_id=hr_user.employee_id, customer_id=None,
                   grants=[Grant(Role.hr, ecom.id, ecom.path)])
    tpls = [await rota.create_template(session, hr, schemas.TemplateCreate(
        tenant_id=ecom.id, code=code, name=name, start_time=start, end_time=end,
        break_minutes=60)) for code, name, start, end in TEMPLATES]
    teams = (await session.scalars(select(OrgUnit).where(
        OrgUnit.tenant_id == ecom.id, OrgUnit.kind == OrgUnitKind.team)
        .order_by(OrgUnit.code))).all()
    monday = today - timedelta(days=today.weekday())
    for team in teams:
        members = (await session.scalars(select(Employee).where(
            Employee.org_unit_id == team.id, Employee.status != EmploymentStatus.left)
            .order_by(Employee.employee_no))).all()
        for week in (monday, monday + timedelta(days=7)):
            entries = []
            for n, emp in enumerate(members):
                off = {(n + week.toordinal() // 7) % 7, (n + 3 + week.toordinal() // 7) % 7}
                for d in range(7):
                    if d not in off:
                        entries.append(schemas.RotaEntry(employee_id=emp.id,
                                                         day=week + timedelta(days=d),
                                                         template_id=tpls[(n + d) % 3].id))
            if entries:
                await rota.publish_week(session, hr, schemas.RotaWeek(
                    org_unit_id=team.id, week_start=week, entries=entries))
        for emp in members:
            for lt, days in ENTITLEMENT.items():
                await service.set_balance(session, hr, schemas.BalanceSet(
                    employee_id=emp.id, leave_type=lt, year=today.year, entitled_days=days))
    # The shifts already worked: clock in and out through the service, as the phone would.
    worked = (await session.execute(
        select(ShiftAssignment, Employee).join(Employee, Employee.id == ShiftAssignment.employee_id)
        .where(ShiftAssignment.tenant_id == ecom.id, ShiftAssignment.ends_at <= now,
               ShiftAssignment.day >= monday)
        .order_by(ShiftAssignment.starts_at))).all()
    for a, emp in worked:
        roll = rng.random()
        if roll < 0.04:
            continue  # absent: found by detect_exceptions
        who = Principal(user_id=hr_user.id, username="demo", display_name=emp.name,
                        tenant_id=emp.tenant_id, employee_id=emp.id, customer_id=None)
        late = timedelta(minutes=rng.randint(6, 25)) if roll < 0.12 else \
            -timedelta(minutes=rng.randint(2, 12))
        await service.clock(session, who, schemas.ClockIn(kind="in", source="phone"),
                            now=a.starts_at + late)
        if roll > 0.97:
            continue  # forgot to clock out: a missing punch
        await service.clock(session, who, schemas.ClockIn(kind="out", source="web"),
                            now=a.ends_at + timedelta(minutes=rng.randint(0, 9)))
    await service.detect_exceptions(session, now)
