"""Scoring a cycle from facts: the employees a cycle covers, their KPI templates, settings and
penalty standard, the live results, and the adjustments owed for earlier closed cycles whose
deductions were reversed on appeal. Read-only: closing (freezing) is in cycles.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.governance import settings_values
from probity.models import (
    AppraisalCycle,
    Case,
    CycleStatus,
    Employee,
    EmploymentStatus,
    KpiTemplate,
    ManualScore,
    PerformanceLine,
    PerformanceScore,
    Position,
    SalaryAssignment,
    Tenant,
)
from probity.performance import facts as facts_mod
from probity.performance.facts import AgentFacts
from probity.performance.penalties import PenaltySettings, penalty_settings
from probity.performance.scoring import (
    Bonus,
    Deduction,
    PenaltyTable,
    Scorecard,
    compliance_bonus,
    restoration,
    score_agent,
    score_from,
)
from probity.performance.settings import (
    BonusBase,
    PerformanceSettings,
    cached_settings,
    effective_settings,
)

DEDUCTION_KINDS = ("violation", "concealment")


@dataclass
class Adjustment:
    """Points restored to a closed cycle's score (and bonus owed), paid in this cycle."""

    ref_cycle_id: int
    ref_cycle_name: str
    case_id: int
    points: int
    bonus_owed: Decimal = Decimal("0.00")


@dataclass
class EmployeeResult:
    employee_id: int
    name: str
    employee_no: str
    tenant_id: int
    org_unit_id: int | None
    grade: str | None
    weights: dict[str, int]
    card: Scorecard
    facts: AgentFacts
    bonus: Bonus
    adjustments: list[Adjustment] = field(default_factory=list)
    base: BonusBase | None = None

    @property
    def bonus_reason(self) -> str:
        """The bonus's reason with the base's origin when it is not simply the grade's."""
        basis = self.base.basis if self.base is not None else ""
        return f"{self.bonus.reason}; {basis}" if basis else self.bonus.reason

    @property
    def bonus_adjustment(self) -> Decimal:
        return sum((a.bonus_owed for a in self.adjustments), Decimal("0.00"))


async def subtree_ids(session: AsyncSession, tenant_id: int) -> list[int]:
    path = await session.scalar(select(Tenant.path).where(Tenant.id == tenant_id))
    if path is None:
        return []
    return list((await session.scalars(select(Tenant.id).where(
        Tenant.path.startswith(path, autoescape=True)))).all())


async def _paths(session: AsyncSession, tenant_ids: Sequence[int]) -> dict[int, list[int]]:
    """Each tenant's chain, deepest first."""
    rows = await session.execute(select(Tenant.id, Tenant.path).where(Tenant.id.in_(tenant_ids)))
    return {tid: [int(p) for p in path.strip("/").split("/") if p][::-1] for tid, path in rows}


async def penalty_table(session: AsyncSession, tenant_id: int) -> PenaltyTable:
    """The penalty standard in force for the tenant (group standard `penalties`: its own rules,
    else inherited from HQ, else 5 points per violation)."""
    return (await penalty_settings(session, tenant_id)).table()


async def templates_for(session: AsyncSession, tenant_ids: Sequence[int]
                        ) -> dict[tuple[int, int | None], dict[str, int]]:
    """(tenant id, position id or None) → weights, for the given tenants and their ancestors."""
    paths = await _paths(session, tenant_ids)
    return await chain_templates(session, {t for chain in paths.values() for t in chain})


async def chain_templates(session: AsyncSession, tenant_ids: Iterable[int]
                          ) -> dict[tuple[int, int | None], dict[str, int]]:
    """`templates_for` with the tenants' chains already known: one query."""
    rows = (await session.scalars(select(KpiTemplate).where(
        KpiTemplate.tenant_id.in_(list(tenant_ids))))).all()
    return {(r.tenant_id, r.position_id): {str(i["code"]): int(i["weight"])
                                           for i in r.indicators} for r in rows}


def pick_template(templates: dict[tuple[int, int | None], dict[str, int]], chain: list[int],
                  position_id: int | None) -> dict[str, int] | None:
    for tid in chain:
        if position_id is not None and (tid, position_id) in templates:
            return templates[(tid, position_id)]
    for tid in chain:
        if (tid, None) in templates:
            return templates[(tid, None)]
    return None


@dataclass
class _Emp:
    id: int
    name: str
    employee_no: str
    tenant_id: int
    org_unit_id: int | None
    position_id: int | None
    grade: str | None


async def cycle_employees(session: AsyncSession, cycle: AppraisalCycle,
                          employee_ids: Sequence[int] | None = None) -> list[_Emp]:
    tenants = await subtree_ids(session, cycle.tenant_id)
    q = (select(Employee.id, Employee.name, Employee.employee_no, Employee.tenant_id,
                Employee.org_unit_id, Employee.position_id, Position.grade)
         .outerjoin(Position, Position.id == Employee.position_id)
         .where(Employee.tenant_id.in_(tenants), Employee.hire_date < cycle.ends_on,
                (Employee.status != EmploymentStatus.left)
                | (Employee.left_date >= cycle.starts_on))
         .order_by(Employee.id))
    if employee_ids is not None:
        q = q.where(Employee.id.in_(employee_ids))
    return [_Emp(*row) for row in await session.execute(q)]


async def compute(session: AsyncSession, cycle: AppraisalCycle,
                  employee_ids: Sequence[int] | None = None) -> list[EmployeeResult]:
    """Results for every employee the cycle covers (who has a KPI template), from the facts."""
    emps = await cycle_employees(session, cycle, employee_ids)
    if not emps:
        return []
    tenant_ids = sorted({e.tenant_id for e in emps})
    paths = await _paths(session, tenant_ids)
    templates = await templates_for(session, tenant_ids)
    covered = [(e, w) for e in emps
               if (w := pick_template(templates, paths.get(e.tenant_id, []), e.position_id))]
    if not covered:
        return []
    ids = [e.id for e, _w in covered] if employee_ids is not None else None
    all_facts = await facts_mod.gather(session, await subtree_ids(session, cycle.tenant_id), ids,
                                       cycle.starts_at, cycle.ends_at)
    manual: dict[int, dict[str, int]] = defaultdict(dict)
    mq = select(ManualScore.employee_id, ManualScore.indicator, ManualScore.score).where(
        ManualScore.cycle_id == cycle.id)
    if ids is not None:
        mq = mq.where(ManualScore.employee_id.in_(ids))
    for emp_id, code, score in await session.execute(mq):
        manual[emp_id][code] = score
    adjustments = await pending_adjustments(session, cycle, ids)
    settings: dict[int, PerformanceSettings] = {}
    tables: dict[int, PenaltyTable] = {}
    for tid in sorted({e.tenant_id for e, _w in covered}):
        settings[tid] = await effective_settings(session, tid)
        tables[tid] = await penalty_table(session, tid)
    by_salary = [e.id for e, _w in covered
                 if settings[e.tenant_id].bonus_base_source == "salary"]
    salaries = await monthly_salaries(session, cycle, by_salary) if by_salary else {}
    return [_result(e, weights, all_facts.get(e.id) or AgentFacts(), manual.get(e.id, {}),
                    settings[e.tenant_id], tables[e.tenant_id], adjustments.get(e.id, []),
                    salaries.get(e.id)) for e, weights in covered]


async def monthly_salaries(session: AsyncSession, cycle: AppraisalCycle,
                           employee_ids: Sequence[int]) -> dict[int, Decimal]:
    """Each employee's monthly base salary in force at the cycle's end: payroll's latest salary
    assignment effective before the cycle ends (read-only; employees with none are absent)."""
    out: dict[int, Decimal] = {}
    for i in range(0, len(employee_ids), 5000):
        rows = await session.execute(
            select(SalaryAssignment.employee_id, SalaryAssignment.base)
            .where(SalaryAssignment.employee_id.in_(list(employee_ids[i:i + 5000])),
                   SalaryAssignment.effective_from < cycle.ends_on)
            .order_by(SalaryAssignment.employee_id, SalaryAssignment.effective_from))
        for emp_id, base in rows:
            out[emp_id] = Decimal(base)  # the latest wins
    return out


def _result(e: _Emp, weights: dict[str, int], f: AgentFacts, manual: dict[str, int],
            s: PerformanceSettings, table: PenaltyTable, adjustments: list[Adjustment],
            salary: Decimal | None = None) -> EmployeeResult:
    own_manual = {k: v for k, v in manual.items() if k in weights}
    card = score_agent(f.violations, table, f.service, own_manual, weights,
                       first_response_target_s=s.first_response_target_s,
                       refusals=len(f.refusals), rebuffed=len(f.rebuffed),
                       self_reports=len(f.self_reports))
    base = s.base_for(e.grade, salary)
    bonus = compliance_bonus(card.compliance, base.amount, s.bonus_threshold, s.bonus_rate)
    return EmployeeResult(e.id, e.name, e.employee_no, e.tenant_id, e.org_unit_id, e.grade,
                          weights, card, f, bonus, adjustments, base)


def covers(cycle: AppraisalCycle, emp: Employee, chain: Sequence[int]) -> bool:
    """Whether the cycle covers the employee (`cycle_employees`' rule, for one employee whose
    tenant chain is known): in the cycle's subtree, hired before it ends, not gone before it
    starts."""
    return (cycle.tenant_id in chain and emp.hire_date < cycle.ends_on
            and (emp.status != EmploymentStatus.left
                 or (emp.left_date is not None and emp.left_date >= cycle.starts_on)))


async def compute_one(session: AsyncSession, cycle: AppraisalCycle, emp: Employee,
                      chain: Sequence[int], grade: str | None, manual: dict[str, int],
                      cycles: Sequence[AppraisalCycle]) -> EmployeeResult | None:
    """`compute` for one employee whose tenant chain (deepest first), grade, manual scores and
    cycles (those of the chain: the earlier closed ones owe adjustments) the caller has read:
    the live scorecard's hot path, a fixed handful of queries however much the agent did —
    templates, the five fact queries, one more when an earlier cycle closed
    (`pending_adjustments`), one more when the bonus base comes from the salary. The
    performance settings and the penalty standard (read only when there are violations) come
    through governance's short per-process cache: a live scorecard is provisional; the close
    reads them uncached."""
    if not covers(cycle, emp, chain):
        return None
    weights = pick_template(await chain_templates(session, chain), list(chain),
                            emp.position_id)
    if not weights:
        return None
    settings = await cached_settings(session, emp.tenant_id, chain[-1])
    facts = (await facts_mod.gather(session, [emp.tenant_id], [emp.id], cycle.starts_at,
                                    cycle.ends_at)).get(emp.id) or AgentFacts()
    # The penalty standard only prices violations: most agents have none.
    table = ((await settings_values(session, emp.tenant_id, PenaltySettings)).table()
             if facts.cases else PenaltyTable())
    refs = [c for c in cycles if c.tenant_id == cycle.tenant_id
            and c.status == CycleStatus.closed and c.id != cycle.id
            and c.ends_at <= cycle.ends_at]
    adjustments = await pending_adjustments(session, cycle, [emp.id], refs=refs)
    salary = ((await monthly_salaries(session, cycle, [emp.id])).get(emp.id)
              if settings.bonus_base_source == "salary" else None)
    e = _Emp(emp.id, emp.name, emp.employee_no, emp.tenant_id, emp.org_unit_id,
             emp.position_id, grade)
    return _result(e, weights, facts, manual, settings, table, adjustments.get(emp.id, []),
                   salary)


async def pending_adjustments(session: AsyncSession, cycle: AppraisalCycle,
                              employee_ids: Sequence[int] | None, *,
                              refs: Sequence[AppraisalCycle] | None = None
                              ) -> dict[int, list[Adjustment]]:
    """Restorations owed in `cycle` for deductions frozen in earlier closed cycles whose case
    was since reversed on appeal (or re-decided after that cycle), not yet adjusted.

    `refs`: those earlier closed cycles when the caller has them (else read). One query reads
    the frozen deductions with their cases' state now; the adjustments already paid and the
    frozen scores are read only when some deduction was reversed."""
    if refs is None:
        refs = (await session.scalars(select(AppraisalCycle).where(
            AppraisalCycle.tenant_id == cycle.tenant_id,
            AppraisalCycle.status == CycleStatus.closed, AppraisalCycle.id != cycle.id,
            AppraisalCycle.ends_at <= cycle.ends_at))).all()
    by_id = {c.id: c for c in refs}
    if not by_id:
        return {}
    q = (select(PerformanceLine.cycle_id, PerformanceLine.employee_id, PerformanceLine.kind,
                PerformanceLine.case_id, PerformanceLine.points, Case.decision,
                Case.decided_at)
         .outerjoin(Case, Case.id == PerformanceLine.case_id)
         .where(PerformanceLine.cycle_id.in_(list(by_id)),
                PerformanceLine.kind.in_(DEDUCTION_KINDS)))
    if employee_ids is not None:
        q = q.where(PerformanceLine.employee_id.in_(employee_ids))
    frozen: dict[tuple[int, int], list[Deduction]] = defaultdict(list)
    state: dict[int, tuple[str | None, datetime | None]] = {}
    for cyc, emp, kind, case_id, points, decision, decided_at in await session.execute(q):
        if case_id is None:
            continue
        # a case no longer there (purged) counts as reversed, as before
        frozen[(cyc, emp)].append(Deduction(case_id, kind, "", 0, -points))  # stored negative
        state[case_id] = (decision, decided_at)

    def reversed_for(ref: AppraisalCycle, case_id: int) -> bool:
        decision, decided_at = state.get(case_id, (None, None))
        return decision != "substantiated" or decided_at is None or decided_at >= ref.ends_at

    if not any(reversed_for(by_id[cyc], d.case_id) for (cyc, _e), lines in frozen.items()
               for d in lines):
        return {}
    refs_ids = list(by_id)

    done: dict[tuple[int, int], set[int]] = defaultdict(set)
    paid: dict[tuple[int, int], Decimal] = defaultdict(lambda: Decimal("0.00"))
    aq = select(PerformanceLine.ref_cycle_id, PerformanceLine.employee_id,
                PerformanceLine.case_id, PerformanceLine.detail).join(
        AppraisalCycle, AppraisalCycle.id == PerformanceLine.cycle_id).where(
        PerformanceLine.kind == "adjustment", AppraisalCycle.status == CycleStatus.closed,
        PerformanceLine.ref_cycle_id.in_(refs_ids))
    if employee_ids is not None:
        aq = aq.where(PerformanceLine.employee_id.in_(employee_ids))
    for ref_id, emp, case_id, detail in await session.execute(aq):
        done[(ref_id, emp)].add(case_id)
        paid[(ref_id, emp)] += Decimal(str((detail or {}).get("bonus_owed", "0")))
    scores = {(s.cycle_id, s.employee_id): s for s in (await session.scalars(
        select(PerformanceScore).where(PerformanceScore.cycle_id.in_(
            list({k[0] for k in frozen})), PerformanceScore.employee_id.in_(
            list({k[1] for k in frozen}))))).all()}
    out: dict[int, list[Adjustment]] = defaultdict(list)
    for (ref_id, emp), lines in sorted(frozen.items()):
        ref = by_id[ref_id]
        already = set(done[(ref_id, emp)])
        new = sorted({d.case_id for d in lines if reversed_for(ref, d.case_id)} - already)
        if not new:
            continue
        items: list[Adjustment] = []
        for case_id in new:
            before = restoration(lines, already)
            already.add(case_id)
            items.append(Adjustment(ref_id, ref.name, case_id,
                                    restoration(lines, already) - before))
        frozen_score = scores.get((ref_id, emp))
        if frozen_score is not None and not frozen_score.bonus_eligible:
            rule = (frozen_score.indicators or {}).get("_bonus", {})
            restored = score_from(lines) + restoration(lines, already)
            if restored >= int(rule.get("threshold", 101)):
                owed = (frozen_score.bonus_base * Decimal(str(rule.get("rate", "0")))).quantize(
                    Decimal("0.01"))
                items[-1].bonus_owed = max(Decimal("0.00"), owed - paid[(ref_id, emp)])
        out[emp].extend(items)
    return out
