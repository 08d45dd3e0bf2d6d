"""Issue 13 / 15.8: attendance, payroll and onboarding count days in the tenant's zone, never the
server's. The group is moved to a zone whose date differs from the server's at the moment the
test runs (UTC+14 when it is past 10:00 UTC, else UTC-12), so a page that used the server's date
would show the wrong day."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.attendance.common import local_today
from probity.governance import change_settings
from probity.governance.service import reset_cache
from probity.models import Employee, EmploymentStatus, Onboarding, Tenant


def far_zone() -> str:
    """A zone whose calendar day is not the server's (UTC) day right now."""
    return "Pacific/Kiritimati" if datetime.now(UTC).hour >= 10 else "Etc/GMT+12"


@pytest.fixture
async def zone(db: AsyncSession) -> str:
    tz = far_zone()
    hq = await db.scalar(select(Tenant).where(Tenant.parent_id.is_(None)))
    assert hq is not None
    await change_settings(db, None, hq.id, "display", {"timezone": tz},
                          reason="the group moves", actor_name="test")
    await db.flush()
    reset_cache()
    assert datetime.now(ZoneInfo(tz)).date() != datetime.now(UTC).date()
    return tz


async def test_a_day_boundary_is_the_tenants_midnight(db: AsyncSession) -> None:
    hq = await db.scalar(select(Tenant).where(Tenant.parent_id.is_(None)))
    assert hq is not None
    # The demo group keeps Beijing time: 20:00 UTC on New Year's Eve is already 1 January.
    eve = datetime(2026, 12, 31, 20, 0, tzinfo=UTC)
    assert await local_today(db, hq.id, eve) == date(2027, 1, 1)


async def test_pages_and_api_use_the_tenants_today(zone: str, as_user: Any,
                                                   db: AsyncSession) -> None:
    today = datetime.now(ZoneInfo(zone)).date()
    c: httpx.AsyncClient = await as_user("hr")
    page = await c.get("/payroll")
    assert page.status_code == 200
    assert f'name="month" required value="{today.isoformat()[:7]}"' in page.text
    page = await c.get("/payroll/adjustments")
    assert f'value="{today.isoformat()[:7]}"' in page.text

    c = await as_user("lead")
    page = await c.get("/attendance")
    assert page.status_code == 200
    header = re.search(r'data-testid="rota".*?</thead>', page.text, re.S)
    assert header is not None and today.strftime("%m-%d") in header.group(0)

    c = await as_user("agent")
    got = await c.get("/api/v1/attendance/me/leave")
    assert got.status_code == 200
    assert {b["year"] for b in got.json()["balances"]} <= {today.year}
    page = await c.get("/me/attendance")
    assert page.status_code == 200


async def test_probation_reminders_take_each_tenants_day(zone: str, db: AsyncSession) -> None:
    """A reminder window that starts on the tenant's today, not the server's."""
    from probity.onboarding.service import send_probation_reminders

    ob = await db.scalar(select(Onboarding).join(Employee, Employee.id == Onboarding.employee_id)
                         .where(Employee.status != EmploymentStatus.left).limit(1))
    now = datetime.now(UTC)
    local = now.astimezone(ZoneInfo(zone)).date()
    if ob is None:
        pytest.skip("the demo has no onboarding record")
    ob.probation_reminded_at = None
    # Ends seven days after the tenant's today: the last day of the window.
    ob.probation_end = local + timedelta(days=7)
    await db.flush()
    assert await send_probation_reminders(db, local - timedelta(days=1)) == 0
    assert await send_probation_reminders(db, now) >= 1
    assert ob.probation_reminded_at is not None
