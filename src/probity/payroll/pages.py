"""Payroll pages: runs (prepare, approve, close, bank files) for payroll staff, and the payslip
as a page (built for a 390-px phone) and a PDF for the employee."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from probity.auth.deps import CurrentPrincipal, Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.bounds import DbId
from probity.errors import DomainError
from probity.i18n import translator
from probity.models import Tenant
from probity.payroll import forms, payslips, runs, tables
from probity.payroll.common import fail, month_label
from probity.payroll.settings import calendar_years, effective_settings
from probity.web.render import locale_of, render, today_in

router = APIRouter(include_in_schema=False)
router.include_router(forms.router)
Reader = Annotated[Principal, Depends(require(Perm.payroll_read))]
Preparer = Annotated[Principal, Depends(require(Perm.payroll_prepare))]
Approver = Annotated[Principal, Depends(require(Perm.payroll_approve))]


async def _act(request: Request, session: Session, back: str, action: Awaitable[Any]
               ) -> Response:
    """Run one service call from a form; a refusal comes back to the page as a message."""
    try:
        await action
    except DomainError as exc:
        if exc.status_code == 404:
            raise
        await session.rollback()
        text = exc.localized(translator(locale_of(request)))
        sep = "&" if "?" in back else "?"
        return RedirectResponse(f"{back}{sep}error={quote(text)}", status_code=303)
    await commit(session)
    return RedirectResponse(back, status_code=303)


@router.get("/payroll", response_class=HTMLResponse)
async def runs_page(request: Request, session: Session, principal: Reader,
                    error: str | None = None) -> Response:
    rows = await runs.list_runs(session, principal)
    names = dict((await session.execute(select(Tenant.id, Tenant.name))).all())
    tenants = (await session.execute(select(Tenant.id, Tenant.name).where(
        principal.scope(Perm.payroll_prepare).tenant_ids_query()).order_by(Tenant.path))
    ).all() if principal.can(Perm.payroll_prepare) else []
    home = principal.tenant_id
    structures = await tables.structures_for(session, home)
    cities = await tables.cities_for(session, home)
    today = today_in(request)
    years = calendar_years(await effective_settings(session, home))
    return render(request, "payroll/runs.html", runs=rows, tenant_names=names, tenants=tenants,
                  structures=structures, cities=[cities[k] for k in sorted(cities)],
                  error=error, this_month=today.isoformat()[:7],
                  no_calendar=[y for y in (today.year, today.year + 1) if y not in years],
                  home=home)


@router.post("/payroll/runs")
async def prepare_form(request: Request, session: Session, principal: Preparer,
                       tenant_id: Annotated[int, Form()], month: Annotated[str, Form()]
                       ) -> Response:
    try:
        first = date.fromisoformat(month.strip()[:7] + "-01")
    except ValueError:
        first = None
    if first is None:
        _ = translator(locale_of(request))
        return RedirectResponse("/payroll?error=" + quote(_("Month: use YYYY-MM")),
                                status_code=303)
    return await _act(request, session, "/payroll",
                      runs.prepare_run(session, principal, tenant_id, first))


@router.get("/payroll/runs/{run_id}", response_class=HTMLResponse)
async def run_page(request: Request, run_id: DbId, session: Session, principal: Reader,
                   error: str | None = None) -> Response:
    run, rows = await payslips.run_payslips(session, principal, run_id, limit=500)
    full = principal.can(Perm.payroll_prepare) or principal.can(Perm.payroll_approve)
    tenant = await session.get(Tenant, run.tenant_id)
    years = calendar_years(await effective_settings(session, run.tenant_id))
    return render(request, "payroll/run.html", run=run, rows=rows, month=month_label(run.month),
                  tenant=tenant, error=error, full=full, mask=payslips.mask_account,
                  no_calendar=run.month.year if run.month.year not in years else None)


@router.post("/payroll/runs/{run_id}/recompute")
async def recompute_form(request: Request, run_id: DbId, session: Session,
                         principal: Preparer) -> Response:
    run = await runs.get_run(session, principal, run_id)
    return await _act(request, session, f"/payroll/runs/{run_id}",
                      runs.prepare_run(session, principal, run.tenant_id, run.month))


@router.post("/payroll/runs/{run_id}/approve")
async def approve_form(request: Request, run_id: DbId, session: Session, principal: Approver
                       ) -> Response:
    await runs.get_run(session, principal, run_id, Perm.payroll_approve)
    return await _act(request, session, f"/payroll/runs/{run_id}",
                      runs.approve_run(session, principal, run_id))


@router.post("/payroll/runs/{run_id}/close")
async def close_form(request: Request, run_id: DbId, session: Session, principal: Approver
                     ) -> Response:
    await runs.get_run(session, principal, run_id, Perm.payroll_approve)
    return await _act(request, session, f"/payroll/runs/{run_id}",
                      runs.close_run(session, principal, run_id))


@router.get("/me/payslips", response_class=HTMLResponse)
async def my_payslips(request: Request, session: Session, principal: CurrentPrincipal
                      ) -> Response:
    rows = await payslips.my_payslips(session, principal)
    return render(request, "payroll/mine.html", rows=rows, month_label=month_label)


def _items(view: payslips.PayslipView, _: Any) -> list[tuple[str, str]]:
    s = view.slip
    out = [(_("Base pay"), str(s.base))]
    for a in s.lines.get("allowances", []):
        out.append(("  " + str(a.get("name", "")), str(a.get("amount", ""))))
    out.append((_("Allowances"), str(s.allowances)))
    if s.overtime:
        out.append((_("Overtime pay"), str(s.overtime)))
    out += [(_("Performance bonus"), str(s.bonus)),
            (_("Penalties"), "-" + str(s.penalty)),
            (_("Attendance deductions"), "-" + str(s.attendance_deduction))]
    if s.deduction_waived:
        out.append((_("Deductions waived (cap)"), str(s.deduction_waived)))
    out += [(_("Adjustments"), str(s.adjustments)), (_("Gross pay"), str(s.gross)),
            (_("Social insurance (employee)"), "-" + str(s.si_employee)),
            (_("Housing fund (employee)"), "-" + str(s.hf_employee)),
            (_("Special additional deductions"), str(s.additional_deduction))]
    if s.annual_bonus:
        out.append((_("Year-end one-off bonus, taxed on its own"),
                    f"{s.annual_bonus} → -{s.annual_bonus_tax}"))
    out += [(_("Income tax"), "-" + str(s.tax)), (_("Net pay"), str(s.net))]
    return out


@router.get("/payroll/payslips/{payslip_id}", response_class=HTMLResponse)
async def payslip_page(request: Request, payslip_id: DbId, session: Session,
                       principal: CurrentPrincipal) -> Response:
    view = await payslips.get_payslip(session, principal, payslip_id)
    return render(request, "payroll/payslip.html", v=view, s=view.slip,
                  month=month_label(view.slip.month))


@router.get("/payroll/payslips/{payslip_id}/pdf")
async def payslip_pdf(request: Request, payslip_id: DbId, session: Session,
                      principal: CurrentPrincipal) -> Response:
    import asyncio

    view = await payslips.get_payslip(session, principal, payslip_id)
    _ = translator(locale_of(request))
    month = month_label(view.slip.month)
    labels = {"title": _("Payslip {month}", month=month),
              "who": f"{view.name} · {view.employee_no} · {view.tenant}"
                     + (f" · {view.team}" if view.team else ""),
              "footer": _("Bank account") + f": {view.account or '-'}"}
    if view.run.status.value not in ("approved", "closed"):
        labels["title"] += " · " + _("run." + view.run.status.value)
    data = await asyncio.to_thread(payslips.payslip_pdf, view, labels, _items(view, _))
    if not data:
        raise fail("not_found", "no such payslip")
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="payslip-{month}-{view.employee_no}.pdf"'})
