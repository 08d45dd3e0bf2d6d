"""Case pages: the list (with SLA state) and a case with its merged, filterable timeline."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from probity.auth.deps import Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.cases import service
from probity.errors import DomainError, NotFound
from probity.governance.accessors import display_timezone
from probity.models import Customer, Employee, Tenant
from probity.performance.penalties import penalty_suggestion
from probity.web.render import render

router = APIRouter(include_in_schema=False)
CaseReader = Annotated[Principal, Depends(require(Perm.case_read))]
CaseManager = Annotated[Principal, Depends(require(Perm.case_manage))]


def highlight(text: str, spans: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """The text cut into (piece, category-or-None) so the screened spans can be marked."""
    out: list[tuple[str, str | None]] = []
    pos = 0
    for s in sorted(spans, key=lambda s: int(s.get("start", 0))):
        start, end = int(s.get("start", 0)), int(s.get("end", 0))
        if start < pos or end <= start or end > len(text):
            continue
        if start > pos:
            out.append((text[pos:start], None))
        out.append((text[start:end], str(s.get("category", ""))))
        pos = end
    if pos < len(text):
        out.append((text[pos:], None))
    return out


async def _names(session: Session, case_ids: list[Any]) -> dict[str, dict[int, str]]:
    emp_ids = {c.agent_employee_id for c in case_ids if c.agent_employee_id}
    cust_ids = {c.customer_id for c in case_ids if c.customer_id}
    emps = dict((await session.execute(select(Employee.id, Employee.name).where(
        Employee.id.in_(emp_ids)))).all()) if emp_ids else {}
    custs = {cid: f"{name} ({no})" for cid, name, no in (await session.execute(
        select(Customer.id, Customer.name, Customer.customer_no).where(
            Customer.id.in_(cust_ids)))).all()} if cust_ids else {}
    return {"agents": emps, "customers": custs}


async def _people(session: Session, user_ids: set[int]) -> dict[int, tuple[str, list[str]]]:
    """Who acted on a case: display name and role codes per user id."""
    from probity.models import RoleAssignment, User

    if not user_ids:
        return {}
    names = dict((await session.execute(select(User.id, User.display_name).where(
        User.id.in_(user_ids)))).all())
    roles: dict[int, list[str]] = {}
    for uid, role in (await session.execute(select(RoleAssignment.user_id, RoleAssignment.role)
                                            .where(RoleAssignment.user_id.in_(user_ids)))).all():
        code = str(getattr(role, "value", role))
        if code not in roles.setdefault(uid, []):
            roles[uid].append(code)
    return {uid: (name, roles.get(uid, [])) for uid, name in names.items()}


def withheld_moves(case: Any, principal: Principal) -> dict[str, str]:
    """Moves the case's state allows but this viewer may not make, with the reason (a msgid):
    four eyes on penalties and appeals, and the approval permission."""
    out: dict[str, str] = {}
    nxt = {s.value for s in service.TRANSITIONS[case.status]}
    if case.status == service.S.penalty_proposed:
        if not principal.can(Perm.case_approve):
            out = dict.fromkeys(nxt, "Needs the permission to approve penalties.")
        elif case.penalty_proposed_by_user_id == principal.user_id:
            out = dict.fromkeys(nxt, "You proposed this penalty: someone else must decide it.")
    if (case.status == service.S.appealed
            and case.decided_by_user_id == principal.user_id):
        out = dict.fromkeys(nxt, "You made the decision: someone else must decide the appeal.")
    return out


@router.get("/cases", response_class=HTMLResponse)
async def cases_page(request: Request, session: Session, principal: CaseReader,
                     status: str | None = None, sla: str | None = None) -> Response:
    status = status if status in {s.value for s in service.S} else None
    sla = sla if sla in ("warning", "breached") else None
    rows = await service.list_cases(session, principal, status=status, sla=sla, limit=200)
    counts = await service.count_by_status(session, principal)
    return render(request, "cases/list.html", rows=rows, counts=counts, status=status, sla=sla,
                  statuses=[s.value for s in service.S], sla_of=service.sla_view,
                  names=await _names(session, rows))


@router.get("/cases/metrics", response_class=HTMLResponse)
async def metrics_page(request: Request, session: Session, principal: CaseReader,
                       days: int = 30) -> Response:
    from datetime import timedelta

    from probity.cases.metrics import case_metrics
    from probity.models.base import utcnow

    days = min(max(days, 1), 366)
    until = utcnow()
    rows = await case_metrics(session, principal, since=until - timedelta(days=days),
                              until=until)
    return render(request, "cases/metrics.html", rows=rows, days=days)


async def _alert_people(session: Any, principal: Principal, case_id: int) -> Any:
    """Who was on shift and on HR duty at the case's first alert (probity.duty), for readers
    of alerts; None otherwise."""
    from probity.duty.service import alert_people
    from probity.models import CaseAlert

    if not principal.can(Perm.alerts_read):
        return None
    first = await session.scalar(select(CaseAlert.alert_id).where(
        CaseAlert.case_id == case_id).order_by(CaseAlert.id).limit(1))
    if first is None:
        return None
    try:
        return await alert_people(session, principal, first)
    except NotFound:
        return None


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_page(request: Request, case_id: int, session: Session, principal: CaseReader,
                    error: str | None = None) -> Response:
    case = await service.get_case(session, principal, case_id)
    kinds = set(request.query_params.getlist("k")) & set(service.TIMELINE_KINDS) or None
    tz = await display_timezone(session, case.tenant_id)
    since = _day(request.query_params.get("from"), tz)
    until = _day(request.query_params.get("to"), tz)
    if until is not None:
        until += timedelta(days=1)  # the whole last day
    items = await service.timeline(session, principal, case, kinds=kinds, since=since,
                                   until=until)
    for i in items:
        if i["kind"] == "message":
            i["pieces"] = highlight(i.get("text") or "", i.get("spans") or [])
    await commit(session)  # the read of conversation content is access-logged
    people = await _people(session, {int(u) for i in items for u in (
        i.get("actor_user_id"), i.get("author_user_id")) if u} | {
        int(u) for u in (case.penalty_proposed_by_user_id, case.penalty_approved_by_user_id,
                         case.decided_by_user_id, case.assignee_user_id) if u})
    withheld = withheld_moves(case, principal)
    next_states = sorted(s.value for s in service.TRANSITIONS[case.status]
                         if s.value not in withheld)
    suggestion = (await penalty_suggestion(session, case)
                  if "penalty_proposed" in next_states else None)
    return render(request, "cases/detail.html", case=case, suggestion=suggestion, items=items,
                  sla=service.sla_view(case),
                  alert_people=await _alert_people(session, principal, case.id),
                  kinds=kinds or set(service.TIMELINE_KINDS), all_kinds=service.TIMELINE_KINDS,
                  next_states=next_states, withheld=withheld, people=people,
                  names=await _names(session, [case]), tz=tz,
                  can_manage=principal.can(Perm.case_manage), error=error,
                  conversation_ids=sorted({i["conversation_id"] for i in items
                                           if i.get("conversation_id")}),
                  period={"from": request.query_params.get("from", ""),
                          "to": request.query_params.get("to", "")},
                  managers=await _managers(session, case) if principal.can(Perm.case_manage)
                  else [])


@router.post("/cases/{case_id}/transition")
async def transition_form(case_id: int, session: Session, principal: CaseManager,
                          to: Annotated[str, Form()], reason: Annotated[str, Form()] = "",
                          penalty: Annotated[str, Form()] = "") -> Response:
    try:
        await service.transition(session, principal, case_id, to, reason=reason or None,
                                 penalty=penalty or None)
    except DomainError as exc:
        if exc.status_code == 404:
            raise
        await session.rollback()
        return RedirectResponse(f"/cases/{case_id}?error={exc.code}", status_code=303)
    await commit(session)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/assign")
async def assign_form(case_id: int, session: Session, principal: CaseManager,
                      user_id: Annotated[str, Form()] = "") -> Response:
    return await _act(session, case_id, service.assign(
        session, principal, case_id, int(user_id) if user_id.isdigit() else None))


@router.post("/cases/{case_id}/severity")
async def severity_form(case_id: int, session: Session, principal: CaseManager,
                        severity: Annotated[int, Form()]) -> Response:
    return await _act(session, case_id, service.set_severity(session, principal, case_id,
                                                             severity))


async def _act(session: Session, case_id: int, action: Any) -> Response:
    try:
        await action
    except DomainError as exc:
        if exc.status_code == 404:
            raise
        await session.rollback()
        return RedirectResponse(f"/cases/{case_id}?error={exc.code}", status_code=303)
    await commit(session)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


async def _managers(session: Session, case: Any) -> list[tuple[int, str]]:
    """Users who may be assigned the case: case.manage holders over its subsidiary."""
    from probity.auth.permissions import ROLE_PERMISSIONS
    from probity.models import RoleAssignment, User

    roles = [r for r, perms in ROLE_PERMISSIONS.items() if Perm.case_manage in perms]
    path = await session.scalar(select(Tenant.path).where(Tenant.id == case.tenant_id)) or ""
    rows = (await session.execute(
        select(User.id, User.display_name, Tenant.path)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .join(Tenant, Tenant.id == RoleAssignment.tenant_id)
        .where(RoleAssignment.role.in_(roles), RoleAssignment.org_unit_id.is_(None))
        .order_by(User.id))).all()
    seen: dict[int, str] = {}
    for uid, name, tpath in rows:
        if path.startswith(tpath):
            seen.setdefault(uid, name)
    return list(seen.items())


def _day(value: str | None, tz: str) -> Any:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=ZoneInfo(tz))
    except ValueError:
        return None


@router.post("/cases/{case_id}/notes")
async def note_form(case_id: int, session: Session, principal: CaseManager,
                    body: Annotated[str, Form()] = "") -> Response:
    try:
        await service.add_note(session, principal, case_id, body)
    except DomainError as exc:
        if exc.status_code == 404:
            raise
        await session.rollback()
        return RedirectResponse(f"/cases/{case_id}?error={exc.code}", status_code=303)
    await commit(session)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)
