"""Cases: grouping and dedupe, the state machine with four eyes and appeals, SLA clocks,
append-only notes, scope, audit and ledger, the timeline and the pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from tests.cases.helpers import customers, make_alert, team_agents, tenant

from probity.cases import service
from probity.cases.sla import add_working_days, clock_state
from probity.models import AuditEntry, Case, CaseEvent, LedgerEntry, Order, Payment
from probity.models.base import utcnow

SH = ZoneInfo("Asia/Shanghai")


# --- SLA -------------------------------------------------------------------------------------


def test_working_days_skip_the_weekend() -> None:
    def due(start: datetime, days: int) -> datetime:
        return add_working_days(start, days, "Asia/Shanghai")

    friday = datetime(2026, 11, 27, 16, 0, tzinfo=SH)  # a Friday
    assert due(friday, 3).astimezone(SH) == datetime(2026, 12, 2, 16, 0, tzinfo=SH)
    monday = datetime(2026, 11, 23, 9, 30, tzinfo=SH)
    assert due(monday, 3).astimezone(SH) == datetime(2026, 11, 26, 9, 30, tzinfo=SH)
    saturday = datetime(2026, 11, 28, 11, 0, tzinfo=SH)  # counts from Monday 00:00
    assert due(saturday, 3).astimezone(SH) == datetime(2026, 12, 3, 0, 0, tzinfo=SH)
    # UTC in, UTC out; the zone decides the day: Friday 23:00 UTC is Saturday in Shanghai.
    late = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)
    one = due(late, 1)
    assert one.tzinfo == UTC and one.astimezone(SH) == datetime(2026, 12, 1, 0, 0, tzinfo=SH)


def test_clock_states() -> None:
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    due = start + timedelta(hours=2)
    assert clock_state(start, due, None, start + timedelta(minutes=10)) == "ok"
    assert clock_state(start, due, None, start + timedelta(minutes=95)) == "warning"
    assert clock_state(start, due, None, start + timedelta(hours=3)) == "breached"
    assert clock_state(start, due, start + timedelta(hours=1), start + timedelta(hours=9)) == "met"
    assert clock_state(start, due, start + timedelta(hours=4), start) == "missed"


# --- grouping --------------------------------------------------------------------------------


async def test_alerts_group_by_agent_and_customer_within_the_window(db: AsyncSession) -> None:
    t = await tenant(db, "ECOM")
    a1, _ = await team_agents(db, t.id)
    c1, c2 = await customers(db, t.id)
    now = utcnow()
    first = await make_alert(db, t, a1, c1, at=now - timedelta(hours=5))
    same = await make_alert(db, t, a1, c1, at=now - timedelta(hours=4), severity=3)
    other_customer = await make_alert(db, t, a1, c2, at=now - timedelta(hours=4))
    case1 = await service.group_alert(db, first)
    case2 = await service.group_alert(db, same)
    case3 = await service.group_alert(db, other_customer)
    assert case1 is not None and case2 is not None and case3 is not None
    assert case1.id == case2.id != case3.id
    assert case1.severity == 3  # raised by the more severe alert
    # De-duplicated: an alert goes into one case once.
    assert await service.group_alert(db, same) is None
    # Outside the window (72 h after the newest alert of the case): a new case.
    late = await make_alert(db, t, a1, c1, at=now + timedelta(hours=80))
    case4 = await service.group_alert(db, late)
    assert case4 is not None and case4.id != case1.id
    assert [a.id for a in await service.case_alerts(db, case1.id)] == [first.id, same.id]
    # A triaged-and-decided case takes no new alerts either.
    kinds = (await db.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case1.id)
                              .order_by(CaseEvent.id))).all()
    assert kinds == ["opened", "alert_added"]


async def test_grouping_is_configurable(db: AsyncSession, as_user: Any) -> None:
    t = await tenant(db, "ECOM")
    a1, _ = await team_agents(db, t.id)
    c1, c2 = await customers(db, t.id)
    client = await as_user("compliance")
    r = await client.put("/api/v1/cases/settings",
                         json={"tenant_id": t.id, "group_by": "agent", "window_hours": 24})
    assert r.status_code == 200, r.text
    assert (await client.get(f"/api/v1/cases/settings?tenant_id={t.id}")).json()["group_by"] \
        == "agent"
    x = await make_alert(db, t, a1, c1)
    y = await make_alert(db, t, a1, c2)
    r = await client.post("/api/v1/cases/group")
    assert r.status_code == 200, r.text
    cx = await service.group_alert(db, x)
    assert cx is None  # already grouped by the endpoint
    ids = {(await db.scalar(select(Case.id).join(service.CaseAlert, service.CaseAlert.case_id
                                                 == Case.id).where(
        service.CaseAlert.alert_id == a.id))) for a in (x, y)}
    assert len(ids) == 1
    bad = await client.put("/api/v1/cases/settings", json={"tenant_id": t.id,
                                                           "group_by": "moon"})
    assert bad.status_code == 422
    # One source for the bounds: the group standard's (grouping window 1–720 hours).
    bad = await client.put("/api/v1/cases/settings", json={"tenant_id": t.id,
                                                           "window_hours": 1000})
    assert bad.status_code == 422 and "window_hours" in bad.text


# --- the workflow ----------------------------------------------------------------------------


async def _open(db: AsyncSession, client: Any) -> tuple[int, Any]:
    t = await tenant(db, "ECOM")
    a1, _ = await team_agents(db, t.id)
    (c1,) = await customers(db, t.id, 1)
    alert = await make_alert(db, t, a1, c1)
    r = await client.post("/api/v1/cases", json={"alert_ids": [alert.id], "title": "test case"})
    assert r.status_code == 201, r.text
    return int(r.json()["id"]), t


async def _move(client: Any, case_id: int, to: str, **kw: Any) -> Any:
    return await client.post(f"/api/v1/cases/{case_id}/transition", json={"to": to, **kw})


async def test_workflow_with_four_eyes_and_appeal(db: AsyncSession, as_user: Any) -> None:
    client = await as_user("compliance")
    case_id, t = await _open(db, client)
    body = (await client.get(f"/api/v1/cases/{case_id}")).json()
    assert body["status"] == "new" and body["sla"]["triage"] == "ok"
    assert (await _move(client, case_id, "triage")).json()["triaged_at"]
    assert (await _move(client, case_id, "investigating")).status_code == 200
    r = await _move(client, case_id, "substantiated")
    assert r.status_code == 422 and r.json()["code"] == "reason_required"
    r = await _move(client, case_id, "substantiated", reason="chat and payment match")
    assert r.status_code == 200 and r.json()["decision"] == "substantiated"
    assert (await _move(client, case_id, "penalty_proposed")).json()["code"] == \
        "penalty_required"
    r = await _move(client, case_id, "penalty_proposed", penalty="written warning, -5 points")
    assert r.status_code == 200
    # Four eyes: the proposer cannot approve.
    r = await _move(client, case_id, "penalty_approved")
    assert r.status_code == 403 and r.json()["code"] == "four_eyes"
    admin = await as_user("admin")
    r = await _move(admin, case_id, "penalty_approved")
    assert r.status_code == 200, r.text
    assert r.json()["penalty_approved_by_user_id"] != r.json()["penalty_proposed_by_user_id"]
    assert (await _move(admin, case_id, "closed")).json()["closed_at"]
    client = await as_user("compliance")
    r = await _move(client, case_id, "appealed")
    assert r.status_code == 422
    r = await _move(client, case_id, "appealed", reason="the agent says the QR was official")
    assert r.status_code == 200 and r.json()["appeal_count"] == 1
    # The decider does not decide the appeal.
    r = await _move(client, case_id, "closed")
    assert r.status_code == 403 and r.json()["code"] == "four_eyes"
    admin = await as_user("admin")
    r = await _move(admin, case_id, "investigating", reason="overturned: re-examine")
    assert r.status_code == 200
    assert r.json()["decision"] is None and r.json()["penalty"] is None

    events = (await admin.get(f"/api/v1/cases/{case_id}/events")).json()
    transitions = [(e["from_status"], e["to_status"]) for e in events if e["kind"] ==
                   "transition"]
    assert transitions == [
        ("new", "triage"), ("triage", "investigating"), ("investigating", "substantiated"),
        ("substantiated", "penalty_proposed"), ("penalty_proposed", "penalty_approved"),
        ("penalty_approved", "closed"), ("closed", "appealed"), ("appealed", "investigating")]
    # Every change audited and ledgered.
    audited = await db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.target_type == "case", AuditEntry.target_id == str(case_id),
        AuditEntry.action == "case.transition"))
    assert audited == 8
    ledgered = await db.scalar(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.tenant_id == t.id, LedgerEntry.type.like("case.%")))
    assert ledgered is not None and ledgered >= 9  # opened + 8 transitions


async def test_invalid_transition_is_refused_and_changes_nothing(db: AsyncSession,
                                                                 as_user: Any) -> None:
    client = await as_user("compliance")
    case_id, _ = await _open(db, client)
    r = await _move(client, case_id, "closed")
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    assert "triage" in r.json()["detail"]
    r = await _move(client, case_id, "nonsense")
    assert r.status_code == 422
    assert (await client.get(f"/api/v1/cases/{case_id}")).json()["status"] == "new"
    events = (await client.get(f"/api/v1/cases/{case_id}/events")).json()
    assert [e["kind"] for e in events] == ["opened"]


async def test_rejecting_a_penalty_returns_to_substantiated(db: AsyncSession,
                                                            as_user: Any) -> None:
    client = await as_user("compliance")
    case_id, _ = await _open(db, client)
    for to in ("triage", "investigating"):
        await _move(client, case_id, to)
    await _move(client, case_id, "substantiated", reason="r")
    await _move(client, case_id, "penalty_proposed", penalty="dismissal")
    admin = await as_user("admin")
    r = await _move(admin, case_id, "substantiated", reason="too harsh")
    assert r.status_code == 200 and r.json()["penalty"] is None


async def test_notes_are_append_only(db: AsyncSession, as_user: Any) -> None:
    client = await as_user("compliance")
    case_id, _ = await _open(db, client)
    r = await client.post(f"/api/v1/cases/{case_id}/notes", json={"body": "called the agent"})
    assert r.status_code == 201, r.text
    assert (await client.post(f"/api/v1/cases/{case_id}/notes",
                              json={"body": "   "})).status_code == 422
    notes = (await client.get(f"/api/v1/cases/{case_id}/notes")).json()
    assert [n["body"] for n in notes] == ["called the agent"]
    for stmt in ("UPDATE case_notes SET body = 'x'", "DELETE FROM case_notes",
                 "UPDATE case_events SET kind = 'x'", "DELETE FROM case_events"):
        with pytest.raises(Exception, match="append-only"):
            async with db.begin_nested():
                await db.execute(text(stmt))
    # No route edits or deletes a note.
    assert (await client.patch(f"/api/v1/cases/{case_id}/notes/1", json={})).status_code in (
        404, 405)


async def test_assignee_must_manage_cases(db: AsyncSession, as_user: Any) -> None:
    client = await as_user("compliance")
    case_id, _ = await _open(db, client)
    me = (await client.get("/api/v1/me")).json()
    uid = me.get("id") or me.get("user_id")
    r = await client.post(f"/api/v1/cases/{case_id}/assign", json={"user_id": uid})
    assert r.status_code == 200 and r.json()["assignee_user_id"] == uid
    hr = await as_user("hr")
    hr_id = (await hr.get("/api/v1/me")).json()
    client = await as_user("compliance")
    r = await client.post(f"/api/v1/cases/{case_id}/assign",
                          json={"user_id": hr_id.get("id") or hr_id.get("user_id")})
    assert r.status_code == 422 and r.json()["code"] == "unknown_assignee"
    r = await client.post(f"/api/v1/cases/{case_id}/severity", json={"severity": 4})
    assert r.json()["severity"] == 4


async def test_sla_warning_and_breach(db: AsyncSession, as_user: Any) -> None:
    client = await as_user("compliance")
    case_id, _ = await _open(db, client)
    case = await db.get(Case, case_id)
    assert case is not None
    now = utcnow()
    case.created_at = now - timedelta(minutes=100)
    case.triage_due_at = now + timedelta(minutes=20)  # 20 of 120 minutes left: warning
    await db.flush()
    r = await client.get("/api/v1/cases/sla-warnings")
    assert [(c["id"], c["sla"]["triage"]) for c in r.json()] == [(case_id, "warning")]
    case.triage_due_at = now - timedelta(minutes=1)
    await db.flush()
    r = await client.get("/api/v1/cases?sla=breached")
    assert [c["id"] for c in r.json()] == [case_id]
    await _move(client, case_id, "triage")  # the triage clock stops (late)
    r = await client.get(f"/api/v1/cases/{case_id}")
    assert r.json()["sla"]["triage"] == "missed"


async def test_scope_and_permissions(db: AsyncSession, as_user: Any) -> None:
    home = await tenant(db, "HOME")
    (agent,) = await team_agents(db, home.id, 1)
    (cust,) = await customers(db, home.id, 1)
    other = await service.group_alert(db, await make_alert(db, home, agent, cust))
    assert other is not None
    client = await as_user("compliance")  # ECOM only
    case_id, _ = await _open(db, client)
    assert (await client.get(f"/api/v1/cases/{other.id}")).status_code == 404
    assert (await _move(client, other.id, "triage")).status_code == 404
    assert other.id not in [c["id"] for c in (await client.get("/api/v1/cases")).json()]
    hr = await as_user("hr")
    assert (await hr.get(f"/api/v1/cases/{case_id}")).status_code == 200
    assert (await _move(hr, case_id, "triage")).status_code == 403
    agent_client = await as_user("agent")
    assert (await agent_client.get("/api/v1/cases")).status_code == 403
    admin = await as_user("admin")
    assert (await admin.get(f"/api/v1/cases/{other.id}")).status_code == 200


async def test_timeline_merges_and_filters(db: AsyncSession, as_user: Any) -> None:
    t = await tenant(db, "ECOM")
    a1, _ = await team_agents(db, t.id)
    # a customer with orders and payments in the demo data
    cust_id = await db.scalar(select(Payment.customer_id).where(Payment.tenant_id == t.id)
                              .limit(1))
    from probity.models import Customer

    cust = await db.get(Customer, cust_id)
    alert = await make_alert(db, t, a1, cust)
    case = await service.group_alert(db, alert)
    assert case is not None
    client = await as_user("compliance")
    items = (await client.get(f"/api/v1/cases/{case.id}/timeline")).json()
    kinds = {i["kind"] for i in items}
    assert {"alert", "order", "payment", "event"} <= kinds
    assert [i["at"] for i in items] == sorted(i["at"] for i in items)
    only = (await client.get(f"/api/v1/cases/{case.id}/timeline?kinds=payment")).json()
    assert only and {i["kind"] for i in only} == {"payment"}
    n_orders = await db.scalar(select(func.count()).select_from(Order).where(
        Order.customer_id == cust_id))
    assert sum(1 for i in items if i["kind"] == "order") == n_orders
    page = await client.get(f"/cases/{case.id}?k=payment&k=alert",
                            headers={"accept": "text/html"})
    assert page.status_code == 200 and 'data-testid="timeline"' in page.text
    listing = await client.get("/cases", headers={"accept": "text/html"})
    assert listing.status_code == 200 and f'href="/cases/{case.id}"' in listing.text


async def test_page_actions(db: AsyncSession, as_user: Any) -> None:
    client = await as_user("compliance")
    case_id, _ = await _open(db, client)
    csrf = client.headers["X-CSRF-Token"]
    r = await client.post(f"/cases/{case_id}/transition", data={"to": "triage",
                                                               "csrf_token": csrf})
    assert r.status_code == 303
    r = await client.post(f"/cases/{case_id}/transition", data={"to": "closed",
                                                               "csrf_token": csrf})
    assert r.status_code == 303 and "error=" in r.headers["location"]
    r = await client.post(f"/cases/{case_id}/notes", data={"body": "seen", "csrf_token": csrf})
    assert r.status_code == 303
    page = await client.get(f"/cases/{case_id}", headers={"accept": "text/html"})
    assert "seen" in page.text


async def test_customer_report_naming_a_private_payment(db: AsyncSession, as_user: Any) -> None:
    t = await tenant(db, "ECOM")
    a1, _ = await team_agents(db, t.id)
    (cust,) = await customers(db, t.id, 1)
    client = await as_user("compliance")
    r = await client.post("/api/v1/cases/reports", json={
        "tenant_id": t.id, "source": "customer_report", "agent_employee_id": a1.id,
        "customer_id": cust.id, "text": "客服让我私下转账给他，说这样便宜一百"})
    assert r.status_code == 201, r.text
    alert = (await client.get(f"/api/v1/alerts/{r.json()['alert_id']}")).json()
    assert alert["source"] == "customer_report"
    assert alert["rule"] == "report_private_payment", alert
    assert r.json()["case_id"]
    r = await client.post("/api/v1/cases/reports", json={
        "tenant_id": t.id, "source": "self_report", "agent_employee_id": a1.id,
        "text": "客户要给我发红包，我拒绝了"})
    assert r.status_code == 201
    bad = await client.post("/api/v1/cases/reports", json={
        "tenant_id": (await tenant(db, "HOME")).id, "source": "customer_report", "text": "x"})
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_tenant"


async def test_metrics_per_subsidiary(db: AsyncSession, as_user: Any) -> None:
    client = await as_user("compliance")
    case_id, t = await _open(db, client)
    await _move(client, case_id, "triage")
    await _move(client, case_id, "investigating")
    await _move(client, case_id, "substantiated", reason="r")
    second, _ = await _open(db, client)
    await _move(client, second, "triage")
    await _move(client, second, "false_positive", reason="official coupon")
    rows = (await client.get("/api/v1/cases/metrics")).json()
    ecom = next(r for r in rows if r["tenant_id"] == t.id)
    assert ecom["cases"] >= 2 and ecom["decided"] >= 2 and ecom["substantiated"] >= 1
    assert 0 < ecom["substantiation_rate"] < 1
    assert ecom["alerts"] >= 2 and ecom["hours_to_triage"]["median"] is not None
    assert ecom["hours_to_decision"]["median"] is not None
    home_id = (await tenant(db, "HOME")).id
    assert all(r["tenant_id"] != home_id for r in rows)  # scope
    admin = await as_user("admin")
    assert len((await admin.get("/api/v1/cases/metrics")).json()) >= 4  # HQ + subsidiaries
    bad = await admin.get("/api/v1/cases/metrics?since=2026-11-01T00:00:00")
    assert bad.status_code == 422
    page = await admin.get("/cases/metrics", headers={"accept": "text/html"})
    assert page.status_code == 200 and 'data-testid="metrics"' in page.text


async def test_case_pages_speak_chinese_and_english(db: AsyncSession, as_user: Any) -> None:
    client = await as_user("compliance")
    case_id, _ = await _open(db, client)
    zh = await client.get(f"/cases/{case_id}", headers={"accept": "text/html"})
    assert "案件" in zh.text and "新建" in zh.text and "时间线" in zh.text
    client.cookies.set("lang", "en")
    en = await client.get(f"/cases/{case_id}", headers={"accept": "text/html"})
    assert ">New<" in en.text and "Timeline" in en.text and "case_status." not in en.text


async def test_page_assign_severity_and_timeline_period(db: AsyncSession, as_user: Any) -> None:
    client = await as_user("compliance")
    case_id, _ = await _open(db, client)
    csrf = client.headers["X-CSRF-Token"]
    me = (await client.get("/api/v1/me")).json()
    uid = me.get("id") or me.get("user_id")
    r = await client.post(f"/cases/{case_id}/assign", data={"user_id": str(uid),
                                                           "csrf_token": csrf})
    assert r.status_code == 303
    r = await client.post(f"/cases/{case_id}/severity", data={"severity": "4",
                                                             "csrf_token": csrf})
    assert r.status_code == 303
    body = (await client.get(f"/api/v1/cases/{case_id}")).json()
    assert body["assignee_user_id"] == uid and body["severity"] == 4
    r = await client.post(f"/cases/{case_id}/severity", data={"severity": "9",
                                                             "csrf_token": csrf})
    assert r.status_code == 303 and "error=" in r.headers["location"]
    future = (await client.get(f"/api/v1/cases/{case_id}/timeline",
                               params={"since": "2099-01-01T00:00:00+08:00"})).json()
    assert future == []
    everything = (await client.get(f"/api/v1/cases/{case_id}/timeline")).json()
    assert everything
    page = await client.get(f"/cases/{case_id}?from=2099-01-01", headers={"accept": "text/html"})
    assert page.status_code == 200 and 'class="tl-' not in page.text
    assert (await client.get(f"/api/v1/cases/{case_id}/timeline",
                             params={"since": "2026-01-01T00:00:00"})).status_code == 422
