"""Group standards pages: origin and lock shown, locked fields refused (403) through the page,
preview per subsidiary, publish, history and rollback."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import SettingsVersion, Tenant


async def _ids(db: AsyncSession) -> dict[str, int]:
    return {code: tid for code, tid in (await db.execute(select(Tenant.code, Tenant.id)))}


def _csrf(client: Any) -> str:
    return str(client.headers["X-CSRF-Token"])


async def test_subsidiary_admin_sees_origin_and_lock_and_gets_403(as_user: Any,
                                                                  db: AsyncSession) -> None:
    ids = await _ids(db)
    sub = await as_user("ecadmin")
    page = await sub.get(f"/standards/{ids['ECOM']}/cases")
    assert page.status_code == 200
    html = page.text
    assert 'data-testid="lock-triage_hours"' in html and "🔒 已被总部锁定" in html
    assert 'name="v.triage_hours"' not in html  # not offered for editing
    assert 'name="v.window_hours"' in html
    before = await db.scalar(select(func.count()).select_from(SettingsVersion))
    r = await sub.post(f"/standards/{ids['ECOM']}/cases", data={
        "csrf_token": _csrf(sub), "shown": "triage_hours", "v.triage_hours": "8",
        "reason": "faster"})
    assert r.status_code == 403 and "cases.triage_hours 已被总部锁定" in r.text
    r = await sub.post(f"/standards/{ids['ECOM']}/cases/preview", data={
        "csrf_token": _csrf(sub), "shown": "triage_hours", "v.triage_hours": "8"},
        headers={"Accept-Language": "en"})
    assert r.status_code == 403 and "cases.triage_hours is locked by HQ" in r.text
    r = await sub.post(f"/standards/{ids['ECOM']}/cases", data={
        "csrf_token": _csrf(sub), "shown": "window_hours", "v.window_hours": "99999",
        "reason": "x"})
    assert r.status_code == 422 and "cases.window_hours" in r.text
    assert await db.scalar(select(func.count()).select_from(SettingsVersion)) == before


async def test_hq_preview_publish_history_rollback(as_user: Any, db: AsyncSession) -> None:
    ids = await _ids(db)
    admin = await as_user("admin")
    form = {"csrf_token": _csrf(admin), "shown": ["window_hours", "group_by"],
            "v.window_hours": "48", "v.group_by": "agent_customer",
            "lockable.window_hours": "1", "lock.window_hours": "on"}
    r = await admin.post(f"/standards/{ids['HQ']}/cases/preview", data=form)
    assert r.status_code == 200, r.text
    assert 'data-testid="diff-TRAVEL"' in r.text and 'data-testid="diff-ECOM-SOUTH"' in r.text
    assert "168" in r.text  # TRAVEL's own window, overridden by the lock
    payload = r.text.split('name="payload" value="')[1].split('"')[0]
    import html

    r = await admin.post(f"/standards/{ids['HQ']}/cases", data={
        "csrf_token": _csrf(admin), "payload": html.unescape(payload),
        "reason": "one window for the group"})
    assert r.status_code == 303, r.text
    travel = (await admin.get(f"/api/v1/settings/{ids['TRAVEL']}/cases")).json()
    assert travel["values"]["window_hours"] == 48
    hist = await admin.get(f"/standards/{ids['HQ']}/cases/history")
    assert hist.status_code == 200 and "one window for the group" in hist.text
    r = await admin.post(f"/standards/{ids['HQ']}/cases/rollback", data={
        "csrf_token": _csrf(admin), "version": "1", "reason": "undo"})
    assert r.status_code == 303
    travel = (await admin.get(f"/api/v1/settings/{ids['TRAVEL']}/cases")).json()
    assert travel["values"]["window_hours"] == 168
    overview = await admin.get(f"/standards?tenant_id={ids['HOME']}")
    assert overview.status_code == 200 and 'data-testid="section-cases"' in overview.text
