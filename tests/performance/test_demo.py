"""The demo group (issue 9, item 9): two closed cycles and an open one in the e-commerce
subsidiary, whose figures come from the demo's own activity — every frozen deduction is a
substantiated case about that agent, every refusal a screened message of theirs — and the
overturned appeal carried into the next cycle as an adjustment."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import (
    AppraisalCycle,
    Case,
    CycleStatus,
    Message,
    PerformanceLine,
    PerformanceScore,
    Tenant,
)


async def test_the_demo_has_two_closed_cycles_and_an_open_one_from_its_activity(
        db: AsyncSession) -> None:
    ecom = await db.scalar(select(Tenant).where(Tenant.code == "ECOM"))
    assert ecom is not None
    cycles = list((await db.scalars(select(AppraisalCycle).where(
        AppraisalCycle.tenant_id == ecom.id).order_by(AppraisalCycle.starts_on))).all())
    assert [c.status for c in cycles] == [CycleStatus.closed, CycleStatus.closed,
                                          CycleStatus.open]
    overturned: set[int] = set()
    for cycle in cycles[:2]:
        assert cycle.reviewed_by_user_id is not None and cycle.signed_off_by_user_id is not None
        assert cycle.reviewed_by_user_id != cycle.signed_off_by_user_id
        scores = (await db.scalars(select(PerformanceScore).where(
            PerformanceScore.cycle_id == cycle.id))).all()
        assert scores and any(s.compliance_score < 100 for s in scores)
        lines = (await db.scalars(select(PerformanceLine).where(
            PerformanceLine.cycle_id == cycle.id))).all()
        deductions = [x for x in lines if x.kind in ("violation", "concealment")]
        assert deductions
        for line in deductions:
            case = await db.get(Case, line.case_id)
            assert case is not None and case.agent_employee_id == line.employee_id
            assert case.decided_at is not None
            if case.decision == "substantiated":
                assert cycle.starts_at <= case.decided_at < cycle.ends_at
            else:  # overturned on appeal since: re-decided later, adjusted below
                overturned.add(case.id)
        refusals = [x for x in lines if x.kind == "refusal"]
        assert refusals
        for line in refusals:
            msg = await db.get(Message, line.message_id)
            assert msg is not None and "refusal" in (msg.categories or [])
            assert msg.sender_role == "agent"
        # A frozen score is 100 minus its own deduction lines.
        by_emp: dict[int, int] = {}
        for line in deductions:
            by_emp[line.employee_id] = by_emp.get(line.employee_id, 0) + line.points
        for s in scores:
            assert s.compliance_score == max(0, 100 + by_emp.get(s.employee_id, 0))
    # The appeal overturned after the first cycle closed is an adjustment in the second.
    adjustments = (await db.scalars(select(PerformanceLine).where(
        PerformanceLine.cycle_id == cycles[1].id, PerformanceLine.kind == "adjustment"))).all()
    assert [a.ref_cycle_id for a in adjustments] == [cycles[0].id]
    assert {a.case_id for a in adjustments} == overturned
