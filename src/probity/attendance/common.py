"""Shared helpers of the attendance services: scope look-ups, localised errors, and the life
of a request (leave, swap, overtime): listed in scope, decided once, by somebody else."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Perm, Principal
from probity.errors import Conflict, Forbidden, InvalidInput, NotFound
from probity.models import (
    Employee,
    EmploymentStatus,
    LeaveRequest,
    OrgUnit,
    OvertimeRequest,
    RequestStatus,
    ShiftSwap,
)
from probity.models.base import utcnow


def local_span(day: date, start: time, end: time, tz: str) -> tuple[datetime, datetime]:
    """A shift on a local day as UTC instants; an end at or before the start is the next day."""
    zone = ZoneInfo(tz)
    starts = datetime.combine(day, start, zone)
    ends = datetime.combine(day + timedelta(days=1) if end <= start else day, end, zone)
    return starts.astimezone(ZoneInfo("UTC")), ends.astimezone(ZoneInfo("UTC"))


async def tenant_zone(session: AsyncSession, tenant_id: int) -> str:
    """The zone the tenant's rota and punches are read in: its display zone (group standard)."""
    from probity.governance.accessors import display_timezone

    return await display_timezone(session, tenant_id)


async def local_today(session: AsyncSession, tenant_id: int, now: datetime | None = None
                      ) -> date:
    """Today (or `now`'s day) in the tenant's zone: a day boundary is the tenant's midnight,
    never the server's."""
    return (now or utcnow()).astimezone(ZoneInfo(await tenant_zone(session, tenant_id))).date()


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


# ---------------------------------------------------------------- requests (leave, swaps, overtime)
#
# Leave, shift swaps and overtime are the same kind of thing: an employee asks, somebody else
# with attendance.manage over their team approves or rejects it once. The three share these
# helpers instead of three copies of the scope query, the "already decided" check, the
# four-eyes rule and the closing stamp.

AnyRequest = LeaveRequest | OvertimeRequest | ShiftSwap
R = TypeVar("R", LeaveRequest, OvertimeRequest, ShiftSwap)


async def requests_in_scope(session: AsyncSession, principal: Principal, model: type[R],
                            status: str | None = None, limit: int = 200) -> list[R]:
    """The requests of one kind the caller may read (newest first), optionally by status; an
    unknown status is no filter."""
    scope = principal.scope(Perm.attendance_read)
    q = select(model).where(scope.filter(model.tenant_id, model.org_unit_id))
    if status in {s.value for s in RequestStatus}:
        q = q.where(model.status == RequestStatus(status))
    return list((await session.scalars(q.order_by(model.id.desc()).limit(limit))).all())


async def pending_request(session: AsyncSession, actor: Principal, model: type[R], item_id: int,
                          what: str) -> R:
    """A request the actor may decide: in their attendance.manage scope (404 otherwise, `what`
    names it) and not yet decided (409)."""
    scope = actor.scope(Perm.attendance_manage)
    row = await session.scalar(select(model).where(
        model.id == item_id, scope.filter(model.tenant_id, model.org_unit_id)))
    if row is None:
        raise NotFound(f"{what} not found")
    if row.status != RequestStatus.requested:
        raise Conflict(f"this {what} has been decided", code="already_decided",
                       template="This request has already been decided")
    return row


def check_decider(actor: Principal, *employee_ids: int, message: str) -> None:
    """Four eyes: nobody decides a request they are part of."""
    if actor.employee_id is not None and actor.employee_id in employee_ids:
        raise Forbidden(message, code="four_eyes",
                        template="You cannot decide a request you are part of")


def close_request(row: AnyRequest, actor: Principal, approve: bool) -> str:
    """Stamp the decision on the request; returns the new status for the audit action."""
    row.status = RequestStatus.approved if approve else RequestStatus.rejected
    row.decided_by_user_id, row.decided_at = actor.user_id, utcnow()
    return row.status.value
