"""The nightly analytics rollup job: yesterday's hourly rollups are recomputed from the stored
messages and repaired where they drifted — a message stored without the writer's hook (an
imported transcript), a doubled increment — and the cube follows; a second run repairs nothing.
Run through the job system, as the scheduler's schedule would."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.webhooks.conftest import jobs  # noqa: F401 (the fixture: jobs on the test's session)

from probity.analytics import rollup
from probity.analytics.reconcile import reconcile_rollups, window
from probity.auth.deps import commit
from probity.config import Settings
from probity.jobs.runtime import InlineRuntime
from probity.jobs.scheduler import planned
from probity.jobs.service import enqueue
from probity.models import (
    Conversation,
    Job,
    Message,
    MessageKind,
    RollupCube,
    RollupHourly,
    Tenant,
)

DAY = datetime(2019, 3, 5, tzinfo=UTC)  # far from the demo's activity


async def _messages(db: AsyncSession) -> list[tuple[Message, int | None, int | None]]:
    """Five messages of an ECOM conversation on DAY (two hours), as the writer hands them to
    the rollups: (message, team, agent)."""
    tid = await db.scalar(select(Tenant.id).where(Tenant.code == "ECOM"))
    conv = await db.scalar(select(Conversation).where(
        Conversation.tenant_id == tid, Conversation.agent_employee_id.is_not(None))
        .order_by(Conversation.id).limit(1))
    assert conv is not None
    seq = int(await db.scalar(select(func.max(Message.seq)).where(
        Message.conversation_id == conv.id)) or 0)
    out = []
    for i, (role, decision, cats, minutes) in enumerate([
            ("customer", "allow", [], 10), ("agent", "allow", [], 20),
            ("customer", "warn", ["contact"], 30), ("agent", "block", ["payment"], 70),
            ("customer", "allow", [], 80)]):
        m = Message(conversation_id=conv.id, tenant_id=conv.tenant_id, seq=seq + i + 1,
                    sender_role=role, kind=MessageKind.text, body=f"rollup test {i}",
                    decision=decision, screening_status="screened", categories=cats,
                    severity=0, spans=[], policy_version=0,
                    created_at=DAY + timedelta(hours=9, minutes=minutes))
        db.add(m)
        out.append((m, conv.org_unit_id, conv.agent_employee_id))
    await db.flush()
    return out


async def _hourly(db: AsyncSession) -> Counter[tuple[Any, ...]]:
    out: Counter[tuple[Any, ...]] = Counter()
    for r in (await db.scalars(select(RollupHourly).where(
            RollupHourly.hour >= DAY, RollupHourly.hour < DAY + timedelta(days=1)),
            execution_options={"populate_existing": True})).all():
        for c in rollup.COUNTERS:
            out[(r.tenant_id, r.team_id, r.tenure_band, r.shift_id, r.hour, c)] += getattr(r, c)
    return +out


async def _cube_day(db: AsyncSession) -> Counter[str]:
    """The tenant-level day rows (grain D) of DAY's local days, summed per counter."""
    out: Counter[str] = Counter()
    lo, hi = (DAY - timedelta(days=1)).date(), (DAY + timedelta(days=1)).date()
    for r in (await db.scalars(select(RollupCube).where(
            RollupCube.grain == "D", RollupCube.period >= lo, RollupCube.period <= hi),
            execution_options={"populate_existing": True})).all():
        for c in rollup.COUNTERS:
            out[c] += getattr(r, c)
    return +out


async def test_drifted_rollups_are_repaired_and_the_cube_follows(db: AsyncSession) -> None:
    rows = await _messages(db)
    rollup.reset()
    await rollup.record_batch(db, rows[:4])  # the writer saw four; the fifth was imported
    await rollup.record_batch(db, rows[:1])  # … and counted the first twice
    await db.flush()
    before = await _hourly(db)
    assert sum(n for k, n in before.items() if k[-1] == "messages") == 5  # right total,
    assert await _cube_day(db) != Counter()  # wrong cells: hour 9 has 4, hour 10 has 1

    result = await reconcile_rollups(db, DAY, DAY + timedelta(days=1))
    assert result["messages"] == 5 and result["repaired"] == 2, result
    hourly = await _hourly(db)
    assert sum(n for k, n in hourly.items() if k[-1] == "messages") == 5
    assert sum(n for k, n in hourly.items() if k[-1] == "attempts") == 2
    assert sum(n for k, n in hourly.items() if k[-1] == "violations") == 1
    assert sum(n for k, n in hourly.items() if k[-1] == "contact_attempts") == 1
    assert sum(n for k, n in hourly.items() if k[-1] == "blocks") == 1
    # The cube is again the hourly rollups regrouped.
    cube = await _cube_day(db)
    assert cube["messages"] == 5 and cube["agent_messages"] == 2 and cube["blocks"] == 1

    again = await reconcile_rollups(db, DAY, DAY + timedelta(days=1))
    assert again["repaired"] == 0 and again["cells"] == result["cells"]
    assert await _hourly(db) == hourly and await _cube_day(db) == cube


async def test_the_nightly_schedule_runs_it_through_the_job_system(
        db: AsyncSession, jobs: InlineRuntime, settings: Settings) -> None:  # noqa: F811
    entry = {s.name: (s, period) for s, period in planned(settings)}["analytics.rollup"]
    assert entry[0].task == "analytics.rollup" and entry[0].cron and entry[1] is None
    # By default the window is yesterday (UTC), whole.
    start, end = window(None, 1, now=datetime(2026, 1, 2, 3, 4, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC))

    await _messages(db)  # none of them rolled up
    job = await enqueue(db, "analytics.rollup", params={"day": DAY.date().isoformat()})
    await commit(db)
    await jobs.wait()
    row = await db.get(Job, job.id, populate_existing=True)
    assert row is not None and row.state == "done", row.error if row else None
    assert row.result is not None and row.result["repaired"] >= 1
    assert row.result["messages"] == 5
    assert sum(n for k, n in (await _hourly(db)).items() if k[-1] == "messages") == 5
