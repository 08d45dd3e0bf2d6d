"""The employee's own hub: what the signed-in person sees of themselves, and nothing else.

Every read here starts from `principal.employee_id` (or `principal.user_id` for notifications)
and never from an id in the request, so the hub cannot show somebody else's record: the
"我的档案 shows another person, with company 2" bug came from naming a record through the
viewer's lookups instead of the record's own company, team and position. Each tile is read by
the domain that owns it (attendance, performance, cases, notify); this module only assembles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.attendance import rota
from probity.attendance import service as attendance
from probity.attendance.common import me, tenant_zone
from probity.attendance.schemas import BalanceRead
from probity.auth.permissions import Perm, Principal
from probity.errors import DomainError
from probity.models import (
    Case,
    Employee,
    Notification,
    OrgUnit,
    Position,
    Punch,
    ShiftAssignment,
    ShiftTemplate,
    Tenant,
)
from probity.models.base import utcnow


@dataclass
class Profile:
    """One's own record, named by its own company, team and position."""

    employee_id: int
    employee_no: str
    name: str
    company: str
    team: str | None
    position: str | None
    hire_date: date
    status: str
    email: str | None
    phone: str | None


@dataclass
class Hub:
    profile: Profile
    tz: str
    today: date
    today_shifts: list[ShiftAssignment]
    upcoming: list[ShiftAssignment]
    shift_names: dict[int, str]
    last_punch: Punch | None
    next_kind: str
    balances: list[BalanceRead]
    pending_leave: int
    scorecard: dict[str, Any] | None
    cases: list[Case]
    unread: int
    notifications: list[Notification] = field(default_factory=list)


async def profile(session: AsyncSession, principal: Principal) -> Profile:
    emp: Employee = await me(session, principal)
    company = await session.scalar(select(Tenant.name).where(Tenant.id == emp.tenant_id))
    team = await session.scalar(select(OrgUnit.name).where(OrgUnit.id == emp.org_unit_id)) \
        if emp.org_unit_id else None
    pos = (await session.execute(select(Position.title, Position.grade).where(
        Position.id == emp.position_id))).first() if emp.position_id else None
    return Profile(employee_id=emp.id, employee_no=emp.employee_no, name=emp.name,
                   company=company or "", team=team,
                   position=f"{pos[0]} ({pos[1]})" if pos else None, hire_date=emp.hire_date,
                   status=emp.status.value, email=emp.email, phone=emp.phone)


async def _scorecard(session: AsyncSession, principal: Principal, employee_id: int
                     ) -> dict[str, Any] | None:
    from probity.performance import scorecards

    try:
        return await scorecards.scorecard(session, principal, employee_id, None)
    except DomainError:  # no cycle covers them yet
        return None


async def hub(session: AsyncSession, principal: Principal, now: datetime | None = None) -> Hub:
    """Everything the hub shows, for the signed-in employee only (404 without a record)."""
    mine = await profile(session, principal)
    now = now or utcnow()
    emp_tenant = await session.scalar(select(Employee.tenant_id).where(
        Employee.id == mine.employee_id))
    tz = await tenant_zone(session, emp_tenant or principal.tenant_id)
    today = now.astimezone(ZoneInfo(tz)).date()
    shifts = await rota.my_schedule(session, principal, today, today + timedelta(days=7))
    names = dict((await session.execute(select(ShiftTemplate.id, ShiftTemplate.name).where(
        ShiftTemplate.id.in_({a.template_id for a in shifts})))).all()) if shifts else {}
    punches = await attendance.my_punches(session, principal, now - timedelta(days=2))
    last = punches[-1] if punches else None
    balances, leave = await attendance.my_leave(session, principal, today.year)
    pending = sum(1 for r in leave if r.status.value == "requested")
    from probity.cases.service import my_cases

    unread = await session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == principal.user_id, Notification.read_at.is_(None))) or 0
    latest = list((await session.scalars(select(Notification).where(
        Notification.user_id == principal.user_id).order_by(Notification.id.desc())
        .limit(3))).all())
    return Hub(
        profile=mine, tz=tz, today=today,
        today_shifts=[a for a in shifts if a.day == today],
        upcoming=[a for a in shifts if a.day > today][:5], shift_names=names,
        last_punch=last, next_kind="out" if last is not None and last.kind == "in" else "in",
        balances=balances, pending_leave=pending,
        scorecard=await _scorecard(session, principal, mine.employee_id),
        cases=(await my_cases(session, principal))[:5], unread=int(unread),
        notifications=latest)


def can_self_serve(principal: Principal) -> bool:
    """The hub is for people with an employee record (customers and service accounts have
    none)."""
    return principal.employee_id is not None and principal.can(Perm.attendance_self)

