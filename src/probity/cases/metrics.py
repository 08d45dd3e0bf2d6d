"""Per-subsidiary figures: alerts, cases, substantiation rate, time to triage and to decision."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Perm, Principal
from probity.models import Alert, Case, Tenant


def _hours(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "mean": None, "p90": None}
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return {"median": round(statistics.median(ordered), 2),
            "mean": round(sum(ordered) / len(ordered), 2), "p90": round(p90, 2)}


async def case_metrics(session: AsyncSession, principal: Principal, *, since: datetime,
                       until: datetime) -> list[dict[str, Any]]:
    """One row per tenant in the caller's case.read scope, for cases opened and alerts raised
    in [since, until)."""
    scope = principal.scope(Perm.case_read)
    tenants = (await session.execute(select(Tenant.id, Tenant.code, Tenant.name).where(
        scope.tenant_ids_query()).order_by(Tenant.path))).all()
    alert_counts: dict[int, dict[str, int]] = defaultdict(dict)
    for tid, source, n in (await session.execute(
            select(Alert.tenant_id, Alert.source, func.count()).where(
                scope.filter(Alert.tenant_id, Alert.org_unit_id),
                Alert.created_at >= since, Alert.created_at < until)
            .group_by(Alert.tenant_id, Alert.source))).all():
        alert_counts[tid][source] = n
    cases = (await session.execute(select(
        Case.tenant_id, Case.created_at, Case.triaged_at, Case.decided_at, Case.decision,
        Case.triage_due_at, Case.decision_due_at).where(
        scope.filter(Case.tenant_id, Case.org_unit_id),
        Case.created_at >= since, Case.created_at < until))).all()
    per: dict[int, list[Any]] = defaultdict(list)
    for row in cases:
        per[row[0]].append(row)
    out: list[dict[str, Any]] = []
    for tid, code, name in tenants:
        rows = per.get(tid, [])
        alerts = alert_counts.get(tid, {})
        decided = [r for r in rows if r.decided_at is not None and r.decision]
        substantiated = sum(1 for r in decided if r.decision == "substantiated")
        triage_h = [(r.triaged_at - r.created_at).total_seconds() / 3600 for r in rows
                    if r.triaged_at is not None]
        decision_h = [(r.decided_at - r.created_at).total_seconds() / 3600 for r in decided]
        out.append({
            "tenant_id": tid, "code": code, "name": name,
            "alerts": sum(alerts.values()), "alerts_by_source": alerts,
            "cases": len(rows), "decided": len(decided), "substantiated": substantiated,
            "substantiation_rate": round(substantiated / len(decided), 3) if decided else None,
            "hours_to_triage": _hours(triage_h), "hours_to_decision": _hours(decision_h),
            "triage_sla_missed": sum(1 for r in rows if r.triaged_at is not None
                                     and r.triaged_at > r.triage_due_at),
            "decision_sla_missed": sum(1 for r in decided if r.decided_at > r.decision_due_at),
        })
    return out
