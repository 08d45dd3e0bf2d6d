"""Recruitment pages: requisitions, a requisition's pipeline, a candidate (stage, feedback,
résumé, hire). Forms re-render with a localised error on bad input."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from probity.auth.deps import Session, require
from probity.auth.deps import commit as commit_tx
from probity.auth.permissions import Perm, Principal
from probity.errors import DomainError, NotFound
from probity.i18n import translator
from probity.models.recruitment import CandidateStage
from probity.org import service as org_service
from probity.recruitment import resumes, schemas, service
from probity.web.form_errors import field_errors
from probity.web.render import locale_of, render, today_in

router = APIRouter(prefix="/recruitment", include_in_schema=False)

Reader = Annotated[Principal, Depends(require(Perm.recruitment_read))]
Manager = Annotated[Principal, Depends(require(Perm.recruitment_manage))]
Interviewer = Annotated[Principal, Depends(require(Perm.recruitment_interview))]
STAGES = [s.value for s in CandidateStage]


# Pydantic error types → English msgids (translated per locale); anything else is "invalid".
FIELD_ERRORS = {
    "missing": "{field}: required",
    "greater_than_equal": "{field}: must be at least {ge}",
    "less_than_equal": "{field}: must be at most {le}",
    "greater_than": "{field}: must be more than {gt}",
    "string_too_short": "{field}: too short",
    "string_too_long": "{field}: too long (at most {max_length} characters)",
    "string_pattern_mismatch": "{field}: invalid format",
    "value_error": "{field}: invalid value",
}


def form_error(request: Request, exc: ValidationError | DomainError) -> str:
    """A localised message for a failed form (shared by the HR pages)."""
    _ = translator(locale_of(request))
    if isinstance(exc, DomainError):
        return exc.localized(_)
    e = exc.errors()[0]
    field = _(".".join(str(p) for p in e["loc"]) or "input")
    ctx = {k: v for k, v in (e.get("ctx") or {}).items() if isinstance(v, int | float | str)}
    template = FIELD_ERRORS.get(e["type"])
    if template is None or not set(re.findall(r"{(\w+)}", template)) <= set(ctx) | {"field"}:
        return _("{field}: invalid value", field=field)
    return _(template, field=field, **ctx)


async def _lookups(session: Session, principal: Principal) -> dict[str, Any]:
    return {
        "tenants": {t.id: t.name for t in await org_service.list_tenants(session, principal)},
        "units": {u.id: u.name for u in await org_service.list_org_units(session, principal,
                                                                         None)},
        "positions": {p.id: f"{p.title} ({p.grade})"
                      for p in await service.positions_in_reach(session, principal)},
    }


@router.get("", response_class=HTMLResponse)
async def requisitions(request: Request, session: Session, principal: Reader,
                       status: str | None = "open", error: str | None = None,
                       values: dict[str, Any] | None = None,
                       errors: dict[str, str] | None = None) -> Response:
    rows = await service.list_requisitions(session, principal, status or None)
    counts = await service.pipeline_counts(session, principal)
    return render(request, "recruitment/requisitions.html", rows=rows, counts=counts,
                  stages=STAGES, status=status or "", error=error, values=values or {},
                  errors=errors or {}, can_manage=principal.can(Perm.recruitment_manage),
                  **await _lookups(session, principal))


@router.post("", response_class=HTMLResponse)
async def create_requisition(
    request: Request, session: Session, principal: Manager,
    tenant_id: Annotated[int, Form()], position_id: Annotated[int, Form()],
    title: Annotated[str, Form()] = "", headcount: Annotated[str, Form()] = "1",
    org_unit_id: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "",
) -> Response:
    values = {"tenant_id": tenant_id, "position_id": position_id, "title": title,
              "headcount": headcount, "org_unit_id": org_unit_id or None, "reason": reason}
    try:
        req = await service.create_requisition(
            session, principal, schemas.RequisitionCreate.model_validate(values))
        await commit_tx(session)
    except (ValidationError, DomainError) as exc:
        await session.rollback()
        top, errors = _split(request, exc)
        return await _again(requisitions(request, session, principal, "open", top, values,
                                         errors))
    return RedirectResponse(f"/recruitment/requisitions/{req.id}", status_code=303)


# Domain error codes → the form field they are about.
CODE_FIELDS = {"duplicate_candidate": "phone", "unknown_org_unit": "org_unit_id",
               "duplicate_code": "employee_no"}


def _split(request: Request, exc: ValidationError | DomainError
           ) -> tuple[str | None, dict[str, str]]:
    """(the message above the form, each field's message beside it)."""
    errors = field_errors(request, exc, code_fields=CODE_FIELDS)
    return errors.pop("_form", None), errors


async def _again(page: Any) -> Response:
    resp: Response = await page
    resp.status_code = 422
    return resp


@router.get("/requisitions/{req_id}", response_class=HTMLResponse)
async def requisition(request: Request, req_id: int, session: Session, principal: Reader,
                      error: str | None = None, values: dict[str, Any] | None = None,
                      errors: dict[str, str] | None = None) -> Response:
    req = await service.get_requisition(session, principal, req_id)
    cands = await service.list_candidates(session, principal, requisition_id=req.id)
    by_stage: dict[str, list[schemas.CandidateRead]] = {s: [] for s in STAGES}
    for c in cands:
        by_stage[c.stage.value].append(service.candidate_read(c, principal))
    return render(request, "recruitment/requisition.html", req=req, by_stage=by_stage,
                  stages=STAGES, error=error, values=values or {}, errors=errors or {},
                  can_manage=principal.can(Perm.recruitment_manage),
                  **await _lookups(session, principal))


@router.post("/requisitions/{req_id}/candidates", response_class=HTMLResponse)
async def add_candidate(
    request: Request, req_id: int, session: Session, principal: Manager,
    name: Annotated[str, Form()] = "", phone: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "", source: Annotated[str, Form()] = "",
) -> Response:
    values = {"requisition_id": req_id, "name": name, "phone": phone or None,
              "email": email or None, "source": source}
    try:
        cand, _dups = await service.create_candidate(
            session, principal, schemas.CandidateCreate.model_validate(values))
        await commit_tx(session)
    except (ValidationError, DomainError) as exc:
        await session.rollback()
        if isinstance(exc, NotFound):
            raise
        top, errors = _split(request, exc)
        return await _again(requisition(request, req_id, session, principal, top, values,
                                        errors))
    return RedirectResponse(f"/recruitment/candidates/{cand.id}", status_code=303)


@router.post("/requisitions/{req_id}/close", response_class=HTMLResponse)
async def close_requisition(request: Request, req_id: int, session: Session,
                            principal: Manager) -> Response:
    try:
        await service.close_requisition(session, principal, req_id)
        await commit_tx(session)
    except DomainError as exc:
        await session.rollback()
        if isinstance(exc, NotFound):
            raise
        return await _again(requisition(request, req_id, session, principal,
                                        form_error(request, exc)))
    return RedirectResponse(f"/recruitment/requisitions/{req_id}", status_code=303)


@router.get("/candidates/{cand_id}", response_class=HTMLResponse)
async def candidate(request: Request, cand_id: int, session: Session, principal: Reader,
                    error: str | None = None, errors: dict[str, str] | None = None,
                    values: dict[str, Any] | None = None) -> Response:
    cand = await service.get_candidate(session, principal, cand_id)
    req = await service.get_requisition(session, principal, cand.requisition_id)
    dups = await service.find_duplicates(session, cand.tenant_id, cand.phone, cand.email,
                                         exclude_id=cand.id)
    events, feedback = await service.candidate_history(session, cand)
    nxt = sorted(s.value for s in service.TRANSITIONS[cand.stage] if s != CandidateStage.hired)
    return render(request, "recruitment/candidate.html",
                  c=service.candidate_read(cand, principal, dups), req=req, events=events,
                  feedback=feedback, next_stages=nxt, error=error, today=today_in(request),
                  errors=errors or {}, values=values or {},
                  can_manage=principal.can(Perm.recruitment_manage),
                  can_interview=principal.can(Perm.recruitment_interview),
                  **await _lookups(session, principal))


async def _candidate_action(request: Request, cand_id: int, session: Session,
                            principal: Principal, action: Any,
                            values: dict[str, Any] | None = None) -> Response:
    """A form of the candidate page; with `values` (the hire form) each field's problem is
    shown beside it, otherwise above."""
    try:
        await action()
        await commit_tx(session)
    except (ValidationError, DomainError) as exc:
        await session.rollback()
        if isinstance(exc, NotFound):
            raise
        if values is None:
            return await _again(candidate(request, cand_id, session, principal,
                                          form_error(request, exc)))
        top, errors = _split(request, exc)
        return await _again(candidate(request, cand_id, session, principal, top, errors,
                                      values))
    return RedirectResponse(f"/recruitment/candidates/{cand_id}", status_code=303)


def _validated(schema: type[BaseModel], values: dict[str, Any]) -> Any:
    return schema.model_validate(values)


@router.post("/candidates/{cand_id}/stage", response_class=HTMLResponse)
async def move(request: Request, cand_id: int, session: Session, principal: Manager,
               to_stage: Annotated[str, Form()], note: Annotated[str, Form()] = "") -> Response:
    async def act() -> None:
        await service.move_candidate(session, principal, cand_id, _validated(
            schemas.StageChange, {"to_stage": to_stage, "note": note}))

    return await _candidate_action(request, cand_id, session, principal, act)


@router.post("/candidates/{cand_id}/feedback", response_class=HTMLResponse)
async def feedback(request: Request, cand_id: int, session: Session, principal: Interviewer,
                   rating: Annotated[int, Form()], recommendation: Annotated[str, Form()],
                   round: Annotated[int, Form()] = 1, notes: Annotated[str, Form()] = ""
                   ) -> Response:
    async def act() -> None:
        await service.add_feedback(session, principal, cand_id, _validated(
            schemas.FeedbackCreate, {"rating": rating, "recommendation": recommendation,
                                     "round": round, "notes": notes}))

    return await _candidate_action(request, cand_id, session, principal, act)


@router.post("/candidates/{cand_id}/resume", response_class=HTMLResponse)
async def resume(request: Request, cand_id: int, session: Session, principal: Manager,
                 file: UploadFile) -> Response:
    data = await file.read(resumes.MAX_RESUME_BYTES + 1)

    async def act() -> None:
        await service.attach_resume(session, principal, cand_id, data, file.filename or "",
                                    request.app.state.settings.attachments_dir)

    return await _candidate_action(request, cand_id, session, principal, act)


@router.post("/candidates/{cand_id}/hire", response_class=HTMLResponse)
async def hire(request: Request, cand_id: int, session: Session, principal: Manager,
               employee_no: Annotated[str, Form()] = "", hire_date: Annotated[str, Form()] = "",
               probation_months: Annotated[str, Form()] = "3") -> Response:
    values = {"employee_no": employee_no, "hire_date": hire_date,
              "probation_months": probation_months}

    async def act() -> None:
        await service.hire_candidate(session, principal, cand_id, _validated(
            schemas.HireRequest, values))

    return await _candidate_action(request, cand_id, session, principal, act, values)
