"""Pages for rules that only had an API: notification rules (notify/) and legal holds
(ledger/retention). Thin: each form calls the domain's own service, which checks scope,
audits and ledgers; refusals re-render the page with the localised message and status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.deps import Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.errors import DomainError
from probity.i18n import translator
from probity.ledger import retention
from probity.models import Role, Tenant
from probity.notify import service as notify
from probity.web.render import locale_of, render

router = APIRouter(include_in_schema=False)
RuleManager = Annotated[Principal, Depends(require(Perm.case_manage))]
HoldReader = Annotated[Principal, Depends(require(Perm.ledger_read))]
HoldManager = Annotated[Principal, Depends(require(Perm.records_manage))]


async def _tenants(session: AsyncSession, principal: Principal, perm: Perm) -> list[Tenant]:
    q = select(Tenant).where(principal.scope(perm).tenant_ids_query()).order_by(Tenant.path)
    return list((await session.scalars(q)).all())


def _error(request: Request, exc: DomainError) -> str:
    return exc.localized(translator(locale_of(request)))


async def _rules_page(request: Request, session: AsyncSession, principal: Principal,
                      status_code: int = 200, error: str | None = None) -> Response:
    rules = await notify.list_rules(session, principal)
    tenants = await _tenants(session, principal, Perm.case_manage)
    return render(request, "governance/notification_rules.html", status_code=status_code,
                  rules=rules, tenants=tenants, names={t.id: t.name for t in tenants},
                  events=notify.EVENTS, roles=[r.value for r in Role], error=error)


@router.get("/standards/notification-rules", response_class=HTMLResponse)
async def notification_rules(request: Request, session: Session, principal: RuleManager
                             ) -> Response:
    return await _rules_page(request, session, principal)


@router.post("/standards/notification-rules", response_class=HTMLResponse)
async def create_rule(request: Request, session: Session, principal: RuleManager,
                      tenant_id: Annotated[int, Form()], channel: Annotated[str, Form()],
                      role: Annotated[str, Form()] = "", target: Annotated[str, Form()] = "",
                      min_severity: Annotated[int, Form(ge=1, le=4)] = 1) -> Response:
    form = await request.form()
    events = ",".join(str(e) for e in form.getlist("events")) or "case.opened"
    try:
        await notify.create_rule(session, principal, {
            "tenant_id": tenant_id, "channel": channel, "role": role or None,
            "target": target or None, "min_severity": min_severity, "events": events})
    except DomainError as exc:
        if exc.status_code == 404:
            raise
        return await _rules_page(request, session, principal, exc.status_code,
                                 _error(request, exc))
    await commit(session)
    return RedirectResponse("/standards/notification-rules", status_code=303)


@router.post("/standards/notification-rules/{rule_id}/deactivate")
async def deactivate_rule(rule_id: int, session: Session, principal: RuleManager) -> Response:
    await notify.deactivate_rule(session, principal, rule_id)
    await commit(session)
    return RedirectResponse("/standards/notification-rules", status_code=303)


async def _holds_page(request: Request, session: AsyncSession, principal: Principal,
                      status_code: int = 200, error: str | None = None) -> Response:
    holds = await retention.list_holds(session, principal)
    tenants = await _tenants(session, principal, Perm.ledger_read)
    return render(request, "governance/legal_holds.html", status_code=status_code,
                  holds=holds, tenants=tenants, names={t.id: t.name for t in tenants},
                  subjects=retention.HOLD_SUBJECTS, error=error,
                  can_manage=principal.can(Perm.records_manage))


@router.get("/standards/legal-holds", response_class=HTMLResponse)
async def legal_holds(request: Request, session: Session, principal: HoldReader) -> Response:
    return await _holds_page(request, session, principal)


@router.post("/standards/legal-holds", response_class=HTMLResponse)
async def set_hold(request: Request, session: Session, principal: HoldManager,
                   tenant_id: Annotated[int, Form()], subject_type: Annotated[str, Form()],
                   subject_id: Annotated[int, Form()], reason: Annotated[str, Form()]
                   ) -> Response:
    try:
        await retention.set_hold(session, principal, tenant_id, subject_type, subject_id,
                                 reason)
    except DomainError as exc:
        if exc.status_code == 404:
            raise
        return await _holds_page(request, session, principal, exc.status_code,
                                 _error(request, exc))
    await commit(session)
    return RedirectResponse("/standards/legal-holds", status_code=303)


@router.post("/standards/legal-holds/{hold_id}/release")
async def release_hold(hold_id: int, session: Session, principal: HoldManager,
                       reason: Annotated[str, Form()]) -> Response:
    await retention.release_hold(session, principal, hold_id, reason)
    await commit(session)
    return RedirectResponse("/standards/legal-holds", status_code=303)
