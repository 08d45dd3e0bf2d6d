"""HTML pages: the shell, home, language switch; domain pages are included from each domain."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from probity.audit.pages import router as audit_pages
from probity.auth.deps import OptionalPrincipal
from probity.auth.pages import router as auth_pages
from probity.auth.permissions import Perm
from probity.cases.pages import router as cases_pages
from probity.chat.pages import router as chat_pages
from probity.finance.pages import router as finance_pages
from probity.governance.pages import router as governance_pages
from probity.i18n import LOCALES
from probity.models import Role
from probity.notify.pages import router as notify_pages
from probity.org.pages import router as org_pages
from probity.web.render import render

router = APIRouter(include_in_schema=False)
router.include_router(auth_pages)
router.include_router(org_pages)
router.include_router(audit_pages)
router.include_router(chat_pages)
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
async def home(request: Request, principal: OptionalPrincipal) -> Response:
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    cards: list[tuple[str, str, str]] = []
    for role in Role:
        if role in principal.roles:
            cards += [c for c in ROLE_CARDS[role] if c not in cards]
    cards.append(("API tokens", "Create and revoke bearer tokens for the API.", "/account/tokens"))
    return render(request, "home.html", cards=cards, roles=sorted(r.value for r in principal.roles),
                  can_audit=principal.can(Perm.audit_read))


@router.get("/lang/{code}")
async def set_language(code: str, request: Request) -> Response:
    target = request.query_params.get("next", "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    response = RedirectResponse(target, status_code=303)
    if code in LOCALES:
        response.set_cookie("lang", code, max_age=365 * 86400, samesite="lax")
    return response
