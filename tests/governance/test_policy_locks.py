"""HQ locks on the screening policy's parts, with "stricter only" still holding on top."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.governance import change_settings
from probity.models import Tenant, TenantPolicy


async def _ids(db: AsyncSession) -> dict[str, int]:
    return {code: tid for code, tid in (await db.execute(select(Tenant.code, Tenant.id)))}


async def test_locked_policy_part_is_403_and_stale_additions_stop_applying(
        as_user: Any, db: AsyncSession) -> None:
    ids = await _ids(db)
    c = await as_user("compliance")  # e-commerce compliance
    r = await c.put(f"/api/v1/policies/{ids['ECOM']}", json={
        "lexicon": [{"term": "龙井茶叶", "category": "bribe", "severity": 3}],
        "allow_numbers": ["4008001234"], "override_reason": "test"})
    assert r.status_code == 201, r.text
    with_term = (await c.get(f"/api/v1/policies/{ids['ECOM-SOUTH']}")).json()["terms"]
    admin = await as_user("admin")
    r = await admin.put(f"/api/v1/settings/{ids['HQ']}/screening", json={
        "locks": {"lexicon": True, "allow_numbers": True}, "reason": "one lexicon, no local "
        "allow-listed numbers"})
    assert r.status_code == 201, r.text
    # What ECOM had added to the locked parts no longer applies below HQ.
    eff = (await admin.get(f"/api/v1/policies/{ids['ECOM-SOUTH']}")).json()
    assert eff["terms"] == with_term - 1
    c = await as_user("compliance")
    count = await db.scalar(select(func.count()).select_from(TenantPolicy))
    r = await c.put(f"/api/v1/policies/{ids['ECOM']}", json={
        "lexicon": [{"term": "龙井茶叶", "category": "bribe", "severity": 3}],
        "allow_numbers": ["4008001234", "4008009999"]})
    assert r.status_code == 403 and r.json()["code"] == "setting_locked"
    assert r.json()["field"] == "screening.allow_numbers"
    assert "已被总部锁定" in r.json()["detail"]
    # Unlocked parts: stricter still passes, looser is still refused.
    keep = {"lexicon": [{"term": "龙井茶叶", "category": "bribe", "severity": 3}],
            "allow_numbers": ["4008001234"]}
    r = await c.put(f"/api/v1/policies/{ids['ECOM']}", json={
        **keep, "thresholds": {"warn": 1, "block": 2}, "override_reason": "test"})
    assert r.status_code == 201, r.text
    r = await c.put(f"/api/v1/policies/{ids['ECOM']}", json={
        **keep, "actions": {"customer": {"contact": "warn"}}})
    assert r.status_code == 422 and r.json()["code"] == "policy_looser_than_parent"
    assert await db.scalar(select(func.count()).select_from(TenantPolicy)) == count + 1


async def test_screening_section_takes_locks_only(db: AsyncSession) -> None:
    import pytest

    from probity.errors import InvalidInput

    ids = await _ids(db)
    with pytest.raises(InvalidInput) as exc:
        await change_settings(db, None, ids["HQ"], "screening", {"allow_terms": ["x"]},
                              reason="x")
    assert exc.value.code == "locks_only"
