"""Overtime pay and the cap on penalties and attendance fines, against vectors worked out by
hand in each test (pure functions: no database).

Sources: Labour Law art. 44 (overtime at no less than 150 % on a working day, 200 % on a rest
day without time off in lieu, 300 % on a statutory holiday); 劳社部发〔2008〕3号 (a day's pay is
the monthly wage ÷ 21.75, an hour's a day's ÷ 8); 《工资支付暂行规定》 art. 16 (deductions at most
20 % of the month's wage, and what is left not below the local minimum wage); 《最低工资规定》
art. 12 (overtime pay is not counted towards the minimum wage)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from probity.payroll.compute import (
    LEGAL_OVERTIME,
    Attendance,
    CityRates,
    Inputs,
    Rules,
    days_not_employed,
    overtime_pay,
    payslip,
)
from probity.payroll.gather import overtime_kind
from probity.payroll.settings import PayrollSettings

D = Decimal
# Hangzhou's 2024 table as the demo carries it: minimum wage 2,490 a month.
HANGZHOU = CityRates(
    city="hangzhou", name="杭州", minimum_wage=D("2490"), si_floor=D("4462"),
    si_ceiling=D("24930"), hf_floor=D("2490"), hf_ceiling=D("38390"),
    si={"pension": (D("0.08"), D("0.16")), "medical": (D("0.02"), D("0.095")),
        "unemployment": (D("0.005"), D("0.005"))},
    hf_employee=D("0.12"), hf_employer=D("0.12"))
RULES = Rules(penalty_per_point=D("50.00"), late=D("20.00"), early_leave=D("20.00"),
              missing_punch=D("10.00"), absence_days=D("1.0"), working_days=D("21.75"))


def slip(base: str, *, rules: Rules = RULES, allowances: str = "0", **kw: Any) -> dict[str, Any]:
    return payslip(Inputs(employee_id=1, tenant_id=1, org_unit_id=None, base=D(base),
                          allowances=[], allowances_total=D(allowances), city=HANGZHOU,
                          additional_deduction=D(0), tax_months=1, **kw), rules)


def test_overtime_at_the_statutory_rates() -> None:
    """Base 5,220: a day's pay 5,220 ÷ 21.75 = 240, an hour's 240 ÷ 8 = 30.
      weekday   2 h × 30 × 1.5 =  90.00
      rest day  8 h × 30 × 2   = 480.00
      holiday   8 h × 30 × 3   = 720.00        total 1,290.00"""
    s = slip("5220", overtime_minutes={"weekday": 120, "rest_day": 480, "holiday": 480})
    assert s["overtime"] == D("1290.00")
    assert s["gross"] == D("6510.00")
    assert s["lines"]["overtime"] == [["weekday", 120, "1.50", "30.00", "90.00"],
                                      ["rest_day", 480, "2.00", "30.00", "480.00"],
                                      ["holiday", 480, "3.00", "30.00", "720.00"]]
    assert s["deduction_waived"] == D("0") and s["lines"]["cap"] == {}


def test_overtime_at_a_structures_own_rates_and_on_allowances() -> None:
    """A structure paying weekday overtime at 2.0: 2 h × 30 × 2 = 120.00. Counted on base and
    allowances (5,220 + 600 = 5,820): 5,820 × 120 min × 1.5 ÷ (21.75 × 480) = 100.3448… → 100.34.
    Rounded once per kind: 45 + 75 minutes pay what 120 minutes pay."""
    rates = dict(LEGAL_OVERTIME) | {"weekday": D("2.00")}
    assert slip("5220", overtime_minutes={"weekday": 120}, overtime_rates=rates)[
        "overtime"] == D("120.00")
    on_wage = Rules(**{**RULES.__dict__, "overtime_on_allowances": True})
    assert slip("5220", allowances="600", rules=on_wage,
                overtime_minutes={"weekday": 120})["overtime"] == D("100.34")
    # Rounded per request instead, 45 min (37.629… → 37.63) + 75 min (62.715… → 62.72) would
    # pay 100.35: the minutes of a kind are added up first.
    def pay(m: int) -> Decimal:
        return overtime_pay({"weekday": m}, LEGAL_OVERTIME, D("5820"), D("21.75"))[0]

    assert (pay(45), pay(75), pay(120)) == (D("37.63"), D("62.72"), D("100.34"))


def test_the_minimum_wage_floor_caps_penalties_and_fines() -> None:
    """Base 3,000 in Hangzhou (minimum 2,490). 10 penalty points × 50 = 500, 3 late × 20 = 60:
    fines 560. Limits: 20 % of 3,000 = 600; 3,000 − 2,490 = 510. Allowed 510, waived 50:
    gross 3,000 − 500 − 60 + 50 = 2,490.00 — the minimum wage, not less."""
    s = slip("3000", penalty_points=10, attendance=Attendance(late=3))
    assert (s["penalty"], s["attendance_deduction"]) == (D("500.00"), D("60.00"))
    assert s["deduction_waived"] == D("50.00")
    assert s["gross"] == D("2490.00")
    assert s["lines"]["cap"] == {"share": "600.00", "floor": "510.00", "fines": "560.00",
                                 "waived": "50.00", "floor_amount": "2490.00"}
    # Overtime is paid on top and does not count towards the floor (8 h on a rest day:
    # 3,000 × 480 × 2 ÷ 10,440 = 275.862… → 275.86).
    s = slip("3000", penalty_points=10, attendance=Attendance(late=3),
             overtime_minutes={"rest_day": 480})
    assert (s["deduction_waived"], s["overtime"]) == (D("50.00"), D("275.86"))
    assert s["gross"] == D("2765.86")


def test_the_share_limit_caps_penalties() -> None:
    """Base 10,000, 50 points × 50 = 2,500. Limits: 20 % = 2,000; 10,000 − 2,490 = 7,510.
    Allowed 2,000, waived 500: gross 8,000.00."""
    s = slip("10000", penalty_points=50)
    assert s["deduction_waived"] == D("500.00") and s["gross"] == D("8000.00")
    # A bonus does not raise the share limit (it is a share of the wage), but an
    # adjustment that pays back counts as earned for the floor.
    assert slip("10000", penalty_points=50, bonus=D("3000"))["deduction_waived"] == D("500.00")


def test_days_not_worked_are_not_capped_and_lower_the_floor_pro_rata() -> None:
    """Base 2,610: a day's pay 2,610 ÷ 21.75 = 120. Absent 5 days: 600 for time not worked
    (not a fine). 4 points × 50 = 200 of fines. Floor pro rata: 2,490 × 16.75 ÷ 21.75
    = 1,917.586… → 1,917.59; earned 2,610 − 600 = 2,010, so 92.41 of fines are allowed (the
    share limit, 522, is higher): waived 107.59, gross 2,610 − 200 − 600 + 107.59 = 1,917.59."""
    s = slip("2610", penalty_points=4, attendance=Attendance(absent=5))
    assert s["attendance_deduction"] == D("600.00")
    assert s["deduction_waived"] == D("107.59")
    assert s["gross"] == D("1917.59")
    # An absence that costs two days' pay: one day is time not worked, the other a fine.
    # 1 absence: 240 deducted, 120 of it a fine. Floor 2,490 × 20.75 ÷ 21.75 = 2,375.517…
    # → 2,375.52; earned 2,490; allowed 114.48, waived 5.52; gross 2,610 − 240 + 5.52.
    two = Rules(**{**RULES.__dict__, "absence_days": D("2.0")})
    s = slip("2610", rules=two, attendance=Attendance(absent=1))
    assert s["attendance_deduction"] == D("240.00") and s["deduction_waived"] == D("5.52")
    assert s["gross"] == D("2375.52")


def test_a_fixed_floor_and_no_floor() -> None:
    """A fixed floor of 3,000 on a base of 3,000 waives every fine; without a floor only the
    share limit applies (600 of 3,000): 10 points × 50 = 500 is charged in full."""
    fixed = Rules(**{**RULES.__dict__, "floor": "fixed", "floor_amount": D("3000")})
    s = slip("3000", rules=fixed, penalty_points=10)
    assert s["deduction_waived"] == D("500.00") and s["gross"] == D("3000.00")
    none = Rules(**{**RULES.__dict__, "floor": "none"})
    assert slip("3000", rules=none, penalty_points=10)["deduction_waived"] == D("0")
    assert slip("3000", rules=none, penalty_points=14)["deduction_waived"] == D("100.00")
    unlimited = Rules(**{**RULES.__dict__, "floor": "none", "cap_share": None})
    assert slip("3000", rules=unlimited, penalty_points=40)["gross"] == D("1000.00")


def test_which_rate_a_day_of_overtime_is_paid_at() -> None:
    holidays = {date(2026, 10, 1)}
    makeup = {date(2026, 10, 10)}  # a Saturday worked in lieu
    kind = overtime_kind
    # A statutory holiday is 300 % whatever the rota says.
    assert kind(date(2026, 10, 1), rostered=True, holidays=holidays, makeup=makeup) == "holiday"
    # On a rota: a day with a shift is a working day, a day without one a rest day (a Tuesday).
    assert kind(date(2026, 10, 13), rostered=True, holidays=holidays, makeup=makeup) == "weekday"
    assert kind(date(2026, 10, 13), rostered=False, holidays=holidays,
                makeup=makeup) == "rest_day"
    # No rota that month: the calendar week, with the makeup working days.
    assert kind(date(2026, 10, 17), rostered=None, holidays=holidays,
                makeup=makeup) == "rest_day"  # Saturday
    assert kind(date(2026, 10, 10), rostered=None, holidays=holidays,
                makeup=makeup) == "weekday"  # Saturday worked in lieu
    assert kind(date(2026, 10, 12), rostered=None, holidays=holidays,
                makeup=makeup) == "weekday"  # Monday


def test_the_standard_checks_its_calendar() -> None:
    s = PayrollSettings()
    assert "2026-10-01" in s.statutory_holidays and "2026-02-16" in s.statutory_holidays
    assert len([d for d in s.statutory_holidays if d.startswith("2026")]) == 13  # since 2025
    assert PayrollSettings(makeup_workdays=[" 2026-10-10", "2026-10-10"]).makeup_workdays == [
        "2026-10-10"]
    with pytest.raises(ValidationError):
        PayrollSettings(statutory_holidays=["2026-13-01"])
    with pytest.raises(ValidationError):
        PayrollSettings(deduction_cap_share=Decimal("1.5"))


def test_a_part_month_is_paid_for_the_days_employed() -> None:
    """December 2026 starts on a Tuesday. Hired on Wednesday the 16th: 1-4, 7-11, 14-15 = 11
    paid days before it. Left on Friday the 11th: 14-18, 21-25, 28-31 = 14 after it. A makeup
    working Saturday (the 12th here, for the sake of the example) counts when outside."""
    dec, jan = date(2026, 12, 1), date(2027, 1, 1)
    assert days_not_employed(dec, jan, date(2026, 12, 16), None) == 11
    assert days_not_employed(dec, jan, date(2020, 1, 1), date(2026, 12, 11)) == 14
    assert days_not_employed(dec, jan, date(2026, 12, 16), None, {date(2026, 12, 12)}) == 12
    assert days_not_employed(dec, jan, date(2020, 1, 1), None) == 0
    # Base 4,350: a day's pay 200. 11 days not employed: 2,200, time not worked. 20 points ×
    # 50 = 1,000 of fines; limits 20 % of 4,350 = 870 and 2,150 − 2,490 × 10.75 ÷ 21.75
    # (= 1,230.69) = 919.31: 870 allowed, 130 waived; gross 4,350 − 2,200 − 1,000 + 130.
    s = slip("4350", penalty_points=20, attendance=Attendance(not_employed_days=11))
    assert s["lines"]["attendance"] == [["not_employed", "11", "200.00", "2200.00"]]
    assert s["deduction_waived"] == D("130.00") and s["gross"] == D("1280.00")
