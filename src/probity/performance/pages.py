"""Performance pages: cycles (review, sign-off, bonus list), scorecards and 我的绩效 with evidence
links, the agent's own case with its appeal, honour roll, promotion priority, dashboards."""

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
from probity.errors import DomainError, NotFound
from probity.models import Case, CaseStatus, Employee, OrgUnit, Tenant
from probity.performance import awards, cycles, engine, scorecards
from probity.performance.errors import fail
from probity.performance.scope import get_cycle
from probity.web.render import render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(require(Perm.performance_read))]
Manager = Annotated[Principal, Depends(require(Perm.performance_manage))]
Reviewer = Annotated[Principal, Depends(require(Perm.performance_review))]
Signer = Annotated[Principal, Depends(require(Perm.performance_signoff))]


async def _act(session: Session, back: str, action: Awaitable[Any]) -> Response:
    """Run one service call from a form; a refusal comes back to the page as a message."""
    try:
        await action
    except DomainError as exc:
        if exc.status_code == 404:
            raise
        await session.rollback()
        sep = "&" if "?" in back else "?"
        return RedirectResponse(f"{back}{sep}error={quote(exc.message)}", status_code=303)
    await commit(session)
    return RedirectResponse(back, status_code=303)


@router.get("/performance", response_class=HTMLResponse)
async def cycles_page(request: Request, session: Session, principal: Reader,
                      error: str | None = None) -> Response:
    rows = await cycles.list_cycles(session, principal)
    tenants = (await session.execute(select(Tenant.id, Tenant.name).where(
        principal.scope(Perm.performance_manage).tenant_ids_query()).order_by(Tenant.path))
    ).all() if principal.can(Perm.performance_manage) else []
    names = dict((await session.execute(select(Tenant.id, Tenant.name))).all())
    return render(request, "performance/cycles.html", cycles=rows, tenants=tenants,
                  tenant_names=names, error=error)


@router.post("/performance/cycles")
async def create_cycle_form(session: Session, principal: Manager,
                            tenant_id: Annotated[int, Form()], period: Annotated[str, Form()],
                            starts_on: Annotated[date, Form()]) -> Response:
    return await _act(session, "/performance", cycles.create_cycle(
        session, principal, tenant_id=tenant_id, period=period, starts_on=starts_on))


@router.get("/performance/cycles/{cycle_id}", response_class=HTMLResponse)
async def cycle_page(request: Request, cycle_id: int, session: Session, principal: Reader,
                     error: str | None = None) -> Response:
    cycle = await get_cycle(session, principal, cycle_id)
    rows: list[dict[str, Any]] = []
    if cycle.status.value == "closed":
        from probity.performance.bonus import bonus_list

        for line in await bonus_list(session, principal, cycle.id):
            rows.append({"employee_id": line.employee_id, "name": line.name,
                         "employee_no": line.employee_no, "team": line.team,
                         "compliance": line.compliance_score, "total": line.kpi_score,
                         "eligible": line.eligible, "amount": line.amount,
                         "adjustment": line.adjustment})
    else:
        from probity.performance.scope import employee_filter

        visible = set((await session.scalars(select(Employee.id).where(
            employee_filter(principal)))).all())
        units = dict((await session.execute(select(OrgUnit.id, OrgUnit.name))).all())
        for r in await engine.compute(session, cycle):
            if r.employee_id not in visible:
                continue
            rows.append({"employee_id": r.employee_id, "name": r.name,
                         "employee_no": r.employee_no,
                         "team": units.get(r.org_unit_id) if r.org_unit_id else None,
                         "compliance": r.card.compliance, "total": r.card.total,
                         "eligible": r.bonus.eligible, "amount": r.bonus.amount,
                         "adjustment": r.bonus_adjustment})
    nominations = await awards.list_awards(session, principal, cycle_id=cycle.id)
    return render(request, "performance/cycle.html", cycle=cycle, rows=rows,
                  nominations=nominations, error=error,
                  names={r["employee_id"]: r["name"] for r in rows})


@router.post("/performance/cycles/{cycle_id}/review")
async def review_form(cycle_id: int, session: Session, principal: Reviewer) -> Response:
    return await _act(session, f"/performance/cycles/{cycle_id}",
                      cycles.review_cycle(session, principal, cycle_id))


@router.post("/performance/cycles/{cycle_id}/close")
async def close_form(cycle_id: int, session: Session, principal: Signer) -> Response:
    return await _act(session, f"/performance/cycles/{cycle_id}",
                      cycles.close_cycle(session, principal, cycle_id))


@router.post("/performance/awards/{award_id}/{verdict}")
async def award_form(award_id: int, verdict: str, session: Session, principal: Manager,
                     cycle_id: Annotated[int, Form()]) -> Response:
    if verdict not in ("confirm", "decline"):
        raise fail("not_found", "no such action")
    return await _act(session, f"/performance/cycles/{cycle_id}",
                      awards.decide_award(session, principal, award_id, verdict == "confirm"))


async def _scorecard_page(request: Request, session: Session, principal: Principal,
                          employee_id: int, cycle_id: int | None, own: bool) -> Response:
    try:
        card = await scorecards.scorecard(session, principal, employee_id, cycle_id)
    except NotFound:
        if not own:
            raise
        card = None
    return render(request, "performance/scorecard.html", card=card, own=own,
                  can_cases=principal.can(Perm.case_read))


@router.get("/performance/me", response_class=HTMLResponse)
async def my_page(request: Request, session: Session, principal: CurrentPrincipal,
                  cycle_id: int | None = None) -> Response:
    if principal.employee_id is None:
        raise fail("not_found", "no employee record for this account")
    return await _scorecard_page(request, session, principal, principal.employee_id, cycle_id,
                                 True)


@router.get("/performance/scorecards/{employee_id}", response_class=HTMLResponse)
async def scorecard_page(request: Request, employee_id: int, session: Session,
                         principal: CurrentPrincipal, cycle_id: int | None = None) -> Response:
    return await _scorecard_page(request, session, principal, employee_id, cycle_id,
                                 employee_id == principal.employee_id)


@router.get("/performance/me/cases/{case_id}", response_class=HTMLResponse)
async def my_case_page(request: Request, case_id: int, session: Session,
                       principal: CurrentPrincipal, error: str | None = None) -> Response:
    """A deduction's evidence for the agent it is about: the case, its decision and reason,
    and the appeal form once it is closed."""
    case = await session.scalar(select(Case).where(
        Case.id == case_id, Case.agent_employee_id == principal.employee_id,
        Case.agent_employee_id.is_not(None), Case.decision.is_not(None)))
    if case is None:
        raise fail("not_found", "no such case")
    reason = (await scorecards.decision_reasons(session, [case.id])).get(case.id, "")
    return render(request, "performance/my_case.html", case=case, reason=reason,
                  can_appeal=case.status == CaseStatus.closed, error=error)


@router.post("/performance/me/cases/{case_id}/appeal")
async def my_case_appeal(case_id: int, session: Session, principal: CurrentPrincipal,
                         reason: Annotated[str, Form()] = "") -> Response:
    from probity.cases.service import appeal_by_subject

    return await _act(session, f"/performance/me/cases/{case_id}",
                      appeal_by_subject(session, principal, case_id, reason))


@router.get("/performance/honour-roll", response_class=HTMLResponse)
async def honour_roll_page(request: Request, session: Session, principal: CurrentPrincipal
                           ) -> Response:
    return render(request, "performance/honour_roll.html",
                  rows=await awards.honour_roll(session, principal))


@router.get("/performance/promotions", response_class=HTMLResponse)
async def promotions_page(request: Request, session: Session, principal: Manager,
                          error: str | None = None) -> Response:
    from probity.performance.promotion import promotion_list

    return render(request, "performance/promotions.html",
                  rows=await promotion_list(session, principal), error=error)


@router.post("/performance/promotions/{employee_id}")
async def promotion_form(employee_id: int, session: Session, principal: Manager,
                         decision: Annotated[str, Form()],
                         note: Annotated[str, Form()] = "") -> Response:
    from probity.performance.promotion import decide

    return await _act(session, "/performance/promotions",
                      decide(session, principal, employee_id, decision, note))


@router.get("/performance/dashboard", response_class=HTMLResponse)
async def dashboard_page(request: Request, session: Session, principal: Reader,
                         level: str = "team", split: str | None = None) -> Response:
    from probity.performance.dashboard import dashboard_data

    level = level if level in ("team", "subsidiary", "group") else "team"
    try:
        split_day = date.fromisoformat(split) if split else None
    except ValueError:
        split_day = None
    data = await dashboard_data(session, principal, level=level, split=split_day)
    return render(request, "performance/dashboard.html", data=data, level=level,
                  split=split_day.isoformat() if split_day else "")
