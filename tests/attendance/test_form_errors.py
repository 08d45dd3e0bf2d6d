"""Per-field form errors on the attendance, leave and recruitment forms (issue 13 gap 4): the
same `_fields.html` macros as the payroll tables — each problem beside its field, in the
reader's language, the submitted values kept, status 422, nothing written."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.attendance.test_attendance import FAR_MONDAY

from probity.models import Candidate, LeaveRequest, OrgUnit, OvertimeRequest, Position, Requisition


async def _count(db: AsyncSession, model: Any) -> int:
    return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def test_leave_and_overtime_errors_sit_beside_their_fields(
        as_user: Any, db: AsyncSession) -> None:
    c: httpx.AsyncClient = await as_user("agent")
    token = c.headers["X-CSRF-Token"]
    leave, overtime = await _count(db, LeaveRequest), await _count(db, OvertimeRequest)
    r = await c.post("/me/attendance/leave", data={
        "leave_type": "annual", "start_date": "2026-02-30", "end_date": "x",
        "reason": "探亲", "csrf_token": token})
    assert r.status_code == 422
    assert 'data-testid="error-leave.start_date"' in r.text
    assert 'data-testid="error-leave.end_date"' in r.text and "不是有效日期" in r.text
    assert 'aria-invalid="true"' in r.text and 'value="探亲"' in r.text
    assert 'data-testid="error-overtime.day"' not in r.text  # the other forms are untouched
    # Beyond the balance: the refusal sits beside the end date.
    far = FAR_MONDAY
    r = await c.post("/me/attendance/leave", data={
        "leave_type": "annual", "start_date": far.isoformat(),
        "end_date": (far + timedelta(days=60)).isoformat(), "csrf_token": token})
    assert r.status_code == 422 and 'data-testid="error-leave.end_date"' in r.text
    r = await c.post("/me/attendance/overtime", data={
        "day": FAR_MONDAY.isoformat(), "minutes": "5", "reason": "x", "csrf_token": token})
    assert r.status_code == 422 and 'data-testid="error-overtime.minutes"' in r.text
    assert 'role="alert"' in r.text
    assert (await _count(db, LeaveRequest), await _count(db, OvertimeRequest)) == (
        leave, overtime)


async def test_recruitment_errors_sit_beside_their_fields(as_user: Any,
                                                          db: AsyncSession) -> None:
    c: httpx.AsyncClient = await as_user("hr")
    token = c.headers["X-CSRF-Token"]
    tenant_id = (await c.get("/api/v1/me")).json()["roles"][0]["tenant_id"]
    pos = await db.scalar(select(Position.id).where(Position.code == "CS1"))
    team = await db.scalar(select(OrgUnit.id).where(OrgUnit.code == "ECOM-T1"))
    before = await _count(db, Requisition)
    form = {"csrf_token": token, "tenant_id": str(tenant_id), "position_id": str(pos),
            "org_unit_id": str(team), "title": "售后客服", "headcount": "abc"}
    r = await c.post("/recruitment", data=form)
    assert r.status_code == 422 and 'data-testid="error-headcount"' in r.text
    assert 'value="售后客服"' in r.text and 'data-testid="form-errors"' in r.text
    r = await c.post("/recruitment", data=form | {"headcount": "0", "title": ""})
    assert r.status_code == 422
    assert 'data-testid="error-headcount"' in r.text and 'data-testid="error-title"' in r.text
    assert await _count(db, Requisition) == before
    r = await c.post("/recruitment", data=form | {"headcount": "1"})
    assert r.status_code == 303
    req_id = int(r.headers["location"].rsplit("/", 1)[1])
    cands = await _count(db, Candidate)
    r = await c.post(f"/recruitment/requisitions/{req_id}/candidates",
                     data={"csrf_token": token, "name": "", "phone": "13911112222"})
    assert r.status_code == 422 and 'data-testid="error-name"' in r.text
    assert 'value="13911112222"' in r.text
    assert await _count(db, Candidate) == cands
