"""Payroll forms in the browser: salary structures, city tables (social insurance, housing fund,
minimum wage), salary assignments and one-off adjustments — the same services as the JSON API
(audited there), for whoever holds `payroll.prepare`; readers see the lists.

A refused form comes back with status 422 and every field's problem next to that field, in the
reader's language: Pydantic's errors by type, and the services' domain errors by the field
they name (or their code). Nothing is written. A missing or out-of-scope object is 404.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from probity.auth.deps import Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.errors import DomainError, NotFound
from probity.i18n import translator
from probity.models import Employee, PayrollAdjustment, SalaryAssignment, Tenant
from probity.payroll import schemas, tables
from probity.payroll.compute import INSURANCES, LEGAL_OVERTIME
from probity.web.form_errors import field_errors as shared_field_errors
from probity.web.render import locale_of, render, today_in

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(require(Perm.payroll_read))]
Preparer = Annotated[Principal, Depends(require(Perm.payroll_prepare))]

ALLOWANCE_ROWS = 5
RECENT = 30

# Domain error codes → the form field they are about (when the error does not name one).
CODE_FIELDS = {
    "below_minimum_wage": "base", "no_structure": "base", "unknown_city": "city",
    "unknown_employee": "employee_no", "month_closed": "month",
    "correction_not_later": "corrects_month", "floor_above_ceiling": "si_base_ceiling",
    "duplicate_allowance": "allowances",
}




# The payroll forms' dates are months.
MONTHS = {"date_from_datetime_parsing": "Not a month", "date_parsing": "Not a month",
          "date_type": "Not a month"}


def field_errors(request: Request, exc: ValidationError | DomainError,
                 rename: dict[str, str] | None = None) -> dict[str, str]:
    return shared_field_errors(request, exc, rename, CODE_FIELDS, MONTHS)


def _month(raw: str) -> str:
    """`2026-03` (an <input type=month>) → `2026-03-01`; anything else is left for the
    validation to name."""
    raw = raw.strip()
    return f"{raw}-01" if re.fullmatch(r"\d{4}-\d{2}", raw) else raw


def _blank_none(raw: str) -> str | None:
    return raw.strip() or None


async def _tenants(session: Session, principal: Principal) -> list[tuple[int, str]]:
    perm = Perm.payroll_prepare if principal.can(Perm.payroll_prepare) else Perm.payroll_read
    return [(int(i), str(n)) for i, n in (await session.execute(
        select(Tenant.id, Tenant.name).where(principal.scope(perm).tenant_ids_query())
        .order_by(Tenant.path))).all()]


async def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {int(i): str(n) for i, n in (await session.execute(
        select(Tenant.id, Tenant.name).where(Tenant.id.in_(ids)))).all()}


def _pick(tenants: list[tuple[int, str]], wanted: int | None, principal: Principal) -> int:
    ids = [t for t, _n in tenants]
    if wanted is not None and wanted in ids:
        return wanted
    if wanted is not None:
        raise NotFound("no such company")
    return principal.tenant_id if principal.tenant_id in ids else (ids[0] if ids else 0)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


async def _save(session: Session, work: Callable[[], Awaitable[Any]]) -> None:
    """Run and commit, or roll back and re-raise (the caller renders the errors)."""
    try:
        await work()
        await commit(session)
    except BaseException:
        await session.rollback()
        raise


def _tenant_id(raw: str) -> int | None:
    try:
        return int(raw)
    except ValueError:
        return None


# --- salary structures -----------------------------------------------------------------------


def _structure_values(s: Any) -> dict[str, str]:
    v = {"grade": s.grade, "base": str(s.base), "overtime_weekday": str(s.overtime_weekday),
         "overtime_rest_day": str(s.overtime_rest_day),
         "overtime_holiday": str(s.overtime_holiday)}
    for n, a in enumerate(s.allowances[:ALLOWANCE_ROWS]):
        v |= {f"allowance_{n}_code": a.get("code", ""), f"allowance_{n}_name": a.get("name", ""),
              f"allowance_{n}_amount": str(a.get("amount", ""))}
    return v


async def _structures_page(request: Request, session: Session, principal: Principal,
                           tenant_id: int | None, values: dict[str, str],
                           errors: dict[str, str], status: int = 200, saved: str = ""
                           ) -> Response:
    tenants = await _tenants(session, principal)
    tid = _pick(tenants, tenant_id, principal)
    rows = await tables.structures_for(session, tid) if tid else []
    return render(request, "payroll/structures.html", status_code=status, tenants=tenants,
                  tenant_id=tid, rows=rows, values=values, errors=errors, saved=saved,
                  names=await _names(session, {r.tenant_id for r in rows}),
                  allowance_rows=range(ALLOWANCE_ROWS), legal=LEGAL_OVERTIME,
                  can_edit=principal.can(Perm.payroll_prepare))


@router.get("/payroll/structures", response_class=HTMLResponse)
async def structures_page(request: Request, session: Session, principal: Reader,
                          tenant_id: int | None = None, grade: str | None = None,
                          saved: str = "") -> Response:
    values: dict[str, str] = {}
    if grade:
        tenants = await _tenants(session, principal)
        tid = _pick(tenants, tenant_id, principal)
        found = next((s for s in await tables.structures_for(session, tid)
                      if s.grade == grade), None)
        if found is None:
            raise NotFound("no such salary structure")
        values = _structure_values(found)
    return await _structures_page(request, session, principal, tenant_id, values, {},
                                  saved=saved)


@router.post("/payroll/structures", response_class=HTMLResponse)
async def save_structure(request: Request, session: Session, principal: Preparer) -> Response:
    f = await _form(request)
    allowances = []
    for n in range(ALLOWANCE_ROWS):
        row = {k: f.get(f"allowance_{n}_{k}", "").strip() for k in ("code", "name", "amount")}
        if any(row.values()):
            allowances.append(row)
    tid = _tenant_id(f.get("tenant_id", ""))
    data = {"tenant_id": tid, "grade": f.get("grade", ""), "base": f.get("base", ""),
            "allowances": allowances,
            **{k: f.get(k, "").strip() or str(LEGAL_OVERTIME[k.removeprefix("overtime_")])
               for k in ("overtime_weekday", "overtime_rest_day", "overtime_holiday")}}
    # Allowance n of the form is row n of the list only when no row above it is blank.
    kept = [n for n in range(ALLOWANCE_ROWS)
            if any(f.get(f"allowance_{n}_{k}", "").strip() for k in ("code", "name", "amount"))]
    rename = {f"allowance_{i}_{k}": f"allowance_{n}_{k}" for i, n in enumerate(kept)
              for k in ("code", "name", "amount")}
    try:
        model = schemas.StructureSave.model_validate(data)
        await _save(session, lambda: tables.save_structure(session, principal, model))
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, NotFound):
            raise
        return await _structures_page(request, session, principal, tid, f,
                                      field_errors(request, exc, rename), status=422)
    return RedirectResponse(f"/payroll/structures?tenant_id={tid}&saved={model.grade}",
                            status_code=303)


# --- city tables -----------------------------------------------------------------------------


def _percent(raw: str) -> Decimal:
    """A rate typed in percent (8, 0.5, 9.5) as a fraction; ValueError names the problem."""
    try:
        d = Decimal(raw.strip().rstrip("%").strip())
    except InvalidOperation:
        raise ValueError("Not a number") from None
    if not d.is_finite() or d < 0 or d > 100:
        raise ValueError("A percentage from 0 to 100")
    if d != d.quantize(Decimal("0.001")):
        raise ValueError("At most three decimal places")
    return d / 100


def _city_values(c: Any) -> dict[str, str]:
    v = {k: str(getattr(c, k)) for k in ("city", "name", "minimum_wage", "si_base_floor",
                                           "si_base_ceiling", "hf_base_floor",
                                           "hf_base_ceiling")}
    for k in ("hf_employee_rate", "hf_employer_rate"):
        v[k] = _show_percent(Decimal(getattr(c, k)))
    for ins in INSURANCES:
        pair = (c.si_rates or {}).get(ins, ["0", "0"])
        v[f"{ins}_employee"] = _show_percent(Decimal(str(pair[0])))
        v[f"{ins}_employer"] = _show_percent(Decimal(str(pair[1])))
    return v


def _show_percent(value: Decimal | str) -> str:
    """0.095 → "9.5"; 0.08 → "8"."""
    text = format((Decimal(str(value)) * 100).normalize(), "f")
    return text


async def _cities_page(request: Request, session: Session, principal: Principal,
                       tenant_id: int | None, values: dict[str, str], errors: dict[str, str],
                       status: int = 200, saved: str = "") -> Response:
    tenants = await _tenants(session, principal)
    tid = _pick(tenants, tenant_id, principal)
    rows = await tables.cities_for(session, tid) if tid else {}
    return render(request, "payroll/cities.html", status_code=status, tenants=tenants,
                  names=await _names(session, {r.tenant_id for r in rows.values()}),
                  tenant_id=tid, rows=[rows[k] for k in sorted(rows)], values=values,
                  errors=errors, saved=saved, insurances=INSURANCES, percent=_show_percent,
                  can_edit=principal.can(Perm.payroll_prepare))


@router.get("/payroll/cities", response_class=HTMLResponse)
async def cities_page(request: Request, session: Session, principal: Reader,
                      tenant_id: int | None = None, city: str | None = None,
                      saved: str = "") -> Response:
    values: dict[str, str] = {}
    if city:
        tenants = await _tenants(session, principal)
        found = (await tables.cities_for(session, _pick(tenants, tenant_id, principal))
                 ).get(city)
        if found is None:
            raise NotFound("no such city table")
        values = _city_values(found)
    return await _cities_page(request, session, principal, tenant_id, values, {}, saved=saved)


@router.post("/payroll/cities", response_class=HTMLResponse)
async def save_city(request: Request, session: Session, principal: Preparer) -> Response:
    f = await _form(request)
    _ = translator(locale_of(request))
    errors: dict[str, str] = {}
    rates: dict[str, Decimal] = {}
    for name in [f"{i}_{side}" for i in INSURANCES for side in ("employee", "employer")] + [
            "hf_employee_rate", "hf_employer_rate"]:
        try:
            rates[name] = _percent(f.get(name, "") or "0")
        except ValueError as exc:
            errors[name] = _(str(exc))
    tid = _tenant_id(f.get("tenant_id", ""))
    data = {"tenant_id": tid, "city": f.get("city", "").strip().lower(),
            "name": f.get("name", ""),
            **{k: f.get(k, "") for k in ("minimum_wage", "si_base_floor", "si_base_ceiling",
                                         "hf_base_floor", "hf_base_ceiling")},
            "si_rates": {i: [rates.get(f"{i}_employee", 0), rates.get(f"{i}_employer", 0)]
                         for i in INSURANCES},
            "hf_employee_rate": rates.get("hf_employee_rate", 0),
            "hf_employer_rate": rates.get("hf_employer_rate", 0)}
    try:
        model = schemas.CitySave.model_validate(data)
        if errors:
            raise _Refused
        await _save(session, lambda: tables.save_city(session, principal, model))
    except (ValidationError, DomainError, _Refused) as exc:
        if isinstance(exc, NotFound):
            raise
        if not isinstance(exc, _Refused):
            errors = field_errors(request, exc) | errors
        return await _cities_page(request, session, principal, tid, f, errors, status=422)
    return RedirectResponse(f"/payroll/cities?tenant_id={tid}&saved={model.city}",
                            status_code=303)


class _Refused(Exception):
    """The form's own checks failed (the errors are already collected)."""


# --- employees: assignments and adjustments --------------------------------------------------


async def _employee_id(session: Session, principal: Principal, tenant_id: int | None,
                       employee_no: str) -> int | None:
    if tenant_id is None or not employee_no.strip():
        return None
    scope = principal.scope(Perm.payroll_prepare)
    emp_id = await session.scalar(select(Employee.id).where(
        Employee.tenant_id == tenant_id, Employee.employee_no == employee_no.strip(),
        scope.filter(Employee.tenant_id, Employee.org_unit_id)))
    return int(emp_id) if emp_id is not None else None


def _unknown_employee(request: Request, employee_no: str) -> dict[str, str]:
    _ = translator(locale_of(request))
    if not employee_no.strip():
        return {"employee_no": _("Required")}
    return {"employee_no": _("Unknown employee {id}", id=employee_no.strip()[:32])}


async def _recent(session: Session, model: Any, tenant_id: int) -> list[tuple[Any, str, str]]:
    rows = (await session.execute(
        select(model, Employee.employee_no, Employee.name)
        .join(Employee, Employee.id == model.employee_id)
        .where(model.tenant_id == tenant_id).order_by(model.id.desc()).limit(RECENT))).all()
    return [(r[0], str(r[1]), str(r[2])) for r in rows]


async def _assignments_page(request: Request, session: Session, principal: Principal,
                            tenant_id: int | None, values: dict[str, str],
                            errors: dict[str, str], status: int = 200, saved: bool = False
                            ) -> Response:
    tenants = await _tenants(session, principal)
    tid = _pick(tenants, tenant_id, principal)
    cities = await tables.cities_for(session, tid) if tid else {}
    structures = await tables.structures_for(session, tid) if tid else []
    rows = await _recent(session, SalaryAssignment, tid) if tid else []
    return render(request, "payroll/assignments.html", status_code=status, tenants=tenants,
                  tenant_id=tid, cities=[cities[k] for k in sorted(cities)],
                  city_names={c.city: c.name for c in cities.values()},
                  structures=structures, rows=rows, values=values, errors=errors, saved=saved,
                  can_edit=principal.can(Perm.payroll_prepare))


@router.get("/payroll/assignments", response_class=HTMLResponse)
async def assignments_page(request: Request, session: Session, principal: Reader,
                           tenant_id: int | None = None, saved: bool = False) -> Response:
    return await _assignments_page(request, session, principal, tenant_id, {}, {},
                                   saved=saved)


def additional_items(f: dict[str, str]) -> list[dict[str, Any]] | None:
    """The form's special additional deductions by category (payroll.deductions), or None
    when none is filled in (then the typed monthly amount applies)."""
    items: list[dict[str, Any]] = []
    share = f.get("add_share", "1").strip() or "1"
    for cat in ("children_education", "infant_care"):
        count = f.get(f"add_{cat}", "").strip()
        if count and count != "0":
            items.append({"category": cat, "count": count, "share": share})
    elderly = f.get("add_elderly", "")
    if elderly == "only_child":
        items.append({"category": "elderly_support", "only_child": True})
    elif elderly == "sibling":
        items.append({"category": "elderly_support",
                      "amount": f.get("add_elderly_amount", "").strip() or None})
    housing = f.get("add_housing", "")
    if housing == "loan":
        items.append({"category": "housing_loan", "share": share})
    elif housing.startswith("rent"):
        items.append({"category": "housing_rent", "city_tier": housing[4:] or None})
    if f.get("add_degree"):
        items.append({"category": "continuing_education"})
    cert = f.get("add_certificate", "").strip()
    if cert:
        items.append({"category": "continuing_education_certificate", "month": _month(cert)})
    return items or None


@router.post("/payroll/assignments", response_class=HTMLResponse)
async def save_assignment(request: Request, session: Session, principal: Preparer) -> Response:
    f = await _form(request)
    tid = _tenant_id(f.get("tenant_id", ""))
    emp_id = await _employee_id(session, principal, tid, f.get("employee_no", ""))
    rename = {"month": "effective_from"}
    try:
        if emp_id is None:
            raise _Refused
        model = schemas.AssignmentCreate.model_validate({
            "employee_id": emp_id, "effective_from": _month(f.get("effective_from", "")),
            "city": f.get("city", ""), "grade": _blank_none(f.get("grade", "")),
            "base": _blank_none(f.get("base", "")),
            "additional_deduction": f.get("additional_deduction", "").strip() or "0",
            "additional_items": additional_items(f),
            "bank_name": _blank_none(f.get("bank_name", "")),
            "bank_account": _blank_none(f.get("bank_account", ""))})
        await _save(session, lambda: tables.assign_salary(session, principal, model))
    except (ValidationError, DomainError, _Refused) as exc:
        if isinstance(exc, NotFound):
            raise
        errors = (_unknown_employee(request, f.get("employee_no", ""))
                  if isinstance(exc, _Refused) else field_errors(request, exc, rename))
        if emp_id is None and not isinstance(exc, _Refused):
            errors |= _unknown_employee(request, f.get("employee_no", ""))
        return await _assignments_page(request, session, principal, tid, f, errors,
                                       status=422)
    return RedirectResponse(f"/payroll/assignments?tenant_id={tid}&saved=true",
                            status_code=303)


async def _adjustments_page(request: Request, session: Session, principal: Principal,
                            tenant_id: int | None, values: dict[str, str],
                            errors: dict[str, str], status: int = 200, saved: bool = False
                            ) -> Response:
    tenants = await _tenants(session, principal)
    tid = _pick(tenants, tenant_id, principal)
    rows = await _recent(session, PayrollAdjustment, tid) if tid else []
    return render(request, "payroll/adjustments.html", status_code=status, tenants=tenants,
                  tenant_id=tid, rows=rows, values=values, errors=errors, saved=saved,
                  can_edit=principal.can(Perm.payroll_prepare),
                  this_month=today_in(request).isoformat()[:7])


@router.get("/payroll/adjustments", response_class=HTMLResponse)
async def adjustments_page(request: Request, session: Session, principal: Reader,
                           tenant_id: int | None = None, saved: bool = False) -> Response:
    return await _adjustments_page(request, session, principal, tenant_id, {}, {},
                                   saved=saved)


@router.post("/payroll/adjustments", response_class=HTMLResponse)
async def add_adjustment(request: Request, session: Session, principal: Preparer) -> Response:
    f = await _form(request)
    tid = _tenant_id(f.get("tenant_id", ""))
    emp_id = await _employee_id(session, principal, tid, f.get("employee_no", ""))
    try:
        if emp_id is None:
            raise _Refused
        model = schemas.AdjustmentCreate.model_validate({
            "employee_id": emp_id, "month": _month(f.get("month", "")),
            "amount": f.get("amount", ""), "reason": f.get("reason", ""),
            "corrects_month": _month(f["corrects_month"]) if f.get("corrects_month", "").strip()
            else None, "annual_bonus": bool(f.get("annual_bonus"))})
        await _save(session, lambda: tables.add_adjustment(session, principal, model))
    except (ValidationError, DomainError, _Refused) as exc:
        if isinstance(exc, NotFound):
            raise
        errors = (_unknown_employee(request, f.get("employee_no", ""))
                  if isinstance(exc, _Refused) else field_errors(request, exc))
        return await _adjustments_page(request, session, principal, tid, f, errors,
                                       status=422)
    return RedirectResponse(f"/payroll/adjustments?tenant_id={tid}&saved=true",
                            status_code=303)
