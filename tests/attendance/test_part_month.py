"""A part month (issue 13 gap 6): pay is pro-rated for the days employed (payroll.compute,
tests/payroll/test_compute.py), and so is the rota — no shift before the hire date or after
the leaving day, and a shift left on the rota past the leaving day is no absence."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.attendance.test_attendance import FAR_MONDAY, _team, _template

from probity.attendance import service
from probity.attendance.common import local_span
from probity.models import AttendanceException, ShiftAssignment


async def test_the_rota_covers_only_the_days_employed(as_user: Any, db: AsyncSession) -> None:
    unit, members = await _team(db)
    early = await _template(db, "EARLY")
    newcomer, leaver = members[1], members[2]
    newcomer.hire_date = FAR_MONDAY + timedelta(days=2)  # joins on Wednesday
    leaver.left_date = FAR_MONDAY + timedelta(days=3)  # last day Thursday
    await db.flush()
    c: httpx.AsyncClient = await as_user("lead")
    before = await db.scalar(select(func.count()).select_from(ShiftAssignment))

    def entry(emp_id: int, n: int) -> dict[str, Any]:
        return {"employee_id": emp_id, "day": (FAR_MONDAY + timedelta(days=n)).isoformat(),
                "template_id": early.id}

    for entries in ([entry(newcomer.id, 2), entry(newcomer.id, 1)],
                    [entry(leaver.id, 3), entry(leaver.id, 4)]):
        r = await c.post("/api/v1/attendance/rota", json={
            "org_unit_id": unit.id, "week_start": FAR_MONDAY.isoformat(), "entries": entries})
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "not_employed" and r.json()["index"] == 1
        assert "不在职" in r.json()["detail"]
    assert await db.scalar(select(func.count()).select_from(ShiftAssignment)) == before
    r = await c.post("/api/v1/attendance/rota", json={
        "org_unit_id": unit.id, "week_start": FAR_MONDAY.isoformat(),
        "entries": [entry(newcomer.id, 2), entry(newcomer.id, 4), entry(leaver.id, 0),
                    entry(leaver.id, 3)]})
    assert r.status_code == 201, r.text


async def test_a_shift_past_the_leaving_day_is_no_absence(db: AsyncSession) -> None:
    unit, members = await _team(db)
    early = await _template(db, "EARLY")
    leaver = members[3]
    day = datetime.now(UTC).date() - timedelta(days=3)
    leaver.left_date = day - timedelta(days=1)
    starts, ends = local_span(day, early.start_time, early.end_time, "Asia/Shanghai")
    stale = ShiftAssignment(tenant_id=unit.tenant_id, org_unit_id=unit.id,
                            employee_id=leaver.id, template_id=early.id, day=day,
                            starts_at=starts, ends_at=ends)
    db.add(stale)
    await db.flush()
    assert early.start_time < time(23)
    await service.detect_exceptions(db, datetime.now(UTC))
    assert await db.scalar(select(func.count()).select_from(AttendanceException).where(
        AttendanceException.assignment_id == stale.id)) == 0
