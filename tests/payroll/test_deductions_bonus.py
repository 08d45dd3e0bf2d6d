"""Special additional deductions (专项附加扣除) by category feeding the cumulative withholding, and
the year-end one-off bonus (全年一次性奖金) taxed on its own — worked examples written out with
their sources, then the same through the API and a payroll run."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.jobs.runtime import InlineRuntime
from probity.models import (
    Employee,
    PayrollAdjustment,
    PayrollRun,
    Payslip,
    RunStatus,
    SalaryAssignment,
    User,
)
from probity.payroll import deductions
from probity.payroll.tax import MonthIncome, annual_bonus_tax, withhold_year

D = Decimal


def test_statutory_monthly_amounts_by_category() -> None:
    """Source: 国发〔2023〕13号 (from 2023-01-01): 子女教育 and 3岁以下婴幼儿照护 2,000 a month
    per child, split 100 % / 50 % between parents; 赡养老人 3,000 for an only child, a sibling's
    share at most 1,500. 国发〔2018〕41号: 住房贷款利息 1,000; 住房租金 1,500 / 1,100 / 800 by
    city; 继续教育 400 a month (degree), 3,600 in the year a certificate is obtained;
    大病医疗 only at the annual reconciliation (15,000 < cost, at most 80,000)."""
    march = date(2027, 3, 1)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"category": "children_education", "count": 2}, "4000.00"),
        ({"category": "children_education", "count": 1, "share": "0.5"}, "1000.00"),
        ({"category": "infant_care", "count": 1}, "2000.00"),
        ({"category": "elderly_support", "only_child": True}, "3000.00"),
        ({"category": "elderly_support", "amount": "1500"}, "1500.00"),
        ({"category": "housing_loan"}, "1000.00"),
        ({"category": "housing_rent", "city_tier": 1}, "1500.00"),
        ({"category": "housing_rent", "city_tier": 2}, "1100.00"),
        ({"category": "housing_rent", "city_tier": 3}, "800.00"),
        ({"category": "continuing_education"}, "400.00"),
        ({"category": "continuing_education_certificate", "month": "2027-03-01"}, "3600.00"),
        ({"category": "continuing_education_certificate", "month": "2027-04-01"}, "0.00"),
        ({"category": "serious_illness", "amount": "40000"}, "0.00"),
    ]
    for item, want in cases:
        deductions.check([item])
        assert deductions.monthly([item], march)[0] == D(want), item
    assert deductions.serious_illness_deduction(D(40000)) == D(25000)
    assert deductions.serious_illness_deduction(D(200000)) == D(80000)
    for bad, code in (([{"category": "elderly_support", "amount": "1600"}], "elderly_share"),
                      ([{"category": "housing_loan"}, {"category": "housing_rent",
                                                       "city_tier": 1}], "loan_and_rent"),
                      ([{"category": "housing_rent"}], "city_tier"),
                      ([{"category": "infant_care", "share": "0.3"}], "bad_share"),
                      ([{"category": "housing_loan"}] * 2, "duplicate_category")):
        with pytest.raises(deductions.DeductionError) as err:
            deductions.check(bad)
        assert err.value.code == code


DECLARED: list[dict[str, Any]] = [
    {"category": "children_education", "count": 2},
    {"category": "elderly_support", "amount": "1500"},
    {"category": "housing_rent", "city_tier": 1},
    {"category": "continuing_education_certificate", "month": "2027-03-01"},
]


def test_twelve_months_with_declared_categories() -> None:
    """Worked by hand with the formula of 国家税务总局公告2018年第61号 (累计预扣法) and the
    amounts of 国发〔2023〕13号: wage 20,000 a month, 三险一金 3,000; declared: two children in
    education (2 × 2,000), elderly support as a sibling (1,500), rent in a tier-1 city (1,500)
    = 7,000 a month, plus a vocational certificate obtained in March (3,600 that month).
    Cumulative taxable = 20,000n − 5,000n − 3,000n − 7,000n − 3,600 (from March) = 5,000n
    (− 3,600):
      n   cumulative   rate  cumulative tax      withheld
      1       5,000    3%        150.00            150
      2      10,000    3%        300.00            150
      3      11,400    3%        342.00             42   ← the certificate month
      4      16,400    3%        492.00            150
      5      21,400    3%        642.00            150
      6      26,400    3%        792.00            150
      7      31,400    3%        942.00            150
      8      36,400   10%      1,120.00  (3,640 − 2,520)   178   ← crosses 36,000
      9      41,400   10%      1,620.00            500
     10      46,400   10%      2,120.00            500
     11      51,400   10%      2,620.00            500
     12      56,400   10%      3,120.00            500
    """
    months = []
    for n in range(1, 13):
        add, _lines = deductions.monthly(DECLARED, date(2027, n, 1))
        assert add == (D(10600) if n == 3 else D(7000))
        months.append(MonthIncome(income=D(20000), special=D(3000), additional=add))
    got = withhold_year(months)
    assert [w.withheld for w in got] == [D(x) for x in (
        150, 150, 42, 150, 150, 150, 150, 178, 500, 500, 500, 500)]
    assert got[-1].cumulative_taxable == D(56400)
    assert got[-1].cumulative_withheld == D(3120)


def test_year_end_bonus_taxed_on_its_own() -> None:
    """Source: 财税〔2018〕164号 art. 1(1), in force to 2027-12-31 by 财政部 税务总局公告2023年
    第30号: the bonus ÷ 12 picks the rate of the monthly-converted table; tax = bonus × rate −
    quick deduction.
      36,000 ÷ 12 = 3,000      → 3 %, 0      → 36,000 × 3 %          = 1,080.00
      36,001 ÷ 12 = 3,000.08   → 10 %, 210   → 3,600.10 − 210        = 3,390.10
      60,000 ÷ 12 = 5,000      → 10 %, 210   → 6,000 − 210           = 5,790.00
      144,000 ÷ 12 = 12,000    → 10 %, 210   → 14,400 − 210          = 14,190.00
      300,000 ÷ 12 = 25,000    → 20 %, 1,410 → 60,000 − 1,410        = 58,590.00
      1,200,000 ÷ 12 = 100,000 → 45 %, 15,160 → 540,000 − 15,160     = 524,840.00"""
    for bonus, tax in ((36000, "1080.00"), (36001, "3390.10"), (60000, "5790.00"),
                       (144000, "14190.00"), (300000, "58590.00"), (1200000, "524840.00"),
                       (0, "0.00")):
        assert annual_bonus_tax(D(bonus)) == D(tax), bonus


async def _agent(db: AsyncSession) -> Employee:
    emp_id = await db.scalar(select(User.employee_id).where(User.username == "agent"))
    emp = await db.get(Employee, emp_id)
    assert emp is not None
    return emp


async def test_declared_categories_and_the_bonus_reach_the_payslip(
        shared_jobs: InlineRuntime, as_user: Any, db: AsyncSession) -> None:
    draft = await db.scalar(select(PayrollRun).where(PayrollRun.status == RunStatus.draft))
    assert draft is not None
    emp = await _agent(db)
    current = await db.scalar(select(SalaryAssignment).where(
        SalaryAssignment.employee_id == emp.id, SalaryAssignment.effective_from <= draft.month)
        .order_by(SalaryAssignment.effective_from.desc()).limit(1))
    assert current is not None
    hr = await as_user("hr")
    body = {"employee_id": emp.id, "effective_from": draft.month.isoformat(),
            "city": current.city, "base": str(current.base)}

    # Loan interest with rent, a sibling above 1,500: refused, nothing written.
    before = await db.scalar(select(func.count()).select_from(SalaryAssignment))
    for items in ([{"category": "housing_loan"}, {"category": "housing_rent", "city_tier": 2}],
                  [{"category": "elderly_support", "amount": "2000"}]):
        r = await hr.post("/api/v1/payroll/assignments", json=body | {"additional_items": items})
        assert r.status_code == 422, r.text
    assert await db.scalar(select(func.count()).select_from(SalaryAssignment)) == before

    items = [{"category": "infant_care", "count": 1},
             {"category": "elderly_support", "only_child": True},
             {"category": "serious_illness", "amount": "30000"}]
    r = await hr.post("/api/v1/payroll/assignments", json=body | {"additional_items": items})
    assert r.status_code == 201, r.text
    assert D(r.json()["additional_deduction"]) == D(5000)

    # A year-end bonus, once a year.
    adj = {"employee_id": emp.id, "month": draft.month.isoformat(), "amount": "24000.00",
           "reason": "年终奖", "annual_bonus": True}
    r = await hr.post("/api/v1/payroll/adjustments", json=adj)
    assert r.status_code == 201, r.text
    r = await hr.post("/api/v1/payroll/adjustments", json=adj)
    assert r.status_code == 409, r.text
    assert await db.scalar(select(func.count()).select_from(PayrollAdjustment).where(
        PayrollAdjustment.employee_id == emp.id, PayrollAdjustment.annual_bonus)) == 1

    r = await hr.post("/api/v1/payroll/runs", json={"tenant_id": draft.tenant_id,
                                                    "month": draft.month.isoformat()})
    assert r.status_code == 202, r.text
    await shared_jobs.wait()
    slip = await db.scalar(select(Payslip).where(Payslip.run_id == draft.id,
                                                 Payslip.employee_id == emp.id))
    assert slip is not None
    assert slip.additional_deduction == D(5000)
    assert [c for c, _a in slip.lines["tax"]["additional_items"]] == [
        "infant_care", "elderly_support", "serious_illness"]
    # 24,000 ÷ 12 = 2,000 → 3 % → 720, outside the cumulative income, inside the month's tax.
    assert slip.annual_bonus == D(24000) and slip.annual_bonus_tax == D(720)
    assert D(slip.lines["tax"]["withheld"]) + D(720) == slip.tax
    earlier = await db.scalar(select(func.coalesce(func.sum(Payslip.gross), 0))
                              .join(PayrollRun, PayrollRun.id == Payslip.run_id).where(
        Payslip.employee_id == emp.id, Payslip.month < draft.month,
        Payslip.month >= date(draft.month.year, 1, 1),
        PayrollRun.status.in_([RunStatus.approved, RunStatus.closed])))
    assert D(slip.lines["tax"]["cumulative_income"]) == D(earlier) + slip.gross - D(24000)
    assert slip.net == slip.gross - slip.si_employee - slip.hf_employee - slip.tax
    page = await hr.get(f"/payroll/payslips/{slip.id}")
    assert page.status_code == 200 and "全年一次性奖金" in page.text


async def test_the_salary_and_adjustment_forms_take_categories_and_the_bonus(
        as_user: Any, db: AsyncSession) -> None:
    emp = await _agent(db)
    hr = await as_user("hr")
    csrf = hr.headers["X-CSRF-Token"]
    month = "2027-06"
    base = {"csrf_token": csrf, "tenant_id": str(emp.tenant_id), "employee_no": emp.employee_no,
            "effective_from": month, "city": "hangzhou"}
    before = await db.scalar(select(func.count()).select_from(SalaryAssignment))
    r = await hr.post("/payroll/assignments", data=base | {
        "add_housing": "rent1", "add_elderly": "sibling", "add_elderly_amount": "2000"})
    assert r.status_code == 422 and 'data-testid="error-additional_items"' in r.text
    assert "1,500" in r.text
    assert await db.scalar(select(func.count()).select_from(SalaryAssignment)) == before
    r = await hr.post("/payroll/assignments", data=base | {
        "add_children_education": "2", "add_share": "0.5", "add_housing": "rent2",
        "add_degree": "1", "add_certificate": "2027-09"})
    assert r.status_code == 303, r.text
    row = await db.scalar(select(SalaryAssignment).where(
        SalaryAssignment.employee_id == emp.id,
        SalaryAssignment.effective_from == date(2027, 6, 1)))
    assert row is not None
    # 2 × 2,000 × 50 % + 1,100 + 400 = 3,500 a month; the certificate's 3,600 only in September.
    assert row.additional_deduction == D(3500)
    assert {i["category"] for i in row.additional_items} == {
        "children_education", "housing_rent", "continuing_education",
        "continuing_education_certificate"}
    assert deductions.monthly(row.additional_items, date(2027, 9, 1))[0] == D(7100)

    adj = {"csrf_token": csrf, "tenant_id": str(emp.tenant_id), "employee_no": emp.employee_no,
           "month": month, "amount": "30000", "reason": "年终奖", "annual_bonus": "1"}
    r = await hr.post("/payroll/adjustments", data=adj)
    assert r.status_code == 303, r.text
    r = await hr.post("/payroll/adjustments", data=adj)
    assert r.status_code == 409 or r.status_code == 422
    assert 'data-testid="error-annual_bonus"' in r.text
