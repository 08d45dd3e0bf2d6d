"""Attendance pages: the employee's own page (clock in/out, schedule, leave — mobile first, 390 px)
and the rota page for team leads and HR (week grid, publish, approvals, exceptions)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from probity.attendance import rota, schemas, service
from probity.attendance.common import me, tenant_zone
from probity.auth.deps import Session, require
from probity.auth.deps import commit as commit_tx
from probity.auth.permissions import Perm, Principal
from probity.errors import DomainError, NotFound
from probity.models import Employee, EmploymentStatus, ShiftTemplate
from probity.models.base import utcnow
from probity.org import service as org_service
from probity.recruitment.pages import form_error
from probity.web.form_errors import field_errors
from probity.web.render import local_time, render, today_in

router = APIRouter(include_in_schema=False)

Self = Annotated[Principal, Depends(require(Perm.attendance_self))]
Reader = Annotated[Principal, Depends(require(Perm.attendance_read))]
Manager = Annotated[Principal, Depends(require(Perm.attendance_manage))]
MOBILE = ("mobile", "android", "iphone", "ipad")


async def _status(page: Any, code: int) -> Response:
    resp: Response = await page
    resp.status_code = code
    return resp


@router.get("/me/attendance", response_class=HTMLResponse)
async def my_attendance(request: Request, session: Session, principal: Self,
                        error: str | None = None, notice: str | None = None,
                        errors: dict[str, str] | None = None,
                        values: dict[str, str] | None = None) -> Response:
    emp = await me(session, principal)
    tz = await tenant_zone(session, emp.tenant_id)
    today = datetime.now(ZoneInfo(tz)).date()
    shifts = await rota.my_schedule(session, principal, today - timedelta(days=1),
                                    today + timedelta(days=13))
    names = {t.id: t.name for t in (await session.scalars(select(ShiftTemplate))).all()}
    punches = await service.my_punches(session, principal, utcnow() - timedelta(days=2))
    balances, leave = await service.my_leave(session, principal, today.year)
    swaps, overtime = await rota.my_swaps(session, principal), \
        await service.my_overtime(session, principal)
    teammates = list((await session.scalars(select(Employee).where(
        Employee.org_unit_id == emp.org_unit_id, Employee.id != emp.id,
        Employee.status != EmploymentStatus.left).order_by(Employee.employee_no))).all()) \
        if emp.org_unit_id else []
    people = {e.id: e.name for e in teammates}
    now = utcnow()
    last = punches[-1] if punches else None
    swappable = [a for a in shifts if a.starts_at > now]
    return render(request, "attendance/me.html", emp=emp, shifts=shifts, names=names,
                  punches=punches[-6:], last=last, balances=balances, leave=leave[:10],
                  today=today, tz=tz, error=error, notice=notice, errors=errors or {},
                  values=values or {},
                  swappable=swappable, teammates=teammates,
                  shift_options=[(a.id, f"{a.day} · {names.get(a.template_id, '')} "
                                  f"{local_time(a.starts_at, tz)}") for a in swappable],
                  teammate_options=[(e.id, e.name) for e in teammates],
                  people=people, swaps=swaps[:10], overtime=overtime[:10],
                  next_kind="out" if last is not None and last.kind == "in" else "in")


# Domain error codes → the field of the form they are about.
CODE_FIELDS = {"insufficient_balance": "end_date", "leave_overlap": "start_date",
               "unknown_shift": "assignment_id", "unknown_employee": "target_employee_id",
               "not_in_team": "target_employee_id", "shift_started": "assignment_id",
               "swap_pending": "assignment_id", "shift_has_swap": "assignment_id"}


async def _submit(request: Request, session: Session, principal: Principal,
                  work: Callable[[], Awaitable[Any]], done: Callable[[Any], str],
                  status: int = 422, form: str | None = None,
                  submitted: dict[str, str] | None = None) -> Response:
    """One self-service form: do the work and commit, then go to `done(result)`; bad input or
    a refused request shows the page again with nothing written: each field's problem beside
    that field of `form` (errors keyed `form.field`), a problem of the whole request above."""
    try:
        result = await work()
        await commit_tx(session)
    except (ValidationError, DomainError) as exc:
        await session.rollback()
        if isinstance(exc, NotFound):
            raise
        if form is None:
            return await _status(my_attendance(request, session, principal,
                                               error=form_error(request, exc)), status)
        # The swap form is not shown without an upcoming shift: its refusals go above.
        found = field_errors(request, exc, code_fields=CODE_FIELDS) if (
            form != "swap" or isinstance(exc, ValidationError)) else {
            "_form": form_error(request, exc)}
        top = found.pop("_form", None)
        errors = {f"{form}.{k}": v for k, v in found.items()}
        if errors:
            errors["_which"] = form
        return await _status(my_attendance(
            request, session, principal, error=top, errors=errors,
            values={f"{form}.{k}": v for k, v in (submitted or {}).items()}), status)
    return RedirectResponse(done(result), status_code=303)


@router.post("/me/attendance/clock", response_class=HTMLResponse)
async def clock(request: Request, session: Session, principal: Self,
                kind: Annotated[str, Form()],
                back_to: Annotated[str, Form(alias="next")] = "") -> Response:
    """Clock in or out from this page or from the hub (`next=/me` returns there)."""
    ua = request.headers.get("user-agent", "").lower()
    source = "phone" if any(m in ua for m in MOBILE) else "web"
    back = "/me" if back_to == "/me" else "/me/attendance"  # never an open redirect

    def done(result: tuple[Any, list[Any]]) -> str:
        return f"{back}?done={kind}&flags={','.join(e.kind for e in result[1])}"

    return await _submit(request, session, principal, lambda: service.clock(
        session, principal, schemas.ClockIn.model_validate({"kind": kind, "source": source})),
        done, status=409)


@router.post("/me/attendance/leave", response_class=HTMLResponse)
async def leave(request: Request, session: Session, principal: Self,
                leave_type: Annotated[str, Form()] = "", start_date: Annotated[str, Form()] = "",
                end_date: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = ""
                ) -> Response:
    submitted = {"leave_type": leave_type, "start_date": start_date, "end_date": end_date,
                 "reason": reason}
    return await _submit(request, session, principal, lambda: service.request_leave(
        session, principal, schemas.LeaveCreate.model_validate(submitted)),
        lambda _: "/me/attendance#leave", form="leave", submitted=submitted)


@router.post("/me/attendance/swap", response_class=HTMLResponse)
async def swap(request: Request, session: Session, principal: Self,
               assignment_id: Annotated[str, Form()] = "",
               target_employee_id: Annotated[str, Form()] = "",
               reason: Annotated[str, Form()] = "") -> Response:
    """Ask to hand one of one's upcoming shifts to a teammate (the lead approves)."""
    submitted = {"assignment_id": assignment_id, "target_employee_id": target_employee_id,
                 "reason": reason}
    return await _submit(request, session, principal, lambda: rota.request_swap(
        session, principal, schemas.SwapCreate.model_validate(submitted)),
        lambda _: "/me/attendance?sent=swap#swaps", form="swap", submitted=submitted)


@router.post("/me/attendance/overtime", response_class=HTMLResponse)
async def overtime(request: Request, session: Session, principal: Self,
                   day: Annotated[str, Form()] = "", minutes: Annotated[str, Form()] = "",
                   reason: Annotated[str, Form()] = "") -> Response:
    submitted = {"day": day, "minutes": minutes, "reason": reason}
    return await _submit(request, session, principal, lambda: service.request_overtime(
        session, principal, schemas.OvertimeCreate.model_validate(submitted)),
        lambda _: "/me/attendance?sent=overtime#overtime", form="overtime",
        submitted=submitted)


@router.get("/attendance", response_class=HTMLResponse)
async def rota_page(request: Request, session: Session, principal: Reader,
                    org_unit_id: int | None = None, week: date | None = None,
                    error: str | None = None) -> Response:
    scope = principal.scope(Perm.attendance_read)
    units = [u for u in await org_service.list_org_units(session, principal, None)
             if u.kind.value == "team"]
    unit = next((u for u in units if u.id == org_unit_id), units[0] if units else None)
    today = today_in(request)
    week = week or today - timedelta(days=today.weekday())
    week = week - timedelta(days=week.weekday())
    days = [week + timedelta(days=i) for i in range(7)]
    grid: dict[int, dict[date, list[str]]] = {}
    members: list[Employee] = []
    templates: list[ShiftTemplate] = []
    if unit is not None:
        rows = await rota.team_rota(session, principal, unit.id, week)
        templates = await rota.templates_for(session, unit.tenant_id)
        names = {t.id: t.name for t in templates}
        for a in rows:
            grid.setdefault(a.employee_id, {}).setdefault(a.day, []).append(
                names.get(a.template_id, "?"))
        members = list((await session.scalars(select(Employee).where(
            Employee.org_unit_id == unit.id, scope.filter(Employee.tenant_id,
                                                          Employee.org_unit_id))
            .order_by(Employee.employee_no))).all())
    people = {e.id: e.name for e in members}
    leave = await service.list_leave(session, principal, "requested")
    swaps = await rota.list_swaps(session, principal, "requested")
    overtime = await service.list_overtime(session, principal, "requested")
    exceptions = await service.list_exceptions(session, principal, start=week,
                                               end=week + timedelta(days=6),
                                               org_unit_id=unit.id if unit else None)
    other_ids = {r.employee_id for r in leave} | {s.requester_id for s in swaps} | \
        {s.target_employee_id for s in swaps} | {o.employee_id for o in overtime}
    for e in (await session.scalars(select(Employee).where(Employee.id.in_(other_ids)))).all():
        people.setdefault(e.id, e.name)
    return render(request, "attendance/rota.html", units=units, unit=unit, week=week,
                  days=days, grid=grid, members=members, templates=templates, people=people,
                  leave=leave, swaps=swaps, overtime=overtime, exceptions=exceptions,
                  error=error, can_manage=principal.can(Perm.attendance_manage),
                  prev_week=week - timedelta(days=7), next_week=week + timedelta(days=7))


@router.post("/attendance/rota", response_class=HTMLResponse)
async def publish(request: Request, session: Session, principal: Manager,
                  org_unit_id: Annotated[int, Form()], week: Annotated[date, Form()],
                  template_id: Annotated[int, Form()],
                  employee_ids: Annotated[list[int], Form()],
                  weekdays: Annotated[list[int], Form()]) -> Response:
    """The page's simple form: one template for the chosen people on the chosen weekdays."""
    entries = [{"employee_id": e, "day": week + timedelta(days=d), "template_id": template_id}
               for e in employee_ids for d in weekdays if 0 <= d <= 6]
    try:
        await rota.publish_week(session, principal, schemas.RotaWeek.model_validate(
            {"org_unit_id": org_unit_id, "week_start": week, "entries": entries}))
        await commit_tx(session)
    except (ValidationError, DomainError) as exc:
        await session.rollback()
        return await _status(rota_page(request, session, principal, org_unit_id, week,
                                       form_error(request, exc)), 422)
    return RedirectResponse(f"/attendance?org_unit_id={org_unit_id}&week={week}",
                            status_code=303)


@router.post("/attendance/{kind}/{item_id}/decide", response_class=HTMLResponse)
async def decide(request: Request, kind: str, item_id: int, session: Session,
                 principal: Manager, approve: Annotated[str, Form()]) -> Response:
    decision = schemas.Decision(approve=approve == "yes")
    deciders = {"leave": service.decide_leave, "swap": rota.decide_swap,
                "overtime": service.decide_overtime}
    if kind not in deciders:
        raise NotFound("page not found")
    try:
        await deciders[kind](session, principal, item_id, decision)
        await commit_tx(session)
    except DomainError as exc:
        await session.rollback()
        if isinstance(exc, NotFound):
            raise
        return await _status(rota_page(request, session, principal,
                                       error=form_error(request, exc)), exc.status_code)
    return RedirectResponse("/attendance", status_code=303)
