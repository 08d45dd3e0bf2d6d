"""Promotion priority: HR's review list with each candidate's 12-month compliance record.

"No violation in 12 months" ranks first; an open case, or a substantiated one, in the window is a
hold with its reason. HR's decisions are stored (append-only) with the record HR saw, and
audited.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.permissions import Perm, Principal
from probity.models import (
    AppraisalCycle,
    Case,
    CaseStatus,
    Employee,
    EmploymentStatus,
    OrgUnit,
    PerformanceScore,
    Position,
    PromotionDecision,
)
from probity.models.base import utcnow
from probity.performance.errors import fail
from probity.performance.scope import employee_filter
from probity.performance.scorecards import decision_reasons

OPEN = frozenset({CaseStatus.new, CaseStatus.triage, CaseStatus.investigating,
                  CaseStatus.appealed})
DECISIONS = ("promote", "defer", "decline")


@dataclass
class Candidate:
    employee_id: int
    employee_no: str
    name: str
    team: str | None
    position: str | None
    grade: str | None
    violations: int = 0
    open_cases: int = 0
    holds: list[dict[str, Any]] = field(default_factory=list)
    refusals: int = 0
    cycles: int = 0
    avg_compliance: float | None = None
    last_total: str | None = None
    clean: bool = True
    rank: int = 0
    last_decision: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def window(as_of: date | None) -> tuple[datetime, datetime]:
    end_day = as_of or utcnow().date()
    end = datetime.combine(end_day + timedelta(days=1), time(0), tzinfo=UTC)
    return end - timedelta(days=365), end


async def promotion_list(session: AsyncSession, principal: Principal, *,
                         as_of: date | None = None, limit: int = 500,
                         employee_id: int | None = None) -> list[Candidate]:
    start, end = window(as_of)
    only = [] if employee_id is None else [Employee.id == employee_id]
    rows = (await session.execute(
        select(Employee.id, Employee.employee_no, Employee.name, OrgUnit.name, Position.title,
               Position.grade)
        .outerjoin(OrgUnit, OrgUnit.id == Employee.org_unit_id)
        .outerjoin(Position, Position.id == Employee.position_id)
        .where(employee_filter(principal, Perm.performance_manage),
               Employee.status != EmploymentStatus.left, *only)
        .order_by(Employee.employee_no).limit(limit))).all()
    cands = {r[0]: Candidate(*r) for r in rows}
    if not cands:
        return []
    ids = list(cands)
    cases = (await session.execute(select(Case.id, Case.agent_employee_id, Case.status,
                                          Case.decision, Case.decided_at, Case.created_at,
                                          Case.title).where(
        Case.agent_employee_id.in_(ids), Case.created_at < end,
        ((Case.decided_at >= start) & (Case.decision == "substantiated"))
        | (Case.status.in_(list(OPEN)) & (Case.created_at >= start))))).all()
    reasons = await decision_reasons(session, [c[0] for c in cases])
    for cid, emp, status, decision, _decided_at, _created, title in cases:
        if emp is None:
            continue
        c = cands[emp]
        if decision == "substantiated" and status not in OPEN:
            c.violations += 1
            c.holds.append({"case_id": cid, "kind": "substantiated", "title": title,
                            "reason": reasons.get(cid, "")})
        else:
            c.open_cases += 1
            c.holds.append({"case_id": cid, "kind": "open", "title": title,
                            "reason": f"{status.value}"})
    scores = await session.execute(
        select(PerformanceScore.employee_id, PerformanceScore.compliance_score,
               PerformanceScore.total_score, PerformanceScore.refusals)
        .join(AppraisalCycle, AppraisalCycle.id == PerformanceScore.cycle_id)
        .where(PerformanceScore.employee_id.in_(ids), AppraisalCycle.ends_at > start,
               AppraisalCycle.ends_at <= end)
        .order_by(AppraisalCycle.ends_at))
    compl: dict[int, list[int]] = defaultdict(list)
    for emp, comp, total, refusals in scores:
        compl[emp].append(comp)
        cands[emp].refusals += refusals
        cands[emp].last_total = str(total)
    decisions = await session.execute(
        select(PromotionDecision).where(PromotionDecision.employee_id.in_(ids))
        .order_by(PromotionDecision.id))
    for (d,) in decisions:
        cands[d.employee_id].last_decision = {"decision": d.decision, "note": d.note,
                                              "at": d.created_at.isoformat()}
    for emp, c in cands.items():
        c.cycles = len(compl[emp])
        c.avg_compliance = round(sum(compl[emp]) / len(compl[emp]), 1) if compl[emp] else None
        c.clean = not c.holds
    ranked = sorted(cands.values(), key=lambda c: (
        not c.clean, c.violations + c.open_cases, -(float(c.last_total or 0)), -c.refusals,
        c.employee_no))
    for i, c in enumerate(ranked, 1):
        c.rank = i
    return ranked


async def decide(session: AsyncSession, principal: Principal, employee_id: int, decision: str,
                 note: str) -> PromotionDecision:
    if decision not in DECISIONS:
        raise fail("invalid", "Decision is one of {known}", code="invalid_decision",
                   known=", ".join(DECISIONS))
    emp = await session.scalar(select(Employee).where(
        Employee.id == employee_id, employee_filter(principal, Perm.performance_manage)))
    if emp is None:
        raise fail("not_found", "no such employee")
    found = await promotion_list(session, principal, employee_id=employee_id)
    record = found[0].as_json() if found else {}
    record.pop("last_decision", None)
    row = PromotionDecision(tenant_id=emp.tenant_id, employee_id=emp.id, decision=decision,
                            note=note.strip()[:1000], record=record,
                            decided_by_user_id=principal.user_id, created_at=utcnow())
    session.add(row)
    await session.flush()
    record_audit(session, principal, "performance.promotion.decide", target_type="employee",
                 target_id=emp.id, tenant_id=emp.tenant_id,
                 after={"decision": decision, "note": row.note, "clean": record.get("clean"),
                        "holds": record.get("holds")})
    return row
