"""The screening policy page of group standards: the effective policy of a tenant with what
each level contributes and HQ's locks, editing the tenant's own overlay, a replay before
publishing (progress, the decisions that would change), publishing, and retro-screening."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.deps import PolicyManager, PolicyReader, Session, commit
from probity.auth.permissions import Perm, Principal
from probity.errors import DomainError, InvalidInput
from probity.governance import forms, replays, service
from probity.i18n import translator
from probity.models import Tenant
from probity.policy import service as policy
from probity.policy.schemas import PolicyOverlay, PolicyUpdate
from probity.web.render import locale_of, render, today_in

router = APIRouter(include_in_schema=False)
PARTS = policy.LOCKABLE
ROLES = ("customer", "agent")
CATEGORIES = ("contact", "bribe", "payment")


def _lines(text: str) -> list[str]:
    return [x.strip() for x in text.splitlines() if x.strip()]


def overlay_from_form(form: dict[str, str]) -> PolicyOverlay:
    """The overlay the form describes; 422 naming the part when it is not valid."""
    lexicon = []
    for line in _lines(form.get("lexicon", "")):
        term, _, rest = line.partition(",")
        category, _, severity = rest.partition(",")
        lexicon.append({"term": term.strip(), "category": category.strip() or "bribe",
                        "severity": int(severity) if severity.strip().isdigit() else 3})
    data: dict[str, Any] = {"lexicon": lexicon}
    for part in ("allow_terms", "allow_numbers", "allow_qr", "allow_domains"):
        data[part] = _lines(form.get(part, ""))
    if form.get("warn") and form.get("block"):
        data["thresholds"] = {"warn": int(form["warn"]), "block": int(form["block"])}
    actions: dict[str, dict[str, str]] = {}
    for role in ROLES:
        for cat in CATEGORIES:
            value = form.get(f"action.{role}.{cat}")
            if value:
                actions.setdefault(role, {})[cat] = value
    if actions:
        data["actions"] = actions
    try:
        return PolicyOverlay.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = "screening." + ".".join(str(p) for p in err["loc"][:1])
        raise InvalidInput(f"{field}: {err['msg']}", code="invalid_policy",
                           template="{field}: invalid value ({msg})",
                           params={"field": field, "msg": str(err["msg"])}, field=field
                           ) from exc


async def _page(request: Request, session: AsyncSession, principal: Principal, tenant_id: int,
                *, status_code: int = 200, error: str | None = None,
                draft: dict[str, Any] | None = None) -> Response:
    chain, spec = await policy.get_effective(session, principal, tenant_id)
    eff = await service.read_settings(session, principal, tenant_id, "screening")
    tenant = await session.get(Tenant, tenant_id)
    assert tenant is not None
    names = {t.id: t for t in [await session.get(Tenant, i) for i in chain.path] if t}
    locked = chain.locked_above(tenant_id)
    contributions = {part: [] for part in PARTS}  # type: dict[str, list[dict[str, Any]]]
    own: dict[str, Any] = {}
    for v in chain.versions:
        overlay = PolicyOverlay.model_validate(v.overlay).model_dump(mode="json")
        hidden = chain.locked_above(v.tenant_id)
        for part in PARTS:
            value = overlay[part]
            if value:
                contributions[part].append({"tenant": names[v.tenant_id], "value": value,
                                            "ignored": part in hidden})
        if v.tenant_id == tenant_id:
            own = overlay
    can_manage = (principal.can(Perm.policy_manage)
                  and principal.scope(Perm.policy_manage).covers_path(tenant.path))
    runs = await replays.list_replays(session, principal, tenant_id)
    return render(request, "governance/policy.html", status_code=status_code, tenant=tenant,
                  chain=chain, spec=spec, eff=eff, locked=locked, names=names,
                  contributions=contributions, own=draft or own, can_manage=can_manage,
                  has_children=await _has_children(session, tenant), parts=PARTS,
                  roles=ROLES, categories=CATEGORIES, error=error, runs=runs,
                  show=forms.display, today=today_in(request),
                  month_ago=today_in(request) - timedelta(days=30))


async def _has_children(session: AsyncSession, tenant: Tenant) -> bool:
    from sqlalchemy import select

    return bool(await session.scalar(select(Tenant.id).where(Tenant.parent_id == tenant.id)
                                     .limit(1)))


def _message(request: Request, exc: DomainError) -> str:
    return exc.localized(translator(locale_of(request)))


async def _form(request: Request) -> dict[str, str]:
    raw = await request.form()
    return {k: str(v) for k, v in raw.items()}


@router.get("/standards/{tenant_id}/screening", response_class=HTMLResponse)
async def policy_page(request: Request, tenant_id: int, session: Session,
                      principal: PolicyReader) -> Response:
    return await _page(request, session, principal, tenant_id)


@router.post("/standards/{tenant_id}/screening/replay", response_class=HTMLResponse)
async def replay(request: Request, tenant_id: int, session: Session,
                 principal: PolicyManager) -> Response:
    """Start a replay of the overlay in the form (a background job); go to its page."""
    form = await _form(request)
    try:
        overlay = overlay_from_form(form)
        row = await replays.start_replay(session, principal, tenant_id, overlay)
    except (InvalidInput, DomainError) as exc:
        if exc.status_code >= 500 or exc.status_code == 404:
            raise
        return await _page(request, session, principal, tenant_id, status_code=exc.status_code,
                           error=_message(request, exc), draft=_draft(form))
    await commit(session)
    return RedirectResponse(f"/standards/replays/{row.id}", status_code=303)


def _draft(form: dict[str, str]) -> dict[str, Any]:
    try:
        return overlay_from_form(form).model_dump(mode="json")
    except InvalidInput:
        return {}


@router.get("/standards/replays/{replay_id}", response_class=HTMLResponse)
async def replay_page(request: Request, replay_id: int, session: Session,
                      principal: PolicyReader) -> Response:
    row = await replays.get_replay(session, principal, replay_id)
    view = await replays.replay_view(session, principal, row)
    tenant = await session.get(Tenant, row.tenant_id)
    template = ("governance/_replay_progress.html" if request.headers.get("hx-request")
                else "governance/replay.html")
    can_publish = (row.kind == "replay" and principal.can(Perm.policy_manage) and tenant
                   is not None and principal.scope(Perm.policy_manage).covers_path(tenant.path))
    return render(request, template, run=view, tenant=tenant, can_publish=can_publish,
                  overlay=json.dumps(row.overlay or {}, ensure_ascii=False))


@router.post("/standards/{tenant_id}/screening/publish", response_class=HTMLResponse)
async def publish(request: Request, tenant_id: int, session: Session, principal: PolicyManager,
                  overlay: Annotated[str, Form()] = "", replay_id: Annotated[str, Form()] = "",
                  override_reason: Annotated[str, Form()] = "",
                  note: Annotated[str, Form()] = "") -> Response:
    """Publish an overlay: from a replay's page (its replay id) or from the policy form with
    an override reason. The gate answers 409 otherwise."""
    try:
        if overlay:
            data = PolicyOverlay.model_validate(json.loads(overlay)).model_dump()
        else:
            data = overlay_from_form(await _form(request)).model_dump()
        update = PolicyUpdate.model_validate({
            **data, "note": note or None,
            "replay_id": int(replay_id) if replay_id.isdigit() else None,
            "override_reason": override_reason.strip() or None})
        await policy.set_policy(session, principal, tenant_id, update)
    except (ValueError, ValidationError) as exc:
        raise InvalidInput("the policy could not be read; start again from the policy page",
                           code="invalid_policy") from exc
    except DomainError as exc:
        if exc.status_code == 404:
            raise
        return await _page(request, session, principal, tenant_id, status_code=exc.status_code,
                           error=_message(request, exc))
    await commit(session)
    return RedirectResponse(f"/standards/{tenant_id}/screening", status_code=303)


@router.post("/standards/{tenant_id}/screening/retro")
async def retro(request: Request, tenant_id: int, session: Session, principal: PolicyManager,
                since: Annotated[str, Form()], until: Annotated[str, Form()]) -> Response:
    try:
        start = datetime.combine(datetime.fromisoformat(since).date(), time(), tzinfo=UTC)
        end = datetime.combine(datetime.fromisoformat(until).date(), time(),
                               tzinfo=UTC) + timedelta(days=1)
    except ValueError as exc:
        raise InvalidInput("dates as YYYY-MM-DD", code="invalid_range") from exc
    row = await replays.start_retro(session, principal, tenant_id, start, end)
    await commit(session)
    return RedirectResponse(f"/standards/replays/{row.id}", status_code=303)
