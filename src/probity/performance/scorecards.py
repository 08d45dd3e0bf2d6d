"""Scorecards: one employee's result for one cycle — live while the cycle is open or in review,
frozen once it is closed — with every point linked to its evidence (the case, the message or the
rating). An agent sees their own (我的绩效); anyone else's is 404 unless in the caller's
`performance.read` scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Perm, Principal
from probity.models import (
    AppraisalCycle,
    Case,
    CaseEvent,
    CaseStatus,
    CycleStatus,
    Employee,
    ManualScore,
    PerformanceLine,
    PerformanceScore,
    Position,
    Tenant,
)
from probity.models.base import utcnow
from probity.performance import engine
from probity.performance.awards import employee_awards
from probity.performance.errors import fail
from probity.performance.scope import employee_filter

POSITIVE_KINDS = ("refusal", "rebuffed", "self_report", "rating")


async def chain_cycles(session: AsyncSession, chain: Sequence[int]) -> list[AppraisalCycle]:
    """Cycles covering an employee of the tenant chain: those of the tenant or any ancestor,
    newest first."""
    return list((await session.scalars(select(AppraisalCycle).where(
        AppraisalCycle.tenant_id.in_(list(chain))).order_by(AppraisalCycle.starts_on.desc(),
                                                           AppraisalCycle.id.desc()))).all())


def current_cycle(cycles: list[AppraisalCycle]) -> AppraisalCycle | None:
    now = utcnow()
    for c in cycles:
        if c.starts_at <= now < c.ends_at:
            return c
    open_ = [c for c in cycles if c.status != CycleStatus.closed]
    return open_[0] if open_ else (cycles[0] if cycles else None)


async def decision_reasons(session: AsyncSession, case_ids: list[int]) -> dict[int, str]:
    """The reason given with each case's latest substantiated decision."""
    if not case_ids:
        return {}
    rows = await session.execute(select(CaseEvent.case_id, CaseEvent.detail).where(
        CaseEvent.case_id.in_(case_ids), CaseEvent.to_status == "substantiated")
        .order_by(CaseEvent.id))
    return {cid: str((detail or {}).get("reason", "")) for cid, detail in rows}


async def case_notes(session: AsyncSession, case_ids: list[int]
                     ) -> dict[int, tuple[CaseStatus | None, str]]:
    """Each case's status now and the reason given with its latest substantiated decision, in
    one query."""
    if not case_ids:
        return {}
    out: dict[int, tuple[CaseStatus | None, str]] = {}
    rows = await session.execute(
        select(Case.id, Case.status, CaseEvent.id, CaseEvent.detail)
        .outerjoin(CaseEvent, (CaseEvent.case_id == Case.id)
                   & (CaseEvent.to_status == "substantiated"))
        .where(Case.id.in_(case_ids)).order_by(Case.id, CaseEvent.id))
    for case_id, status, event_id, detail in rows:
        reason = (str((detail or {}).get("reason", "")) if event_id is not None
                  else out.get(case_id, (None, ""))[1])
        out[case_id] = (status, reason)
    return out


async def scoped_employee(session: AsyncSession, principal: Principal, employee_id: int
                          ) -> tuple[Employee, list[int], str | None]:
    """The employee (themself, or in the caller's performance.read scope; else 404) with their
    tenant chain, deepest first, and their position's grade: one query."""
    q = (select(Employee, Tenant.path, Position.grade)
         .join(Tenant, Tenant.id == Employee.tenant_id)
         .outerjoin(Position, Position.id == Employee.position_id)
         .where(Employee.id == employee_id))
    if principal.employee_id != employee_id:
        q = q.where(employee_filter(principal, Perm.performance_read))
    row = (await session.execute(q)).first()
    if row is None:
        raise fail("not_found", "no such employee")
    emp, path, grade = row
    chain = [int(p) for p in (path or "").strip("/").split("/") if p][::-1]
    return emp, chain, grade


async def scorecard(session: AsyncSession, principal: Principal, employee_id: int,
                    cycle_id: int | None = None) -> dict[str, Any]:
    """A fixed handful of queries however much the employee did (pinned in
    tests/performance/test_scorecard_queries.py): the employee, the cycles, awards, manual
    scores; then for a live cycle `engine.compute_one`, for a frozen one its score and lines;
    and the deductions' cases."""
    emp, chain, grade = await scoped_employee(session, principal, employee_id)
    cycles = await chain_cycles(session, chain)
    if cycle_id is None:
        cycle = current_cycle(cycles)
        if cycle is None:
            raise fail("not_found", "no appraisal cycle covers this employee yet")
    else:
        cycle = next((c for c in cycles if c.id == cycle_id), None)
        if cycle is None:
            raise fail("not_found", "no such appraisal cycle")
    head = {"employee": {"id": emp.id, "name": emp.name, "employee_no": emp.employee_no},
            "cycle": {"id": cycle.id, "name": cycle.name, "status": cycle.status.value,
                      "starts_on": cycle.starts_on.isoformat(),
                      "ends_on": cycle.ends_on.isoformat()},
            "cycles": [{"id": c.id, "name": c.name, "status": c.status.value} for c in cycles],
            "awards": await employee_awards(session, emp.id)}
    manual = list((await session.scalars(select(ManualScore).where(
        ManualScore.cycle_id == cycle.id, ManualScore.employee_id == emp.id)
        .order_by(ManualScore.id))).all())
    if cycle.status == CycleStatus.closed:
        body = await _frozen(session, cycle, emp.id)
    else:
        result = await engine.compute_one(session, cycle, emp, chain, grade,
                                          {m.indicator: m.score for m in manual}, cycles)
        body = _live(result)
    body["manual"] = [{"indicator": m.indicator, "score": m.score, "comment": m.comment}
                      for m in manual]
    notes = await case_notes(session, [d["case_id"] for d in body["deductions"]
                                       if d.get("case_id")])
    for d in body["deductions"]:
        status, reason = notes.get(d["case_id"], (None, ""))
        d["reason"] = reason
        d["case_status"] = status.value if status is not None else None
    return {**head, **body}


def _uncovered(frozen: bool) -> dict[str, Any]:
    return {"frozen": frozen, "covered": False, "compliance": None, "total": None,
            "indicators": {}, "weights": {}, "deductions": [], "adjustments": [],
            "positives": {k: [] for k in POSITIVE_KINDS}, "offers": 0, "bonus": None}


def _live(r: engine.EmployeeResult | None) -> dict[str, Any]:
    if r is None:
        return _uncovered(False)
    titles = {c.case_id: c.title for c in r.facts.cases}
    positives: dict[str, list[dict[str, Any]]] = {k: [] for k in POSITIVE_KINDS}
    for ev in (*r.facts.refusals, *r.facts.rebuffed, *r.facts.self_reports, *r.facts.ratings):
        positives[ev.kind].append({"conversation_id": ev.conversation_id,
                                   "message_id": ev.message_id, "alert_id": ev.alert_id,
                                   "value": ev.value})
    return {
        "frozen": False, "covered": True, "compliance": r.card.compliance,
        "total": str(r.card.total), "indicators": r.card.indicators, "weights": r.weights,
        "deductions": [{"kind": d.kind, "points": -d.points, "case_id": d.case_id,
                        "type": d.vtype, "severity": d.severity,
                        "title": titles.get(d.case_id, "")} for d in r.card.deductions],
        "adjustments": [{"ref_cycle_id": a.ref_cycle_id, "ref_cycle": a.ref_cycle_name,
                         "case_id": a.case_id, "points": a.points,
                         "bonus_owed": str(a.bonus_owed)} for a in r.adjustments],
        "positives": positives, "offers": r.facts.offers,
        "bonus": {"base": str(r.bonus.base), "eligible": r.bonus.eligible,
                  "amount": str(r.bonus.amount), "adjustment": str(r.bonus_adjustment),
                  "reason": r.bonus.reason,
                  "basis": r.base.as_json() if r.base is not None else None},
    }


async def _frozen(session: AsyncSession, cycle: AppraisalCycle, employee_id: int
                  ) -> dict[str, Any]:
    score = await session.scalar(select(PerformanceScore).where(
        PerformanceScore.cycle_id == cycle.id, PerformanceScore.employee_id == employee_id))
    if score is None:
        return _uncovered(True)
    lines = (await session.scalars(select(PerformanceLine).where(
        PerformanceLine.cycle_id == cycle.id, PerformanceLine.employee_id == employee_id)
        .order_by(PerformanceLine.id))).all()
    positives: dict[str, list[dict[str, Any]]] = {k: [] for k in POSITIVE_KINDS}
    deductions: list[dict[str, Any]] = []
    adjustments: list[dict[str, Any]] = []
    for line in lines:
        if line.kind in ("violation", "concealment"):
            deductions.append({"kind": line.kind, "points": line.points, "case_id": line.case_id,
                               "type": line.detail.get("type"),
                               "severity": line.detail.get("severity"),
                               "title": line.detail.get("title", "")})
        elif line.kind == "adjustment":
            adjustments.append({"ref_cycle_id": line.ref_cycle_id,
                                "ref_cycle": line.detail.get("ref_cycle"),
                                "case_id": line.case_id, "points": line.points,
                                "bonus_owed": line.detail.get("bonus_owed", "0.00")})
        elif line.kind in positives:
            positives[line.kind].append({"conversation_id": line.conversation_id,
                                         "message_id": line.message_id,
                                         "alert_id": line.alert_id,
                                         "value": line.detail.get("value")})
    indicators = {k: v for k, v in (score.indicators or {}).items() if not k.startswith("_")}
    rule = (score.indicators or {}).get("_bonus") or {}
    return {
        "frozen": True, "covered": True, "compliance": score.compliance_score,
        "total": str(score.total_score), "indicators": indicators,
        "weights": (score.indicators or {}).get("_weights", {}),
        "deductions": deductions, "adjustments": adjustments, "positives": positives,
        "offers": score.offers,
        "bonus": {"base": str(score.bonus_base), "eligible": score.bonus_eligible,
                  "amount": str(score.bonus_amount), "adjustment": str(score.bonus_adjustment),
                  "reason": rule.get("reason", score.bonus_reason),
                  "basis": rule.get("base")},
    }
