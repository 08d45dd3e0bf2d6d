"""HQ's outcome figures on a fixture with known answers (a month with nothing else in it):
substantiation of alerts and of complaints, median hours to verification, complaints received
vs substantiated, open cases per assignee, attempts stopped in time (未遂率)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.analytics.rollup import ALL_TEAMS
from probity.models import (
    Alert,
    Case,
    CaseAlert,
    CaseStatus,
    Customer,
    Employee,
    RollupCube,
    Tenant,
    User,
)

DAY = date(2020, 3, 10)
AT = datetime(2020, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


async def test_outcome_figures_on_known_answers(as_user: Any, db: AsyncSession) -> None:
    ecom = await db.scalar(select(Tenant).where(Tenant.code == "ECOM"))
    admin = await db.scalar(select(User).where(User.username == "admin"))
    agent = await db.scalar(select(Employee).join(User, User.employee_id == Employee.id)
                            .where(User.username == "agent"))
    assert ecom is not None and admin is not None and agent is not None
    customers = [Customer(tenant_id=ecom.id, customer_no=f"OUTCOME-{i}", name=f"客户{i}")
                 for i in range(3)]  # new: no finance alert of theirs exists but ours
    db.add_all(customers)
    await db.flush()

    def case(hours: int | None, decision: str | None) -> Case:
        return Case(tenant_id=ecom.id, org_unit_id=agent.org_unit_id, title="测试",
                    status=CaseStatus.closed if decision else CaseStatus.new, severity=3,
                    subject="agent", last_alert_at=AT, triage_due_at=AT + timedelta(hours=2),
                    decision_due_at=AT + timedelta(days=3), created_at=AT, decision=decision,
                    decided_at=AT + timedelta(hours=hours) if hours is not None else None,
                    assignee_user_id=None if decision else admin.id, appeal_count=0)

    cases = [case(2, "substantiated"), case(4, "substantiated"), case(6, "unsubstantiated"),
             case(None, None)]
    db.add_all(cases)
    await db.flush()

    def alert(source: str, customer: Customer, minutes: int) -> Alert:
        return Alert(tenant_id=ecom.id, org_unit_id=agent.org_unit_id, sender_role="customer",
                     decision="block", category="contact", categories=["contact"], severity=3,
                     snippet="***", spans=[], source=source, subject="customer",
                     agent_part="recipient", agent_employee_id=agent.id,
                     customer_id=customer.id, created_at=AT + timedelta(minutes=minutes))

    # Complaints: cases 0 (substantiated) and 2 (not). Screening attempts with three
    # customers; a private payment was detected (finance alert) for the first pair only.
    complaint_a, complaint_b = alert("customer_report", customers[0], 1), \
        alert("customer_report", customers[1], 2)
    screening = [alert("screening", c, 3 + i) for i, c in enumerate(customers)]
    payment = alert("finance", customers[0], 30)
    db.add_all([complaint_a, complaint_b, *screening, payment])
    await db.flush()
    db.add_all([CaseAlert(case_id=cases[0].id, alert_id=complaint_a.id, created_at=AT),
                CaseAlert(case_id=cases[2].id, alert_id=complaint_b.id, created_at=AT)])
    # The rollups saw the three screening attempts in 12 conversations (the day × band row
    # and the tenant-level day × hour and month rows the hook writes with it).
    counts = {"messages": 60, "agent_messages": 30, "conversations": 12, "attempts": 3,
              "violations": 0, "blocks": 3, "contact_attempts": 3}
    db.add(RollupCube(grain="b", period=DAY, tenant_id=ecom.id, team_id=agent.org_unit_id or 0,
                      tenure_band="1to3y", local_dow=-1, local_hour=-1, **counts))
    db.add(RollupCube(grain="D", period=DAY, tenant_id=ecom.id, team_id=ALL_TEAMS,
                      tenure_band="*", local_dow=DAY.weekday(), local_hour=10, **counts))
    db.add(RollupCube(grain="M", period=DAY.replace(day=1), tenant_id=ecom.id,
                      team_id=ALL_TEAMS, tenure_band="*", local_dow=DAY.weekday(),
                      local_hour=10, **counts))
    await db.flush()
    c = await as_user("admin")
    r = await c.get("/api/v1/analytics/outcome", params={
        "from": "2020-03-01", "to": "2020-03-31", "tenant": ecom.id})
    assert r.status_code == 200, r.text
    got = {x["key"]: x for x in r.json()["figures"]}
    assert got["attempts_per_conversation"]["value"] == 0.25
    assert (got["stopped_share"]["numerator"], got["stopped_share"]["denominator"]) == (2, 3)
    assert got["substantiation_rate"]["value"] == round(2 / 3, 6)
    assert got["complaint_substantiation_rate"]["value"] == 0.5
    assert got["median_hours_to_verification"]["value"] == 4.0
    assert got["complaints_received"]["value"] == 2
    assert got["complaints_substantiated"]["value"] == 1
    assert got["open_cases"]["value"] == 1
    assert r.json()["workload"] == [{"user_id": admin.id, "name": admin.display_name,
                                     "open": 1}]
