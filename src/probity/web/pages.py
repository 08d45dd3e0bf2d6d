"""HTML pages: the shell, home, language switch; domain pages are included from each domain."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from probity.audit.pages import router as audit_pages
from probity.auth.deps import OptionalPrincipal, Session
from probity.auth.pages import router as auth_pages
from probity.auth.permissions import Perm, Principal
from probity.cases.pages import router as cases_pages
from probity.chat.pages import router as chat_pages
from probity.chat.team import router as team_pages
from probity.chat.transcript import router as transcript_pages
from probity.finance.pages import router as finance_pages
from probity.governance.pages import router as governance_pages
from probity.i18n import LOCALES, N_
from probity.models import Role
from probity.notify.pages import router as notify_pages
from probity.org.pages import router as org_pages
from probity.web.render import render
from probity.web.team_scores import router as team_scores_pages

router = APIRouter(include_in_schema=False)
router.include_router(auth_pages)
router.include_router(org_pages)
router.include_router(audit_pages)
router.include_router(chat_pages)
router.include_router(team_pages)
router.include_router(transcript_pages)
router.include_router(team_scores_pages)
router.include_router(cases_pages)
router.include_router(finance_pages)
router.include_router(notify_pages)
router.include_router(governance_pages)

# What each role can do here, shown on the home page. (title, description, link)
ROLE_CARDS: dict[Role, list[tuple[str, str, str]]] = {
    Role.hq_admin: [
        ("Org chart", "The group, its subsidiaries, departments and teams.", "/org/chart"),
        ("Employees", "Hire, transfer and record leavers across the group.", "/org/employees"),
        ("Structure", "Subsidiaries, org units and positions.", "/org/structure"),
        ("Audit log", "Who changed what, when and from where.", "/audit"),
    ],
    Role.hr: [
        ("Alerts", "Screening warnings and blocks in your scope, live.", "/alerts"),
        ("Org chart", "Departments, teams and headcount in your scope.", "/org/chart"),
        ("Employees", "Onboarding, transfers and leavers, each dated and audited.",
         "/org/employees"),
        ("Structure", "Org units and positions.", "/org/structure"),
    ],
    Role.team_lead: [
        ("My team", "The agents in your team and their tenure.", "/org/employees"),
        ("Org chart", "Where your team sits in the group.", "/org/chart"),
    ],
    Role.compliance: [
        ("Cases", "Alerts grouped into cases: triage, decide, four-eyes penalties, SLA.",
         "/cases"),
        ("Alerts", "Screening warnings and blocks in your scope, live.", "/alerts"),
        ("Org chart", "Teams and headcount in your scope.", "/org/chart"),
        ("Employees", "People in your scope (contact details masked).", "/org/employees"),
    ],
    Role.finance: [
        ("Finance import", "Orders, payments, refunds and payee accounts from CSV/XLSX: preview, "
         "then all rows or none.", "/finance/import"),
        ("Payee accounts", "Company and employee-declared receiving accounts.", "/finance/payees"),
        ("Org chart", "Teams and headcount in your scope.", "/org/chart"),
    ],
    Role.auditor: [
        ("Audit log", "Every change in the group, filterable, with CSV export.", "/audit"),
        ("Org chart", "The whole group, read-only.", "/org/chart"),
    ],
    Role.agent: [
        ("Agent workspace", "Your conversations, the customer's orders, canned replies.",
         "/chat/workspace"),
        ("My profile", "Your position, team and tenure.", "/org/me"),
    ],
    Role.customer: [
        ("Contact us", "Talk to customer service through the official channel only.", "/chat"),
    ],
}


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, session: Session, principal: OptionalPrincipal) -> Response:
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    cards: list[tuple[str, str, str]] = []
    for role in Role:
        if role in principal.roles:
            cards += [c for c in ROLE_CARDS[role] if c not in cards]
    if principal.customer_id is None:
        cards.append(("API tokens", "Create and revoke bearer tokens for the API.",
                      "/account/tokens"))
    return render(request, "home.html", cards=cards, roles=sorted(r.value for r in principal.roles),
                  can_audit=principal.can(Perm.audit_read),
                  attention=await needs_attention(session, principal))


async def needs_attention(session: Session, principal: Principal) -> list[tuple[str, int, str,
                                                                               str]]:
    """What is waiting for this person, by permission: (msgid with {n}, count, link, tone)."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from probity.cases import service as cases_service
    from probity.models import Alert, Case, Employee, EmploymentStatus
    from probity.models.base import utcnow

    out: list[tuple[str, int, str, str]] = []
    if principal.can(Perm.case_read):
        for state, tone in (("breached", "danger"), ("warning", "warn")):
            rows = await cases_service.list_cases(session, principal, sla=state, limit=500)
            if rows:
                out.append((f"sla_attention.{state}", len(rows), f"/cases?sla={state}", tone))
    if principal.can(Perm.case_approve):
        pending = (await session.scalars(cases_service.scoped_cases(principal).where(
            Case.status == cases_service.S.penalty_proposed,
            Case.penalty_proposed_by_user_id != principal.user_id))).all()
        if pending:
            out.append((N_("Penalties waiting for your approval: {n}"), len(pending),
                        "/cases?status=penalty_proposed", "warn"))
    if principal.can(Perm.alerts_read):
        scope = principal.scope(Perm.alerts_read)
        n = await session.scalar(select(func.count()).select_from(Alert).where(
            scope.filter(Alert.tenant_id, Alert.org_unit_id),
            Alert.created_at >= utcnow() - timedelta(hours=24)))
        if n:
            out.append((N_("New alerts in the last 24 hours: {n}"), int(n), "/alerts", "info"))
    out += await _pending_approvals(session, principal)
    if principal.can(Perm.employee_lifecycle):
        scope = principal.scope(Perm.employee_lifecycle)
        n = await session.scalar(select(func.count()).select_from(Employee).where(
            scope.filter(Employee.tenant_id, Employee.org_unit_id),
            Employee.status == EmploymentStatus.onboarding))
        if n:
            out.append((N_("Employees still onboarding: {n}"), int(n),
                        "/org/employees?status=onboarding", "info"))
    return out


async def _pending_approvals(session: Session, principal: Principal
                             ) -> list[tuple[str, int, str, str]]:
    """Requests waiting for this person's approval: leave and overtime, payroll runs someone
    else prepared, appraisal cycles to sign off, Compliance Star nominations to confirm."""
    from sqlalchemy import func, or_, select

    from probity.models import (
        AppraisalCycle,
        Award,
        AwardStatus,
        CycleStatus,
        LeaveRequest,
        OvertimeRequest,
        PayrollRun,
        RequestStatus,
        RunStatus,
    )

    out: list[tuple[str, int, str, str]] = []
    if principal.can(Perm.attendance_manage):
        scope = principal.scope(Perm.attendance_manage)
        n = 0
        for model in (LeaveRequest, OvertimeRequest):
            n += int(await session.scalar(select(func.count()).select_from(model).where(
                scope.filter(model.tenant_id, model.org_unit_id),
                model.status == RequestStatus.requested)) or 0)
        if n:
            out.append((N_("Leave and overtime requests waiting for approval: {n}"), n,
                        "/attendance", "warn"))
    if principal.can(Perm.payroll_approve):
        scope = principal.scope(Perm.payroll_approve)
        n = int(await session.scalar(select(func.count()).select_from(PayrollRun).where(
            scope.filter(PayrollRun.tenant_id, None), PayrollRun.status == RunStatus.draft,
            or_(PayrollRun.prepared_by_user_id.is_(None),
                PayrollRun.prepared_by_user_id != principal.user_id))) or 0)
        if n:
            out.append((N_("Payroll runs waiting for approval: {n}"), n, "/payroll", "warn"))
    if principal.can(Perm.performance_signoff):
        scope = principal.scope(Perm.performance_signoff)
        n = int(await session.scalar(select(func.count()).select_from(AppraisalCycle).where(
            scope.filter(AppraisalCycle.tenant_id, None),
            AppraisalCycle.status == CycleStatus.review)) or 0)
        if n:
            out.append((N_("Appraisal cycles waiting for sign-off: {n}"), n, "/performance",
                        "warn"))
    if principal.can(Perm.performance_manage):
        scope = principal.scope(Perm.performance_manage)
        n = int(await session.scalar(select(func.count()).select_from(Award).where(
            scope.filter(Award.tenant_id, Award.org_unit_id),
            Award.status == AwardStatus.nominated)) or 0)
        if n:
            out.append((N_("Compliance Star nominations to confirm: {n}"), n, "/performance",
                        "info"))
    return out


@router.get("/lang/{code}")
async def set_language(code: str, request: Request) -> Response:
    target = request.query_params.get("next", "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    response = RedirectResponse(target, status_code=303)
    if code in LOCALES:
        response.set_cookie("lang", code, max_age=365 * 86400, samesite="lax")
    return response
