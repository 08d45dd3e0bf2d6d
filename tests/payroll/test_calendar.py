"""The holiday calendar (statutory holidays and 调休 working days) is data of the payroll standard:
HR maintains it (here through the settings API, as the standard's page does), and a year without
one is named on the payroll pages instead of being silently treated as having no holidays."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.governance.service import reset_cache
from probity.models import PayrollRun, Tenant
from probity.payroll.settings import MAKEUP_WORKDAYS, PayrollSettings, calendar_years


def test_the_default_calendar_has_2025_and_2026_with_their_makeup_days() -> None:
    s = PayrollSettings()
    assert calendar_years(s) == {2025, 2026}
    assert "2026-02-14" in s.makeup_workdays and list(MAKEUP_WORKDAYS) == s.makeup_workdays


async def test_a_year_without_a_calendar_is_named_and_hr_can_add_it(
        as_user: Any, db: AsyncSession) -> None:
    run = await db.scalar(select(PayrollRun).order_by(PayrollRun.month.desc()).limit(1))
    assert run is not None
    year = run.month.year
    tenant = await db.get(Tenant, run.tenant_id)
    assert tenant is not None
    hq = await db.scalar(select(Tenant).where(Tenant.parent_id.is_(None)))
    assert hq is not None
    admin = await as_user("admin")
    keep = [d for d in PayrollSettings().statutory_holidays if not d.startswith(str(year))]
    r = await admin.put(f"/api/v1/settings/{hq.id}/payroll", json={
        "values": {"statutory_holidays": keep}, "reason": "test: the year's notice is not out"})
    assert r.status_code == 201, r.text
    reset_cache()
    hr = await as_user("hr")
    page = await hr.get(f"/payroll/runs/{run.id}")
    assert page.status_code == 200
    assert 'data-testid="no-calendar"' in page.text and f"{year}年尚无节假日日历" in page.text

    # HR imports the year (a list of days, as pasted on the standard's page).
    admin = await as_user("admin")
    r = await admin.put(f"/api/v1/settings/{hq.id}/payroll", json={
        "values": {"statutory_holidays": [*keep, f"{year}-01-01"],
                   "makeup_workdays": [f"{year}-01-04"]}, "reason": "the notice is out"})
    assert r.status_code == 201, r.text
    reset_cache()
    hr = await as_user("hr")
    page = await hr.get(f"/payroll/runs/{run.id}")
    assert f"{year}年尚无节假日日历" not in page.text
    admin = await as_user("admin")
    # A day that is not a date is refused with a message, nothing stored.
    r = await admin.put(f"/api/v1/settings/{hq.id}/payroll", json={
        "values": {"statutory_holidays": ["2027-02-30"]}, "reason": "typo"})
    assert r.status_code == 422, r.text
