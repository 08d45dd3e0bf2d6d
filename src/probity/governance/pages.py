"""Group standards pages: the sections of a tenant with origin and lock per field, editing with
a diff preview per subsidiary, version history and rollback."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.deps import Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.errors import DomainError, Forbidden, InvalidInput, NotFound
from probity.governance import compare_pages, forms, policy_pages, rules_pages, service
from probity.governance.registry import SectionSpec, all_sections, get_section
from probity.i18n import translator
from probity.models import Tenant
from probity.web.render import locale_of, render

router = APIRouter(include_in_schema=False)
# The screening policy's own page (and replays) first: its paths are more specific.
router.include_router(policy_pages.router)
router.include_router(compare_pages.router)
router.include_router(rules_pages.router)
SettingsReader = Annotated[Principal, Depends(require(Perm.settings_read))]


async def _tenants(session: AsyncSession, principal: Principal) -> list[Tenant]:
    q = select(Tenant).where(principal.scope(Perm.settings_read).tenant_ids_query())
    return list((await session.scalars(q.order_by(Tenant.path))).all())


def _home(principal: Principal, tenants: list[Tenant]) -> int:
    ids = {t.id for t in tenants}
    if principal.tenant_id in ids:
        return principal.tenant_id
    if not tenants:
        raise NotFound("no tenant in your scope")
    return tenants[0].id


@router.get("/standards", response_class=HTMLResponse)
async def overview(request: Request, session: Session, principal: SettingsReader,
                   tenant_id: int | None = None) -> Response:
    tenants = await _tenants(session, principal)
    tid = tenant_id or _home(principal, tenants)
    rows = []
    for spec in all_sections():
        if not principal.can(spec.read):
            continue
        eff = await service.read_settings(session, principal, tid, spec.name)
        fields = eff.fields.values()
        rows.append({"spec": spec, "own": sum(f.origin == "own" for f in fields),
                     "locked": sum(f.locked for f in fields),
                     "locks_below": sum(f.locks_below for f in fields),
                     "version": eff.own_version})
    current = next((t for t in tenants if t.id == tid), None)
    return render(request, "governance/overview.html", tenants=tenants, tenant=current,
                  rows=rows)


def _can_manage(principal: Principal, spec: SectionSpec, tenant_path: str) -> bool:
    return principal.can(spec.manage) and principal.scope(spec.manage).covers_path(tenant_path)


async def _section_page(request: Request, session: AsyncSession, principal: Principal,
                        tenant_id: int, section: str, *, status_code: int = 200,
                        error: str | None = None, saved: int | None = None) -> Response:
    spec = get_section(section)
    eff = await service.read_settings(session, principal, tenant_id, section)
    tenants = await _tenants(session, principal)
    tenant = next(t for t in tenants if t.id == tenant_id)
    has_children = any(t.parent_id == tenant.id for t in tenants)
    widgets = {name: forms.widget_for(info) for name, info in spec.model.model_fields.items()}
    return render(request, "governance/section.html", status_code=status_code, spec=spec,
                  eff=eff, tenant=tenant, tenants=tenants, widgets=widgets,
                  values=eff.values.model_dump(mode="json"),
                  can_manage=_can_manage(principal, spec, tenant.path),
                  has_children=has_children, error=error, saved=saved, show=forms.display,
                  sections=[s for s in all_sections() if principal.can(s.read)])


@router.get("/standards/{tenant_id}/{section}", response_class=HTMLResponse)
async def section_page(request: Request, tenant_id: int, section: str, session: Session,
                       principal: SettingsReader, saved: int | None = None) -> Response:
    return await _section_page(request, session, principal, tenant_id, section, saved=saved)


async def _submitted(request: Request, session: AsyncSession, principal: Principal,
                     tenant_id: int, section: str) -> forms.Submitted:
    spec = get_section(section)
    eff = await service.read_settings(session, principal, tenant_id, section)
    raw = await request.form()
    form = {k: [str(v) for v in raw.getlist(k)] for k in raw}
    current = {n: f.value for n, f in eff.fields.items()}
    current_json = eff.values.model_dump(mode="json")
    current.update({n: current_json[n] for n in current})
    return forms.parse_form(
        spec, form, current, {n for n, f in eff.fields.items() if f.origin == "own"},
        {n for n, f in eff.fields.items() if f.locks_below})


def _message(request: Request, exc: DomainError) -> str:
    return exc.localized(translator(locale_of(request)))


@router.post("/standards/{tenant_id}/{section}/preview", response_class=HTMLResponse)
async def preview(request: Request, tenant_id: int, section: str, session: Session,
                  principal: SettingsReader) -> Response:
    """What the submitted form would change, per tenant of the subtree; nothing is written."""
    sub = await _submitted(request, session, principal, tenant_id, section)
    try:
        diffs = await service.preview_change(session, principal, tenant_id, section, sub.values,
                                             sub.locks, clear=sub.clear)
    except (InvalidInput, Forbidden) as exc:
        return await _section_page(request, session, principal, tenant_id, section,
                                   status_code=exc.status_code, error=_message(request, exc))
    spec = get_section(section)
    tenant = await session.get(Tenant, tenant_id)
    payload = json.dumps({"values": sub.values, "clear": sub.clear, "locks": sub.locks},
                         ensure_ascii=False)
    return render(request, "governance/preview.html", spec=spec, tenant=tenant, diffs=diffs,
                  sub=sub, payload=payload, show=forms.display)


@router.post("/standards/{tenant_id}/{section}", response_class=HTMLResponse)
async def apply(request: Request, tenant_id: int, section: str, session: Session,
                principal: SettingsReader, payload: Annotated[str, Form()] = "",
                reason: Annotated[str, Form()] = "") -> Response:
    """Publish a change: the payload of a preview, or the section form itself (the page
    offers the preview first; a direct post gets the same checks)."""
    if payload:
        try:
            data: dict[str, Any] = json.loads(payload)
        except ValueError as exc:
            raise InvalidInput("the change could not be read; preview it again") from exc
        sub = forms.Submitted(dict(data.get("values") or {}), list(data.get("clear") or []),
                              dict(data.get("locks") or {}))
    else:
        sub = await _submitted(request, session, principal, tenant_id, section)
    try:
        row = await service.change_settings(session, principal, tenant_id, section, sub.values,
                                            sub.locks, reason, clear=sub.clear)
    except (InvalidInput, Forbidden) as exc:  # refused before anything was written
        return await _section_page(request, session, principal, tenant_id, section,
                                   status_code=exc.status_code, error=_message(request, exc))
    await commit(session)
    return RedirectResponse(f"/standards/{tenant_id}/{section}?saved={row.version}",
                            status_code=303)


@router.get("/standards/{tenant_id}/{section}/history", response_class=HTMLResponse)
async def history(request: Request, tenant_id: int, section: str, session: Session,
                  principal: SettingsReader) -> Response:
    spec = get_section(section)
    rows = await service.settings_history(session, principal, tenant_id, section)
    tenant = await session.get(Tenant, tenant_id)
    assert tenant is not None
    changes = []
    for i, row in enumerate(rows):
        prev = rows[i + 1] if i + 1 < len(rows) else None
        changes.append(service.version_changes(prev, row))
    return render(request, "governance/history.html", spec=spec, tenant=tenant,
                  rows=list(zip(rows, changes, strict=True)), show=forms.display,
                  can_manage=_can_manage(principal, spec, tenant.path))


@router.post("/standards/{tenant_id}/{section}/rollback")
async def rollback(tenant_id: int, section: str, session: Session, principal: SettingsReader,
                   version: Annotated[int, Form()], reason: Annotated[str, Form()] = ""
                   ) -> Response:
    row = await service.rollback_settings(session, principal, tenant_id, section, version,
                                          reason)
    await commit(session)
    return RedirectResponse(f"/standards/{tenant_id}/{section}?saved={row.version}",
                            status_code=303)
