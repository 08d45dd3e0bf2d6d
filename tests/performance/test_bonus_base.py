"""The bonus base from the employee's salary (issue 9 item 5: "the base comes from the position
grade or salary"): HQ sets and locks the rule; payroll's salary assignment in force at the
cycle's end, times the configured months, is the base; an employee with no salary on file falls
back to their grade's base and the bonus list says so."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.performance.helpers import decided_case, ids, setup_cycle

from probity.models import (
    Employee,
    EmploymentStatus,
    Position,
    SalaryAssignment,
    SettingsVersion,
)
from probity.performance.settings import PerformanceSettings, effective_settings

SETTINGS = "/api/v1/settings/{}/performance"


def salary(emp: Employee, month: date, base: str) -> SalaryAssignment:
    return SalaryAssignment(tenant_id=emp.tenant_id, employee_id=emp.id, effective_from=month,
                            grade=None, base=Decimal(base), allowances=[],
                            allowances_total=Decimal("0"), city="hangzhou")


async def test_bonus_base_from_salary_locked_by_hq_with_a_stated_fallback(
        as_user: Any, db: AsyncSession) -> None:
    t = await ids(db)
    ecom, agent = t["ecom"], t["agent"]
    newcomer = Employee(tenant_id=agent.tenant_id, org_unit_id=agent.org_unit_id,
                        position_id=agent.position_id, employee_no="NEW901", name="新同事",
                        hire_date=date(2027, 1, 4), status=EmploymentStatus.active)
    db.add(newcomer)
    await db.flush()
    # the assignment in force at the cycle's end counts; a later one does not
    db.add_all([salary(agent, date(2027, 2, 1), "6500.00"),
                salary(agent, date(2027, 4, 1), "9000.00")])
    await db.flush()

    admin = await as_user("admin")
    hq_id = ecom.parent_id
    before = await db.scalar(select(func.count()).select_from(SettingsVersion))
    for bad in ({"bonus_salary_months": "30"}, {"bonus_base_source": "pension"}):
        r = await admin.put(SETTINGS.format(hq_id), json={"values": bad, "reason": "试"})
        assert r.status_code == 422 and r.json()["code"] == "invalid_setting", r.text
    assert await db.scalar(select(func.count()).select_from(SettingsVersion)) == before
    r = await admin.put(SETTINGS.format(hq_id), json={
        "values": {"bonus_base_source": "salary", "bonus_salary_months": "2"},
        "locks": {"bonus_base_source": True, "bonus_salary_months": True},
        "reason": "绩效奖金基数按工资"})
    assert r.status_code == 201, r.text
    hr = await as_user("hr")
    r = await hr.put(SETTINGS.format(ecom.id), json={
        "values": {"bonus_base_source": "grade"}, "reason": "改回职级"})
    assert r.status_code == 403 and r.json()["code"] == "setting_locked"
    rule = await effective_settings(db, ecom.id)
    assert rule.bonus_base_source == "salary" and rule.bonus_salary_months == Decimal("2")

    cycle = await setup_cycle(hr, ecom.id)
    cid = cycle["id"]
    await decided_case(db, ecom, newcomer)  # 95: still eligible
    me = await as_user("agent")
    card = (await me.get("/api/v1/me/performance", params={"cycle_id": cid})).json()
    assert card["bonus"]["base"] == "13000.00" and card["bonus"]["amount"] == "1300.00"
    assert card["bonus"]["basis"] == {"source": "salary", "months": "2", "salary": "6500.00",
                                      "grade": card["bonus"]["basis"]["grade"]}
    page = await me.get(f"/performance/me?cycle_id={cid}")
    assert "6500.00" in page.text

    lead = await as_user("lead")
    assert (await lead.post(f"/api/v1/performance/cycles/{cid}/review")).status_code == 200
    hr = await as_user("hr")
    assert (await hr.post(f"/api/v1/performance/cycles/{cid}/close")).status_code == 200
    lines = {x["employee_id"]: x for x in
             (await hr.get(f"/api/v1/performance/cycles/{cid}/bonus-list")).json()}
    mine = lines[agent.id]
    assert (mine["base"], mine["base_source"], mine["salary_months"], mine["monthly_salary"],
            mine["amount"]) == ("13000.00", "salary", "2", "6500.00", "1300.00")
    assert "2 × monthly base salary 6500.00" in mine["reason"]
    new = lines[newcomer.id]
    grade = await db.scalar(select(Position.grade).where(Position.id == newcomer.position_id))
    expected = PerformanceSettings.model_validate(rule.model_dump()).bonus_base(grade)
    assert new["base_source"] == "grade_no_salary" and new["monthly_salary"] is None
    assert Decimal(new["base"]) == expected and new["compliance_score"] == 95
    assert Decimal(new["amount"]) == (expected * Decimal("0.10")).quantize(Decimal("0.01"))
    assert f"no salary on file: base of grade {grade}" in new["reason"]
    csv = (await hr.get(f"/api/v1/performance/cycles/{cid}/bonus-list.csv")).content.decode()
    assert "base_source" in csv.splitlines()[0] and "grade_no_salary" in csv
    # the file's reason is in the reader's language, composed from the frozen factors
    assert f"无工资档案：按职级 {grade} 的基数" in csv and "合规分 100 ≥ 90：10% × 13000.00" in csv
    en = (await hr.get(f"/api/v1/performance/cycles/{cid}/bonus-list.csv",
                       headers={"Accept-Language": "en"})).content.decode()
    assert "Compliance 100 ≥ 90: 10% × 13000.00; Base: 2 × monthly base salary 6500.00" in en
    # the frozen scorecard keeps the basis
    card = (await me.get("/api/v1/me/performance", params={"cycle_id": cid})).json()
    assert card["frozen"] and card["bonus"]["basis"]["source"] == "salary"
    assert card["bonus"]["reason"].startswith("compliance 100 ≥ 90")


async def test_the_grade_rule_is_unchanged_and_says_so(as_user: Any, db: AsyncSession) -> None:
    t = await ids(db)
    hr = await as_user("hr")
    cycle = await setup_cycle(hr, t["ecom"].id)
    lead = await as_user("lead")
    await lead.post(f"/api/v1/performance/cycles/{cycle['id']}/review")
    hr = await as_user("hr")
    await hr.post(f"/api/v1/performance/cycles/{cycle['id']}/close")
    lines = (await hr.get(f"/api/v1/performance/cycles/{cycle['id']}/bonus-list")).json()
    assert lines and all(x["base_source"] == "grade" and x["monthly_salary"] is None
                         and "salary" not in x["reason"] for x in lines)
