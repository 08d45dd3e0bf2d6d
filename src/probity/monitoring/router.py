"""JSON API for monitoring rules (act on a finding, list, end, effect) and the QA queue."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from probity.auth.deps import Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.models import MonitoringRule, QaReview
from probity.monitoring import qa, service

router = APIRouter(prefix="/api/v1", tags=["monitoring"])
Reader = Annotated[Principal, Depends(require(Perm.analytics_read))]
Manager = Annotated[Principal, Depends(require(Perm.monitoring_manage))]
Reviewer = Annotated[Principal, Depends(require(Perm.qa_review))]


class RuleCreate(BaseModel):
    finding_key: str | None = Field(default=None, max_length=80)
    title: str = Field(default="", max_length=200)
    start: str | None = Field(default=None, alias="from", max_length=10)
    end: str | None = Field(default=None, alias="to", max_length=10)
    tenant: int | None = Field(default=None, gt=0, lt=2**31)
    tighten: bool = False
    qa_sample_rate: float = Field(default=0.0, ge=0, le=1)
    notify_duty: bool = False
    expires_on: str | None = Field(default=None, max_length=10,
                                   description="last local day in force (required)")
    review_on: str | None = Field(default=None, max_length=10)
    note: str = Field(default="", max_length=2000)


class RuleRead(BaseModel):
    id: int
    tenant_id: int
    title: str
    finding_key: str | None
    cohort: dict[str, Any]
    tighten: bool
    qa_sample_rate: float
    notify_duty: bool
    starts_at: datetime
    expires_at: datetime
    review_at: datetime
    active: bool
    ended_at: datetime | None
    status: str


class ReviewDone(BaseModel):
    answers: dict[str, str] = Field(default_factory=dict)
    outcome: str = Field(max_length=16)
    note: str = Field(default="", max_length=2000)


def rule_read(rule: MonitoringRule) -> RuleRead:
    return RuleRead(id=rule.id, tenant_id=rule.tenant_id, title=rule.title,
                    finding_key=rule.finding_key, cohort=rule.cohort, tighten=rule.tighten,
                    qa_sample_rate=rule.qa_sample_rate, notify_duty=rule.notify_duty,
                    starts_at=rule.starts_at, expires_at=rule.expires_at,
                    review_at=rule.review_at, active=rule.active, ended_at=rule.ended_at,
                    status=service.status(rule))


def review_read(r: QaReview) -> dict[str, Any]:
    return {"id": r.id, "tenant_id": r.tenant_id, "team_id": r.org_unit_id,
            "rule_id": r.rule_id, "conversation_id": r.conversation_id, "status": r.status,
            "answers": r.answers, "outcome": r.outcome, "note": r.note,
            "created_at": r.created_at, "reviewed_at": r.reviewed_at}


@router.get("/monitoring/rules", response_model=list[RuleRead])
async def list_rules(session: Session, principal: Reader) -> list[RuleRead]:
    return [rule_read(r) for r in await service.list_rules(session, principal)]


@router.post("/monitoring/rules", response_model=RuleRead, status_code=201)
async def create_rule(body: RuleCreate, session: Session, principal: Manager) -> RuleRead:
    """Act on a finding: a time-boxed rule (422 without `expires_on`)."""
    rule = await service.create_rule(session, principal, service.RuleInput(
        finding_key=body.finding_key, title=body.title, start=body.start, end=body.end,
        tenant=body.tenant, tighten=body.tighten, qa_sample_rate=body.qa_sample_rate,
        notify_duty=body.notify_duty, expires_on=body.expires_on, review_on=body.review_on,
        note=body.note))
    out = rule_read(rule)
    await commit(session)
    return out


@router.get("/monitoring/rules/{rule_id}")
async def get_rule(rule_id: int, session: Session, principal: Reader) -> dict[str, Any]:
    rule = await service.get_rule(session, principal, rule_id)
    return {**rule_read(rule).model_dump(mode="json"),
            "effect": await service.effect(session, rule)}


@router.post("/monitoring/rules/{rule_id}/end", response_model=RuleRead)
async def end_rule(rule_id: int, session: Session, principal: Manager) -> RuleRead:
    rule = await service.end_rule(session, principal, rule_id)
    out = rule_read(rule)
    await commit(session)
    return out


@router.get("/qa/reviews")
async def list_reviews(session: Session, principal: Reviewer, status: str = "open"
                       ) -> list[dict[str, Any]]:
    return [review_read(r) for r, _t in await qa.queue(session, principal, status=status)]


@router.post("/qa/reviews/{review_id}")
async def complete_review(review_id: int, body: ReviewDone, session: Session,
                          principal: Reviewer) -> dict[str, Any]:
    """Complete a review: every checklist item yes/no (422 otherwise), outcome ok|concern."""
    review = await qa.complete(session, principal, review_id, body.answers, body.outcome,
                               body.note)
    out = review_read(review)
    await commit(session)
    return out
