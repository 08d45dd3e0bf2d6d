"""Agents on shift from the rota, on known answers: the staffing rows a refresh leaves (an
hour counts each person once, partial hours count), the heat-map's and league table's rates
per agent-hour, and a rota edit reflected exactly by refreshing its day (idempotent)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.analytics import staffing
from probity.analytics.rollup import ALL_TEAMS, cube_keys
from probity.models import (
    Employee,
    RollupCube,
    ShiftAssignment,
    ShiftTemplate,
    StaffingCube,
    Tenant,
    User,
)

DAY = date(2018, 6, 9)  # a Saturday, nothing else in the demo data then


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    """Local (Shanghai, UTC+8) time as UTC."""
    return datetime.combine(day, time(hour, minute), UTC) - timedelta(hours=8)


async def test_agents_on_shift_from_the_rota(as_user: Any, db: AsyncSession) -> None:
    ecom = await db.scalar(select(Tenant).where(Tenant.code == "ECOM"))
    agent = await db.scalar(select(Employee).join(User, User.employee_id == Employee.id)
                            .where(User.username == "agent"))
    assert ecom is not None and agent is not None and agent.org_unit_id
    team = agent.org_unit_id
    tpl = ShiftTemplate(tenant_id=ecom.id, code="STAFF-T", name="晚班", start_time=time(18),
                        end_time=time(21))
    others = [Employee(tenant_id=ecom.id, org_unit_id=team, employee_no=f"STAFF-{i}",
                       name=f"排班{i}", hire_date=date(2017, 1, 1)) for i in range(2)]
    db.add_all([tpl, *others])
    await db.flush()

    def shift(emp: Employee, start: datetime, end: datetime) -> ShiftAssignment:
        return ShiftAssignment(tenant_id=ecom.id, org_unit_id=team, employee_id=emp.id,
                               template_id=tpl.id, day=DAY, starts_at=start, ends_at=end)

    # 18:00–21:00: A and B; A also has an overlapping 19:00–20:00 entry (counts once);
    # C 20:30–22:00 (partial hour 20 counts).
    a, b = others
    db.add_all([shift(a, at(18), at(21)), shift(a, at(19), at(20)), shift(b, at(18), at(21)),
                shift(agent, at(20, 30), at(22))])
    # Attempts in those hours (what the rollup hook would have written): 6 at 19:00, 3 at 21:00.
    cube: dict[tuple[Any, ...], int] = {}
    for hour, attempts in ((19, 6), (21, 3)):
        for key in cube_keys(ecom.id, team, "1to3y", DAY, DAY.weekday(), hour):
            cube[key] = cube.get(key, 0) + attempts
    for key, attempts in cube.items():
        db.add(RollupCube(**dict(zip(("grain", "period", "tenant_id", "team_id", "tenure_band",
                                      "local_dow", "local_hour"), key, strict=True)),
                          messages=100, agent_messages=50, conversations=10, attempts=attempts,
                          violations=attempts, blocks=0, contact_attempts=0))
    await db.flush()
    cells = await staffing.refresh(db, ecom.id, DAY, DAY)
    await db.flush()
    assert cells == 4  # hours 18, 19, 20, 21

    async def staff(grain: str) -> dict[tuple[int, int, int], int]:
        return {(r.team_id, r.local_dow, r.local_hour): r.agent_hours
                for r in (await db.scalars(select(StaffingCube).where(
                    StaffingCube.tenant_id == ecom.id, StaffingCube.grain == grain,
                    StaffingCube.period == (DAY.replace(day=1) if grain in "mM" else DAY)))
                ).all()}

    sat = DAY.weekday()
    want = {(team, sat, 18): 2, (team, sat, 19): 2, (team, sat, 20): 3, (team, sat, 21): 1}
    assert await staff("d") == want
    assert await staff("D") == {(ALL_TEAMS, d, h): n for (_t, d, h), n in want.items()}
    assert await staff("m") == want  # the month is that one day
    assert await staff("b") == {(team, -1, -1): 8}

    c = await as_user("admin")
    q = {"from": "2018-06-01", "to": "2018-06-30", "tenant": ecom.id}
    r = await c.get("/api/v1/analytics/heatmap", params=q)
    assert r.status_code == 200, r.text
    got = {(x["local_dow"], x["local_hour"]): x for x in r.json()["cells"]}
    assert got[(sat, 19)]["agent_hours"] == 2
    assert got[(sat, 19)]["attempts_per_agent_hour"] == 3.0  # 6 attempts / 2 agent-hours
    assert got[(sat, 21)]["attempts_per_agent_hour"] == 3.0  # 3 / 1
    assert got[(sat, 20)]["agent_hours"] == 3 and got[(sat, 20)]["attempts"] == 0
    assert got[(sat, 20)]["attempts_per_agent_hour"] == 0.0
    r = await c.get("/api/v1/analytics/league", params=q)
    assert r.status_code == 200, r.text
    row = next(t for t in r.json()["teams"] if t["team_id"] == team)
    assert row["agent_hours"] == 8
    assert row["violations_per_agent_hour"] == round(9 / 8, 6)

    # A rota edit (B leaves at 19:00) and a refresh of that day: exactly the new figures.
    b_row = await db.scalar(select(ShiftAssignment).where(ShiftAssignment.employee_id == b.id))
    assert b_row is not None
    b_row.ends_at = at(19)
    await db.flush()
    await staffing.refresh(db, ecom.id, DAY, DAY)
    await staffing.refresh(db, ecom.id, DAY, DAY)  # idempotent
    await db.flush()
    want[(team, sat, 19)] = 1
    want[(team, sat, 20)] = 2
    assert await staff("d") == want
    assert await staff("m") == want
    assert await staff("b") == {(team, -1, -1): 6}
