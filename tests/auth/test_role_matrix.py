"""Every route × every role: allowed or denied, enforced in one place.

A route declares the permission it needs with a `require(Perm)` dependency (never a role), or is
listed below as public or open to any signed-in user. A route that does neither fails this test,
so a new endpoint cannot ship without an access decision. WebSocket routes are listed in
WEBSOCKETS and probed too. For a role that is allowed, the test asserts the status the route
really answers for an object that does not exist (the rule in `expected_status`, with the
deliberate exceptions in EXPECTED), not merely "not 401/403".
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.websockets import WebSocketDisconnect

from probity.auth.deps import require
from probity.auth.permissions import ROLE_PERMISSIONS, Perm
from probity.models import Role, User

PUBLIC = {
    ("GET", "/api/openapi.json"), ("GET", "/api/docs"), ("GET", "/docs/oauth2-redirect"),
    ("POST", "/api/v1/auth/login"), ("GET", "/api/v1/auth/csrf"), ("GET", "/api/v1/health"),
    ("GET", "/login"), ("POST", "/login"), ("POST", "/logout"), ("GET", "/lang/{code}"),
    ("GET", "/vendor/{name}"), ("GET", "/"),
    # Operations: liveness, readiness, Prometheus (a bearer token when PROBITY_METRICS_TOKEN).
    ("GET", "/health/live"), ("GET", "/health/ready"), ("GET", "/metrics"),
    # Chat: guests (order no. + phone digits) act with an X-Chat-Token; without one, or outside
    # the conversation, these answer 404 (tests/chat covers who sees what).
    ("POST", "/api/v1/chat/conversations"), ("GET", "/api/v1/chat/conversations/{conv_id}"),
    ("GET", "/api/v1/chat/conversations/{conv_id}/messages"),
    ("POST", "/api/v1/chat/conversations/{conv_id}/messages"),
    ("POST", "/api/v1/chat/conversations/{conv_id}/attachments"),
    ("GET", "/api/v1/chat/conversations/{conv_id}/attachments/{sha256}"),
    ("POST", "/api/v1/chat/conversations/{conv_id}/receipts"),
    ("POST", "/api/v1/chat/conversations/{conv_id}/close"),
    ("POST", "/api/v1/chat/conversations/{conv_id}/csat"),
    ("GET", "/chat"), ("GET", "/chat/widget.js"),
    # Self-service PWA: the web app manifest, the service worker and the offline page it falls
    # back to hold no personal data (tests/selfservice).
    ("GET", "/manifest.webmanifest"), ("GET", "/sw.js"), ("GET", "/offline"),
    # The signed finance feed: no session or token; the HMAC signature with the tenant's feed
    # secret is the credential (401 without a valid one; tests/finance/test_signed_feed.py).
    ("POST", "/api/v1/finance/feed/signed/{tenant_id}"),
}
# Open to any signed-in user; what they see is narrowed by scope inside the service.
SIGNED_IN = {
    ("GET", "/api/v1/me"), ("POST", "/api/v1/auth/logout"), ("GET", "/api/v1/tokens"),
    ("POST", "/api/v1/auth/password"),
    ("POST", "/api/v1/tokens"), ("DELETE", "/api/v1/tokens/{token_id}"),
    ("GET", "/account/tokens"), ("POST", "/account/tokens"),
    ("POST", "/account/tokens/{token_id}/revoke"), ("GET", "/org/me"),
    ("GET", "/org/employees/{employee_id}"), ("GET", "/api/v1/employees/{employee_id}"),
    # Chat: participants only (404 otherwise), narrowed in probity.chat.conversations.
    ("GET", "/api/v1/chat/conversations"),
    ("POST", "/api/v1/chat/conversations/{conv_id}/messages/{seq}/recall"),
    ("GET", "/api/v1/chat/conversations/{conv_id}/customer"),
    ("GET", "/api/v1/chat/conversations/{conv_id}/transfers"),
    # Each user's own in-app notifications (probity.notify).
    ("GET", "/api/v1/notifications"), ("POST", "/api/v1/notifications/{notification_id}/read"),
    ("GET", "/notifications"), ("POST", "/notifications/{notification_id}/read"),
    # Performance: one's own scorecard, or one in performance.read scope (404 otherwise); the
    # honour roll of one's subsidiary; the agent's own decided case and its appeal.
    ("GET", "/api/v1/performance/scorecards/{employee_id}"), ("GET", "/api/v1/me/performance"),
    ("GET", "/api/v1/performance/honour-roll"), ("GET", "/performance/me"),
    ("GET", "/performance/scorecards/{employee_id}"), ("GET", "/performance/me/cases/{case_id}"),
    ("POST", "/performance/me/cases/{case_id}/appeal"), ("GET", "/performance/honour-roll"),
    # Background jobs: the starter, or the task's read permission over the job's tenant
    # (probity.jobs.service.get_job); anything else is 404.
    ("GET", "/api/v1/jobs"), ("GET", "/api/v1/jobs/{job_id}"), ("GET", "/jobs/{job_id}"),
    # Each employee's own integrity pledge (404 without an employee record).
    ("GET", "/api/v1/me/pledge"), ("POST", "/api/v1/me/pledge/sign"), ("GET", "/me/pledge"),
    ("POST", "/me/pledge"),
    # Payroll: one's own payslips once their run is approved, or payroll.read in scope (404
    # otherwise; probity.payroll.payslips).
    ("GET", "/api/v1/me/payslips"), ("GET", "/me/payslips"),
    ("GET", "/api/v1/payroll/payslips/{payslip_id}"), ("GET", "/payroll/payslips/{payslip_id}"),
    ("GET", "/payroll/payslips/{payslip_id}/pdf"),
}

# WebSocket routes: None = participants only (a guest token or a signed-in party; everything else
# is closed 4404 like a missing conversation), else the permission required (4403 without it).
WEBSOCKETS: dict[str, Perm | None] = {
    "/ws/chat/{conv_id}": None,
    "/ws/agent": Perm.chat_answer,
    "/ws/alerts": Perm.alerts_read,
}

# Where a permitted role's answer differs from the rule in `expected_status`: GETs that need a
# query parameter (422), writes that need no body (404 for a missing object, 200 for sweeps),
# and /org/me, which redirects to one's own employee record (404 without one).
EXPECTED: dict[tuple[str, str], set[int]] = {
    ("GET", "/api/v1/cases/settings"): {422},
    ("GET", "/api/v1/finance/payees/check"): {422},
    ("GET", "/api/v1/finance/rules"): {422},
    ("GET", "/org/me"): {303, 404},
    ("GET", "/api/v1/ledger/{tenant_id}/consistency"): {422},
    ("GET", "/api/v1/ledger/{tenant_id}/proof"): {422},
    ("POST", "/api/v1/cases/group"): {200},
    ("POST", "/api/v1/cases/sla-sweep"): {200},
    ("POST", "/api/v1/retention/purge"): {200},
    ("PATCH", "/api/v1/employees/{employee_id}"): {404},
    ("PATCH", "/api/v1/finance/payees/{payee_id}"): {404},
    ("PATCH", "/api/v1/org-units/{unit_id}"): {404},
    ("PATCH", "/api/v1/positions/{position_id}"): {404},
    ("PATCH", "/api/v1/tenants/{tenant_id}"): {404},
    ("PUT", "/api/v1/policies/{tenant_id}"): {404},
    ("PUT", "/api/v1/settings/{tenant_id}/{section}"): {404},
    ("POST", "/api/v1/settings/{tenant_id}/{section}/preview"): {404},
    ("POST", "/account/tokens/{token_id}/revoke"): {404},
    ("POST", "/api/v1/chat/conversations/{conv_id}/messages/{seq}/recall"): {404},
    ("POST", "/api/v1/notifications/{notification_id}/read"): {404},
    ("POST", "/notifications/{notification_id}/read"): {404},
    ("POST", "/cases/{case_id}/assign"): {404},
    ("POST", "/cases/{case_id}/notes"): {404},
    ("POST", "/standards/{tenant_id}/{section}"): {404},
    ("POST", "/standards/{tenant_id}/{section}/preview"): {404},
    # Performance: one's own scorecard needs an employee record (404 without one).
    ("GET", "/api/v1/me/performance"): {200, 404},
    ("GET", "/performance/me"): {200, 404},
    ("GET", "/api/v1/performance/penalties"): {422},
    ("POST", "/api/v1/performance/awards/{award_id}/confirm"): {404},
    ("POST", "/api/v1/performance/awards/{award_id}/decline"): {404},
    ("POST", "/api/v1/performance/cycles/{cycle_id}/close"): {404},
    ("POST", "/api/v1/performance/cycles/{cycle_id}/review"): {404},
    ("POST", "/performance/cycles/{cycle_id}/close"): {404},
    ("POST", "/performance/cycles/{cycle_id}/review"): {404},
    ("POST", "/performance/me/cases/{case_id}/appeal"): {404},
    ("GET", "/api/v1/me/pledge"): {200, 404},
    ("GET", "/me/pledge"): {200, 404},
    ("GET", "/api/v1/pledges/status"): {422},
    ("POST", "/api/v1/onboarding/{employee_id}/tasks/{task_id}/done"): {404},
    ("POST", "/onboarding/{employee_id}/tasks/{task_id}/done"): {404},
    ("POST", "/api/v1/policies/{tenant_id}/replays"): {404},
    # Screening policy page: the form's overlay is empty (valid), the tenant missing.
    ("POST", "/standards/{tenant_id}/screening/replay"): {404},
    ("POST", "/standards/{tenant_id}/screening/publish"): {404},
    ("POST", "/standards/notification-rules/{rule_id}/deactivate"): {404},
    ("POST", "/api/v1/recruitment/requisitions/{req_id}/close"): {404},
    ("POST", "/recruitment/requisitions/{req_id}/close"): {404},
    # Forms whose fields all have defaults (bad input re-renders the page beside the field):
    # a missing object is 404; one's own attendance forms are 404 without an employee record
    # and 422 (the page with the field errors) with one.
    ("POST", "/recruitment/requisitions/{req_id}/candidates"): {404},
    ("POST", "/recruitment/candidates/{cand_id}/hire"): {404},
    ("POST", "/me/attendance/leave"): {404, 422},
    ("POST", "/me/attendance/swap"): {404, 422},
    ("POST", "/me/attendance/overtime"): {404, 422},
    # Attendance: queries need their parameters (422 without); self-service needs an employee
    # record (404 without one, e.g. the auditor's account).
    ("GET", "/api/v1/attendance/exceptions"): {422},
    ("GET", "/api/v1/attendance/on-shift"): {422},
    ("GET", "/api/v1/attendance/rota"): {422},
    ("GET", "/api/v1/attendance/shift-templates"): {422},
    ("GET", "/api/v1/attendance/me/leave"): {200, 404},
    ("GET", "/api/v1/attendance/me/punches"): {200, 404},
    ("GET", "/api/v1/attendance/me/schedule"): {200, 404},
    ("GET", "/me/attendance"): {200, 404},
    # HR duty: queries need their parameters; removing a missing shift is 404.
    ("GET", "/api/v1/duty/roster"): {422},
    ("GET", "/api/v1/duty/on-duty"): {422},
    ("GET", "/api/v1/duty/gaps"): {422},
    ("POST", "/duty/{shift_id}/delete"): {404},
    # Analytics: a finding key that names nothing is 422; ending a missing rule, completing a
    # missing QA review (form post) 404.
    ("GET", "/api/v1/analytics/findings/{key}/cohort"): {422},
    ("POST", "/api/v1/monitoring/rules/{rule_id}/end"): {404},
    ("POST", "/monitoring/rules/{rule_id}/end"): {404},
    ("POST", "/qa/{review_id}"): {404},
    # Payroll: the tables need their tenant (422 without); run actions need no body (404).
    ("GET", "/api/v1/payroll/structures"): {422},
    ("GET", "/api/v1/payroll/cities"): {422},
    ("POST", "/api/v1/payroll/runs/{run_id}/approve"): {404},
    ("POST", "/api/v1/payroll/runs/{run_id}/close"): {404},
    ("POST", "/payroll/runs/{run_id}/recompute"): {404},
    ("POST", "/payroll/runs/{run_id}/approve"): {404},
    ("POST", "/payroll/runs/{run_id}/close"): {404},
    # The self-service hub: one's own record only (404 without one, e.g. the auditor).
    ("GET", "/me"): {200, 404},
    # Training: a missing course / case study / assignment is 404 before any body is read;
    # one's own training needs an employee record (404 without one).
    ("PATCH", "/api/v1/training/courses/{course_id}"): {404},
    ("PATCH", "/api/v1/training/case-studies/{study_id}"): {404},
    ("POST", "/api/v1/training/case-studies/{study_id}/publish"): {404},
    ("POST", "/api/v1/training/case-studies/{study_id}/reject"): {404},
    ("GET", "/api/v1/me/training"): {200, 404},
    ("GET", "/me/training"): {200, 404},
    ("POST", "/training/courses/{course_id}/assign"): {404},
    ("POST", "/training/case-studies/{study_id}/{decision}"): {404},
    ("POST", "/me/training/{assignment_id}"): {404},
    # Imports: templates are listed per tenant (422 without it); the mapping form and a dry
    # run's "import now" name an upload / a job (404 for one that does not exist).
    ("GET", "/api/v1/imports/templates"): {422},
    ("POST", "/imports/uploads/{upload_id}"): {404},
    ("POST", "/imports/runs/{job_id}/commit"): {404},
    # Webhooks: writes that need no body (or whose fields are all optional) on a missing object.
    ("PATCH", "/api/v1/webhooks/endpoints/{endpoint_id}"): {404},
    ("POST", "/api/v1/webhooks/endpoints/{endpoint_id}/rotate-secret"): {404},
    ("POST", "/api/v1/webhooks/endpoints/{endpoint_id}/test"): {404},
    ("POST", "/api/v1/webhooks/deliveries/{delivery_id}/replay"): {404},
    ("POST", "/webhooks/{endpoint_id}/test"): {404},
    ("POST", "/webhooks/{endpoint_id}/rotate"): {404},
    ("POST", "/webhooks/{endpoint_id}/toggle"): {404},
    ("POST", "/webhooks/deliveries/{delivery_id}/replay"): {404},
    # The signed finance feed's secret: set or replaced for a tenant (missing tenant: 404).
    ("POST", "/api/v1/finance/feed/secrets/{tenant_id}"): {404},
}

DEMO_LOGIN = {Role.customer: "customer", Role.agent: "agent", Role.team_lead: "lead",
              Role.hr: "hr", Role.finance: "finance", Role.compliance: "compliance",
              Role.auditor: "auditor", Role.hq_admin: "admin"}


def test_role_grants_are_pinned() -> None:
    """The core grants, written out independently of the code, so a change is deliberate."""
    expected = {
        Perm.org_read: {Role.team_lead, Role.hr, Role.finance, Role.compliance, Role.auditor,
                        Role.hq_admin},
        Perm.org_write: {Role.hr, Role.hq_admin},
        Perm.employee_lifecycle: {Role.hr, Role.hq_admin},
        Perm.user_admin: {Role.hr, Role.hq_admin},
        Perm.audit_read: {Role.auditor, Role.hq_admin},
        Perm.commerce_read: {Role.finance, Role.compliance, Role.auditor, Role.hq_admin},
        Perm.access_log_read: {Role.auditor, Role.hq_admin},
        Perm.ledger_read: {Role.compliance, Role.auditor, Role.hq_admin},
        Perm.records_manage: {Role.compliance, Role.hq_admin},
        Perm.evidence_export: {Role.compliance, Role.auditor, Role.hq_admin},
        Perm.case_read: {Role.hr, Role.compliance, Role.auditor, Role.hq_admin},
        Perm.case_manage: {Role.compliance, Role.hq_admin},
        Perm.case_approve: {Role.compliance, Role.hq_admin},
        Perm.finance_import: {Role.finance, Role.hq_admin},
        Perm.chat_supervise: {Role.team_lead, Role.hr, Role.compliance, Role.auditor,
                              Role.hq_admin},
        Perm.chat_reassign: {Role.team_lead, Role.hq_admin},
        Perm.chat_evidence: {Role.compliance, Role.hq_admin},
        Perm.alerts_read: {Role.hr, Role.compliance, Role.auditor, Role.hq_admin},
        Perm.policy_read: {Role.compliance, Role.auditor, Role.hq_admin},
        Perm.policy_manage: {Role.compliance, Role.hq_admin},
        Perm.settings_read: {Role.hr, Role.finance, Role.compliance, Role.auditor,
                             Role.hq_admin},
        Perm.settings_manage: {Role.hq_admin},
        Perm.performance_read: {Role.team_lead, Role.hr, Role.auditor, Role.hq_admin},
        Perm.performance_manage: {Role.hr, Role.hq_admin},
        Perm.performance_review: {Role.team_lead, Role.hq_admin},
        Perm.performance_signoff: {Role.hr, Role.hq_admin},
        Perm.recruitment_read: {Role.team_lead, Role.hr, Role.auditor, Role.hq_admin},
        Perm.recruitment_manage: {Role.hr, Role.hq_admin},
        Perm.recruitment_interview: {Role.team_lead, Role.hr, Role.hq_admin},
        Perm.onboarding_read: {Role.hr, Role.auditor, Role.hq_admin},
        Perm.onboarding_manage: {Role.hr, Role.hq_admin},
        Perm.attendance_self: set(Role) - {Role.customer},
        Perm.attendance_read: {Role.team_lead, Role.hr, Role.compliance, Role.auditor,
                               Role.hq_admin},
        Perm.attendance_manage: {Role.team_lead, Role.hr, Role.hq_admin},
        # Payroll: HR prepares, finance approves (four eyes: never one's own run) and pays.
        Perm.payroll_read: {Role.hr, Role.finance, Role.auditor, Role.hq_admin},
        Perm.payroll_prepare: {Role.hr, Role.hq_admin},
        Perm.payroll_approve: {Role.finance, Role.hq_admin},
        # Webhooks: HQ admins manage (a subsidiary admin within its subtree), auditors read.
        Perm.webhooks_read: {Role.auditor, Role.hq_admin},
        Perm.webhooks_manage: {Role.hq_admin},
        # Issue 16: routes name permissions, not roles. These replace require_role(...):
        # the agent workspace (was: agent; canned replies were also open to team leads),
        Perm.chat_answer: {Role.agent, Role.hq_admin},
        # self-reports, one's own cases and appeals (was: agent, team lead),
        Perm.own_cases: {Role.agent, Role.team_lead, Role.hq_admin},
        # one's own payee accounts (was: every staff role but the auditor),
        Perm.own_accounts: {Role.agent, Role.team_lead, Role.hr, Role.finance,
                            Role.compliance, Role.hq_admin},
        # a customer's report (was: customer).
        Perm.customer_report: {Role.customer, Role.hq_admin},
        # Starting a verification job is a write: the auditor lost it (was ledger.read).
        Perm.ledger_verify: {Role.compliance, Role.hq_admin},
        # Customers' full phone numbers (was: has_role(finance, compliance, hq_admin)).
        Perm.customer_contact: {Role.finance, Role.compliance, Role.hq_admin},
        # HR duty roster (issue 11): HR keeps it; compliance and auditors see who is on duty.
        Perm.duty_read: {Role.hr, Role.compliance, Role.auditor, Role.hq_admin},
        Perm.duty_manage: {Role.hr, Role.hq_admin},
        # Compliance training: HR runs it, team leads follow their team's progress.
        Perm.training_read: {Role.team_lead, Role.hr, Role.compliance, Role.auditor,
                             Role.hq_admin},
        Perm.training_manage: {Role.hr, Role.hq_admin},
        Perm.training_self: set(Role) - {Role.customer},
        # Issue 11: risk analytics, monitoring rules acted on from findings, the QA queue.
        Perm.analytics_read: {Role.hr, Role.compliance, Role.auditor, Role.hq_admin},
        Perm.monitoring_manage: {Role.compliance, Role.hq_admin},
        Perm.qa_review: {Role.team_lead, Role.compliance, Role.hq_admin},
        # The import framework: the route needs data.import, each kind its own permission
        # (org.write for HR data, finance.import, records.manage for chat transcripts…).
        Perm.data_import: {Role.hr, Role.finance, Role.compliance, Role.hq_admin},
        # A full export of a tenant's personal data: HQ administrators only.
        Perm.data_export: {Role.hq_admin},
    }
    assert set(expected) == set(Perm), "pin the grants of every permission here"
    for perm, roles in expected.items():
        assert {r for r in Role if perm in ROLE_PERMISSIONS[r]} == roles, perm
    # The auditor is read-only: no write permission of any kind.
    assert not ({Perm.org_write, Perm.employee_lifecycle, Perm.user_admin,
                 Perm.records_manage, Perm.case_manage, Perm.case_approve,
                 Perm.finance_import, Perm.chat_reassign, Perm.ledger_verify,
                 Perm.chat_answer, Perm.own_cases, Perm.own_accounts, Perm.customer_report,
                 Perm.policy_manage, Perm.settings_manage, Perm.performance_manage,
                 Perm.performance_review, Perm.performance_signoff, Perm.recruitment_manage,
                 Perm.recruitment_interview, Perm.onboarding_manage, Perm.attendance_manage,
                 Perm.duty_manage, Perm.training_manage, Perm.monitoring_manage,
                 Perm.qa_review, Perm.payroll_prepare, Perm.payroll_approve,
                 Perm.data_import, Perm.data_export}
                & ROLE_PERMISSIONS[Role.auditor])


def _requirement(route: APIRoute) -> Any:
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, require):
            return dep.call
        stack.extend(dep.dependencies)
    return None


def all_routes(app: Any) -> list[tuple[str, str, Any]]:
    out = []
    for ctx in iter_route_contexts(app.routes):
        route = getattr(ctx, "original_route", ctx)
        path = getattr(ctx, "path", None) or getattr(route, "path", "")
        for method in sorted(getattr(route, "methods", None) or ()):
            if method == "HEAD":
                continue
            req = _requirement(route) if isinstance(route, APIRoute) else None
            out.append((method, path, req))
    return out


def allowed_roles(method: str, path: str, req: Any) -> set[Role] | None:
    """None = public."""
    if (method, path) in PUBLIC:
        return None
    if (method, path) in SIGNED_IN:
        return set(Role)
    if isinstance(req, require):
        return {r for r in Role if req.perm in ROLE_PERMISSIONS[r]}
    raise AssertionError(f"{method} {path} declares no access rule")


def test_every_route_has_an_access_rule(app: Any) -> None:
    routes = all_routes(app)
    assert len(routes) > 40
    for method, path, req in routes:
        if path.startswith("/static"):
            continue
        allowed_roles(method, path, req)


def expected_status(method: str, path: str) -> set[int]:
    """What a permitted role gets for an object that does not exist (ids 999999) and, for
    writes, an empty JSON body: the list pages 200, a missing object 404, a write 422."""
    if (method, path) in EXPECTED:
        return EXPECTED[(method, path)]
    if method in ("POST", "PUT", "PATCH"):
        return {422}
    return {404} if "{" in path else {200}


def _url(path: str) -> str:
    """Path parameters name an object that does not exist: this test is about the route-level
    rule; what a role may do to a particular object is tested per domain."""
    return re.sub(r"\{[^}]+\}", "999999", path)


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
async def test_route_matrix(role: Role, app: Any, as_user: Any) -> None:
    client: httpx.AsyncClient = await as_user(DEMO_LOGIN[role])
    checked = 0
    wrong: list[str] = []
    for method, path, req in all_routes(app):
        if path.startswith("/static") or (method, path) in PUBLIC:
            continue
        if path.endswith("/logout"):
            continue  # would end the session mid-test; covered in test_auth
        allowed = allowed_roles(method, path, req)
        assert allowed is not None
        kwargs: dict[str, Any] = {}
        if method in ("POST", "PATCH", "PUT"):
            kwargs["json"] = {}
        r = await client.request(method, _url(path), **kwargs)
        want = expected_status(method, path) if role in allowed else {403}
        if r.status_code not in want:
            wrong.append(f"{method} {path}: {r.status_code}, expected {sorted(want)}: "
                         f"{r.text[:120]}")
        checked += 1
    assert not wrong, f"{role.value}:\n" + "\n".join(wrong)
    assert checked > 30


async def test_anonymous_is_refused_everywhere_but_public(app: Any, client: httpx.AsyncClient
                                                          ) -> None:
    for method, path, _req in all_routes(app):
        if path.startswith("/static") or (method, path) in PUBLIC:
            continue
        r = await client.request(method, _url(path), json={} if method != "GET" else None)
        assert r.status_code == 401, (method, path, r.status_code)


def ws_routes(app: Any) -> list[str]:
    return [ctx.path for ctx in iter_route_contexts(app.routes)
            if isinstance(getattr(ctx, "original_route", ctx), APIWebSocketRoute)]


def test_every_websocket_route_has_an_access_rule(app: Any) -> None:
    paths = ws_routes(app)
    assert paths, "no WebSocket routes found"
    for path in paths:
        assert path in WEBSOCKETS, f"WebSocket {path} declares no access rule"


def _ws_outcome(tc: TestClient, path: str, cookie: str | None) -> int | str:
    """The close code the server answers with, or the first frame's type when accepted."""
    headers = {"cookie": f"probity_session={cookie}"} if cookie else {}
    try:
        with tc.websocket_connect(_url(path), headers=headers) as ws:
            frame = ws.receive_json()
            if frame.get("type") == "error":
                return int(ws.receive()["code"])
            return str(frame["type"])
    except WebSocketDisconnect as exc:
        return exc.code


async def test_websocket_matrix(app: Any, db: AsyncSession) -> None:
    """Every WebSocket route × every role (and anonymous), signed in with a real session
    cookie: participants-only routes answer 4404 for a conversation that is not theirs; others
    accept exactly the roles whose permissions allow them and close 4403/4401 for the rest."""
    import asyncio

    signer = TimestampSigner(app.state.settings.secret_key)
    cookies: dict[Role | None, str | None] = {None: None}
    for role, username in DEMO_LOGIN.items():
        uid, version = (await db.execute(select(User.id, User.session_version).where(
            User.username == username))).one()
        payload = base64.b64encode(json.dumps({"uid": uid, "sv": version}).encode())
        cookies[role] = signer.sign(payload).decode()

    def probe() -> dict[tuple[str, Role | None], int | str]:
        with TestClient(app) as tc:
            return {(path, role): _ws_outcome(tc, path, cookie)
                    for path in ws_routes(app) for role, cookie in cookies.items()}

    outcomes = await asyncio.to_thread(probe)
    assert {"ready", 4401, 4403, 4404} <= set(outcomes.values())
    for (path, role), got in outcomes.items():
        perm = WEBSOCKETS[path]
        if perm is None:
            expected: int | str = 4404
        elif role is None:
            expected = 4401
        elif perm in ROLE_PERMISSIONS[role]:
            expected = "ready"
        else:
            expected = 4403
        assert got == expected, (path, role, got)
