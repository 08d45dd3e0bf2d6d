"""Issue 15.8: one display format, in the tenant's time zone, on every page, live rows included.

The demo's group standard is Asia/Shanghai, the deployment default too, so a page that ignores the
tenant's zone would pass unnoticed; here HQ moves the group to New York (UTC-5) and the pages
must follow: the times they print, and the zone they give the scripts (`<meta name="probity-tz">`)
for the rows they add later.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.governance import change_settings
from probity.governance.service import reset_cache
from probity.models import Alert, AuditEntry, Case, Tenant
from probity.web.render import parse_day

ZONE = "America/New_York"
META = f'<meta name="probity-tz" content="{ZONE}">'


def shown(moment: datetime, zone: str) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


@pytest.fixture
async def new_york(db: AsyncSession) -> None:
    hq = await db.scalar(select(Tenant).where(Tenant.parent_id.is_(None)))
    assert hq is not None
    await change_settings(db, None, hq.id, "display", {"timezone": ZONE},
                          reason="the group moves to New York", actor_name="test")
    await db.flush()
    reset_cache()


async def test_alert_feed_and_its_live_rows_use_the_tenants_zone(
        new_york: None, as_user: Any, db: AsyncSession) -> None:
    client: httpx.AsyncClient = await as_user("compliance")
    page = await client.get("/alerts")
    assert page.status_code == 200
    assert META in page.text
    alert = await db.scalar(select(Alert).where(Alert.id == int(
        page.text.split('data-testid="alert-row" data-id="')[1].split('"')[0])))
    assert alert is not None
    assert shown(alert.created_at, ZONE) in page.text
    assert shown(alert.created_at, ZONE) != shown(alert.created_at, "Asia/Shanghai")
    row = await client.get(f"/alerts/rows/{alert.id}")
    assert shown(alert.created_at, ZONE) in row.text
    assert shown(alert.created_at, "Asia/Shanghai") not in row.text


async def test_case_list_and_team_page_use_the_tenants_zone(
        new_york: None, as_user: Any, db: AsyncSession) -> None:
    client: httpx.AsyncClient = await as_user("compliance")
    page = await client.get("/cases")
    assert META in page.text
    first = re.search(r'href="/cases/(\d+)"', page.text)
    assert first is not None
    case = await db.scalar(select(Case).where(Case.id == int(first.group(1))))
    assert case is not None
    assert shown(case.created_at, ZONE) in page.text
    client = await as_user("lead")
    team = await client.get("/team")
    assert team.status_code == 200
    assert META in team.text


async def test_audit_filter_days_are_the_tenants_days(
        new_york: None, as_user: Any, db: AsyncSession) -> None:
    """"To 12-05" includes all of the 5th, as a day of the tenant's zone."""
    client: httpx.AsyncClient = await as_user("admin")
    newest = await db.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    assert newest is not None
    day = shown(newest.created_at, ZONE)[:10]
    page = await client.get("/audit", params={"since": day, "until": day})
    assert page.status_code == 200
    assert META in page.text
    assert shown(newest.created_at, ZONE) in page.text


def test_a_day_filter_is_a_day_of_the_zone() -> None:
    assert parse_day("2026-12-05", ZONE) == datetime(2026, 12, 5, 5, tzinfo=UTC)
    assert parse_day("2026-12-05", ZONE, end=True) == datetime(2026, 12, 6, 5, tzinfo=UTC)
    assert parse_day("2026-12-05", "Asia/Shanghai") == datetime(2026, 12, 4, 16, tzinfo=UTC)
    assert parse_day("not a day") is None
    assert parse_day("") is None


def test_a_moment_in_an_audit_change_shows_in_the_zone() -> None:
    """The crawl found `2026-12-05T10:00:00+00:00` in the audit log's before/after."""
    from probity.i18n import translator
    from probity.web.labels import Labels

    labels = Labels(translator("zh_CN"), ZONE)
    rows = labels.diff({"due_at": "2026-12-05T10:00:00+00:00"},
                       {"due_at": "2026-12-19T02:12:45.765447+00:00"})
    assert [(r.before, r.after) for r in rows] == [("2026-12-05 05:00", "2026-12-18 21:12")]
    assert labels.value("hire_date", "2026-12-05") == "2026-12-05"  # a day stays a day
