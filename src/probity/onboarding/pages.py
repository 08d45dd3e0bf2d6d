"""Onboarding pages: new hires and their checklists, pledge versions and who signed, and each
employee's own pledge page (sign with the typed name)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from probity.auth.deps import CurrentPrincipal, Session, require
from probity.auth.deps import commit as commit_tx
from probity.auth.permissions import Perm, Principal
from probity.errors import DomainError, NotFound
from probity.onboarding import schemas, service
from probity.org import service as org_service
from probity.recruitment.pages import form_error
from probity.web.render import render, today_in

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(require(Perm.onboarding_read))]
Manager = Annotated[Principal, Depends(require(Perm.onboarding_manage))]


async def _with_status(resp: Any, status: int) -> Response:
    out: Response = await resp
    out.status_code = status
    return out


@router.get("/onboarding", response_class=HTMLResponse)
async def onboardings(request: Request, session: Session, principal: Reader,
                      tenant_id: int | None = None, error: str | None = None) -> Response:
    rows = [await service.onboarding_read(session, ob, emp)
            for ob, emp in await service.list_onboardings(session, principal)]
    tenants = await org_service.list_tenants(session, principal)
    tenant_id = tenant_id or (principal.tenant_id if any(t.id == principal.tenant_id
                                                         for t in tenants) else None)
    tenant_id = tenant_id or (tenants[0].id if tenants else None)
    pv, status = (await service.pledge_status(session, principal, tenant_id)
                  if tenant_id else (None, []))
    return render(request, "onboarding/list.html", rows=rows, tenants=tenants,
                  tenant_id=tenant_id, pledge=pv, status=status,
                  signed=sum(1 for s in status if s.current), error=error,
                  can_manage=principal.can(Perm.onboarding_manage))


@router.post("/onboarding/pledges", response_class=HTMLResponse)
async def publish(request: Request, session: Session, principal: Manager,
                  tenant_id: Annotated[int, Form()], title: Annotated[str, Form()],
                  text: Annotated[str, Form()]) -> Response:
    try:
        await service.publish_pledge(session, principal, schemas.PledgePublish.model_validate(
            {"tenant_id": tenant_id, "title": title, "text": text}))
        await commit_tx(session)
    except (ValidationError, DomainError) as exc:
        await session.rollback()
        return await _with_status(onboardings(request, session, principal, tenant_id,
                                              form_error(request, exc)), 422)
    return RedirectResponse(f"/onboarding?tenant_id={tenant_id}", status_code=303)


@router.get("/onboarding/{employee_id}", response_class=HTMLResponse)
async def detail(request: Request, employee_id: int, session: Session, principal: Reader,
                 error: str | None = None) -> Response:
    ob, emp = await service.get_onboarding(session, principal, employee_id)
    return render(request, "onboarding/detail.html",
                  o=await service.onboarding_read(session, ob, emp), e=emp, error=error,
                  today=today_in(request), can_manage=principal.can(Perm.onboarding_manage))


async def _act(request: Request, employee_id: int, session: Session, principal: Principal,
               action: Any) -> Response:
    try:
        await action()
        await commit_tx(session)
    except (ValidationError, DomainError) as exc:
        await session.rollback()
        if isinstance(exc, NotFound):
            raise
        return await _with_status(detail(request, employee_id, session, principal,
                                         form_error(request, exc)), 409)
    return RedirectResponse(f"/onboarding/{employee_id}", status_code=303)


@router.post("/onboarding/{employee_id}/tasks/{task_id}/done", response_class=HTMLResponse)
async def task_done(request: Request, employee_id: int, task_id: int, session: Session,
                    principal: Manager) -> Response:
    async def act() -> None:
        await service.complete_task(session, principal, employee_id, task_id)

    return await _act(request, employee_id, session, principal, act)


@router.post("/onboarding/{employee_id}/complete", response_class=HTMLResponse)
async def complete(request: Request, employee_id: int, session: Session, principal: Manager,
                   effective_date: Annotated[date, Form()]) -> Response:
    async def act() -> None:
        await service.complete_onboarding(session, principal, employee_id, effective_date)

    return await _act(request, employee_id, session, principal, act)


@router.get("/me/pledge", response_class=HTMLResponse)
async def my_pledge(request: Request, session: Session, principal: CurrentPrincipal,
                    error: str | None = None) -> Response:
    emp, pv, sig = await service.my_pledge(session, principal)
    return render(request, "onboarding/pledge.html", e=emp, pledge=pv, sig=sig, error=error)


@router.post("/me/pledge", response_class=HTMLResponse)
async def sign(request: Request, session: Session, principal: CurrentPrincipal,
               pledge_version_id: Annotated[int, Form()], text_sha256: Annotated[str, Form()],
               typed_name: Annotated[str, Form()]) -> Response:
    try:
        await service.sign_pledge(session, principal, schemas.PledgeSign.model_validate({
            "pledge_version_id": pledge_version_id, "text_sha256": text_sha256,
            "typed_name": typed_name}))
        await commit_tx(session)
    except (ValidationError, DomainError) as exc:
        await session.rollback()
        if isinstance(exc, NotFound):
            raise
        return await _with_status(my_pledge(request, session, principal,
                                            form_error(request, exc)), 422)
    return RedirectResponse("/me/pledge", status_code=303)
