"""Group standards: inheritance with origin, HQ locks (403), validation (422), preview, history,
rollback, audit and ledger — through the API and the Python API."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import Field, model_validator
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.errors import InvalidInput
from probity.governance import (
    SettingLocked,
    SettingsSection,
    change_settings,
    effective_settings,
    register_section,
)
from probity.governance.sections import CaseStandardSettings
from probity.models import AuditEntry, LedgerEntry, SettingsVersion, Tenant


async def _ids(db: AsyncSession) -> dict[str, int]:
    return {code: tid for code, tid in (await db.execute(select(Tenant.code, Tenant.id)))}


async def _versions(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(SettingsVersion)) or 0)


async def test_demo_standards_resolve_with_origin_and_lock(db: AsyncSession) -> None:
    ids = await _ids(db)
    south = await effective_settings(db, ids["ECOM-SOUTH"], CaseStandardSettings)
    assert isinstance(south.values, CaseStandardSettings)
    triage = south.fields["triage_hours"]
    assert triage.locked and triage.locked_by is not None and triage.locked_by.is_hq
    assert triage.origin == "inherited" and triage.origin_tenant is not None
    assert triage.origin_tenant.code == "HQ"
    assert south.fields["window_hours"].origin == "default"
    travel = await effective_settings(db, ids["TRAVEL"], "cases")
    assert travel.values.window_hours == 168 and travel.fields["window_hours"].origin == "own"
    hq = await effective_settings(db, ids["HQ"], "cases")
    assert not hq.fields["triage_hours"].locked and hq.fields["triage_hours"].locks_below


async def test_hq_lock_refuses_subsidiary_change_403(as_user: Any, db: AsyncSession) -> None:
    ids = await _ids(db)
    admin = await as_user("admin")
    r = await admin.put(f"/api/v1/settings/{ids['HQ']}/cases", json={
        "values": {"window_hours": 48}, "locks": {"window_hours": True},
        "reason": "one grouping window for the group"})
    assert r.status_code == 201, r.text
    sub = await as_user("ecadmin")  # hq_admin role over the e-commerce subsidiary
    eff = (await sub.get(f"/api/v1/settings/{ids['ECOM']}/cases")).json()
    window = next(f for f in eff["fields"] if f["name"] == "window_hours")
    assert window["value"] == 48 and window["locked"] and window["locked_by"]["is_hq"]
    assert window["origin"] == "inherited" and window["origin_tenant"]["code"] == "HQ"
    before = await _versions(db)
    r = await sub.put(f"/api/v1/settings/{ids['ECOM']}/cases",
                      json={"values": {"window_hours": 24}, "reason": "shorter"})
    assert r.status_code == 403
    body = r.json()
    assert body["code"] == "setting_locked" and body["field"] == "cases.window_hours"
    assert "已被总部锁定" in body["detail"] and "cases.window_hours" in body["detail"]
    r = await sub.put(f"/api/v1/settings/{ids['ECOM']}/cases",
                      json={"values": {"window_hours": 24}, "reason": "shorter"},
                      headers={"Accept-Language": "en"})
    assert r.status_code == 403 and r.json()["detail"] == "cases.window_hours is locked by HQ"
    # Unlocking someone else's lock, or clearing the field, is refused the same way.
    r = await sub.put(f"/api/v1/settings/{ids['ECOM-SOUTH']}/cases",
                      json={"locks": {"window_hours": False}, "reason": "x"})
    assert r.status_code == 403
    assert await _versions(db) == before
    # A field HQ did not lock is the subsidiary's to set.
    r = await sub.put(f"/api/v1/settings/{ids['ECOM']}/cases",
                      json={"values": {"group_by": "agent"}, "reason": "per agent"})
    assert r.status_code == 201
    # Out of the subsidiary admin's scope: not found, like a missing tenant.
    r = await sub.put(f"/api/v1/settings/{ids['HOME']}/cases",
                      json={"values": {"group_by": "agent"}, "reason": "x"})
    assert r.status_code == 404


@pytest.mark.parametrize(("values", "field"), [
    ({"window_hours": "soon"}, "cases.window_hours"),
    ({"window_hours": 100000}, "cases.window_hours"),
    ({"group_by": "team"}, "cases.group_by"),
    ({"no_such_field": 1}, "cases.no_such_field"),
])
async def test_bad_values_422_name_the_field(as_user: Any, db: AsyncSession,
                                             values: dict[str, Any], field: str) -> None:
    ids = await _ids(db)
    admin = await as_user("admin")
    before = await _versions(db)
    r = await admin.put(f"/api/v1/settings/{ids['ECOM']}/cases",
                        json={"values": values, "reason": "test"})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field and field in r.json()["detail"]
    assert await _versions(db) == before


async def test_reason_required_and_no_op_refused(as_user: Any, db: AsyncSession) -> None:
    ids = await _ids(db)
    admin = await as_user("admin")
    r = await admin.put(f"/api/v1/settings/{ids['ECOM']}/display",
                        json={"values": {"timezone": "Asia/Urumqi"}})
    assert r.status_code == 403  # display.timezone is locked by HQ in the demo
    r = await admin.put(f"/api/v1/settings/{ids['HQ']}/display",
                        json={"values": {"timezone": "Asia/Urumqi"}, "reason": " "})
    assert r.status_code == 422 and r.json()["code"] == "reason_required"
    r = await admin.put(f"/api/v1/settings/{ids['HQ']}/display",
                        json={"values": {"timezone": "Mars/Base"}, "reason": "x"})
    assert r.status_code == 422 and r.json()["field"] == "display.timezone"
    r = await admin.put(f"/api/v1/settings/{ids['HQ']}/display",
                        json={"locks": {"timezone": True}, "reason": "again"})
    assert r.status_code == 422 and r.json()["code"] == "no_change"


async def test_audit_ledger_history_and_rollback(as_user: Any, db: AsyncSession) -> None:
    ids = await _ids(db)
    admin = await as_user("admin")
    url = f"/api/v1/settings/{ids['HOME']}/cases"
    for hours in (24, 36):
        r = await admin.put(url, json={"values": {"window_hours": hours},
                                       "reason": f"window {hours} h"})
        assert r.status_code == 201
    history = (await admin.get(f"{url}/versions")).json()
    assert [v["version"] for v in history] == [2, 1]
    assert history[0]["reason"] == "window 36 h" and history[0]["created_by_name"] == "admin"
    r = await admin.post(f"{url}/rollback", json={"version": 1, "reason": "back to 24 h"})
    assert r.status_code == 201 and r.json()["version"] == 3 and r.json()["rollback_of"] == 1
    eff = (await admin.get(url)).json()
    assert eff["values"]["window_hours"] == 24 and eff["own_version"] == 3
    assert (await admin.post(f"{url}/rollback", json={"version": 9, "reason": "x"})
            ).status_code == 404
    actions = (await db.scalars(select(AuditEntry.action).where(
        AuditEntry.target_type == "settings", AuditEntry.tenant_id == ids["HOME"]))).all()
    assert sorted(actions) == ["settings.change", "settings.change", "settings.rollback"]
    ledgered = (await db.scalars(select(LedgerEntry).where(
        LedgerEntry.type == "settings.change", LedgerEntry.tenant_id == ids["HOME"]))).all()
    assert len(ledgered) == 3


async def test_preview_shows_what_changes_per_subsidiary(as_user: Any, db: AsyncSession
                                                         ) -> None:
    ids = await _ids(db)
    admin = await as_user("admin")
    before = await _versions(db)
    r = await admin.post(f"/api/v1/settings/{ids['HQ']}/cases/preview",
                         json={"values": {"window_hours": 48}})
    assert r.status_code == 200, r.text
    diff = {d["tenant"]["code"]: d["changes"] for d in r.json()}
    # Everyone inheriting the default moves to 48; TRAVEL keeps its own 168.
    assert {"HQ", "ECOM", "ECOM-SOUTH", "HOME"} <= set(diff) and "TRAVEL" not in diff
    assert diff["ECOM"][0]["before"] == 72 and diff["ECOM"][0]["after"] == 48
    r = await admin.post(f"/api/v1/settings/{ids['HQ']}/cases/preview",
                         json={"values": {"window_hours": 48}, "locks": {"window_hours": True}})
    travel = next(d for d in r.json() if d["tenant"]["code"] == "TRAVEL")["changes"][0]
    assert travel["before"] == 168 and travel["after"] == 48 and travel["locked_after"]
    assert await _versions(db) == before  # a preview writes nothing


class _Weights(SettingsSection):
    quality: int = Field(50, ge=0, le=100, title="Quality weight")
    compliance: int = Field(50, ge=0, le=100, title="Compliance weight")

    @model_validator(mode="after")
    def _sum(self) -> _Weights:
        if self.quality + self.compliance != 100:
            raise ValueError("weights must add up to 100")
        return self


register_section("test_weights", _Weights, title="Test weights")


async def test_change_keeping_descendants_valid(db: AsyncSession) -> None:
    ids = await _ids(db)
    await change_settings(db, None, ids["ECOM"], "test_weights",
                          {"quality": 70, "compliance": 30}, reason="ecom")
    # HQ locks compliance at 40: ECOM would resolve to 70 + 40, refused naming ECOM.
    with pytest.raises(InvalidInput) as exc:
        await change_settings(db, None, ids["HQ"], "test_weights",
                              {"quality": 60, "compliance": 40}, {"compliance": True}, "hq")
    assert exc.value.extra["tenant_id"] == ids["ECOM"]
    await change_settings(db, None, ids["HQ"], "test_weights",
                          {"quality": 60, "compliance": 40}, reason="hq, unlocked")
    eff = await effective_settings(db, ids["ECOM-SOUTH"], _Weights)
    assert (eff.values.quality, eff.values.compliance) == (70, 30)
    await change_settings(db, None, ids["ECOM"], "test_weights", clear=["quality", "compliance"],
                          reason="follow HQ")
    await change_settings(db, None, ids["HQ"], "test_weights",
                          locks={"quality": True, "compliance": True}, reason="lock")
    with pytest.raises(SettingLocked) as locked:
        await change_settings(db, None, ids["ECOM"], "test_weights", {"quality": 50},
                              reason="x")
    assert locked.value.extra["field"] == "test_weights.quality"
