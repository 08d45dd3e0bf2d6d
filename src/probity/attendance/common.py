"""Shared helpers of the attendance services: scope look-ups and localised errors."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Perm, Principal
from probity.errors import InvalidInput, NotFound
from probity.models import Employee, EmploymentStatus, OrgUnit, Tenant


def local_span(day: date, start: time, end: time, tz: str) -> tuple[datetime, datetime]:
    """A shift on a local day as UTC instants; an end at or before the start is the next day."""
    zone = ZoneInfo(tz)
    starts = datetime.combine(day, start, zone)
    ends = datetime.combine(day + timedelta(days=1) if end <= start else day, end, zone)
    return starts.astimezone(ZoneInfo("UTC")), ends.astimezone(ZoneInfo("UTC"))


async def tenant_zone(session: AsyncSession, tenant_id: int) -> str:
    return await session.scalar(select(Tenant.timezone).where(Tenant.id == tenant_id)) \
        or "Asia/Shanghai"


async def unit_in_scope(session: AsyncSession, principal: Principal, unit_id: int, perm: Perm,
                        *, body: bool = True) -> OrgUnit:
    """The org unit, when `perm` reaches it (a team lead's own team, HR's subtree)."""
    scope = principal.scope(perm)
    unit = await session.scalar(select(OrgUnit).where(
        OrgUnit.id == unit_id, scope.filter(OrgUnit.tenant_id, OrgUnit.id)))
    if unit is None:
        if body:
            raise InvalidInput(f"unknown org unit {unit_id}", code="unknown_org_unit",
                               template="Unknown team {id}", params={"id": unit_id})
        raise NotFound("org unit not found")
    return unit


async def employee_in_scope(session: AsyncSession, principal: Principal, employee_id: int,
                            perm: Perm, *, body: bool = True) -> Employee:
    scope = principal.scope(perm)
    emp = await session.scalar(select(Employee).where(
        Employee.id == employee_id, scope.filter(Employee.tenant_id, Employee.org_unit_id)))
    if emp is None:
        if body:
            raise InvalidInput(f"unknown employee {employee_id}", code="unknown_employee",
                               template="Unknown employee {id}", params={"id": employee_id})
        raise NotFound("employee not found")
    return emp


async def me(session: AsyncSession, principal: Principal) -> Employee:
    """The signed-in person's employee record (self-service); 404 without one."""
    emp = await session.get(Employee, principal.employee_id) if principal.employee_id else None
    if emp is None:
        raise NotFound("no employee record is linked to this account")
    if emp.status == EmploymentStatus.left:
        raise NotFound("no employee record is linked to this account")
    return emp
