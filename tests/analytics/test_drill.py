"""The drill-down on known answers: a weekday/hour cell's alerts exactly, newest first, in
keyset pages (`before`) that neither skip nor repeat a row, and the tenure-band filter (in
SQL) agreeing with `tenure_band` on the alert's local day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.analytics.rollup import tenure_band
from probity.models import Alert, Employee, Tenant, User

# Saturdays of Feb–Mar 2019 (no demo activity): 19:xx in Shanghai = 11:xx UTC.
SATURDAYS = [date(2019, 2, 2) + timedelta(weeks=w) for w in range(8)]


async def test_drill_cell_pages_and_bands(as_user: Any, db: AsyncSession) -> None:
    ecom = await db.scalar(select(Tenant).where(Tenant.code == "ECOM"))
    agent = await db.scalar(select(Employee).join(User, User.employee_id == Employee.id)
                            .where(User.username == "agent"))
    assert ecom is not None and agent is not None
    # Two agents: one hired 2018-12-01 (under 3 months until 2019-03-01 local), one older.
    new = Employee(tenant_id=ecom.id, org_unit_id=agent.org_unit_id, employee_no="DRILL-1",
                   name="新人", hire_date=date(2018, 12, 1))
    old = Employee(tenant_id=ecom.id, org_unit_id=agent.org_unit_id, employee_no="DRILL-2",
                   name="老人", hire_date=date(2015, 1, 1))
    db.add_all([new, old])
    await db.flush()

    def alert(at: datetime, who: Employee, source: str = "screening") -> Alert:
        return Alert(tenant_id=ecom.id, org_unit_id=agent.org_unit_id, sender_role="agent",
                     decision="block", category="contact", categories=["contact"], severity=3,
                     snippet="***", spans=[], source=source, subject="agent",
                     agent_part="initiator", agent_employee_id=who.id, created_at=at)

    inside, outside = [], []
    for n, day in enumerate(SATURDAYS):
        base = datetime(day.year, day.month, day.day, 11, 0, tzinfo=UTC)  # 19:00 local
        for k in range(3):
            # same second for two of them: the keyset breaks ties by id
            inside.append(alert(base + timedelta(minutes=10 * (k // 2)),
                                new if (n + k) % 2 else old))
        outside += [alert(base - timedelta(seconds=1), old),  # 18:59:59 local
                    alert(base + timedelta(hours=1), new),  # 20:00 local
                    alert(base + timedelta(minutes=5), new, "finance")]
    db.add_all(inside + outside)
    await db.flush()
    c = await as_user("admin")
    q = {"from": "2019-02-01", "to": "2019-03-31", "tenant": ecom.id, "dow": 5, "hour": 19}
    whole = await c.get("/api/v1/analytics/alerts", params=q)
    assert whole.status_code == 200, whole.text
    want = sorted(inside, key=lambda a: (a.created_at, a.id), reverse=True)
    assert [r["id"] for r in whole.json()] == [a.id for a in want]
    # Pages of 5, each after the previous page's last row.
    seen: list[int] = []
    before = None
    while True:
        r = await c.get("/api/v1/analytics/alerts",
                        params={**q, "limit": 5, **({"before": before} if before else {})})
        assert r.status_code == 200, r.text
        page = r.json()
        if not page:
            break
        assert len(page) <= 5
        seen += [x["id"] for x in page]
        last = page[-1]
        before = f"{last['at']}_{last['id']}"
    assert seen == [a.id for a in want]
    # Tenure band in SQL = tenure_band() on the local day, for each band.
    for band in ("lt3m", "3to12m", "gt3y"):
        r = await c.get("/api/v1/analytics/alerts", params={**q, "band": band})
        assert r.status_code == 200, r.text
        expect = [a.id for a in want
                  if tenure_band(new.hire_date if a.agent_employee_id == new.id
                                 else old.hire_date,
                                 (a.created_at + timedelta(hours=8)).date()) == band]
        assert [x["id"] for x in r.json()] == expect
        assert {x["tenure_band"] for x in r.json()} <= {band}
    assert any(x["tenure_band"] == "lt3m" for x in whole.json())
    assert any(x["tenure_band"] == "3to12m" for x in whole.json())
    bad = await c.get("/api/v1/analytics/alerts", params={**q, "before": "yesterday"})
    assert bad.status_code == 422 and "before" in bad.text
