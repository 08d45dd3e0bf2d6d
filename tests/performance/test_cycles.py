"""Cycles end to end through the API: templates and the HQ lock, live scorecards with evidence,
review and four-eyes sign-off, frozen scores (database triggers), the ledger, the bonus list,
appeal restoration in the next cycle, and what each person may see."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from tests.performance.helpers import IN_MONTH, WEIGHTS, decided_case, ids, setup_cycle

from probity.models import Case, CaseStatus, LedgerEntry, PerformanceScore


async def test_template_weights_and_the_hq_compliance_weight(as_user: Any, db: AsyncSession
                                                             ) -> None:
    t = await ids(db)
    hr = await as_user("hr")
    url = "/api/v1/performance/templates"
    body: dict[str, Any] = {"tenant_id": t["ecom"].id, "name": "x", "indicators": [
        {"code": "compliance", "weight": 20}, {"code": "csat", "weight": 70}]}
    r = await hr.put(url, json=body)
    assert r.status_code == 422 and r.json()["code"] == "weights_not_100"
    assert "90%" in r.json()["detail"]
    body["indicators"] = [{"code": "compliance", "weight": 30}, {"code": "csat", "weight": 70}]
    r = await hr.put(url, json=body)
    assert r.status_code == 422 and r.json()["code"] == "compliance_weight_out_of_range"
    assert r.json()["range"] == [15, 25] and "15%" in r.json()["detail"]
    body["indicators"] = [{"code": "compliance", "weight": 25}, {"code": "csat", "weight": 75}]
    r = await hr.put(url, json=body)  # in range, but HQ fixed 20% for the group
    assert r.status_code == 403 and r.json()["code"] == "locked_by_hq"
    settings_url = "/api/v1/settings/{}/performance"
    r = await hr.put(settings_url.format(t["ecom"].id),
                     json={"values": {"compliance_weight": 25}, "reason": "试一下"})
    assert r.status_code == 403 and r.json()["code"] == "setting_locked"
    assert (await db.scalar(text("SELECT count(*) FROM kpi_templates WHERE name = 'x'"))) == 0
    admin = await as_user("admin")
    hq_id = t["ecom"].parent_id
    r = await admin.put(settings_url.format(hq_id), json={
        "values": {"compliance_weight": 26}, "reason": "调整"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_setting"
    r = await admin.put(settings_url.format(hq_id), json={
        "values": {"compliance_weight": 25, "bonus_threshold": 95},
        "locks": {"bonus_threshold": True}, "reason": "集团统一奖金门槛"})
    assert r.status_code == 201, r.text
    hr = await as_user("hr")
    r = await hr.put(url, json=body)
    assert r.status_code == 200, r.text
    r = await hr.put(settings_url.format(t["ecom"].id),
                     json={"values": {"bonus_threshold": 80}, "reason": "放宽"})
    assert r.status_code == 403 and r.json()["code"] == "setting_locked"
    r = await hr.get(settings_url.format(t["ecom"].id))
    assert r.json()["fields"]["bonus_threshold"]["value"] == 95 if isinstance(
        r.json().get("fields"), dict) else r.status_code == 200


async def test_live_scorecard_links_deductions_to_cases(as_user: Any, db: AsyncSession) -> None:
    t = await ids(db)
    hr = await as_user("hr")
    cycle = await setup_cycle(hr, t["ecom"].id)
    bribe = await decided_case(db, t["ecom"], t["agent"], severity=3, source="finance")
    # A customer's attempt (every alert the customer's) never costs the agent points.
    await decided_case(db, t["ecom"], t["agent"], sender_role="customer")
    # Decided but unsubstantiated: no points.
    await decided_case(db, t["ecom"], t["agent"], decision="unsubstantiated")
    agent = await as_user("agent")
    r = await agent.get("/api/v1/me/performance", params={"cycle_id": cycle["id"]})
    assert r.status_code == 200, r.text
    card = r.json()
    assert card["frozen"] is False
    # 5 for the bribe, 5 for concealment (finance found it, never self-reported).
    assert card["compliance"] == 90
    assert {(d["case_id"], d["kind"]) for d in card["deductions"]} == {
        (bribe.id, "violation"), (bribe.id, "concealment")}
    page = await agent.get("/performance/me", params={"cycle_id": cycle["id"]})
    assert f'href="/performance/me/cases/{bribe.id}"' in page.text
    case_page = await agent.get(f"/performance/me/cases/{bribe.id}")
    assert case_page.status_code == 200 and "test bribe" in case_page.text
    # Another agent's scorecard is not found, exactly like a missing one.
    r = await agent.get(f"/api/v1/performance/scorecards/{t['peer'].id}")
    assert r.status_code == 404
    assert (await agent.get(f"/performance/me/cases/{bribe.id + 10_000}")).status_code == 404
    lead = await as_user("lead")
    r = await lead.get(f"/api/v1/performance/scorecards/{t['agent'].id}",
                       params={"cycle_id": cycle["id"]})
    assert r.status_code == 200 and r.json()["compliance"] == 90


async def test_review_signoff_four_eyes_freeze_and_ledger(as_user: Any, db: AsyncSession) -> None:
    t = await ids(db)
    hr = await as_user("hr")
    cycle = await setup_cycle(hr, t["ecom"].id)
    cid = cycle["id"]
    await decided_case(db, t["ecom"], t["agent"], severity=2)
    r = await hr.post(f"/api/v1/performance/cycles/{cid}/close")
    assert r.status_code == 409 and r.json()["code"] == "review_required"
    admin = await as_user("admin")
    assert (await admin.post(f"/api/v1/performance/cycles/{cid}/review")).status_code == 200
    r = await admin.post(f"/api/v1/performance/cycles/{cid}/close")
    assert r.status_code == 403 and r.json()["code"] == "four_eyes"
    # …and wrote nothing: still in review, no frozen score.
    assert (await hr.get(f"/api/v1/performance/cycles/{cid}")).json()["status"] == "review"
    assert await db.scalar(select(func.count()).select_from(PerformanceScore).where(
        PerformanceScore.cycle_id == cid)) == 0
    hr = await as_user("hr")
    r = await hr.post(f"/api/v1/performance/cycles/{cid}/close")
    assert r.status_code == 200, r.text
    closed = r.json()
    assert closed["status"] == "closed" and closed["employees"] > 0
    frozen_rows = await db.scalar(select(func.count()).select_from(PerformanceScore).where(
        PerformanceScore.cycle_id == cid))
    r = await hr.post(f"/api/v1/performance/cycles/{cid}/close")
    assert r.status_code == 409 and r.json()["code"] == "cycle_closed"
    assert await db.scalar(select(func.count()).select_from(PerformanceScore).where(
        PerformanceScore.cycle_id == cid)) == frozen_rows
    entry = await db.scalar(select(LedgerEntry).where(
        LedgerEntry.seq == closed["ledger_seq"], LedgerEntry.tenant_id == t["ecom"].id))
    assert entry is not None and entry.type == "performance.cycle_closed"
    score = await db.scalar(select(PerformanceScore).where(
        PerformanceScore.cycle_id == cid, PerformanceScore.employee_id == t["agent"].id))
    assert score is not None and score.compliance_score == 95
    agent = await as_user("agent")
    card = (await agent.get("/api/v1/me/performance", params={"cycle_id": cid})).json()
    assert card["frozen"] is True and card["compliance"] == 95
    assert card["deductions"][0]["case_id"] is not None


@pytest.mark.parametrize("statement", [
    "UPDATE appraisal_cycles SET name = 'rewritten' WHERE id = :id",
    "DELETE FROM appraisal_cycles WHERE id = :id",
    "UPDATE performance_scores SET compliance_score = 100 WHERE cycle_id = :id",
    "DELETE FROM performance_lines WHERE cycle_id = :id",
])
async def test_closed_cycles_are_immutable_in_the_database(as_user: Any, db: AsyncSession,
                                                           statement: str) -> None:
    t = await ids(db)
    hr = await as_user("hr")
    cycle = await setup_cycle(hr, t["ecom"].id)
    await decided_case(db, t["ecom"], t["agent"])
    lead = await as_user("lead")
    assert (await lead.post(f"/api/v1/performance/cycles/{cycle['id']}/review")).status_code == 200
    hr = await as_user("hr")
    assert (await hr.post(f"/api/v1/performance/cycles/{cycle['id']}/close")).status_code == 200
    nested = await db.begin_nested()
    with pytest.raises(Exception, match=r"immutable|append-only"):
        await db.execute(text(statement), {"id": cycle["id"]})
    await nested.rollback()


async def test_an_open_cycle_can_still_change(as_user: Any, db: AsyncSession) -> None:
    t = await ids(db)
    cycle = await setup_cycle(await as_user("hr"), t["ecom"].id)
    await db.execute(text("UPDATE appraisal_cycles SET name = 'renamed' WHERE id = :id"),
                     {"id": cycle["id"]})


async def test_bonus_list_csv_xlsx_and_api(as_user: Any, db: AsyncSession) -> None:
    from openpyxl import load_workbook

    t = await ids(db)
    hr = await as_user("hr")
    cycle = await setup_cycle(hr, t["ecom"].id)
    cid = cycle["id"]
    for _ in range(3):  # 85 < 90: loses the compliance bonus
        await decided_case(db, t["ecom"], t["agent"])
    r = await hr.get(f"/api/v1/performance/cycles/{cid}/bonus-list")
    assert r.status_code == 409 and r.json()["code"] == "cycle_not_closed"
    lead = await as_user("lead")
    await lead.post(f"/api/v1/performance/cycles/{cid}/review")
    hr = await as_user("hr")
    await hr.post(f"/api/v1/performance/cycles/{cid}/close")
    lines = (await hr.get(f"/api/v1/performance/cycles/{cid}/bonus-list")).json()
    mine = next(x for x in lines if x["employee_id"] == t["agent"].id)
    assert mine["compliance_score"] == 85 and mine["eligible"] is False
    assert mine["amount"] == "0.00" and "85 < 90" in mine["reason"]
    peer = next(x for x in lines if x["employee_id"] == t["peer"].id)
    assert peer["eligible"] is True and peer["amount"] == f"{float(peer['base']) * 0.1:.2f}"
    csv = await hr.get(f"/api/v1/performance/cycles/{cid}/bonus-list.csv")
    assert csv.content.startswith(b"\xef\xbb\xbf") and t["agent"].name in csv.content.decode()
    xlsx = await hr.get(f"/api/v1/performance/cycles/{cid}/bonus-list.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet.max_row == len(lines) + 1
    # The team lead sees their team's lines only; the agent has no access at all.
    lead = await as_user("lead")
    team = (await lead.get(f"/api/v1/performance/cycles/{cid}/bonus-list")).json()
    assert 0 < len(team) < len(lines)
    agent = await as_user("agent")
    assert (await agent.get(f"/api/v1/performance/cycles/{cid}/bonus-list")).status_code == 403


async def test_an_overturned_appeal_is_an_adjustment_in_the_next_cycle(
        as_user: Any, db: AsyncSession) -> None:
    t = await ids(db)
    hr = await as_user("hr")
    march = await setup_cycle(hr, t["ecom"].id)
    cases = [await decided_case(db, t["ecom"], t["agent"]) for _ in range(3)]
    lead = await as_user("lead")
    await lead.post(f"/api/v1/performance/cycles/{march['id']}/review")
    hr = await as_user("hr")
    assert (await hr.post(f"/api/v1/performance/cycles/{march['id']}/close")).status_code == 200
    april = (await hr.post("/api/v1/performance/cycles", json={
        "tenant_id": t["ecom"].id, "period": "monthly", "starts_on": "2027-04-01"})).json()
    # The appeal of one case is overturned: it goes back to investigating, decision cleared.
    overturned = await db.get(Case, cases[0].id)
    assert overturned is not None
    overturned.status, overturned.decision = CaseStatus.investigating, None
    await db.flush()
    agent = await as_user("agent")
    card = (await agent.get("/api/v1/me/performance", params={"cycle_id": april["id"]})).json()
    assert [(a["case_id"], a["points"], a["bonus_owed"]) for a in card["adjustments"]] == [
        (cases[0].id, 5, "300.00")]
    frozen = (await agent.get("/api/v1/me/performance", params={"cycle_id": march["id"]})).json()
    assert frozen["compliance"] == 85  # the closed cycle is never rewritten
    lead = await as_user("lead")
    await lead.post(f"/api/v1/performance/cycles/{april['id']}/review")
    hr = await as_user("hr")
    assert (await hr.post(f"/api/v1/performance/cycles/{april['id']}/close")).status_code == 200
    lines = (await hr.get(f"/api/v1/performance/cycles/{april['id']}/bonus-list")).json()
    mine = next(x for x in lines if x["employee_id"] == t["agent"].id)
    assert mine["adjustment"] == "300.00"
    assert float(mine["total"]) == float(mine["amount"]) + 300
    # Paid once: the next cycle owes nothing more for it.
    may = (await hr.post("/api/v1/performance/cycles", json={
        "tenant_id": t["ecom"].id, "period": "monthly", "starts_on": "2027-05-01"})).json()
    agent = await as_user("agent")
    card = (await agent.get("/api/v1/me/performance", params={"cycle_id": may["id"]})).json()
    assert card["adjustments"] == []


async def test_manual_scores_need_a_comment_and_an_open_cycle(as_user: Any, db: AsyncSession
                                                              ) -> None:
    t = await ids(db)
    cycle = await setup_cycle(await as_user("hr"), t["ecom"].id)
    lead = await as_user("lead")
    url = f"/api/v1/performance/cycles/{cycle['id']}/manual-scores"
    body = {"employee_id": t["agent"].id, "indicator": "manual.quality", "score": 80,
            "comment": ""}
    assert (await lead.put(url, json=body)).status_code == 422
    body["comment"] = "质检抽查 20 条，规范"
    assert (await lead.put(url, json=body)).status_code == 200
    body["indicator"] = "csat"
    r = await lead.put(url, json=body)
    assert r.status_code == 422 and r.json()["code"] == "not_manual"
    agent = await as_user("agent")
    card = (await agent.get("/api/v1/me/performance", params={"cycle_id": cycle["id"]})).json()
    assert card["indicators"]["manual.quality"] == 80 and card["manual"][0]["score"] == 80


async def test_cycle_input_is_checked(as_user: Any, db: AsyncSession) -> None:
    t = await ids(db)
    hr = await as_user("hr")
    url = "/api/v1/performance/cycles"
    r = await hr.post(url, json={"tenant_id": t["ecom"].id, "period": "monthly",
                                 "starts_on": "2027-03-15"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_start"
    await setup_cycle(hr, t["ecom"].id)
    r = await hr.post(url, json={"tenant_id": t["ecom"].id, "period": "quarterly",
                                 "starts_on": "2027-01-01"})
    assert r.status_code == 409 and r.json()["code"] == "cycle_overlap"
    r = await hr.put("/api/v1/performance/penalties", json={
        "tenant_id": t["ecom"].id, "rules": [{"violation_type": "bribe", "severity": None,
                                              "points": 10}]})
    assert r.status_code == 200
    table = {(x["violation_type"], x["severity"]): x["points"] for x in r.json()}
    assert table[("bribe", None)] == 10 and table[("contact", None)] == 5
    r = await hr.put("/api/v1/performance/penalties", json={
        "tenant_id": t["ecom"].id, "rules": [{"violation_type": "gift", "points": 10}]})
    assert r.status_code == 422
    assert WEIGHTS and datetime(2027, 4, 1, tzinfo=UTC) > IN_MONTH


async def test_an_appeal_upheld_in_an_open_cycle_restores_the_points(
        as_user: Any, db: AsyncSession) -> None:
    """Through the case workflow: the agent appeals the closed case, compliance reopens it and
    finds it unsubstantiated; the live scorecard is back where it was, exactly."""
    from probity.auth.service import load_principal
    from probity.cases import service as cases
    from probity.models import User

    async def principal(name: str) -> Any:
        user = await db.scalar(select(User).where(User.username == name))
        assert user is not None
        return await load_principal(db, user.id)

    t = await ids(db)
    cycle = await setup_cycle(await as_user("hr"), t["ecom"].id)
    agent = await as_user("agent")
    url, params = "/api/v1/me/performance", {"cycle_id": cycle["id"]}
    before = (await agent.get(url, params=params)).json()["compliance"]
    case = await decided_case(db, t["ecom"], t["agent"], severity=2)
    assert (await agent.get(url, params=params)).json()["compliance"] == before - 5
    await cases.appeal_by_subject(db, await principal("agent"), case.id, "客户先发的微信号")
    await cases.transition(db, await principal("admin"), case.id, "investigating",
                           reason="复核")
    await cases.transition(db, await principal("compliance"), case.id, "unsubstantiated",
                           reason="申诉成立")
    await db.flush()
    card = (await agent.get(url, params=params)).json()
    assert card["compliance"] == before
    assert all(d["case_id"] != case.id for d in card["deductions"])
