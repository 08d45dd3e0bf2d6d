"""The scorecard's hot path reads a fixed handful of queries however much the agent did (issue 9:
an agent's scorecard page, p95 ≤ 200 ms). Pinned here so that a per-case, per-conversation or
per-tenant query cannot slip back in: the counts are of SELECT statements of the scorecard
service itself (authentication is not in them), with the settings cache warm."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.performance.helpers import (
    IN_MONTH,
    decided_case,
    ids,
    refusal_conversation,
    setup_cycle,
)

from probity.auth.service import load_principal
from probity.governance import service as governance_service
from probity.models import Alert, Case, CaseStatus, ManualScore, User
from probity.performance import scorecards

# employee, cycles, awards, manual scores, template, five fact queries (self-reports, cases with
# their alerts, flagged messages, refusals, conversations with their first response).
LIVE = 10
# When there are deductions: the cases' status and reasons (the penalty standard, a group
# standard, comes from the settings cache).
DEDUCTIONS = 1
# Once a cycle of the tenant closed: the employee's frozen deductions with their cases' state
# now; only when one of them was reversed since, the adjustments already paid and the frozen
# scores.
EARLIER_CLOSE = 1
REVERSAL = 2
# employee, cycles, awards, manual scores, frozen score, evidence lines, deductions' cases.
FROZEN = 7


async def count_selects(db: AsyncSession, call: Callable[[], Awaitable[Any]]
                        ) -> tuple[int, Any]:
    seen: list[str] = []
    target = db.bind.sync_connection  # type: ignore[union-attr]

    def hook(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    await call()  # the settings cache warm, as on every request but the first few
    event.listen(target, "before_cursor_execute", hook)
    try:
        result = await call()
    finally:
        event.remove(target, "before_cursor_execute", hook)
    return len(seen), result


async def principal(db: AsyncSession, username: str) -> Any:
    user = await db.scalar(select(User).where(User.username == username))
    assert user is not None
    return await load_principal(db, user.id)


@pytest.fixture(autouse=True)
def _settings_cache_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Governance caches settings for seconds: on a loaded machine a slow step must not let it
    expire between two counts."""
    monkeypatch.setattr(governance_service, "CACHE_S", 3600.0)


async def test_live_scorecard_queries_do_not_grow_with_the_agents_activity(
        as_user: Any, db: AsyncSession) -> None:
    t = await ids(db)
    hr = await as_user("hr")
    cycle = await setup_cycle(hr, t["ecom"].id)
    me = await principal(db, "agent")

    async def card() -> tuple[int, dict[str, Any]]:
        return await count_selects(db, lambda: scorecards.scorecard(
            db, me, t["agent"].id, cycle["id"]))

    quiet, body = await card()
    assert body["covered"] is True and body["deductions"] == []
    # The demo agent's deduction in the first closed cycle was overturned on appeal and
    # adjusted in the second (performance/demo.py): their scorecards read what was paid.
    assert body["adjustments"] == []
    assert quiet == LIVE + EARLIER_CLOSE + REVERSAL, quiet

    # A busy month: cases (one found by finance: concealment), refusals, ratings, a
    # self-report, a manual score.
    for _ in range(3):
        await decided_case(db, t["ecom"], t["agent"], source="finance")
        await refusal_conversation(db, t["ecom"], t["agent"])
    db.add(Alert(tenant_id=t["ecom"].id, org_unit_id=t["agent"].org_unit_id,
                 sender_role="agent", agent_employee_id=t["agent"].id, decision="warn",
                 category="contact", categories=["contact"], severity=1, snippet="…", spans=[],
                 source="self_report", subject="agent", created_at=IN_MONTH))
    db.add(ManualScore(cycle_id=cycle["id"], employee_id=t["agent"].id,
                       indicator="manual.quality", score=80, comment="好",
                       created_at=IN_MONTH))
    await db.flush()
    busy, body = await card()
    assert len(body["deductions"]) == 6 and len(body["positives"]["refusal"]) == 6
    assert body["offers"] == 6 and len(body["positives"]["rebuffed"]) == 6  # two per conversation
    assert body["positives"]["self_report"] and body["manual"][0]["score"] == 80
    assert all(d["reason"] is not None and d["case_status"] == "closed"
               for d in body["deductions"])
    assert busy == LIVE + EARLIER_CLOSE + REVERSAL + DEDUCTIONS, busy

    # Three times the activity: the same queries.
    for i in range(6):
        await decided_case(db, t["ecom"], t["agent"], at=IN_MONTH + timedelta(days=i + 1))
        await refusal_conversation(db, t["ecom"], t["agent"],
                                   at=IN_MONTH + timedelta(days=i + 1))
    busier, body = await card()
    assert len(body["deductions"]) == 12 and len(body["positives"]["refusal"]) == 18
    assert busier == busy, (busy, busier)


async def test_live_scorecard_queries_after_a_close_and_a_reversal(
        as_user: Any, db: AsyncSession) -> None:
    t = await ids(db)
    peer = t["peer"]
    hr = await as_user("hr")
    march = await setup_cycle(hr, t["ecom"].id)
    lead_principal = await principal(db, "lead")

    async def card(cycle_id: int) -> tuple[int, dict[str, Any]]:
        return await count_selects(db, lambda: scorecards.scorecard(
            db, lead_principal, peer.id, cycle_id))

    n, body = await card(march["id"])
    assert body["adjustments"] == [] and body["deductions"] == []
    assert n == LIVE + EARLIER_CLOSE, n  # the demo's closed cycles: nothing reversed

    cases = [await decided_case(db, t["ecom"], peer) for _ in range(3)]
    lead = await as_user("lead")
    await lead.post(f"/api/v1/performance/cycles/{march['id']}/review")
    hr = await as_user("hr")
    assert (await hr.post(f"/api/v1/performance/cycles/{march['id']}/close")).status_code == 200
    april = (await hr.post("/api/v1/performance/cycles", json={
        "tenant_id": t["ecom"].id, "period": "monthly", "starts_on": "2027-04-01"})).json()
    await decided_case(db, t["ecom"], peer, at=IN_MONTH + timedelta(days=31))
    n, body = await card(april["id"])
    assert body["adjustments"] == [] and len(body["deductions"]) == 1
    assert n == LIVE + EARLIER_CLOSE + DEDUCTIONS, n

    overturned = await db.get(Case, cases[0].id)
    assert overturned is not None
    overturned.status, overturned.decision = CaseStatus.investigating, None
    await db.flush()
    n, body = await card(april["id"])
    assert [a["case_id"] for a in body["adjustments"]] == [cases[0].id]
    assert n == LIVE + EARLIER_CLOSE + DEDUCTIONS + REVERSAL, n

    n, body = await card(march["id"])
    assert body["frozen"] is True and len(body["deductions"]) == 3
    assert n == FROZEN, n
