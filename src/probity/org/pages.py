"""Org pages: the org chart, employees (list, detail, lifecycle), structure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from probity.auth.deps import CurrentPrincipal, LifecycleManager, OrgReader, OrgWriter, Session
from probity.auth.deps import commit as commit_tx
from probity.auth.permissions import Perm
from probity.errors import DomainError, NotFound
from probity.events import get_bus
from probity.models import EmploymentStatus
from probity.org import schemas, service
from probity.web.render import render, today_in

router = APIRouter(prefix="/org", include_in_schema=False)


def _form_error(exc: ValidationError | DomainError) -> str:
    if isinstance(exc, DomainError):
        return exc.message
    e = exc.errors()[0]
    return f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"


@router.get("/chart", response_class=HTMLResponse)
async def chart(request: Request, session: Session, principal: OrgReader) -> Response:
    roots = await service.org_chart(session, principal)
    return render(request, "org/chart.html", roots=roots)


async def _lookups(session: Session, principal: CurrentPrincipal
                   ) -> tuple[dict[int, str], dict[int, str], dict[int, str]]:
    tenants = {t.id: t.name for t in await service.list_tenants(session, principal)}
    units = {u.id: u.name for u in await service.list_org_units(session, principal, None)}
    positions = {p.id: f"{p.title} ({p.grade})"
                 for p in await service.list_positions(session, principal, None)}
    return tenants, units, positions


@router.get("/employees", response_class=HTMLResponse)
async def employees(request: Request, session: Session, principal: OrgReader,
                    tenant_id: int | None = None, org_unit_id: int | None = None,
                    status: str | None = None, q: str | None = None, page: int = 1) -> Response:
    status = status if status in {s.value for s in EmploymentStatus} else None
    page = max(page, 1)
    rows, total = await service.list_employees(
        session, principal, tenant_id=tenant_id, org_unit_id=org_unit_id, status=status,
        q=q or None, limit=50, offset=(page - 1) * 50)
    tenants, units, positions = await _lookups(session, principal)
    return render(request, "org/employees.html",
                  items=[service.employee_read(e, principal) for e in rows], total=total,
                  page=page, pages=max((total + 49) // 50, 1), tenants=tenants, units=units,
                  positions=positions, statuses=[s.value for s in EmploymentStatus],
                  f={"tenant_id": tenant_id, "org_unit_id": org_unit_id, "status": status,
                     "q": q or ""}, can_write=principal.can(Perm.org_write))


@router.get("/me", response_class=HTMLResponse)
async def my_profile(principal: CurrentPrincipal) -> Response:
    if principal.employee_id is None:
        raise NotFound("no employee record is linked to this account")
    return RedirectResponse(f"/org/employees/{principal.employee_id}", status_code=303)


@router.get("/employees/new", response_class=HTMLResponse)
async def new_employee(request: Request, session: Session, principal: OrgWriter) -> Response:
    tenants, units, positions = await _lookups(session, principal)
    return render(request, "org/employee_new.html", tenants=tenants, units=units,
                  positions=positions, error=None, values={})


@router.post("/employees/new", response_class=HTMLResponse)
async def create_employee(
    request: Request, session: Session, principal: OrgWriter,
    tenant_id: Annotated[int, Form()], employee_no: Annotated[str, Form()],
    name: Annotated[str, Form()], hire_date: Annotated[str, Form()],
    org_unit_id: Annotated[str, Form()] = "", position_id: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "", phone: Annotated[str, Form()] = "",
) -> Response:
    values = {"tenant_id": tenant_id, "employee_no": employee_no, "name": name,
              "hire_date": hire_date, "org_unit_id": org_unit_id or None,
              "position_id": position_id or None, "email": email or None, "phone": phone or None}
    try:
        data = schemas.EmployeeCreate.model_validate(values)
        emp = await service.create_employee(session, principal, data)
        await commit_tx(session)
    except (ValidationError, DomainError) as exc:
        await session.rollback()
        tenants, units, positions = await _lookups(session, principal)
        return render(request, "org/employee_new.html", status_code=422, tenants=tenants,
                      units=units, positions=positions, error=_form_error(exc), values=values)
    return RedirectResponse(f"/org/employees/{emp.id}", status_code=303)


@router.get("/employees/{employee_id}", response_class=HTMLResponse)
async def employee_detail(request: Request, employee_id: int, session: Session,
                          principal: CurrentPrincipal, error: str | None = None) -> Response:
    emp = await service.get_employee(session, principal, employee_id)
    events = await service.list_events(session, principal, employee_id)
    tenants, units, positions = await _lookups(session, principal)
    # The record itself is in scope: name its own company, team and position even when the
    # viewer (an agent on their own profile) may not list the organisation.
    from sqlalchemy import select

    from probity.models import OrgUnit, Position, Tenant

    if emp.tenant_id not in tenants:
        tenants[emp.tenant_id] = await session.scalar(
            select(Tenant.name).where(Tenant.id == emp.tenant_id)) or "—"
    if emp.org_unit_id and emp.org_unit_id not in units:
        units[emp.org_unit_id] = await session.scalar(
            select(OrgUnit.name).where(OrgUnit.id == emp.org_unit_id)) or "—"
    if emp.position_id and emp.position_id not in positions:
        pos = (await session.execute(select(Position.title, Position.grade).where(
            Position.id == emp.position_id))).first()
        positions[emp.position_id] = f"{pos[0]} ({pos[1]})" if pos else "—"
    allowed = sorted(s.value for s in service.TRANSITIONS[emp.status])
    from probity.performance.awards import employee_awards

    return render(request, "org/employee.html", e=service.employee_read(emp, principal),
                  awards=await employee_awards(session, emp.id),
                  events=events, tenants=tenants, units=units, positions=positions,
                  allowed=allowed, can_transition=principal.can(Perm.employee_lifecycle),
                  today=today_in(request).isoformat(), error=error)


@router.post("/employees/{employee_id}/transition", response_class=HTMLResponse)
async def transition(
    request: Request, employee_id: int, session: Session, principal: LifecycleManager,
    to_status: Annotated[str, Form()], effective_date: Annotated[str, Form()],
    to_org_unit_id: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "",
) -> Response:
    try:
        data = schemas.TransitionCreate.model_validate({
            "to_status": to_status, "effective_date": effective_date,
            "to_org_unit_id": to_org_unit_id or None, "note": note or None})
        await service.transition_employee(session, principal, employee_id, data,
                                          get_bus(request.app).publish)
        await commit_tx(session)
    except (ValidationError, DomainError) as exc:
        await session.rollback()
        if isinstance(exc, NotFound):
            raise
        return await employee_detail(request, employee_id, session, principal,
                                     error=_form_error(exc))
    return RedirectResponse(f"/org/employees/{employee_id}", status_code=303)


@router.get("/structure", response_class=HTMLResponse)
async def structure(request: Request, session: Session, principal: OrgReader,
                    error: str | None = None) -> Response:
    tenants = await service.list_tenants(session, principal)
    units = await service.list_org_units(session, principal, None)
    positions = await service.list_positions(session, principal, None)
    return render(request, "org/structure.html", tenants=tenants, units=units,
                  positions=positions, can_write=principal.can(Perm.org_write),
                  tenant_names={t.id: t.name for t in tenants}, error=error)


async def _structure_form(request: Request, session: Session, principal: OrgWriter,
                          schema: type[BaseModel], values: dict[str, Any],
                          create: Callable[..., Awaitable[Any]]) -> Response:
    """Validate a structure form, create, commit; on bad input re-render with the error."""
    try:
        await create(session, principal, schema.model_validate(values))
        await commit_tx(session)
    except (ValidationError, DomainError) as exc:
        await session.rollback()
        return await structure(request, session, principal, error=_form_error(exc))
    return RedirectResponse("/org/structure", status_code=303)


@router.post("/structure/tenants", response_class=HTMLResponse)
async def create_tenant(
    request: Request, session: Session, principal: OrgWriter,
    parent_id: Annotated[int, Form()], code: Annotated[str, Form()], name: Annotated[str, Form()],
    kind: Annotated[str, Form()] = "subsidiary", name_en: Annotated[str, Form()] = "",
) -> Response:
    return await _structure_form(request, session, principal, schemas.TenantCreate, {
        "parent_id": parent_id, "code": code, "name": name, "kind": kind,
        "name_en": name_en or None}, service.create_tenant)


@router.post("/structure/units", response_class=HTMLResponse)
async def create_unit(
    request: Request, session: Session, principal: OrgWriter,
    tenant_id: Annotated[int, Form()], code: Annotated[str, Form()], name: Annotated[str, Form()],
    kind: Annotated[str, Form()] = "team", parent_id: Annotated[str, Form()] = "",
) -> Response:
    return await _structure_form(request, session, principal, schemas.OrgUnitCreate, {
        "tenant_id": tenant_id, "code": code, "name": name, "kind": kind,
        "parent_id": parent_id or None}, service.create_org_unit)


@router.post("/structure/positions", response_class=HTMLResponse)
async def create_position(
    request: Request, session: Session, principal: OrgWriter,
    tenant_id: Annotated[int, Form()], code: Annotated[str, Form()],
    title: Annotated[str, Form()], grade: Annotated[str, Form()],
) -> Response:
    return await _structure_form(request, session, principal, schemas.PositionCreate, {
        "tenant_id": tenant_id, "code": code, "title": title, "grade": grade},
        service.create_position)
