"""Webhook pages for administrators: subscriptions, the delivery log, replay (zh-CN / en)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from probity.auth.deps import Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.bounds import DbId
from probity.errors import DomainError
from probity.models import Tenant
from probity.models.base import utcnow
from probity.web.render import render
from probity.webhooks import service
from probity.webhooks.events import EVENT_TYPES

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(require(Perm.webhooks_read))]
Manager = Annotated[Principal, Depends(require(Perm.webhooks_manage))]
TONES = {"delivered": "ok", "retrying": "warn", "pending": "info", "failed": "danger",
         "skipped": "muted"}


async def _tenants(session: Session, principal: Principal) -> list[Any]:
    return list((await session.execute(select(Tenant.id, Tenant.name).where(
        principal.scope(Perm.webhooks_manage).tenant_ids_query()).order_by(Tenant.path))).all())


async def _list(request: Request, session: Session, principal: Principal, *,
                error: str | None = None, form: dict[str, Any] | None = None,
                status_code: int = 200) -> Response:
    endpoints = await service.list_endpoints(session, principal)
    names = dict((await session.execute(select(Tenant.id, Tenant.name).where(
        Tenant.id.in_({e.tenant_id for e in endpoints} or {0})))).all())
    tenants = (await _tenants(session, principal)
               if principal.can(Perm.webhooks_manage) else [])
    return render(request, "webhooks/list.html", status_code=status_code, endpoints=endpoints,
                  counts=await service.delivery_counts(session, [e.id for e in endpoints]),
                  names=names, tenants=tenants, event_types=list(EVENT_TYPES), error=error,
                  form=form or {}, tones=TONES)


@router.get("/webhooks", response_class=HTMLResponse)
async def list_page(request: Request, session: Session, principal: Reader) -> Response:
    return await _list(request, session, principal)


@router.post("/webhooks")
async def create(request: Request, session: Session, principal: Manager,
                 tenant_id: Annotated[DbId, Form()], url: Annotated[str, Form(max_length=2000)],
                 events: Annotated[list[str] | None, Form()] = None,
                 description: Annotated[str, Form(max_length=200)] = "") -> Response:
    try:
        endpoint = await service.create_endpoint(session, principal, tenant_id=tenant_id,
                                                 url=url, events=events or [],
                                                 description=description)
    except DomainError as exc:  # refused before anything was written: show the form again
        from probity.i18n import translator
        from probity.web.render import locale_of

        message = exc.localized(translator(locale_of(request)))
        return await _list(request, session, principal, error=message, status_code=422,
                           form={"tenant_id": tenant_id, "url": url, "events": events or [],
                                 "description": description})
    await commit(session)
    return RedirectResponse(f"/webhooks/{endpoint.id}", status_code=303)


@router.get("/webhooks/{endpoint_id}", response_class=HTMLResponse)
async def endpoint_page(request: Request, endpoint_id: DbId, session: Session,
                        principal: Reader) -> Response:
    endpoint = await service.get_endpoint(session, principal, endpoint_id)
    deliveries = await service.list_deliveries(session, principal, endpoint_id, limit=100)
    tenant = await session.get(Tenant, endpoint.tenant_id)
    may_manage = principal.scope(Perm.webhooks_manage).covers_path(tenant.path if tenant else "")
    return render(request, "webhooks/endpoint.html", endpoint=endpoint, deliveries=deliveries,
                  tenant=tenant, may_manage=may_manage, tones=TONES,
                  previous_valid=bool(endpoint.previous_secret_expires_at
                                      and endpoint.previous_secret_expires_at > utcnow()))


@router.post("/webhooks/{endpoint_id}/test")
async def test(endpoint_id: DbId, session: Session, principal: Manager) -> Response:
    await service.send_test(session, principal, endpoint_id)
    await commit(session)
    return RedirectResponse(f"/webhooks/{endpoint_id}", status_code=303)


@router.post("/webhooks/{endpoint_id}/rotate")
async def rotate(endpoint_id: DbId, session: Session, principal: Manager) -> Response:
    await service.rotate_secret(session, principal, endpoint_id)
    await commit(session)
    return RedirectResponse(f"/webhooks/{endpoint_id}", status_code=303)


@router.post("/webhooks/{endpoint_id}/toggle")
async def toggle(endpoint_id: DbId, session: Session, principal: Manager) -> Response:
    endpoint = await service.get_endpoint(session, principal, endpoint_id, Perm.webhooks_manage)
    await service.update_endpoint(session, principal, endpoint_id, active=not endpoint.active)
    await commit(session)
    return RedirectResponse(f"/webhooks/{endpoint_id}", status_code=303)


@router.get("/webhooks/deliveries/{delivery_id}", response_class=HTMLResponse)
async def delivery_page(request: Request, delivery_id: DbId, session: Session,
                        principal: Reader) -> Response:
    delivery = await service.get_delivery(session, principal, delivery_id)
    attempts = await service.list_attempts(session, delivery.id)
    tenant = await session.get(Tenant, delivery.tenant_id)
    may_manage = principal.scope(Perm.webhooks_manage).covers_path(tenant.path if tenant else "")
    return render(request, "webhooks/delivery.html", delivery=delivery, attempts=attempts,
                  may_manage=may_manage, tones=TONES)


@router.post("/webhooks/deliveries/{delivery_id}/replay")
async def replay(delivery_id: DbId, session: Session, principal: Manager) -> Response:
    replayed = await service.replay_delivery(session, principal, delivery_id)
    await commit(session)
    return RedirectResponse(f"/webhooks/deliveries/{replayed.id}", status_code=303)
