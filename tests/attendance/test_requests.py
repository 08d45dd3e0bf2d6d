"""Part 3's bad inputs on the requests (swaps, overtime, leave): each refusal is a clear 4xx and
writes nothing; a clock-in off the rota is recorded, not refused; the phone page's forms."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import (
    AuditEntry,
    Employee,
    EmploymentStatus,
    LeaveBalance,
    LeaveRequest,
    OrgUnit,
    OvertimeRequest,
    RequestStatus,
    ShiftAssignment,
    ShiftSwap,
    ShiftTemplate,
    User,
)

FAR_MONDAY = date.today() + timedelta(days=7 * 24 - date.today().weekday())  # no demo rota


async def _count(db: AsyncSession, model: Any) -> int:
    return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def _emp(db: AsyncSession, username: str) -> Employee:
    emp = await db.scalar(select(Employee).join(User, User.employee_id == Employee.id)
                          .where(User.username == username))
    assert emp is not None
    return emp


async def _teammates(db: AsyncSession, emp: Employee) -> list[Employee]:
    return list((await db.scalars(select(Employee).where(
        Employee.org_unit_id == emp.org_unit_id, Employee.id != emp.id,
        Employee.status != EmploymentStatus.left).order_by(Employee.employee_no))).all())


async def test_a_swap_that_would_overlap_is_refused_on_approval(
        as_user: Any, db: AsyncSession) -> None:
    """The colleague is already on a shift at that time: the approval is 422 shift_overlap and
    the rota, the swap and the audit log are as they were."""
    agent = await _emp(db, "agent")
    lead = await _emp(db, "lead")
    unit = await db.get(OrgUnit, agent.org_unit_id)
    assert unit is not None
    early = await db.scalar(select(ShiftTemplate).where(ShiftTemplate.code == "EARLY"))
    mid = await db.scalar(select(ShiftTemplate).where(ShiftTemplate.code == "MID"))
    assert early is not None and mid is not None
    other = next(e for e in await _teammates(db, agent) if e.id != lead.id)
    agent_id, other_id = agent.id, other.id
    c: httpx.AsyncClient = await as_user("lead")
    r = await c.post("/api/v1/attendance/rota", json={
        "org_unit_id": unit.id, "week_start": FAR_MONDAY.isoformat(), "entries": [
            {"employee_id": agent.id, "day": FAR_MONDAY.isoformat(), "template_id": early.id},
            {"employee_id": other.id, "day": FAR_MONDAY.isoformat(), "template_id": mid.id}]})
    assert r.status_code == 201, r.text
    mine = next(a for a in r.json() if a["employee_id"] == agent.id)
    c = await as_user("agent")
    r = await c.post("/api/v1/attendance/me/swaps", json={
        "assignment_id": mine["id"], "target_employee_id": other.id})
    assert r.status_code == 201, r.text
    swap_id = r.json()["id"]
    c = await as_user("lead")
    audits = await _count(db, AuditEntry)  # after the sign-in, which is audited
    r = await c.post(f"/api/v1/attendance/swaps/{swap_id}/decide", json={"approve": True})
    assert r.status_code == 422 and r.json()["code"] == "shift_overlap", r.text
    assert r.json()["employee_id"] == other_id
    db.expire_all()
    assert (await db.get(ShiftAssignment, mine["id"])).employee_id == agent_id  # type: ignore[union-attr]
    assert (await db.get(ShiftSwap, swap_id)).status == RequestStatus.requested  # type: ignore[union-attr]
    assert await _count(db, AuditEntry) == audits
    # Rejecting it is still possible, once.
    r = await c.post(f"/api/v1/attendance/swaps/{swap_id}/decide", json={"approve": False})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    r = await c.post(f"/api/v1/attendance/swaps/{swap_id}/decide", json={"approve": True})
    assert r.status_code == 409 and r.json()["code"] == "already_decided"


async def test_overtime_request_and_approval(as_user: Any, db: AsyncSession) -> None:
    c: httpx.AsyncClient = await as_user("agent")
    before = await _count(db, OvertimeRequest)
    for bad in ({"day": FAR_MONDAY.isoformat(), "minutes": 5, "reason": "x"},
                {"day": FAR_MONDAY.isoformat(), "minutes": 60, "reason": ""},
                {"day": "not-a-day", "minutes": 60, "reason": "x"},
                {"day": FAR_MONDAY.isoformat(), "minutes": 10_000, "reason": "x"}):
        r = await c.post("/api/v1/attendance/me/overtime", json=bad)
        assert r.status_code == 422, (bad, r.text)
    assert await _count(db, OvertimeRequest) == before
    r = await c.post("/api/v1/attendance/me/overtime", json={
        "day": FAR_MONDAY.isoformat(), "minutes": 90, "reason": "大促值守"})
    assert r.status_code == 201 and r.json()["status"] == "requested"
    ot_id = r.json()["id"]
    assert (await c.post(f"/api/v1/attendance/overtime/{ot_id}/decide",
                         json={"approve": True})).status_code == 403  # agents decide nothing
    c = await as_user("lead")
    listed = (await c.get("/api/v1/attendance/overtime", params={"status": "requested"})).json()
    assert ot_id in {o["id"] for o in listed}
    r = await c.post(f"/api/v1/attendance/overtime/{ot_id}/decide", json={"approve": True})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    r = await c.post(f"/api/v1/attendance/overtime/{ot_id}/decide", json={"approve": False})
    assert r.status_code == 409 and r.json()["code"] == "already_decided"
    # The lead's own overtime is decided by somebody else.
    r = await c.post("/api/v1/attendance/me/overtime", json={
        "day": FAR_MONDAY.isoformat(), "minutes": 30, "reason": "排班"})
    r = await c.post(f"/api/v1/attendance/overtime/{r.json()['id']}/decide",
                     json={"approve": True})
    assert r.status_code == 403 and r.json()["code"] == "four_eyes"
    # Another team's lead scope: a request outside it is 404, like a missing one.
    assert (await c.post("/api/v1/attendance/overtime/999999/decide",
                         json={"approve": True})).status_code == 404


async def test_leave_approval_beyond_the_balance_writes_nothing(
        as_user: Any, db: AsyncSession) -> None:
    """HR lowered the entitlement after the request: approving is 422, the request stays
    requested and the balance untouched."""
    agent = await _emp(db, "agent")
    year = date.today().year
    c: httpx.AsyncClient = await as_user("agent")
    r = await c.post("/api/v1/attendance/me/leave", json={
        "leave_type": "annual", "start_date": date(year, 3, 2).isoformat(),
        "end_date": date(year, 3, 5).isoformat()})
    assert r.status_code == 201, r.text
    leave_id = r.json()["id"]
    bal = await db.scalar(select(LeaveBalance).where(
        LeaveBalance.employee_id == agent.id, LeaveBalance.leave_type == "annual",
        LeaveBalance.year == year))
    assert bal is not None
    used, bal_id = bal.used_days, bal.id
    bal.entitled_days = used + Decimal(2)
    await db.flush()
    c = await as_user("lead")
    r = await c.post(f"/api/v1/attendance/leave/{leave_id}/decide", json={"approve": True})
    assert r.status_code == 422 and r.json()["code"] == "insufficient_balance", r.text
    db.expire_all()
    req = await db.get(LeaveRequest, leave_id)
    assert req is not None and req.status == RequestStatus.requested
    bal = await db.get(LeaveBalance, bal_id)
    assert bal is not None and bal.used_days == used


async def test_the_phone_page_forms(as_user: Any, db: AsyncSession) -> None:
    c: httpx.AsyncClient = await as_user("agent")
    token = c.headers["X-CSRF-Token"]
    page = await c.get("/me/attendance")
    assert page.status_code == 200
    assert 'data-testid="swaps"' in page.text and 'data-testid="overtime"' in page.text
    before = await _count(db, OvertimeRequest)
    r = await c.post("/me/attendance/overtime", data={
        "day": FAR_MONDAY.isoformat(), "minutes": "5", "reason": "x", "csrf_token": token})
    assert r.status_code == 422 and 'role="alert"' in r.text
    assert await _count(db, OvertimeRequest) == before
    r = await c.post("/me/attendance/overtime", data={
        "day": FAR_MONDAY.isoformat(), "minutes": "60", "reason": "值守", "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"].startswith("/me/attendance?sent=")
    assert await _count(db, OvertimeRequest) == before + 1
    # A swap of somebody else's shift is refused on the page, with nothing written.
    agent = await _emp(db, "agent")
    theirs = await db.scalar(select(ShiftAssignment).where(
        ShiftAssignment.employee_id != agent.id).limit(1))
    assert theirs is not None
    swaps = await _count(db, ShiftSwap)
    r = await c.post("/me/attendance/swap", data={
        "assignment_id": str(theirs.id), "target_employee_id": str(theirs.employee_id),
        "csrf_token": token})
    assert r.status_code == 422 and 'role="alert"' in r.text
    assert await _count(db, ShiftSwap) == swaps
    r = await c.post("/me/attendance/swap", data={
        "assignment_id": "x", "target_employee_id": "1", "csrf_token": token})
    assert r.status_code == 422
