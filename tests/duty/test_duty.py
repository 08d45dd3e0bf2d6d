"""HR duty: the roster (overlaps, ranges, scope, HR only), alerts routed to whoever is on duty
inside a window and to nobody outside it, the ancestor fallback, uncovered high-risk windows,
and who was on duty / on shift for an alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.cases.service import group_alert
from probity.duty import service
from probity.duty.service import occurrences, uncovered_parts
from probity.duty.settings import parse_window
from probity.models import (
    Alert,
    Employee,
    Notification,
    NotificationRule,
    Tenant,
    User,
)
from probity.models.base import utcnow
from probity.models.duty import DutyShift

FAR = datetime(2031, 3, 1, 10, 0, tzinfo=UTC)  # a Saturday far from the demo roster


async def _user(db: AsyncSession, username: str) -> User:
    u = await db.scalar(select(User).where(User.username == username))
    assert u is not None
    return u


async def _tenant(db: AsyncSession, code: str) -> Tenant:
    t = await db.scalar(select(Tenant).where(Tenant.code == code))
    assert t is not None
    return t


async def _alert(db: AsyncSession, tenant: Tenant, at: datetime, key: str) -> Alert:
    a = Alert(tenant_id=tenant.id, sender_role="agent", decision="block", category="contact",
              categories=["contact"], severity=3, snippet="加我微信***", spans=[],
              source="screening", subject="agent", agent_part="initiator",
              dedupe_key=f"test-duty:{key}", created_at=at)
    db.add(a)
    await db.flush()
    return a


async def _clear_roster(db: AsyncSession) -> None:
    await db.execute(delete(DutyShift))
    await db.flush()


async def test_roster_api_refuses_overlaps_bad_ranges_and_people_out_of_scope(
        as_user: Any, db: AsyncSession) -> None:
    ecom, home = await _tenant(db, "ECOM"), await _tenant(db, "HOME")
    hr = await _user(db, "hr")
    c: httpx.AsyncClient = await as_user("hr")
    start = utcnow() + timedelta(days=60)
    body = {"tenant_id": ecom.id, "employee_id": hr.employee_id,
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=3)).isoformat()}
    r = await c.post("/api/v1/duty/roster", json=body | {"repeat_weeks": 2})
    assert r.status_code == 201, r.text
    assert len(r.json()) == 2
    # The same person overlapping themselves: 422 naming them, nothing written.
    before = await db.scalar(select(func.count()).select_from(DutyShift))
    r = await c.post("/api/v1/duty/roster", json=body | {
        "starts_at": (start + timedelta(hours=2)).isoformat(),
        "ends_at": (start + timedelta(hours=5)).isoformat()})
    assert r.status_code == 422 and r.json()["code"] == "duty_overlap", r.text
    assert "林芳" in r.json()["detail"]
    assert await db.scalar(select(func.count()).select_from(DutyShift)) == before
    # Reversed, empty, naive.
    r = await c.post("/api/v1/duty/roster", json=body | {"ends_at": start.isoformat()})
    assert r.status_code == 422 and r.json()["code"] == "empty_range"
    r = await c.post("/api/v1/duty/roster", json=body | {"starts_at": "2031-01-01T10:00:00"})
    assert r.status_code == 422
    # An employee of another subsidiary (out of HR's scope), a tenant out of scope.
    other = await db.scalar(select(Employee).where(Employee.tenant_id == home.id).limit(1))
    assert other is not None
    r = await c.post("/api/v1/duty/roster", json=body | {"employee_id": other.id})
    assert r.status_code == 422 and r.json()["code"] == "unknown_employee"
    r = await c.post("/api/v1/duty/roster", json=body | {"tenant_id": home.id})
    assert r.status_code == 422 and r.json()["code"] == "unknown_tenant"
    # An agent is not HR.
    agent = await _user(db, "agent")
    r = await c.post("/api/v1/duty/roster", json=body | {"employee_id": agent.employee_id})
    assert r.status_code == 422 and r.json()["code"] == "not_hr"
    # Listing, and taking a future shift off; a started one stays (409).
    r = await c.get("/api/v1/duty/roster", params={
        "tenant_id": ecom.id, "since": start.isoformat(),
        "until": (start + timedelta(days=14)).isoformat()})
    assert r.status_code == 200 and len(r.json()) == 2
    assert r.json()[0]["employee_name"] == "林芳"
    r = await c.get("/api/v1/duty/roster", params={
        "tenant_id": ecom.id, "since": start.isoformat(), "until": start.isoformat()})
    assert r.status_code == 422 and r.json()["code"] == "empty_range"
    r = await c.get("/api/v1/duty/roster", params={
        "tenant_id": home.id, "since": start.isoformat(),
        "until": (start + timedelta(days=1)).isoformat()})
    assert r.status_code == 404
    shift_ids = (await db.scalars(select(DutyShift.id).where(
        DutyShift.starts_at >= start - timedelta(minutes=1)).order_by(DutyShift.id))).all()
    r = await c.delete(f"/api/v1/duty/roster/{shift_ids[0]}")
    assert r.status_code == 204
    started = DutyShift(tenant_id=ecom.id, employee_id=hr.employee_id,
                        starts_at=utcnow() - timedelta(hours=1),
                        ends_at=utcnow() + timedelta(hours=1), note="")
    db.add(started)
    await db.flush()
    r = await c.delete(f"/api/v1/duty/roster/{started.id}")
    assert r.status_code == 409 and r.json()["code"] == "duty_started"
    # Compliance reads the roster but cannot change it.
    c = await as_user("compliance")
    r = await c.post("/api/v1/duty/roster", json=body)
    assert r.status_code == 403


async def test_an_alert_inside_a_duty_window_goes_to_the_person_on_duty_and_outside_not(
        db: AsyncSession, monkeypatch: pytest.MonkeyPatch) -> None:
    await _clear_roster(db)
    ecom = await _tenant(db, "ECOM")
    hr = await _user(db, "hr")
    db.add(NotificationRule(tenant_id=ecom.id, role=None, min_severity=1, channel="wecom",
                            events="duty.alert", target="https://robot.invalid/hook",
                            secret=None, active=True))
    await service.add_duty(db, None, tenant_id=ecom.id, employee_id=hr.employee_id or 0,
                           starts_at=FAR, ends_at=FAR + timedelta(hours=3))
    sent: list[Any] = []

    async def fake_send(outgoing: list[Any], _settings: Any) -> None:
        sent.extend(outgoing)

    monkeypatch.setattr("probity.notify.service.send_all", fake_send)

    # Only the notes this test causes: the demo seed, whose roster follows today's date, may
    # already have told hr of a demo alert.
    before = int(await db.scalar(select(func.max(Notification.id))) or 0)

    def duty_notes() -> Any:
        return select(Notification).where(Notification.user_id == hr.id,
                                          Notification.event == "duty.alert",
                                          Notification.id > before)

    inside = await _alert(db, ecom, FAR + timedelta(hours=1), "in")
    await group_alert(db, inside)
    notes = (await db.scalars(duty_notes())).all()
    assert len(notes) == 1 and f"#{inside.id}" in notes[0].title
    assert notes[0].body == f"/alerts?alert={inside.id}"
    # The robot message waits for the commit.
    from probity.auth.deps import commit

    await commit(db)
    assert [o.channel for o in sent] == ["wecom"] and "林芳" in sent[0].text
    # Outside the window (after it ended): nobody is told.
    outside = await _alert(db, ecom, FAR + timedelta(hours=3, minutes=1), "out")
    await group_alert(db, outside)
    assert len((await db.scalars(duty_notes())).all()) == 1
    assert await service.on_duty(db, ecom.id, FAR + timedelta(hours=3)) == []
    assert await service.on_duty(db, ecom.id, FAR) == [hr.employee_id]


async def test_on_duty_falls_back_to_the_nearest_ancestor(db: AsyncSession) -> None:
    await _clear_roster(db)
    ecom, hq = await _tenant(db, "ECOM"), await _tenant(db, "HQ")
    admin, hr = await _user(db, "admin"), await _user(db, "hr")
    await service.add_duty(db, None, tenant_id=hq.id, employee_id=admin.employee_id or 0,
                           starts_at=FAR, ends_at=FAR + timedelta(hours=6))
    assert await service.on_duty(db, ecom.id, FAR + timedelta(hours=1)) == [admin.employee_id]
    await service.add_duty(db, None, tenant_id=ecom.id, employee_id=hr.employee_id or 0,
                           starts_at=FAR, ends_at=FAR + timedelta(hours=2))
    # The subsidiary's own roster first.
    assert await service.on_duty(db, ecom.id, FAR + timedelta(hours=1)) == [hr.employee_id]
    assert await service.on_duty(db, ecom.id, FAR + timedelta(hours=3)) == [admin.employee_id]
    assert await service.on_duty(db, hq.id, FAR + timedelta(hours=1)) == [admin.employee_id]


def test_windows_parse_and_occur_in_the_tenant_zone() -> None:
    w = parse_window("Sat 18:00-21:00")
    assert w.weekdays == (5,) and w.start.hour == 18 and w.end.hour == 21
    assert parse_window("weekend 22:00-02:00").weekdays == (5, 6)
    for bad in ("sat 18:00", "someday 18:00-21:00", "sat 25:00-26:00", "sat 18:00-18:00"):
        with pytest.raises(ValueError):
            parse_window(bad)
    # Saturday 2031-03-01 18:00–21:00 in Shanghai is 10:00–13:00 UTC.
    occ = occurrences(["sat 18:00-21:00"], "Asia/Shanghai", FAR - timedelta(days=1),
                      FAR + timedelta(days=1))
    assert occ == [("sat 18:00-21:00", FAR, FAR + timedelta(hours=3))]
    h = timedelta(hours=1)
    assert uncovered_parts(FAR, FAR + 3 * h, [(FAR - h, FAR + h), (FAR + 2 * h, FAR + 4 * h)]) \
        == [(FAR + h, FAR + 2 * h)]
    assert uncovered_parts(FAR, FAR + 3 * h, [(FAR, FAR + 3 * h)]) == []


async def test_uncovered_high_risk_windows_are_flagged(as_user: Any, db: AsyncSession) -> None:
    await _clear_roster(db)
    ecom = await _tenant(db, "ECOM")
    hr = await _user(db, "hr")
    # Saturday covered in full, Sunday only for its first hour.
    await service.add_duty(db, None, tenant_id=ecom.id, employee_id=hr.employee_id or 0,
                           starts_at=FAR, ends_at=FAR + timedelta(hours=3))
    sunday = FAR + timedelta(days=1)
    await service.add_duty(db, None, tenant_id=ecom.id, employee_id=hr.employee_id or 0,
                           starts_at=sunday, ends_at=sunday + timedelta(hours=1))
    gaps = await service.uncovered_windows(db, None, ecom.id, FAR - timedelta(hours=12),
                                           FAR + timedelta(days=2))
    assert [(g.starts_at, g.uncovered) for g in gaps] == [
        (sunday, [(sunday + timedelta(hours=1), sunday + timedelta(hours=3))])]
    c: httpx.AsyncClient = await as_user("compliance")
    r = await c.get("/api/v1/duty/gaps", params={
        "tenant_id": ecom.id, "since": (FAR - timedelta(hours=12)).isoformat(),
        "until": (FAR + timedelta(days=2)).isoformat()})
    assert r.status_code == 200 and len(r.json()) == 1
    assert r.json()[0]["source"] == "standard"


async def test_who_was_on_duty_and_on_shift_for_an_alert(as_user: Any, db: AsyncSession
                                                         ) -> None:
    await _clear_roster(db)
    ecom = await _tenant(db, "ECOM")
    hr = await _user(db, "hr")
    await service.add_duty(db, None, tenant_id=ecom.id, employee_id=hr.employee_id or 0,
                           starts_at=FAR, ends_at=FAR + timedelta(hours=3))
    alert = await _alert(db, ecom, FAR + timedelta(minutes=30), "people")
    c: httpx.AsyncClient = await as_user("compliance")
    r = await c.get(f"/api/v1/duty/alerts/{alert.id}")
    assert r.status_code == 200, r.text
    assert [p["name"] for p in r.json()["on_duty"]] == ["林芳"]
    assert r.json()["on_shift"] is not None
    r = await c.get("/api/v1/duty/on-duty", params={"tenant_id": ecom.id,
                                                     "at": (FAR + timedelta(hours=1)).isoformat()})
    assert r.status_code == 200 and r.json()["on_duty"][0]["employee_id"] == hr.employee_id
    # An alert of another subsidiary is out of the ECOM compliance officer's scope: 404.
    home = await _tenant(db, "HOME")
    theirs = await _alert(db, home, FAR, "home")
    r = await c.get(f"/api/v1/duty/alerts/{theirs.id}")
    assert r.status_code == 404


async def test_the_duty_page(as_user: Any, db: AsyncSession) -> None:
    c: httpx.AsyncClient = await as_user("hr")
    r = await c.get("/duty")
    assert r.status_code == 200
    assert "HR 值班" in r.text and 'data-testid="duty-form"' in r.text
    ecom = await _tenant(db, "ECOM")
    hr = await _user(db, "hr")
    day = (utcnow() + timedelta(days=40)).date().isoformat()
    r = await c.post("/duty", data={"tenant_id": ecom.id, "employee_id": hr.employee_id,
                                    "day": day, "start": "18:00", "end": "21:00",
                                    "repeat_weeks": 1, "csrf_token": c.headers["X-CSRF-Token"]})
    assert r.status_code == 303, r.text
    r = await c.post("/duty", data={"tenant_id": ecom.id, "employee_id": hr.employee_id,
                                    "day": day, "start": "19:00", "end": "20:00",
                                    "csrf_token": c.headers["X-CSRF-Token"]})
    assert r.status_code == 422 and "已有值班" in r.text
    c = await as_user("compliance")
    r = await c.get("/duty")
    assert r.status_code == 200 and 'data-testid="duty-form"' not in r.text


async def test_the_case_page_says_who_was_on_duty_and_on_shift(as_user: Any, db: AsyncSession
                                                               ) -> None:
    from probity.models import Case, CaseAlert

    ecom = await _tenant(db, "ECOM")
    case_id = await db.scalar(select(Case.id).join(CaseAlert, CaseAlert.case_id == Case.id)
                              .where(Case.tenant_id == ecom.id).order_by(Case.id).limit(1))
    assert case_id is not None
    c: httpx.AsyncClient = await as_user("compliance")
    r = await c.get(f"/cases/{case_id}")
    assert r.status_code == 200
    assert 'data-testid="alert-people"' in r.text and "当时值班 HR" in r.text
