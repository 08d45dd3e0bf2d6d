"""The QA review queue: conversations sampled by monitoring rules, worked by team leads (and
compliance) with a fixed checklist; each completed review is audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.permissions import Perm, Principal
from probity.errors import Conflict, InvalidInput, NotFound
from probity.models import MonitoringRule, QaReview
from probity.models.base import utcnow

# Checklist items (codes; words in the catalogs as qa_item.<code>). Each is answered yes/no.
CHECKLIST = ("official_channel", "no_contact_exchange", "no_private_payment", "no_gift",
             "escalated", "customer_informed")
OUTCOMES = ("ok", "concern")


def _scope(principal: Principal) -> ColumnElement[bool]:
    return principal.scope(Perm.qa_review).filter(QaReview.tenant_id, QaReview.org_unit_id)


async def queue(session: AsyncSession, principal: Principal, *, status: str = "open"
                ) -> list[tuple[QaReview, str]]:
    if status not in ("open", "done", "all"):
        raise InvalidInput("status is open, done or all", code="invalid_status")
    stmt = (select(QaReview, MonitoringRule.title)
            .join(MonitoringRule, MonitoringRule.id == QaReview.rule_id)
            .where(_scope(principal)).order_by(QaReview.id.desc()).limit(500))
    if status != "all":
        stmt = stmt.where(QaReview.status == status)
    return [(r, t) for r, t in (await session.execute(stmt)).all()]


async def get_review(session: AsyncSession, principal: Principal, review_id: int) -> QaReview:
    review = await session.scalar(select(QaReview).where(
        QaReview.id == review_id, _scope(principal))) if 0 < review_id < 2**31 else None
    if review is None:
        raise NotFound("no such QA review", code="not_found")
    return review


async def complete(session: AsyncSession, principal: Principal, review_id: int,
                   answers: dict[str, Any], outcome: str, note: str = "") -> QaReview:
    review = await get_review(session, principal, review_id)
    if review.status == "done":
        raise Conflict("this review is already done", code="already_done",
                       template="This review is already done")
    missing = [item for item in CHECKLIST if str(answers.get(item, "")) not in ("yes", "no")]
    if missing:
        raise InvalidInput(f"answer every checklist item: {', '.join(missing)}",
                           code="checklist_incomplete",
                           template="Answer every checklist item ({items})",
                           params={"items": ", ".join(missing)})
    if outcome not in OUTCOMES:
        raise InvalidInput("the outcome is ok or concern", code="invalid_outcome",
                           template="The outcome is ok or concern")
    review.answers = {item: str(answers[item]) for item in CHECKLIST}
    review.outcome = outcome
    review.note = (note or "")[:2000]
    review.status = "done"
    review.reviewer_user_id = principal.user_id
    review.reviewed_at = utcnow()
    await session.flush()
    record_audit(session, principal, "qa.review_completed", target_type="qa_review",
                 target_id=review.id, tenant_id=review.tenant_id,
                 after={"outcome": outcome, "answers": review.answers,
                        "conversation_id": review.conversation_id})
    return review
