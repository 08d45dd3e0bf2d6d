"""The payroll forms in the browser: salary structures, city tables, salary assignments and
adjustments. Bad input comes back as 422 with each field's problem beside it, in Chinese (or
English on request), and writes nothing; good input is saved and audited; who may see and who
may change is decided by permission."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import (
    AuditEntry,
    Employee,
    PayrollAdjustment,
    PayrollCity,
    PayrollRun,
    RunStatus,
    SalaryAssignment,
    SalaryStructure,
    Tenant,
    User,
)
from probity.payroll.common import next_month

D = Decimal


def field_error(html: str, name: str) -> str:
    m = re.search(rf'data-testid="error-{re.escape(name)}">([^<]*)<', html)
    assert m, f"no error shown for {name}"
    return m.group(1)


def shown_errors(html: str) -> set[str]:
    return set(re.findall(r'data-testid="error-([\w]+)"', html))


async def _ecom(db: AsyncSession) -> int:
    tid = await db.scalar(select(Tenant.id).where(Tenant.code == "ECOM"))
    assert tid is not None
    return int(tid)


async def _count(db: AsyncSession, model: Any, *where: Any) -> int:
    return int(await db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def _audits(db: AsyncSession, action: str) -> int:
    return await _count(db, AuditEntry, AuditEntry.action == action)


def _form(c: httpx.AsyncClient, **values: str) -> dict[str, str]:
    return {"csrf_token": c.headers["X-CSRF-Token"], **values}


async def test_who_sees_the_pages_and_the_forms(as_user: Any) -> None:
    hr = await as_user("hr")
    for path, words in (("/payroll/structures", "薪资结构"), ("/payroll/cities", "社保"),
                        ("/payroll/assignments", "员工薪资"), ("/payroll/adjustments", "薪资调整")):
        r = await hr.get(path)
        assert r.status_code == 200 and words in r.text, path
        assert 'method="post"' in r.text, path
        assert f'href="{path}"' in r.text  # in the menu
    r = await hr.get("/payroll/structures")
    assert "P1" in r.text and "5200.00" in r.text
    r = await hr.get("/payroll/cities")
    assert "杭州" in r.text and "2490.00" in r.text
    # Edit links fill the form with what is in force.
    r = await hr.get("/payroll/structures?grade=P1")
    assert 'value="5200.00"' in r.text and 'value="餐补"' in r.text
    r = await hr.get("/payroll/cities?city=hangzhou")
    assert 'value="杭州"' in r.text and 'value="8"' in r.text and 'value="9.5"' in r.text
    assert (await hr.get("/payroll/structures?grade=NOPE")).status_code == 404
    agent = await as_user("agent")
    for path in ("/payroll/structures", "/payroll/cities", "/payroll/assignments",
                 "/payroll/adjustments"):
        assert (await agent.get(path)).status_code == 403, path
        r = await agent.post(path, data=_form(agent, tenant_id="1"))
        assert r.status_code == 403, path
    r = await agent.get("/payroll")
    assert 'href="/payroll/structures"' not in r.text


async def test_structure_form_errors_per_field_then_saved_and_audited(
        as_user: Any, db: AsyncSession) -> None:
    hr = await as_user("hr")
    tid = await _ecom(db)
    before = await _count(db, SalaryStructure)
    r = await hr.post("/payroll/structures", data=_form(
        hr, tenant_id=str(tid), grade="", base="abc", overtime_weekday="1.2",
        allowance_0_code="meal", allowance_0_name="餐补", allowance_0_amount="-5",
        allowance_2_code="bad code!", allowance_2_name="x", allowance_2_amount="10"))
    assert r.status_code == 422
    errors = shown_errors(r.text)
    assert {"grade", "base", "allowance_0_amount", "allowance_2_code"} <= errors, errors
    assert field_error(r.text, "grade") == "必填"
    assert field_error(r.text, "base") == "不是数字"
    assert field_error(r.text, "allowance_0_amount") == "不能小于 0"
    assert "未保存" in r.text and 'value="bad code!"' in r.text  # the input is kept
    # Below the statutory overtime rate: the service's refusal, beside its field.
    r = await hr.post("/payroll/structures", data=_form(
        hr, tenant_id=str(tid), grade="Q9", base="6000", overtime_weekday="1.2"))
    assert r.status_code == 422 and "劳动法" in field_error(r.text, "overtime_weekday")
    assert await _count(db, SalaryStructure) == before
    # In English on request.
    r = await hr.post("/payroll/structures", headers={"Accept-Language": "en"}, data=_form(
        hr, tenant_id=str(tid), grade="Q9", base="abc"))
    assert r.status_code == 422 and field_error(r.text, "base") == "Not a number"
    # Saved: a new grade with an allowance and its own multipliers.
    audits = await _audits(db, "payroll.structure.save")
    r = await hr.post("/payroll/structures", data=_form(
        hr, tenant_id=str(tid), grade="Q9", base="6000.00", allowance_1_code="meal",
        allowance_1_name="餐补", allowance_1_amount="300", overtime_weekday="2"))
    assert r.status_code == 303, r.text
    row = await db.scalar(select(SalaryStructure).where(SalaryStructure.tenant_id == tid,
                                                        SalaryStructure.grade == "Q9"))
    assert row is not None and row.base == D("6000.00")
    assert row.allowances == [{"code": "meal", "name": "餐补", "amount": "300.00"}]
    assert (row.overtime_weekday, row.overtime_rest_day, row.overtime_holiday) == (
        D("2.00"), D("2.00"), D("3.00"))
    assert await _audits(db, "payroll.structure.save") == audits + 1
    r = await hr.get(r.headers["location"])
    assert "已保存" in r.text and "Q9" in r.text


async def test_city_form_percentages_floor_and_ceiling(as_user: Any, db: AsyncSession) -> None:
    hr = await as_user("hr")
    tid = await _ecom(db)
    good = {"tenant_id": str(tid), "city": "suzhou", "name": "苏州", "minimum_wage": "2490",
            "si_base_floor": "4494", "si_base_ceiling": "24935", "hf_base_floor": "2490",
            "hf_base_ceiling": "36000", "pension_employee": "8", "pension_employer": "16",
            "medical_employee": "2", "medical_employer": "7", "unemployment_employee": "0.5",
            "unemployment_employer": "0.5", "injury_employee": "0", "injury_employer": "0.2",
            "maternity_employee": "0", "maternity_employer": "0", "hf_employee_rate": "12",
            "hf_employer_rate": "12"}
    before = await _count(db, PayrollCity)
    r = await hr.post("/payroll/cities", data=_form(
        hr, **good | {"pension_employee": "150", "medical_employer": "abc",
                      "city": "Su Zhou!", "minimum_wage": ""}))
    assert r.status_code == 422
    assert {"pension_employee", "medical_employer", "city", "minimum_wage"} <= shown_errors(
        r.text)
    assert "0" in field_error(r.text, "pension_employee") and "100" in field_error(
        r.text, "pension_employee")
    assert field_error(r.text, "city") == "格式不正确"
    r = await hr.post("/payroll/cities", data=_form(hr, **good | {"si_base_floor": "30000"}))
    assert r.status_code == 422 and "上限" in field_error(r.text, "si_base_ceiling")
    assert await _count(db, PayrollCity) == before
    r = await hr.post("/payroll/cities", data=_form(hr, **good))
    assert r.status_code == 303, r.text
    row = await db.scalar(select(PayrollCity).where(PayrollCity.city == "suzhou"))
    assert row is not None and row.si_rates["pension"] == ["0.08", "0.16"]
    assert row.si_rates["unemployment"] == ["0.005", "0.005"]
    assert row.hf_employee_rate == D("0.12")
    assert await _audits(db, "payroll.city.save") >= 1


async def test_assignment_form_minimum_wage_unknown_employee_closed_month(
        as_user: Any, db: AsyncSession) -> None:
    hr = await as_user("hr")
    tid = await _ecom(db)
    emp_id = await db.scalar(select(User.employee_id).where(User.username == "agent"))
    emp_no = await db.scalar(select(Employee.employee_no).where(Employee.id == emp_id))
    assert emp_no is not None
    month = next_month(next_month(date.today().replace(day=1))).isoformat()[:7]
    closed = await db.scalar(select(PayrollRun.month).where(
        PayrollRun.status == RunStatus.closed))
    assert closed is not None
    before = await _count(db, SalaryAssignment)
    base = {"tenant_id": str(tid), "employee_no": emp_no, "effective_from": month,
            "city": "hangzhou"}
    r = await hr.post("/payroll/assignments", data=_form(hr, **base | {"employee_no": "NOBODY"}))
    assert r.status_code == 422 and "NOBODY" in field_error(r.text, "employee_no")
    r = await hr.post("/payroll/assignments", data=_form(hr, **base | {"base": "2000"}))
    assert r.status_code == 422
    assert "最低工资" in field_error(r.text, "base") and "2490" in field_error(r.text, "base")
    r = await hr.post("/payroll/assignments", data=_form(
        hr, **base | {"effective_from": closed.isoformat()[:7]}))
    assert r.status_code == 422 and "关账" in field_error(r.text, "effective_from")
    r = await hr.post("/payroll/assignments", data=_form(
        hr, **base | {"effective_from": "2026-3", "bank_account": "abc"}))
    assert r.status_code == 422
    assert {"effective_from", "bank_account"} <= shown_errors(r.text)
    assert await _count(db, SalaryAssignment) == before
    audits = await _audits(db, "payroll.assignment.save")
    r = await hr.post("/payroll/assignments", data=_form(
        hr, **base | {"additional_deduction": "1000", "bank_account": "6222 0000 1111"}))
    assert r.status_code == 303, r.text
    row = await db.scalar(select(SalaryAssignment).where(
        SalaryAssignment.employee_id == emp_id,
        SalaryAssignment.effective_from == date.fromisoformat(month + "-01")))
    assert row is not None and row.base == D("5200.00")  # the grade's structure
    assert row.additional_deduction == D("1000.00") and row.bank_account == "6222 0000 1111"
    assert await _audits(db, "payroll.assignment.save") == audits + 1
    r = await hr.get("/payroll/assignments")
    assert emp_no in r.text


async def test_adjustment_form(as_user: Any, db: AsyncSession) -> None:
    hr = await as_user("hr")
    tid = await _ecom(db)
    emp_id = await db.scalar(select(User.employee_id).where(User.username == "agent"))
    emp_no = await db.scalar(select(Employee.employee_no).where(Employee.id == emp_id))
    assert emp_no is not None
    closed = await db.scalar(select(PayrollRun.month).where(
        PayrollRun.status == RunStatus.closed))
    assert closed is not None
    month = next_month(next_month(date.today().replace(day=1))).isoformat()[:7]
    before = await _count(db, PayrollAdjustment)
    base = {"tenant_id": str(tid), "employee_no": emp_no, "month": month, "amount": "-120.50",
            "reason": "补扣社保差额"}
    r = await hr.post("/payroll/adjustments", data=_form(
        hr, **base | {"amount": "abc", "reason": ""}))
    assert r.status_code == 422 and {"amount", "reason"} <= shown_errors(r.text)
    r = await hr.post("/payroll/adjustments", data=_form(
        hr, **base | {"month": closed.isoformat()[:7]}))
    assert r.status_code == 422 and "关账" in field_error(r.text, "month")
    r = await hr.post("/payroll/adjustments", data=_form(
        hr, **base | {"corrects_month": month}))
    assert r.status_code == 422 and field_error(r.text, "corrects_month")
    assert await _count(db, PayrollAdjustment) == before
    r = await hr.post("/payroll/adjustments", data=_form(
        hr, **base | {"corrects_month": closed.isoformat()[:7]}))
    assert r.status_code == 303, r.text
    row = await db.scalar(select(PayrollAdjustment).where(
        PayrollAdjustment.employee_id == emp_id).order_by(PayrollAdjustment.id.desc()))
    assert row is not None and row.amount == D("-120.50") and row.corrects_month == closed
    assert await _audits(db, "payroll.adjustment.add") >= 1
    r = await hr.get("/payroll/adjustments")
    assert "补扣社保差额" in r.text
