"""Tenant screening policies: versioned overlays inherited down the tree, stricter only,
audited, ledgered, and hot-reloaded by the compiled-policy registry."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import AuditEntry, Tenant, TenantPolicy
from probity.models.ledger import LedgerEntry


async def _ids(db: AsyncSession) -> dict[str, int]:
    return {code: tid for code, tid in (await db.execute(select(Tenant.code, Tenant.id)))}


async def test_overlay_is_inherited_and_hot_reloaded(as_user: Any, db: AsyncSession) -> None:
    ids = await _ids(db)
    admin = await as_user("admin")
    probe = {"text": "要不要买点龙井茶叶，我们私下聊", "role": "customer"}
    before = (await admin.post(f"/api/v1/policies/{ids['ECOM-SOUTH']}/try", json=probe)).json()
    r = await admin.put(f"/api/v1/policies/{ids['HQ']}", json={
        "lexicon": [{"term": "龙井茶叶", "category": "bribe", "severity": 3}],
        "note": "gift code word seen in cases", "override_reason": "urgent: seen in cases"})
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 1
    # The region two levels below HQ screens with the new term at once.
    after = (await admin.post(f"/api/v1/policies/{ids['ECOM-SOUTH']}/try", json=probe)).json()
    assert "bribe" in after["categories"] and after["decision"] == "block"
    assert after["policy_version"] > before["policy_version"]
    eff = (await admin.get(f"/api/v1/policies/{ids['ECOM-SOUTH']}")).json()
    assert [v["tenant_id"] for v in eff["chain"]] == [ids["HQ"]]
    # Audited and ledgered.
    assert await db.scalar(select(func.count()).select_from(AuditEntry)
                           .where(AuditEntry.action == "policy.change")) == 1
    entry = await db.scalar(select(LedgerEntry).where(LedgerEntry.type == "policy.change"))
    assert entry is not None and entry.tenant_id == ids["HQ"]


async def test_subsidiary_cannot_loosen(as_user: Any, db: AsyncSession) -> None:
    ids = await _ids(db)
    c = await as_user("compliance")  # e-commerce compliance
    loose = await c.put(f"/api/v1/policies/{ids['ECOM']}",
                        json={"actions": {"customer": {"contact": "warn"}}})
    assert loose.status_code == 422 and loose.json()["code"] == "policy_looser_than_parent"
    thresholds = await c.put(f"/api/v1/policies/{ids['ECOM']}",
                             json={"thresholds": {"warn": 3, "block": 4}})
    assert thresholds.status_code == 422
    stricter = await c.put(f"/api/v1/policies/{ids['ECOM']}", json={
        "thresholds": {"warn": 1, "block": 2}, "allow_numbers": ["4008001234"],
        "override_reason": "test"})
    assert stricter.status_code == 201
    # Outside its scope, HQ's policy is not found; and nothing was half-written.
    assert (await c.put(f"/api/v1/policies/{ids['HQ']}", json={})).status_code == 404
    assert (await c.get(f"/api/v1/policies/{ids['HOME']}")).status_code == 404
    assert await db.scalar(select(func.count()).select_from(TenantPolicy)) == 1


@pytest.mark.parametrize("body, status", [
    ({"lexicon": [{"term": "", "category": "bribe"}]}, 422),
    ({"lexicon": [{"term": "x", "category": "gossip"}]}, 422),
    ({"thresholds": {"warn": 0, "block": 3}}, 422),
    ({"surprise": True}, 422),
])
async def test_bad_policies_are_refused(as_user: Any, db: AsyncSession, body: dict[str, Any],
                                        status: int) -> None:
    ids = await _ids(db)
    admin = await as_user("admin")
    r = await admin.put(f"/api/v1/policies/{ids['HQ']}", json=body)
    assert r.status_code == status
    assert await db.scalar(select(func.count()).select_from(TenantPolicy)) == 0


async def test_versions_are_append_only(as_user: Any, db: AsyncSession) -> None:
    ids = await _ids(db)
    admin = await as_user("admin")
    for term in ("一号暗语", "二号暗语"):
        r = await admin.put(f"/api/v1/policies/{ids['TRAVEL']}", json={
            "lexicon": [{"term": term, "category": "bribe"}], "override_reason": "test"})
        assert r.status_code == 201
    versions = (await admin.get(f"/api/v1/policies/{ids['TRAVEL']}/versions")).json()
    assert [v["version"] for v in versions] == [2, 1]
    with pytest.raises(DBAPIError, match="append-only"):
        async with db.begin_nested():
            await db.execute(text("UPDATE tenant_policies SET note = 'x'"))


async def test_policy_roles(as_user: Any, db: AsyncSession) -> None:
    ids = await _ids(db)
    for user, code in (("hr", 403), ("agent", 403), ("auditor", 403)):
        c = await as_user(user)
        assert (await c.put(f"/api/v1/policies/{ids['ECOM']}", json={})).status_code == code
    auditor = await as_user("auditor")
    assert (await auditor.get(f"/api/v1/policies/{ids['HQ']}")).status_code == 200
