"""Shifts and attendance: rota overlaps refused, clock-in exceptions recorded (never refused),
leave against balances with approval, swaps, and who was on shift."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.attendance import rota, schemas, service
from probity.auth.permissions import Principal
from probity.models import (
    Alert,
    AttendanceException,
    Employee,
    EmploymentStatus,
    LeaveBalance,
    LeaveRequest,
    OrgUnit,
    Punch,
    ShiftAssignment,
    ShiftTemplate,
    User,
)

FAR_MONDAY = date.today() + timedelta(days=7 * 20 - date.today().weekday())  # no demo rota


async def _team(db: AsyncSession, code: str = "ECOM-T1") -> tuple[OrgUnit, list[Employee]]:
    unit = await db.scalar(select(OrgUnit).where(OrgUnit.code == code))
    assert unit is not None
    members = (await db.scalars(select(Employee).where(
        Employee.org_unit_id == unit.id, Employee.status != EmploymentStatus.left)
        .order_by(Employee.employee_no))).all()
    return unit, list(members)


async def _template(db: AsyncSession, code: str) -> ShiftTemplate:
    tpl = await db.scalar(select(ShiftTemplate).where(ShiftTemplate.code == code))
    assert tpl is not None
    return tpl


def _as(emp: Employee) -> Principal:
    return Principal(user_id=None, username="t", display_name=emp.name,  # type: ignore[arg-type]
                     tenant_id=emp.tenant_id, employee_id=emp.id, customer_id=None)


async def test_overlapping_shifts_are_refused_and_nothing_is_written(
        as_user, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    unit, members = await _team(db)
    early, mid = await _template(db, "EARLY"), await _template(db, "MID")
    c: httpx.AsyncClient = await as_user("lead")
    before = await db.scalar(select(func.count()).select_from(ShiftAssignment))
    body: dict[str, Any] = {"org_unit_id": unit.id, "week_start": FAR_MONDAY.isoformat(),
                            "entries": [
        {"employee_id": members[1].id, "day": FAR_MONDAY.isoformat(), "template_id": early.id},
        {"employee_id": members[2].id, "day": FAR_MONDAY.isoformat(), "template_id": early.id},
        # 12:00–20:00 overlaps 08:00–16:00 for the same person: the whole week is refused.
        {"employee_id": members[1].id, "day": FAR_MONDAY.isoformat(), "template_id": mid.id}]}
    r = await c.post("/api/v1/attendance/rota", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "shift_overlap" and r.json()["employee_id"] == members[1].id
    assert await db.scalar(select(func.count()).select_from(ShiftAssignment)) == before
    body["entries"] = body["entries"][:2]
    r = await c.post("/api/v1/attendance/rota", json=body)
    assert r.status_code == 201 and len(r.json()) == 2
    # Against what is already stored, too.
    r = await c.post("/api/v1/attendance/rota", json={
        "org_unit_id": unit.id, "week_start": FAR_MONDAY.isoformat(), "entries": [
            {"employee_id": members[2].id, "day": FAR_MONDAY.isoformat(),
             "template_id": mid.id}]})
    assert r.status_code == 422 and r.json()["code"] == "shift_overlap"
    # Outside the lead's team: 422 (a body id out of scope), a day outside the week: 422.
    other, _ = await _team(db, "ECOM-T2")
    r = await c.post("/api/v1/attendance/rota", json=body | {"org_unit_id": other.id})
    assert r.status_code == 422 and r.json()["code"] == "unknown_org_unit"
    r = await c.post("/api/v1/attendance/rota", json=body | {"entries": [
        {"employee_id": members[3].id, "day": (FAR_MONDAY + timedelta(days=7)).isoformat(),
         "template_id": early.id}]})
    assert r.status_code == 422 and r.json()["code"] == "outside_week"
    r = await c.post("/api/v1/attendance/rota", json=body | {"week_start": (
        FAR_MONDAY + timedelta(days=1)).isoformat()})
    assert r.status_code == 422


async def test_clock_in_off_rota_is_recorded_as_an_exception(db: AsyncSession) -> None:
    _unit, members = await _team(db)
    emp = members[4]
    # A moment with no shift for this person (far in the future, no rota there).
    at = datetime.combine(FAR_MONDAY + timedelta(days=2), time(3), UTC)
    punch, found = await service.clock(db, _as(emp), schemas.ClockIn(kind="in", source="phone"),
                                       now=at)
    assert punch.id and punch.assignment_id is None and punch.source == "phone"
    assert [e.kind for e in found] == ["off_rota"]
    stored = await db.scalar(select(AttendanceException).where(
        AttendanceException.punch_id == punch.id))
    assert stored is not None and stored.kind == "off_rota"


async def test_late_early_double_and_missing(db: AsyncSession) -> None:
    unit, members = await _team(db)
    emp = members[5]
    hr = Principal(user_id=None, username="x", display_name="x",  # type: ignore[arg-type]
                   tenant_id=unit.tenant_id, employee_id=None, customer_id=None,
                   grants=[])
    from probity.auth.permissions import Grant
    from probity.models import Role, Tenant

    tenant = await db.get(Tenant, unit.tenant_id)
    assert tenant is not None
    hr.grants = [Grant(Role.hr, tenant.id, tenant.path)]
    early = await _template(db, "EARLY")
    day = FAR_MONDAY + timedelta(days=3)
    (a,) = await rota.publish_week(db, hr, schemas.RotaWeek(
        org_unit_id=unit.id, week_start=FAR_MONDAY,
        entries=[schemas.RotaEntry(employee_id=emp.id, day=day, template_id=early.id)]))
    # 08:00 Beijing = 00:00 UTC; clocking in at 08:17 is 17 minutes late.
    assert a.starts_at == datetime.combine(day, time(0), UTC)
    _p, found = await service.clock(db, _as(emp), schemas.ClockIn(kind="in"),
                                    now=a.starts_at + timedelta(minutes=16, seconds=30))
    assert [(e.kind, e.minutes) for e in found] == [("late", 17)]
    from probity.errors import Conflict

    try:
        await service.clock(db, _as(emp), schemas.ClockIn(kind="in"),
                            now=a.starts_at + timedelta(minutes=20))
    except Conflict as exc:
        assert exc.code == "already_clocked_in"
    else:
        raise AssertionError("a second clock-in was accepted")
    _p, found = await service.clock(db, _as(emp), schemas.ClockIn(kind="out"),
                                    now=a.ends_at - timedelta(minutes=30))
    assert [(e.kind, e.minutes) for e in found] == [("early_leave", 30)]
    try:
        await service.clock(db, _as(emp), schemas.ClockIn(kind="out"),
                            now=a.ends_at - timedelta(minutes=20))
    except Conflict as exc:
        assert exc.code == "already_clocked_out"
    else:
        raise AssertionError("a second clock-out of the same shift was accepted")
    # Back at work off the rota right after that shift: the clock-out closes the off-rota
    # clock-in instead of being refused as the ended shift's second clock-out.
    back = a.ends_at + timedelta(minutes=10)
    p_in, found = await service.clock(db, _as(emp), schemas.ClockIn(kind="in"), now=back)
    assert p_in.assignment_id is None and [e.kind for e in found] == ["off_rota"]
    p_out, _found = await service.clock(db, _as(emp), schemas.ClockIn(kind="out"),
                                        now=back + timedelta(minutes=30))
    assert p_out.assignment_id is None

    # Absent / missing punch, found by the sweep after the shift, once each.
    other = members[6]
    (b,) = await rota.publish_week(db, hr, schemas.RotaWeek(
        org_unit_id=unit.id, week_start=FAR_MONDAY,
        entries=[schemas.RotaEntry(employee_id=other.id, day=day, template_id=early.id)]))
    third = members[7]
    (c,) = await rota.publish_week(db, hr, schemas.RotaWeek(
        org_unit_id=unit.id, week_start=FAR_MONDAY,
        entries=[schemas.RotaEntry(employee_id=third.id, day=day, template_id=early.id)]))
    await service.clock(db, _as(third), schemas.ClockIn(kind="in"), now=c.starts_at)
    later = a.ends_at + timedelta(hours=5)
    assert await service.detect_exceptions(db, later) >= 2
    kinds = dict((await db.execute(select(AttendanceException.assignment_id,
                                          AttendanceException.kind).where(
        AttendanceException.assignment_id.in_([b.id, c.id])))).all())
    assert kinds == {b.id: "absent", c.id: "missing_punch"}
    assert await service.detect_exceptions(db, later) == 0


async def test_clock_in_through_the_api(as_user, db: AsyncSession
                                        ) -> None:  # type: ignore[no-untyped-def]
    c: httpx.AsyncClient = await as_user("agent")
    r = await c.post("/api/v1/attendance/me/clock", json={"kind": "in", "source": "phone"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert {e["kind"] for e in body["exceptions"]} <= {"late", "off_rota"}
    assert await db.scalar(select(Punch).where(Punch.id == body["punch"]["id"])) is not None
    r = await c.post("/api/v1/attendance/me/clock", json={"kind": "sideways"})
    assert r.status_code == 422
    customer = await as_user("customer")
    assert (await customer.post("/api/v1/attendance/me/clock", json={"kind": "in"})
            ).status_code == 403


async def test_leave_beyond_the_balance_is_refused(as_user, db: AsyncSession
                                                   ) -> None:  # type: ignore[no-untyped-def]
    c: httpx.AsyncClient = await as_user("agent")
    year = date.today().year
    start = date(year, 2, 2)  # leave may be recorded after the fact (e.g. sick leave)
    mine = (await c.get("/api/v1/attendance/me/leave")).json()
    annual = next(b for b in mine["balances"] if b["leave_type"] == "annual")
    assert Decimal(annual["available_days"]) == Decimal(5)  # the demo entitlement
    before = await db.scalar(select(func.count()).select_from(LeaveRequest))
    r = await c.post("/api/v1/attendance/me/leave", json={
        "leave_type": "annual", "start_date": start.isoformat(),
        "end_date": (start + timedelta(days=5)).isoformat()})
    assert r.status_code == 422 and r.json()["code"] == "insufficient_balance"
    assert Decimal(r.json()["available"]) == 5
    assert await db.scalar(select(func.count()).select_from(LeaveRequest)) == before
    r = await c.post("/api/v1/attendance/me/leave", json={
        "leave_type": "annual", "start_date": start.isoformat(),
        "end_date": (start + timedelta(days=2)).isoformat(), "reason": "探亲"})
    assert r.status_code == 201, r.text
    leave_id = r.json()["id"]
    # Pending days count against what is left.
    r = await c.post("/api/v1/attendance/me/leave", json={
        "leave_type": "annual", "start_date": (start + timedelta(days=10)).isoformat(),
        "end_date": (start + timedelta(days=12)).isoformat()})
    assert r.status_code == 422 and Decimal(r.json()["available"]) == 2
    r = await c.post("/api/v1/attendance/me/leave", json={
        "leave_type": "sick", "start_date": (start + timedelta(days=1)).isoformat(),
        "end_date": (start + timedelta(days=1)).isoformat()})
    assert r.status_code == 422 and r.json()["code"] == "leave_overlap"
    r = await c.post("/api/v1/attendance/me/leave", json={
        "leave_type": "annual", "start_date": start.isoformat(),
        "end_date": (start - timedelta(days=1)).isoformat()})
    assert r.status_code == 422

    lead = await as_user("lead")
    r = await lead.post(f"/api/v1/attendance/leave/{leave_id}/decide", json={"approve": True})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    me = (await lead.get("/api/v1/me")).json()
    agent_emp = await db.scalar(select(LeaveRequest.employee_id).where(
        LeaveRequest.id == leave_id))
    bal = await db.scalar(select(LeaveBalance).where(
        LeaveBalance.employee_id == agent_emp, LeaveBalance.leave_type == "annual",
        LeaveBalance.year == year))
    assert bal is not None and bal.used_days == Decimal(3)
    # The lead cannot approve their own request.
    r = await lead.post("/api/v1/attendance/me/leave", json={
        "leave_type": "personal", "start_date": start.isoformat(),
        "end_date": start.isoformat()})
    assert r.status_code == 201
    r = await lead.post(f"/api/v1/attendance/leave/{r.json()['id']}/decide",
                        json={"approve": True})
    assert r.status_code == 403 and r.json()["code"] == "four_eyes"
    assert me["employee_id"]


async def test_swap_with_approval(as_user, db: AsyncSession
                                  ) -> None:  # type: ignore[no-untyped-def]
    c: httpx.AsyncClient = await as_user("agent")
    me = (await c.get("/api/v1/me")).json()
    _unit, members = await _team(db)
    mine = await db.scalar(select(ShiftAssignment).where(
        ShiftAssignment.employee_id == me["employee_id"],
        ShiftAssignment.starts_at > datetime.now(UTC) + timedelta(hours=1))
        .order_by(ShiftAssignment.starts_at).limit(1))
    assert mine is not None  # the demo rota covers next week
    # A teammate free at that time.
    busy = set((await db.scalars(select(ShiftAssignment.employee_id).where(
        ShiftAssignment.starts_at < mine.ends_at, ShiftAssignment.ends_at > mine.starts_at)
    )).all())
    lead_emp = await db.scalar(select(Employee.id).join(
        User, User.employee_id == Employee.id).where(User.username == "lead"))
    free = next(e for e in members if e.id not in busy | {me["employee_id"], lead_emp})
    r = await c.post("/api/v1/attendance/me/swaps", json={
        "assignment_id": mine.id, "target_employee_id": free.id, "reason": "家里有事"})
    assert r.status_code == 201, r.text
    swap = r.json()
    r = await c.post("/api/v1/attendance/me/swaps", json={
        "assignment_id": mine.id, "target_employee_id": free.id})
    assert r.status_code == 409 and r.json()["code"] == "swap_pending"
    assert (await c.post(f"/api/v1/attendance/swaps/{swap['id']}/decide",
                         json={"approve": True})).status_code == 403
    lead = await as_user("lead")
    r = await lead.post(f"/api/v1/attendance/swaps/{swap['id']}/decide", json={"approve": True})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    await db.refresh(mine)
    assert mine.employee_id == free.id


async def test_who_was_on_shift(as_user, db: AsyncSession
                                ) -> None:  # type: ignore[no-untyped-def]
    unit, _members = await _team(db)
    a = await db.scalar(select(ShiftAssignment).where(ShiftAssignment.org_unit_id == unit.id)
                        .order_by(ShiftAssignment.starts_at).limit(1))
    assert a is not None
    at = (a.starts_at + timedelta(minutes=30)).isoformat()
    lead = await as_user("lead")
    r = await lead.get("/api/v1/attendance/on-shift", params={"at": at})
    assert r.status_code == 200
    ids = {row["employee_id"] for row in r.json()["on_shift"]}
    assert a.employee_id in ids
    assert {row["org_unit_id"] for row in r.json()["on_shift"]} == {unit.id}  # lead's team only
    r = await lead.get("/api/v1/attendance/on-shift", params={"at": "2026-12-05T19:00"})
    assert r.status_code == 422 and r.json()["code"] == "naive_time"
    # For an alert: compliance asks who was on shift in the agent's team when it was raised.
    alert = await db.scalar(select(Alert).where(Alert.agent_employee_id.is_not(None))
                            .order_by(Alert.id).limit(1))
    assert alert is not None
    comp = await as_user("compliance")
    r = await comp.get(f"/api/v1/attendance/on-shift/alerts/{alert.id}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["agent_employee_id"] == alert.agent_employee_id
    expected = await rota.on_shift(db, Principal(
        user_id=None, username="x", display_name="x", tenant_id=alert.tenant_id,  # type: ignore[arg-type]
        employee_id=None, customer_id=None,
        grants=_grants_for_tenant_of(alert.tenant_id, await _path(db, alert.tenant_id))),
        alert.created_at, tenant_id=alert.tenant_id, org_unit_id=body["org_unit_id"])
    assert [row["employee_id"] for row in body["on_shift"]] == [e.employee_id for e in expected]
    assert body["agent_on_shift"] == (alert.agent_employee_id in {e.employee_id
                                                                  for e in expected})
    assert (await comp.get("/api/v1/attendance/on-shift/alerts/999999")).status_code == 404


async def _path(db: AsyncSession, tenant_id: int) -> str:
    from probity.models import Tenant

    t = await db.get(Tenant, tenant_id)
    assert t is not None
    return t.path


def _grants_for_tenant_of(tenant_id: int, path: str) -> list[Any]:
    from probity.auth.permissions import Grant
    from probity.models import Role

    return [Grant(Role.compliance, tenant_id, path)]
