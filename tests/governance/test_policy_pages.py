"""The screening policy page: contributions per level, locks, replay → publish, retro."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.jobs.runtime import InlineRuntime
from probity.models import Tenant, TenantPolicy


@pytest.fixture
def shared_jobs(app: Any, db: AsyncSession) -> InlineRuntime:
    @asynccontextmanager
    async def same_session() -> AsyncIterator[AsyncSession]:
        yield db

    runtime: InlineRuntime = app.state.jobs
    runtime.sessions = same_session
    return runtime


async def _ids(db: AsyncSession) -> dict[str, int]:
    return {code: tid for code, tid in (await db.execute(select(Tenant.code, Tenant.id)))}


async def test_replay_then_publish_from_the_pages(as_user: Any, db: AsyncSession,
                                                  shared_jobs: InlineRuntime) -> None:
    ids = await _ids(db)
    admin = await as_user("admin")
    csrf = admin.headers["X-CSRF-Token"]
    page = await admin.get(f"/standards/{ids['ECOM']}/screening")
    assert page.status_code == 200 and 'data-testid="policy-form"' in page.text
    r = await admin.post(f"/standards/{ids['ECOM']}/screening/replay", data={
        "csrf_token": csrf, "lexicon": "龙井茶叶,bribe,3\n", "allow_terms": "",
        "action.customer.contact": "block"})
    assert r.status_code == 303, r.text
    run_url = r.headers["location"]
    await shared_jobs.wait()
    run = await admin.get(run_url)
    assert run.status_code == 200 and 'data-state="done"' in run.text
    fragment = await admin.get(run_url, headers={"HX-Request": "true"})
    assert 'data-testid="run-state"' in fragment.text and "<html" not in fragment.text
    overlay = html.unescape(run.text.split('name="overlay" value="')[1].split('"')[0])
    replay_id = run_url.rsplit("/", 1)[1]
    r = await admin.post(f"/standards/{ids['ECOM']}/screening/publish", data={
        "csrf_token": csrf, "overlay": overlay, "replay_id": replay_id, "note": "tea"})
    assert r.status_code == 303, r.text
    row = await db.scalar(select(TenantPolicy).where(TenantPolicy.tenant_id == ids["ECOM"]))
    assert row is not None and row.overlay["lexicon"][0]["term"] == "龙井茶叶"
    # Without a replay or an override: 409, shown on the page.
    r = await admin.post(f"/standards/{ids['ECOM']}/screening/publish", data={
        "csrf_token": csrf, "lexicon": "别的词,bribe,3"})
    assert r.status_code == 409 and "回放" in r.text


async def test_locks_on_the_policy_page(as_user: Any, db: AsyncSession) -> None:
    ids = await _ids(db)
    admin = await as_user("admin")
    r = await admin.post(f"/standards/{ids['HQ']}/screening", data={
        "csrf_token": admin.headers["X-CSRF-Token"], "shown": ["allow_terms", "lexicon"],
        "lockable.allow_terms": "1", "lock.allow_terms": "on", "lockable.lexicon": "1",
        "reason": "no local allow-lists"})
    assert r.status_code == 303, r.text
    sub = await as_user("compliance")
    page = await sub.get(f"/standards/{ids['ECOM']}/screening")
    assert page.status_code == 200 and 'data-testid="lock-allow_terms"' in page.text
    r = await sub.post(f"/standards/{ids['ECOM']}/screening/replay", data={
        "csrf_token": sub.headers["X-CSRF-Token"], "allow_terms": "微信"})
    assert r.status_code == 403 and "screening.allow_terms 已被总部锁定" in r.text
