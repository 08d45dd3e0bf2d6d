"""Dashboards, findings, exports, monitoring rules (tighten, QA sample, HR on duty) and bad
input through the API, as the demo roles."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.chat.helpers import active_conversation

from probity.analytics.rollup import COUNTERS, CUBE_KEY, cube_keys
from probity.models import (
    AuditEntry,
    OrgUnit,
    QaReview,
    RollupCube,
    RollupHourly,
    Tenant,
)
from probity.monitoring import enforce

ZONE = ZoneInfo("Asia/Shanghai")


async def _ecom(db: AsyncSession) -> tuple[int, list[int]]:
    tenant = await db.scalar(select(Tenant.id).where(Tenant.code == "ECOM"))
    assert tenant is not None
    teams = list((await db.scalars(select(OrgUnit.id).where(
        OrgUnit.tenant_id == tenant, OrgUnit.kind == "team").order_by(OrgUnit.id))).all())
    return tenant, teams


async def _synthetic(db: AsyncSession, days: int = 28) -> tuple[date, date]:
    """Rollup rows for ECOM: every hour of `days` local days; weekend 18:00–21:00 has three
    times the attempt rate, agents under 3 months three times the violation rate."""
    tenant, teams = await _ecom(db)
    await db.execute(delete(RollupHourly))
    await db.execute(delete(RollupCube))
    end = date(2030, 6, 30)
    start = end - timedelta(days=days - 1)
    rows: list[dict[str, Any]] = []
    d = start
    while d <= end:
        for h in range(24):
            local = datetime(d.year, d.month, d.day, h, tzinfo=ZONE)
            peak = local.weekday() >= 5 and 18 <= h < 21
            for band in ("lt3m", "1to3y"):
                msgs, agent_msgs = 40, 20
                attempts = 6 if peak else 2
                violations = 3 if band == "lt3m" else 1
                rows.append({"tenant_id": tenant, "team_id": teams[0], "tenure_band": band,
                             "shift_id": 0, "hour": local.astimezone(UTC),
                             "local_dow": local.weekday(), "local_hour": h, "messages": msgs,
                             "agent_messages": agent_msgs, "conversations": 10,
                             "attempts": attempts, "violations": violations, "blocks": attempts,
                             "contact_attempts": attempts})
        d += timedelta(days=1)
    await db.execute(RollupHourly.__table__.insert(), rows)
    await db.execute(RollupCube.__table__.insert(), cube_of(rows))
    await db.flush()
    return start, end


def cube_of(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cube rows the hook would have written with these hourly rows."""
    cube: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:
        day = r["hour"].astimezone(ZONE).date()
        for key in cube_keys(r["tenant_id"], r["team_id"], r["tenure_band"], day,
                             r["local_dow"], r["local_hour"]):
            acc = cube.setdefault(key, {**dict(zip(CUBE_KEY, key, strict=True)),
                                        **dict.fromkeys(COUNTERS, 0)})
            for c in COUNTERS:
                acc[c] += r[c]
    return list(cube.values())


async def test_dashboards_read_the_rollups(as_user: Any, db: AsyncSession) -> None:
    start, end = await _synthetic(db)
    c = await as_user("compliance")
    q = {"from": start.isoformat(), "to": end.isoformat()}
    heat = (await c.get("/api/v1/analytics/heatmap", params=q)).json()
    assert len(heat["cells"]) == 7 * 24
    sat19 = next(x for x in heat["cells"] if x["local_dow"] == 5 and x["local_hour"] == 19)
    mon10 = next(x for x in heat["cells"] if x["local_dow"] == 0 and x["local_hour"] == 10)
    assert sat19["attempt_rate"] == 6 / 40 and mon10["attempt_rate"] == 2 / 40
    # The subsidiary's heat-map (tenant-level grains) and its only team's (per-team grains)
    # are the same figures.
    _tenant, teams = await _ecom(db)
    by_team = (await c.get("/api/v1/analytics/heatmap", params=q | {"team": teams[0]})).json()
    assert by_team["cells"] == heat["cells"]
    tenure = (await c.get("/api/v1/analytics/tenure", params=q)).json()["bands"]
    lt3m = next(b for b in tenure if b["tenure_band"] == "lt3m")
    assert lt3m["violation_rate"] == 3 / 20 and lt3m["ci_low"] < 0.15 < lt3m["ci_high"]
    league = (await c.get("/api/v1/analytics/league", params=q)).json()
    assert len(league["teams"]) == 1 and league["subsidiaries"][0]["messages"] == 28 * 24 * 80
    trends = (await c.get("/api/v1/analytics/trends", params=q)).json()["days"]
    assert len(trends) == 28 and trends[0]["messages"] == 24 * 80
    # HR reads the same within its scope; an agent may not.
    assert (await (await as_user("hr")).get("/api/v1/analytics/heatmap", params=q)
            ).status_code == 200
    assert (await (await as_user("agent")).get("/api/v1/analytics/heatmap", params=q)
            ).status_code == 403


async def test_findings_are_phrased_for_hr_with_a_ci(as_user: Any, db: AsyncSession) -> None:
    start, end = await _synthetic(db)
    c = await as_user("compliance")
    q = {"from": start.isoformat(), "to": end.isoformat()}
    found = (await c.get("/api/v1/analytics/findings", params=q)).json()
    keys = [f["key"] for f in found["findings"]]
    assert "window:weekend:18-21" in keys and "tenure:lt3m" in keys
    weekend = next(f for f in found["findings"] if f["key"] == "window:weekend:18-21")
    assert weekend["text"].startswith("周末 18:00–21:00 违规率为其他时段的 3.")
    assert "(95% CI " in weekend["text"] and weekend["p_adjusted"] < 0.05
    assert weekend["ci_low"] < weekend["ratio"] < weekend["ci_high"]
    # Nothing else: a window busy for being busy is not a finding.
    assert not any(k.startswith("window:weekday") for k in keys)
    en = (await c.get("/api/v1/analytics/findings", params=q,
                      headers={"Accept-Language": "en"})).json()
    assert any(f["text"].startswith("Weekends 18:00–21:00") for f in en["findings"])
    holm = (await c.get("/api/v1/analytics/findings", params={**q, "method": "holm"})).json()
    assert holm["method"] == "holm" and holm["findings"]
    cohort = (await c.get("/api/v1/analytics/findings/tenure:lt3m/cohort", params=q)).json()
    tenant, _teams = await _ecom(db)
    assert cohort["tenure_band"] == "lt3m" and tenant in cohort["tenant_ids"]
    assert isinstance(cohort["employee_ids"], list)


async def test_every_chart_downloads_as_csv_and_xlsx(as_user: Any, db: AsyncSession) -> None:
    from openpyxl import load_workbook

    start, end = await _synthetic(db, days=7)
    c = await as_user("compliance")
    q = {"from": start.isoformat(), "to": end.isoformat()}
    for chart in ("heatmap", "tenure", "league", "subsidiaries", "trends", "findings",
                  "outcome"):
        r = await c.get(f"/api/v1/analytics/export/{chart}", params={**q, "format": "csv"})
        assert r.status_code == 200, (chart, r.text)
        assert r.text.startswith("\ufeff") and "\n" in r.text
        x = await c.get(f"/api/v1/analytics/export/{chart}", params={**q, "format": "xlsx"})
        assert x.status_code == 200
        sheet = load_workbook(io.BytesIO(x.content), read_only=True).active
        assert sheet is not None and next(sheet.iter_rows(values_only=True))
    assert (await c.get("/api/v1/analytics/export/nope", params=q)).status_code == 404


async def test_bad_input_is_a_4xx_naming_the_problem(as_user: Any, db: AsyncSession) -> None:
    c = await as_user("compliance")
    r = await c.get("/api/v1/analytics/heatmap", params={"from": "2026-05-02", "to": "2026-05-01"})
    assert r.status_code == 422 and r.json()["code"] == "reversed_range"
    assert "2026-05-02" in r.json()["detail"]
    r = await c.get("/api/v1/analytics/heatmap", params={"from": "", "to": "2026-05-01"})
    assert r.status_code == 422 and r.json()["code"] == "empty_range"
    r = await c.get("/api/v1/analytics/heatmap", params={"from": "2020-01-01", "to": "2026-01-01"})
    assert r.status_code == 422 and r.json()["code"] == "range_too_long"
    home = await db.scalar(select(Tenant.id).where(Tenant.code == "HOME"))
    r = await c.get("/api/v1/analytics/heatmap", params={"tenant": home})
    assert r.status_code == 422 and r.json()["code"] == "unknown_tenant"
    r = await c.post("/api/v1/monitoring/rules", json={"finding_key": "tenure:lt3m",
                                                       "tighten": True})
    assert r.status_code == 422 and r.json()["code"] == "expiry_required"
    r = await c.post("/api/v1/monitoring/rules", json={
        "finding_key": "tenure:lt3m", "tighten": True, "tenant": home,
        "expires_on": (date.today() + timedelta(days=7)).isoformat()})
    assert r.status_code == 422 and r.json()["code"] == "unknown_tenant"
    r = await c.post("/api/v1/monitoring/rules", json={
        "finding_key": "window:sometimes:1-2", "tighten": True,
        "expires_on": (date.today() + timedelta(days=7)).isoformat()})
    assert r.status_code == 422 and r.json()["code"] == "unknown_finding"
    r = await c.post("/api/v1/monitoring/rules", json={
        "finding_key": "tenure:lt3m", "expires_on": (date.today() + timedelta(days=7)).isoformat()})
    assert r.status_code == 422 and r.json()["code"] == "no_measure"
    r = await c.post("/api/v1/monitoring/rules", json={
        "finding_key": "tenure:lt3m", "tighten": True, "expires_on": "2020-01-01"})
    assert r.status_code == 422 and r.json()["code"] == "expiry_in_past"
    hr = await as_user("hr")
    r = await hr.post("/api/v1/monitoring/rules", json={
        "finding_key": "tenure:lt3m", "tighten": True,
        "expires_on": (date.today() + timedelta(days=7)).isoformat()})
    assert r.status_code == 403


async def _rule(c: httpx.AsyncClient, key: str, **measures: Any) -> dict[str, Any]:
    r = await c.post("/api/v1/monitoring/rules", json={
        "finding_key": key, "title": f"test {key}",
        "expires_on": (date.today() + timedelta(days=14)).isoformat(), **measures})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def _send(c: httpx.AsyncClient, conv_id: int, text: str) -> dict[str, Any]:
    r = await c.post(f"/api/v1/chat/conversations/{conv_id}/messages", json={"text": text})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_a_tighten_rule_blocks_what_warned(as_user: Any, db: AsyncSession) -> None:
    ecom = await db.scalar(select(Tenant.id).where(Tenant.code == "ECOM"))
    compliance = await as_user("compliance")
    r = await compliance.put(f"/api/v1/policies/{ecom}", json={
        "lexicon": [{"term": "土特产", "category": "bribe", "severity": 2}],
        "override_reason": "test: publish without a replay"})
    assert r.status_code == 201, r.text
    conv_id, team = await active_conversation(as_user)
    agent = await as_user("agent")
    assert (await _send(agent, conv_id, "下次给你带点土特产"))["decision"] == "warn"
    compliance = await as_user("compliance")
    rule = await _rule(compliance, f"team:{team}", tighten=True)
    assert rule["status"] == "in_force" and rule["cohort"]["team_ids"] == [team]
    enforce.reset()  # the API's commit resets it after commit; the test session only flushes
    agent = await as_user("agent")
    assert (await _send(agent, conv_id, "下次再给你带点土特产"))["decision"] == "block"
    # Audited; ended by hand, and screening is back to the policy.
    compliance = await as_user("compliance")
    r = await compliance.post(f"/api/v1/monitoring/rules/{rule['id']}/end")
    assert r.status_code == 200 and r.json()["status"] == "ended"
    enforce.reset()
    agent = await as_user("agent")
    assert (await _send(agent, conv_id, "改天给你带点土特产"))["decision"] == "warn"
    actions = set((await db.scalars(select(AuditEntry.action).where(
        AuditEntry.target_type == "monitoring_rule",
        AuditEntry.target_id == str(rule["id"])))).all())
    assert actions == {"monitoring.rule_created", "monitoring.rule_ended"}
    compliance = await as_user("compliance")
    detail = (await compliance.get(f"/api/v1/monitoring/rules/{rule['id']}")).json()
    assert detail["effect"]["metric"] == "violation_rate"


async def test_qa_sample_and_duty_alerts(as_user: Any, db: AsyncSession) -> None:
    conv_id, team = await active_conversation(as_user)
    compliance = await as_user("compliance")
    await _rule(compliance, f"team:{team}", qa_sample_rate=1.0, notify_duty=True)
    enforce.reset()
    agent = await as_user("agent")
    assert (await _send(agent, conv_id, "加我vx abc12345，私下聊"))["decision"] == "block"
    review = await db.scalar(select(QaReview).where(QaReview.conversation_id == conv_id))
    assert review is not None and review.status == "open"
    # Who hears of it: tests/analytics/test_duty_once.py.
    lead = await as_user("lead")
    queue = (await lead.get("/api/v1/qa/reviews")).json()
    assert review.id in [q["id"] for q in queue]
    r = await lead.post(f"/api/v1/qa/reviews/{review.id}", json={"answers": {}, "outcome": "ok"})
    assert r.status_code == 422 and r.json()["code"] == "checklist_incomplete"
    from probity.monitoring.qa import CHECKLIST

    r = await lead.post(f"/api/v1/qa/reviews/{review.id}", json={
        "answers": dict.fromkeys(CHECKLIST, "yes") | {"no_contact_exchange": "no"},
        "outcome": "concern", "note": "agent offered WeChat"})
    assert r.status_code == 200 and r.json()["status"] == "done"
    r = await lead.post(f"/api/v1/qa/reviews/{review.id}", json={
        "answers": dict.fromkeys(CHECKLIST, "yes"), "outcome": "ok"})
    assert r.status_code == 409


async def test_pages_render(as_user: Any, db: AsyncSession) -> None:
    start, end = await _synthetic(db, days=14)
    c = await as_user("compliance")
    q = {"from": start.isoformat(), "to": end.isoformat()}
    r = await c.get("/analytics", params=q)
    assert r.status_code == 200 and 'data-testid="heatmap"' in r.text
    assert 'data-testid="heat-metric"' in r.text and 'value="violation_rate"' in r.text
    assert 'data-testid="act-form"' in r.text
    assert (await c.get("/analytics/alerts", params={**q, "dow": 5, "hour": 19})
            ).status_code == 200
    assert (await c.get("/analytics/outcome", params=q)).status_code == 200
    assert (await c.get("/monitoring")).status_code == 200
    r = await c.get("/analytics", params={"from": "2026-05-02", "to": "2026-05-01"})
    assert r.status_code == 422
