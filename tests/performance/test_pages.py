"""Pages render for the people who use them; an agent is told about a substantiated decision
(reason, points, how to appeal); awards, honour roll, promotion priority, dashboard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.performance.helpers import decided_case, ids, refusal_conversation, setup_cycle

from probity.models import (
    AuditEntry,
    Case,
    CaseStatus,
    Employee,
    Notification,
    PerformanceScore,
    User,
)


async def _closed_cycle(as_user: Any, db: AsyncSession) -> dict[str, Any]:
    t = await ids(db)
    cycle = await setup_cycle(await as_user("hr"), t["ecom"].id)
    await decided_case(db, t["ecom"], t["peer"])
    await refusal_conversation(db, t["ecom"], t["agent"])
    lead = await as_user("lead")
    assert (await lead.post(f"/api/v1/performance/cycles/{cycle['id']}/review")).status_code == 200
    hr = await as_user("hr")
    r = await hr.post(f"/api/v1/performance/cycles/{cycle['id']}/close")
    assert r.status_code == 200, r.text
    return {**t, "cycle": r.json()}


async def test_pages_render(as_user: Any, db: AsyncSession) -> None:
    t = await _closed_cycle(as_user, db)
    cid = t["cycle"]["id"]
    hr = await as_user("hr")
    for url in ("/performance", f"/performance/cycles/{cid}", "/performance/dashboard",
                "/performance/dashboard?level=subsidiary&split=2027-03-15",
                "/performance/promotions", "/performance/honour-roll",
                f"/performance/scorecards/{t['agent'].id}?cycle_id={cid}"):
        r = await hr.get(url, headers={"accept": "text/html"})
        assert r.status_code == 200, (url, r.text[:300])
    page = await hr.get(f"/performance/cycles/{cid}")
    assert "bonus-list.csv" in page.text and t["agent"].name in page.text
    agent = await as_user("agent")
    r = await agent.get("/performance/me", params={"cycle_id": cid})
    assert r.status_code == 200 and "合规分" in r.text
    assert (await agent.get("/performance", headers={"accept": "text/html"})).status_code == 403


async def test_dashboard_figures(as_user: Any, db: AsyncSession) -> None:
    t = await _closed_cycle(as_user, db)
    hr = await as_user("hr")
    data = (await hr.get("/api/v1/performance/dashboard", params={
        "level": "team", "split": "2027-04-01"})).json()
    team = next(s for s in data["series"] if s["key"] == f"team:{t['peer'].org_unit_id}")
    point = next(p for p in team["points"] if p["cycle_id"] == t["cycle"]["id"])
    assert point["violation_rate"] == round(1 / point["employees"], 4)
    assert team["before"]["employees"] >= point["employees"]
    assert team["after"]["employees"] == 0
    # The agent's two offer episodes, both refused; the share eligible for the bonus as frozen.
    assert point["offers"] == 2 and point["refusals"] == 2 and point["refusal_ratio"] == 1.0
    eligible = await db.scalar(select(func.count()).select_from(PerformanceScore).where(
        PerformanceScore.cycle_id == t["cycle"]["id"],
        PerformanceScore.org_unit_id == t["peer"].org_unit_id,
        PerformanceScore.bonus_eligible.is_(True)))
    assert point["eligible_share"] == round((eligible or 0) / point["employees"], 4)
    for level in ("subsidiary", "group"):
        data = (await hr.get("/api/v1/performance/dashboard", params={"level": level})).json()
        assert any(p["cycle_id"] == t["cycle"]["id"] for s in data["series"]
                   for p in s["points"]), level


async def test_awards_confirmed_are_on_the_honour_roll(as_user: Any, db: AsyncSession) -> None:
    t = await _closed_cycle(as_user, db)
    hr = await as_user("hr")
    noms = (await hr.get("/api/v1/performance/awards",
                         params={"cycle_id": t["cycle"]["id"]})).json()
    # Zero violations, two refusals (three refusal messages, two offer episodes), CSAT 5: the
    # default rule nominates the agent.
    award = next(a for a in noms if a["employee_id"] == t["agent"].id)
    assert award["facts"]["refusals"] == 2 and award["facts"]["csat"] == 5
    r = await hr.post(f"/api/v1/performance/awards/{award['id']}/confirm")
    assert r.status_code == 200
    assert (await hr.post(f"/api/v1/performance/awards/{award['id']}/confirm")).status_code == 409
    roll = (await hr.get("/api/v1/performance/honour-roll")).json()
    assert any(x["award_id"] == award["id"] for x in roll)
    # …and it is on the employee's profile.
    profile = await hr.get(f"/org/employees/{t['agent'].id}")
    assert profile.status_code == 200
    assert 'data-testid="profile-awards"' in profile.text and "合规标兵" in profile.text


async def test_agent_is_notified_of_a_substantiated_decision(as_user: Any, db: AsyncSession
                                                             ) -> None:
    t = await ids(db)
    case = await decided_case(db, t["ecom"], t["agent"], status=CaseStatus.investigating,
                              decision=None)
    hr = await as_user("hr")
    r = await hr.put("/api/v1/performance/penalties", json={"tenant_id": t["ecom"].id, "rules": [
        {"violation_type": "bribe", "severity": None, "points": 8}]})
    assert r.status_code == 200
    compliance = await as_user("compliance")
    r = await compliance.post(f"/api/v1/cases/{case.id}/transition", json={
        "to": "substantiated", "reason": "聊天中索要微信并引导私下转账"})
    assert r.status_code == 200, r.text
    user = await db.scalar(select(User).where(User.username == "agent"))
    assert user is not None
    note = await db.scalar(select(Notification).where(
        Notification.user_id == user.id, Notification.event == "performance.deduction",
        Notification.case_id == case.id))
    assert note is not None
    assert "−8" in note.title and "索要微信" in note.body and f"/performance/me/cases/{case.id}" \
        in note.body
    refreshed = await db.get(Case, case.id)
    assert refreshed is not None and refreshed.decision == "substantiated"


async def test_promotion_priority_holds_and_decisions(as_user: Any, db: AsyncSession) -> None:
    t = await ids(db)
    await decided_case(db, t["ecom"], t["agent"], at=datetime.now(UTC) - timedelta(days=1))
    hr = await as_user("hr")
    rows = (await hr.get("/api/v1/performance/promotions")).json()
    mine = next(r for r in rows if r["employee_id"] == t["agent"].id)
    assert not mine["clean"] and "substantiated" in {h["kind"] for h in mine["holds"]}
    clean = [r for r in rows if r["clean"]]
    assert clean and max(r["rank"] for r in clean) < mine["rank"]
    r = await hr.post(f"/api/v1/performance/promotions/{t['agent'].id}/decisions",
                      json={"decision": "defer", "note": "待违规处理满一年"})
    assert r.status_code == 201 and r.json()["record"]["clean"] is False
    audit = await db.scalar(select(AuditEntry).where(
        AuditEntry.action == "performance.promotion.decide",
        AuditEntry.target_id == str(t["agent"].id)))
    assert audit is not None
    r = await hr.post(f"/api/v1/performance/promotions/{t['agent'].id}/decisions",
                      json={"decision": "maybe"})
    assert r.status_code == 422


async def test_a_confirmed_star_and_their_team_are_notified(as_user: Any, db: AsyncSession
                                                            ) -> None:
    t = await _closed_cycle(as_user, db)
    hr = await as_user("hr")
    noms = (await hr.get("/api/v1/performance/awards",
                         params={"cycle_id": t["cycle"]["id"]})).json()
    award = next(a for a in noms if a["employee_id"] == t["agent"].id)
    assert (await hr.post(f"/api/v1/performance/awards/{award['id']}/confirm")).status_code == 200
    notes = (await db.execute(select(User.employee_id, Notification.title, Notification.body)
                              .join(User, User.id == Notification.user_id)
                              .where(Notification.event == "performance.award"))).all()
    notes = [n for n in notes if t["cycle"]["name"] in n[1]]  # the demo's own awards aside
    own = [n for n in notes if n[0] == t["agent"].id]
    assert len(own) == 1 and "合规标兵" in own[0][1] and "/performance/honour-roll" in own[0][2]
    assert "违规 0 次" in own[0][2] and "拒收 2 次" in own[0][2]
    teammates = {n[0] for n in notes} - {t["agent"].id}
    assert teammates, "the team hears about it too"
    team = (await db.execute(select(Employee.id).where(
        Employee.org_unit_id == t["agent"].org_unit_id))).scalars().all()
    assert teammates <= set(team)
    # Declining another nomination tells nobody.
    before = await db.scalar(select(func.count()).select_from(Notification).where(
        Notification.event == "performance.award"))
    other = next((a for a in noms if a["status"] == "nominated" and a["id"] != award["id"]),
                 None)
    if other is not None:
        assert (await hr.post(f"/api/v1/performance/awards/{other['id']}/decline")
                ).status_code == 200
        after = await db.scalar(select(func.count()).select_from(Notification).where(
            Notification.event == "performance.award"))
        assert after == before
