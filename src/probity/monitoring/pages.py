"""Monitoring pages: rules (act on a finding from the dashboard's form, in force, effect, end
early) and the QA review queue with its checklist."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from probity.auth.deps import Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.monitoring import qa, service

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(require(Perm.analytics_read))]
Manager = Annotated[Principal, Depends(require(Perm.monitoring_manage))]
Reviewer = Annotated[Principal, Depends(require(Perm.qa_review))]


def _render(request: Request, template: str, **context: Any) -> HTMLResponse:
    from probity.web.render import render

    return render(request, template, **context)


@router.get("/monitoring", response_class=HTMLResponse)
async def rules_page(request: Request, session: Session, principal: Reader) -> Response:
    rules = await service.list_rules(session, principal)
    return _render(request, "monitoring/rules.html", rules=rules,
                   statuses={r.id: service.status(r) for r in rules})


@router.post("/monitoring/rules")
async def create_rule(session: Session, principal: Manager,
                      finding_key: Annotated[str, Form(max_length=80)] = "",
                      title: Annotated[str, Form(max_length=200)] = "",
                      start: Annotated[str | None, Form(alias="from", max_length=10)] = None,
                      end: Annotated[str | None, Form(alias="to", max_length=10)] = None,
                      tenant: Annotated[int | None, Form(gt=0, lt=2**31)] = None,
                      tighten: Annotated[str, Form(max_length=4)] = "",
                      notify_duty: Annotated[str, Form(max_length=4)] = "",
                      qa_sample_rate: Annotated[float, Form(ge=0, le=1)] = 0.0,
                      expires_on: Annotated[str, Form(max_length=10)] = "",
                      review_on: Annotated[str, Form(max_length=10)] = "",
                      ) -> Response:
    rule = await service.create_rule(session, principal, service.RuleInput(
        finding_key=finding_key or None, title=title, start=start, end=end, tenant=tenant,
        tighten=bool(tighten), qa_sample_rate=qa_sample_rate, notify_duty=bool(notify_duty),
        expires_on=expires_on or None, review_on=review_on or None))
    rule_id = rule.id
    await commit(session)
    return RedirectResponse(f"/monitoring/rules/{rule_id}", status_code=303)


@router.get("/monitoring/rules/{rule_id}", response_class=HTMLResponse)
async def rule_page(rule_id: int, request: Request, session: Session, principal: Reader
                    ) -> Response:
    rule = await service.get_rule(session, principal, rule_id)
    return _render(request, "monitoring/rule.html", rule=rule, status=service.status(rule),
                   effect=await service.effect(session, rule),
                   can_end=principal.can(Perm.monitoring_manage))


@router.post("/monitoring/rules/{rule_id}/end")
async def end_rule(rule_id: int, session: Session, principal: Manager) -> Response:
    await service.end_rule(session, principal, rule_id)
    await commit(session)
    return RedirectResponse(f"/monitoring/rules/{rule_id}", status_code=303)


@router.get("/qa", response_class=HTMLResponse)
async def qa_queue(request: Request, session: Session, principal: Reviewer,
                   status: str = "open") -> Response:
    status = status if status in ("open", "done", "all") else "open"
    return _render(request, "monitoring/qa.html", rows=await qa.queue(session, principal,
                                                                       status=status),
                   status=status)


@router.get("/qa/{review_id}", response_class=HTMLResponse)
async def qa_review(review_id: int, request: Request, session: Session, principal: Reviewer
                    ) -> Response:
    review = await qa.get_review(session, principal, review_id)
    return _render(request, "monitoring/qa_review.html", review=review,
                   checklist=qa.CHECKLIST)


@router.post("/qa/{review_id}")
async def qa_complete(review_id: int, request: Request, session: Session,
                      principal: Reviewer) -> Response:
    form = await request.form()
    answers = {item: str(form.get(item, "")) for item in qa.CHECKLIST}
    await qa.complete(session, principal, review_id, answers, str(form.get("outcome", "")),
                      str(form.get("note", ""))[:2000])
    await commit(session)
    return RedirectResponse("/qa", status_code=303)
