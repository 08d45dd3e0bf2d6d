"""The outcome dashboard for HQ: the figures the product promises to move.

* attempts per conversation — warn/block messages per conversation started (rollups);
* 未遂率 (attempts stopped in time) — the share of screening attempts after which no private
  payment was detected between the same agent and customer (no finance alert for the pair);
* substantiation rate — decided cases found substantiated, for alerts and for complaints
  (cases with a customer report);
* median time from the anomaly (case opened) to HR's verification (case decided), in hours;
* complaints received vs substantiated;
* reviewer workload — open cases per assignee and open QA reviews.
"""

from __future__ import annotations

import statistics
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.analytics import queries
from probity.analytics.queries import Filters
from probity.auth.permissions import Perm, Principal
from probity.models import Alert, Case, CaseAlert, QaReview, Tenant, User

OPEN = ("new", "triage", "investigating", "penalty_proposed", "appealed")


def _in(principal: Principal, f: Filters, tenant_col: Any, unit_col: Any,
        at_col: Any) -> list[Any]:
    scope = principal.scope(Perm.analytics_read)
    out = [scope.filter(tenant_col, unit_col), at_col >= f.utc_from, at_col < f.utc_to]
    if f.tenant_path:
        out.append(tenant_col.in_(select(Tenant.id).where(
            Tenant.path.startswith(f.tenant_path, autoescape=True))))
    if f.team_id:
        out.append(unit_col == f.team_id)
    return out


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 6) if den else None


async def outcome(session: AsyncSession, principal: Principal, f: Filters) -> dict[str, Any]:
    tot = await queries.totals(session, principal, f)
    # 未遂率: screening attempts whose agent/customer pair shows no detected private payment.
    alert_where = _in(principal, f, Alert.tenant_id, Alert.org_unit_id, Alert.created_at)
    pairs = set((await session.execute(
        select(Alert.agent_employee_id, Alert.customer_id).where(
            Alert.source == "finance", Alert.customer_id.is_not(None))
        .distinct())).all())
    customers = {c for _a, c in pairs}
    completed = 0
    if customers:
        rows = (await session.execute(
            select(Alert.agent_employee_id, Alert.customer_id).where(
                *alert_where, Alert.source == "screening",
                Alert.customer_id.in_(customers)))).all()
        completed = sum(1 for r in rows if (r[0], r[1]) in pairs)
    screening_attempts = int(await session.scalar(select(func.count()).select_from(Alert).where(
        *alert_where, Alert.source == "screening")) or 0)
    case_where = _in(principal, f, Case.tenant_id, Case.org_unit_id, Case.created_at)
    cases = (await session.execute(select(Case.id, Case.status, Case.decision, Case.created_at,
                                          Case.decided_at, Case.assignee_user_id)
                                   .where(*case_where))).all()
    complaint_ids = set((await session.scalars(
        select(CaseAlert.case_id).join(Alert, Alert.id == CaseAlert.alert_id)
        .join(Case, Case.id == CaseAlert.case_id)
        .where(*case_where, Alert.source == "customer_report"))).all())
    decided = [c for c in cases if c.decision]
    substantiated = [c for c in decided if c.decision == "substantiated"]
    c_decided = [c for c in decided if c.id in complaint_ids]
    c_subst = [c for c in c_decided if c.decision == "substantiated"]
    hours = [(c.decided_at - c.created_at).total_seconds() / 3600 for c in decided
             if c.decided_at is not None]
    open_cases = [c for c in cases if str(getattr(c.status, "value", c.status)) in OPEN]
    load: dict[int | None, int] = {}
    for c in open_cases:
        load[c.assignee_user_id] = load.get(c.assignee_user_id, 0) + 1
    qa_open = int(await session.scalar(select(func.count()).select_from(QaReview).where(
        *_in(principal, f, QaReview.tenant_id, QaReview.org_unit_id, QaReview.created_at),
        QaReview.status == "open")) or 0)
    names = dict((await session.execute(select(User.id, User.display_name).where(
        User.id.in_([u for u in load if u is not None])))).all()) if load else {}
    figures = [
        {"key": "attempts_per_conversation", "value": tot["attempts_per_conversation"],
         "numerator": tot["attempts"], "denominator": tot["conversations"]},
        {"key": "stopped_share", "value": _ratio(screening_attempts - completed,
                                                  screening_attempts),
         "numerator": screening_attempts - completed, "denominator": screening_attempts},
        {"key": "substantiation_rate", "value": _ratio(len(substantiated), len(decided)),
         "numerator": len(substantiated), "denominator": len(decided)},
        {"key": "complaint_substantiation_rate", "value": _ratio(len(c_subst), len(c_decided)),
         "numerator": len(c_subst), "denominator": len(c_decided)},
        {"key": "median_hours_to_verification",
         "value": round(statistics.median(hours), 2) if hours else None,
         "numerator": None, "denominator": len(hours)},
        {"key": "complaints_received", "value": len(complaint_ids), "numerator": None,
         "denominator": None},
        {"key": "complaints_substantiated", "value": len(c_subst), "numerator": None,
         "denominator": None},
        {"key": "open_cases", "value": len(open_cases), "numerator": None, "denominator": None},
        {"key": "open_qa_reviews", "value": qa_open, "numerator": None, "denominator": None},
    ]
    workload = sorted(({"user_id": u, "name": names.get(u, "—") if u else None, "open": n}
                       for u, n in load.items()), key=lambda r: -int(r["open"] or 0))
    return {"figures": figures, "workload": workload, "filters": f.params()}


