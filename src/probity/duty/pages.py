"""The HR duty page: the roster of a subsidiary for the next weeks, the high-risk windows with
nobody on duty (flagged), who is on duty now, and (for HR) the form to put someone on duty."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from probity.auth.deps import Session, require
from probity.auth.deps import commit as commit_tx
from probity.auth.permissions import Perm, Principal
from probity.auth.scoping import tenants_in_scope
from probity.duty import service
from probity.errors import DomainError, InvalidInput, NotFound
from probity.governance.accessors import display_timezone
from probity.models import Employee, EmploymentStatus, Role, RoleAssignment, User
from probity.models.base import utcnow
from probity.recruitment.pages import form_error
from probity.web.render import render

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(require(Perm.duty_read))]
Manager = Annotated[Principal, Depends(require(Perm.duty_manage))]
DAYS_SHOWN = 14


async def _hr_people(session: Any, principal: Principal) -> list[Employee]:
    """HR people the caller may put on duty: holders of an HR role, in the caller's scope."""
    scope = principal.scope(Perm.duty_manage)
    return list((await session.scalars(
        select(Employee).join(User, User.employee_id == Employee.id)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role.in_([Role.hr, Role.hq_admin]),
               Employee.status != EmploymentStatus.left,
               scope.filter(Employee.tenant_id, Employee.org_unit_id))
        .distinct().order_by(Employee.employee_no))).all())


@router.get("/duty", response_class=HTMLResponse)
async def duty_page(request: Request, session: Session, principal: Reader,
                    tenant_id: int | None = None, error: str | None = None,
                    status_code: int = 200) -> Response:
    tenants = await tenants_in_scope(session, principal, Perm.duty_read)
    if not tenants:
        raise NotFound("no subsidiary in your scope")
    ids = [t.id for t in tenants]
    tid = tenant_id if tenant_id in ids else (
        principal.tenant_id if principal.tenant_id in ids else ids[0])
    tz = await display_timezone(session, tid)
    now = utcnow()
    start = datetime.combine(now.astimezone(ZoneInfo(tz)).date(), time(0), ZoneInfo(tz))
    until = start + timedelta(days=DAYS_SHOWN)
    rows = await service.list_roster(session, principal, tid, start, until)
    gaps = await service.uncovered_windows(session, principal, tid, start, until)
    now_on = await service.on_duty_people(session, tid, now)
    can_manage = principal.can(Perm.duty_manage) and principal.scope(
        Perm.duty_manage).covers_path(next(t.path for t in tenants if t.id == tid))
    people = await _hr_people(session, principal) if can_manage else []
    return render(request, "duty/roster.html", status_code=status_code, tenants=tenants,
                  tenant_id=tid, rows=rows, gaps=gaps, now_on=now_on, tz=tz, now=now,
                  people=people, can_manage=can_manage, error=error, days=DAYS_SHOWN,
                  today=start.date())


def _local(day: str, clock: str, tz: str) -> datetime:
    try:
        d = datetime.strptime(f"{day} {clock}", "%Y-%m-%d %H:%M")
    except ValueError as exc:
        raise InvalidInput("give a date and a time", code="invalid_time",
                           template="Give a date and a time") from exc
    return d.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


@router.post("/duty", response_class=HTMLResponse)
async def add(request: Request, session: Session, principal: Manager,
              tenant_id: Annotated[int, Form()], employee_id: Annotated[int, Form()],
              day: Annotated[str, Form()], start: Annotated[str, Form()],
              end: Annotated[str, Form()], repeat_weeks: Annotated[int, Form()] = 1,
              note: Annotated[str, Form()] = "") -> Response:
    try:
        tz = await display_timezone(session, tenant_id)
        starts = _local(day, start, tz)
        ends = _local(day, end, tz)
        if ends <= starts:  # an evening duty past midnight ends the next day
            ends += timedelta(days=1)
        await service.add_duty(session, principal, tenant_id=tenant_id, employee_id=employee_id,
                               starts_at=starts, ends_at=ends, note=note,
                               repeat_weeks=repeat_weeks)
        await commit_tx(session)
    except (ValidationError, DomainError) as exc:
        await session.rollback()
        return await duty_page(request, session, principal, tenant_id,
                               form_error(request, exc), 422)
    return RedirectResponse(f"/duty?tenant_id={tenant_id}", status_code=303)


@router.post("/duty/{shift_id}/delete", response_class=HTMLResponse)
async def remove(request: Request, shift_id: int, session: Session, principal: Manager
                 ) -> Response:
    try:
        shift = await service.remove_duty(session, principal, shift_id)
        await commit_tx(session)
    except DomainError as exc:
        await session.rollback()
        if isinstance(exc, NotFound):
            raise
        return await duty_page(request, session, principal, None, form_error(request, exc), 409)
    return RedirectResponse(f"/duty?tenant_id={shift.tenant_id}", status_code=303)
