"""The outcome dashboard for HQ: the figures the product promises to move.

* attempts per conversation — warn/block messages per conversation started (rollups);
* 未遂率 (attempts stopped in time) — the share of screening attempts after which no private
  payment was detected between the same agent and customer (no finance alert for the pair);
* substantiation rate — decided cases found substantiated, for alerts and for complaints
  (cases with a customer report);
* median time from the anomaly (case opened) to HR's verification (case decided), in hours
  (computed by the database: a count and the middle rows by ORDER BY … OFFSET);
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


def _hours_to_decision(dialect: str) -> Any:
    """Hours from a case's opening to its decision, as SQL (UTC on both backends)."""
    if dialect == "postgresql":
        return func.extract("epoch", Case.decided_at - Case.created_at) / 3600.0
    return (func.julianday(Case.decided_at) - func.julianday(Case.created_at)) * 24.0


async def _median_hours(session: AsyncSession, where: list[Any], n: int
                        ) -> tuple[int, float | None]:
    """The median of the `n` decided cases' hours to decision, computed by the database (the
    middle one or two by ORDER BY … OFFSET, from the covering index): a year of decided cases
    is not read back row by row."""
    if not n:
        return 0, None
    hours = _hours_to_decision(session.get_bind().dialect.name)
    middle = [float(h) for h in (await session.scalars(
        select(hours).where(*where).order_by(hours).offset((n - 1) // 2)
        .limit(1 if n % 2 else 2))).all()]
    return n, statistics.fmean(middle)


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
    screening_attempts = int(tot["attempts"])  # one screening alert per warn/block (rollups)
    case_where = _in(principal, f, Case.tenant_id, Case.org_unit_id, Case.created_at)
    # One index-only pass over the range's cases (`ix_cases_outcome`, migration 0031): counts
    # by decision, status, assignee and whether decided — decided, substantiated, workload
    # and the median's denominator all come from these few groups.
    decided_flag = Case.decided_at.is_not(None).label("decided")
    by_decision: dict[str | None, int] = {}
    load: dict[int | None, int] = {}
    n_decided_at = 0
    for decision, status, assignee, decided, n in (await session.execute(
            select(Case.decision, Case.status, Case.assignee_user_id, decided_flag,
                   func.count()).where(*case_where)
            .group_by(Case.decision, Case.status, Case.assignee_user_id, decided_flag))).all():
        by_decision[decision] = by_decision.get(decision, 0) + int(n)
        if str(getattr(status, "value", status)) in OPEN:
            load[assignee] = load.get(assignee, 0) + int(n)
        if decided:
            n_decided_at += int(n)
    decided_n = sum(n for d, n in by_decision.items() if d is not None)
    substantiated_n = int(by_decision.get("substantiated", 0))
    complaints = select(CaseAlert.case_id).join(Alert, Alert.id == CaseAlert.alert_id).where(
        Alert.source == "customer_report")
    c_by_decision: dict[str | None, int] = {d: int(n) for d, n in (await session.execute(
        select(Case.decision, func.count()).where(*case_where, Case.id.in_(complaints))
        .group_by(Case.decision))).all()}
    complaints_received = sum(c_by_decision.values())
    c_decided_n = sum(n for d, n in c_by_decision.items() if d is not None)
    c_subst_n = int(c_by_decision.get("substantiated", 0))
    decided_where = [*case_where, Case.decided_at.is_not(None)]
    n_hours, median_hours = await _median_hours(session, decided_where, n_decided_at)
    open_n = sum(load.values())
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
        {"key": "substantiation_rate", "value": _ratio(substantiated_n, decided_n),
         "numerator": substantiated_n, "denominator": decided_n},
        {"key": "complaint_substantiation_rate", "value": _ratio(c_subst_n, c_decided_n),
         "numerator": c_subst_n, "denominator": c_decided_n},
        {"key": "median_hours_to_verification",
         "value": round(median_hours, 2) if median_hours is not None else None,
         "numerator": None, "denominator": n_hours},
        {"key": "complaints_received", "value": complaints_received, "numerator": None,
         "denominator": None},
        {"key": "complaints_substantiated", "value": c_subst_n, "numerator": None,
         "denominator": None},
        {"key": "open_cases", "value": open_n, "numerator": None, "denominator": None},
        {"key": "open_qa_reviews", "value": qa_open, "numerator": None, "denominator": None},
    ]
    workload = sorted(({"user_id": u, "name": names.get(u, "—") if u else None, "open": n}
                       for u, n in load.items()), key=lambda r: -int(r["open"] or 0))
    return {"figures": figures, "workload": workload, "filters": f.params()}


