"""Telling an agent their score changed: a substantiated decision deducts points, so the agent
gets an in-app notification in the decision's transaction with the reason, the points and how to
appeal. Called by the case workflow (`cases.service.transition`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.i18n import deferred
from probity.models import Case, User
from probity.notify.text import in_app
from probity.performance.engine import penalty_table
from probity.performance.facts import case_alert_views, case_subject, concealed, violation_type
from probity.performance.scoring import Violation, deductions


async def notify_deduction(session: AsyncSession, case: Case, reason: str | None) -> None:
    if case.agent_employee_id is None:
        return
    views = await case_alert_views(session, case.id)
    if case_subject(case.subject, views) != "agent":
        return  # a customer's violation never costs the agent points
    user_id = await session.scalar(select(User.id).where(
        User.employee_id == case.agent_employee_id, User.is_active.is_(True)))
    if user_id is None:
        return
    table = await penalty_table(session, case.tenant_id)
    v = Violation(case.id, violation_type(views), case.severity, concealed(views))
    points = sum(d.points for d in deductions([v], table))
    session.add(in_app(
        tenant_id=case.tenant_id, user_id=user_id, case_id=case.id,
        event="performance.deduction",
        title=deferred("Case #{id} was substantiated: −{points} compliance points",
                       id=case.id, points=points),
        body=deferred("Reason: {reason}\nYour compliance score for the current cycle drops by "
                      "{points} points (see 我的绩效: /performance/me). If you disagree, appeal "
                      "once the case is closed: /performance/me/cases/{id}",
                      reason=(reason or "—"), points=points, id=case.id)))
