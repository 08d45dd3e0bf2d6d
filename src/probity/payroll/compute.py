"""One employee's month, from figures already gathered: pure functions (no database, no web),
so a run computes 50,000 payslips in a worker thread and a test checks any one by hand.

    gross = base + allowances + overtime + performance bonus − penalties − attendance deductions
            + deductions waived (the cap) + adjustments
    overtime = each kind's minutes × the monthly wage ÷ (working days × 8 h) × its multiplier
               (weekday 150 %, rest day 200 %, statutory holiday 300 %: Labour Law art. 44;
               a day's pay = monthly wage ÷ 21.75, 劳社部发〔2008〕3号)
    deductions waived = what penalties and attendance fines exceed of the lower of two limits:
               a share of the month's wage (20 %: 《工资支付暂行规定》 art. 16), and what keeps
               the month's pay at the floor (the city's minimum wage, pro rata for days not
               worked; overtime pay does not count towards it: 《最低工资规定》 art. 12).
               Pay for time not worked (absence, unpaid leave, days of a part month before the
               hire or after leaving) is not a fine and is not capped.
    social insurance / housing fund (employee part) = base clamped to the city's floor..ceiling
                                                      × each rate, rounded to the cent
    income tax = the cumulative withholding method (payroll.tax), special deduction = the
                 employee's insurance and fund, special additional deduction = the employee's
                 declared categories (payroll.deductions); a year-end one-off bonus flagged on
                 an adjustment is left out of the cumulative income and taxed on its own
                 (tax.annual_bonus_tax), its tax added to the month's
    net = gross − insurance − fund − tax
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from probity.payroll.tax import (
    MonthIncome,
    annual_bonus_rate,
    annual_bonus_tax,
    cents,
    withhold_month,
)

ZERO = Decimal("0.00")
INSURANCES = ("pension", "medical", "unemployment", "injury", "maternity")
OVERTIME_KINDS = ("weekday", "rest_day", "holiday")
# The statutory minimum multipliers (Labour Law art. 44); a structure may pay more, never less.
LEGAL_OVERTIME = {"weekday": Decimal("1.50"), "rest_day": Decimal("2.00"),
                  "holiday": Decimal("3.00")}
MINUTES_PER_DAY = 8 * 60


@dataclass(frozen=True)
class CityRates:
    city: str
    name: str
    minimum_wage: Decimal
    si_floor: Decimal
    si_ceiling: Decimal
    hf_floor: Decimal
    hf_ceiling: Decimal
    # insurance → (employee rate, employer rate)
    si: Mapping[str, tuple[Decimal, Decimal]]
    hf_employee: Decimal
    hf_employer: Decimal


@dataclass(frozen=True)
class Attendance:
    late: int = 0
    early_leave: int = 0
    absent: int = 0
    missing_punch: int = 0
    unpaid_leave_days: Decimal = Decimal(0)
    # Paid days (Monday to Friday, and makeup working days) of the month before the hire date
    # or after the leaving date: a part month is paid for the days employed.
    not_employed_days: int = 0


@dataclass(frozen=True)
class Rules:
    """The payroll standard in force (payroll.settings), as plain numbers."""

    penalty_per_point: Decimal
    late: Decimal
    early_leave: Decimal
    missing_punch: Decimal
    absence_days: Decimal
    working_days: Decimal
    overtime_on_allowances: bool = False  # overtime counted on base + allowances, not base
    cap_share: Decimal | None = Decimal("0.20")  # None: no share limit
    floor: str = "minimum_wage"  # or "fixed" (floor_amount) or "none"
    floor_amount: Decimal = ZERO


@dataclass(frozen=True)
class YearToDate:
    """This employer's earlier months of the year (closed or approved runs)."""

    income: Decimal = ZERO
    special: Decimal = ZERO
    additional: Decimal = ZERO
    withheld: Decimal = ZERO


@dataclass(frozen=True)
class Inputs:
    employee_id: int
    tenant_id: int
    org_unit_id: int | None
    base: Decimal
    allowances: Sequence[Mapping[str, Any]]
    allowances_total: Decimal
    city: CityRates
    additional_deduction: Decimal
    tax_months: int
    bank_account: str | None = None
    bonus: Decimal = ZERO
    bonus_lines: Sequence[Mapping[str, Any]] = ()
    penalty_points: int = 0
    penalty_lines: Sequence[Mapping[str, Any]] = ()
    attendance: Attendance = field(default_factory=Attendance)
    adjustments: Sequence[tuple[Decimal, str]] = ()
    ytd: YearToDate = field(default_factory=YearToDate)
    overtime_minutes: Mapping[str, int] = field(default_factory=dict)  # OVERTIME_KINDS → min
    overtime_rates: Mapping[str, Decimal] = field(default_factory=lambda: LEGAL_OVERTIME)
    # Of the adjustments: the year-end one-off bonus, taxed on its own (tax.annual_bonus_tax).
    annual_bonus: Decimal = ZERO
    # The special additional deductions by category ([category, amount]), when declared.
    additional_lines: Sequence[Sequence[str]] = ()


def contributions(wage: Decimal, city: CityRates) -> dict[str, Any]:
    """Social insurance and housing fund on a monthly wage: each part rounded to the cent."""
    si_base = min(max(wage, city.si_floor), city.si_ceiling)
    hf_base = min(max(wage, city.hf_floor), city.hf_ceiling)
    parts: dict[str, list[str]] = {}
    si_emp = si_er = ZERO
    for name in INSURANCES:
        emp_rate, er_rate = city.si.get(name, (Decimal(0), Decimal(0)))
        emp, er = cents(si_base * emp_rate), cents(si_base * er_rate)
        si_emp += emp
        si_er += er
        parts[name] = [str(emp), str(er)]
    hf_emp, hf_er = cents(hf_base * city.hf_employee), cents(hf_base * city.hf_employer)
    parts["housing_fund"] = [str(hf_emp), str(hf_er)]
    return {"si_base": si_base, "hf_base": hf_base, "si_employee": si_emp,
            "si_employer": si_er, "hf_employee": hf_emp, "hf_employer": hf_er, "parts": parts}


@dataclass(frozen=True)
class Deductions:
    total: Decimal  # every attendance deduction
    time_off: Decimal  # of which pay for time not worked (absence up to a day each, unpaid leave)
    days_off: Decimal  # the days not worked
    items: list[Any]


def attendance_deduction(att: Attendance, wage: Decimal, rules: Rules) -> Deductions:
    day = wage / rules.working_days
    items: list[Any] = []
    total = time_off = ZERO
    absent_each = cents(day * rules.absence_days)
    for kind, count, each in (("late", att.late, rules.late),
                              ("early_leave", att.early_leave, rules.early_leave),
                              ("missing_punch", att.missing_punch, rules.missing_punch),
                              ("absent", att.absent, absent_each),
                              ("unpaid_leave", att.unpaid_leave_days, cents(day)),
                              ("not_employed", att.not_employed_days, cents(day))):
        if count:
            amount = cents(Decimal(count) * each)
            total += amount
            items.append([kind, str(count), str(each), str(amount)])
    if att.absent:
        # An absence costs the day's pay (time not worked); more than that is a fine.
        time_off += cents(Decimal(att.absent) * min(absent_each, cents(day)))
    if att.unpaid_leave_days:
        time_off += cents(Decimal(att.unpaid_leave_days) * cents(day))
    if att.not_employed_days:
        time_off += cents(Decimal(att.not_employed_days) * cents(day))
    return Deductions(total=total, time_off=time_off,
                      days_off=Decimal(att.absent) + Decimal(att.unpaid_leave_days)
                      + Decimal(att.not_employed_days),
                      items=items)


def days_not_employed(month: date, end: date, hired: date, left: date | None,
                      makeup: Collection[date] = ()) -> int:
    """Paid days of the month [month, end) outside employment (before `hired`, after `left`,
    the last day employed): Monday to Friday — statutory holidays on them included, as the
    21.75 paid days a month count them (劳社部发〔2008〕3号) — and makeup working days."""
    count = 0
    day = month
    while day < end:
        if (day < hired or (left is not None and day > left)) and (
                day.weekday() < 5 or day in makeup):
            count += 1
        day += timedelta(days=1)
    return count


def overtime_pay(minutes: Mapping[str, int], rates: Mapping[str, Decimal], monthly: Decimal,
                 working_days: Decimal) -> tuple[Decimal, list[Any]]:
    """Each kind's minutes at the hourly wage (monthly ÷ working days ÷ 8) × its multiplier,
    rounded once per kind (not per request), so splitting a day's overtime changes nothing."""
    total = ZERO
    items: list[Any] = []
    hourly = cents(monthly / working_days / 8)
    for kind in OVERTIME_KINDS:
        m = int(minutes.get(kind, 0))
        if m:
            rate = rates.get(kind, LEGAL_OVERTIME[kind])
            amount = cents(monthly * Decimal(m) * rate / (working_days * MINUTES_PER_DAY))
            total += amount
            items.append([kind, m, str(rate), str(hourly), str(amount)])
    return total, items


def capped_deductions(*, wage: Decimal, fines: Decimal, earned: Decimal, days_off: Decimal,
                      minimum_wage: Decimal, rules: Rules) -> tuple[Decimal, dict[str, str]]:
    """How much of `fines` (penalties and attendance fines) is waived: what exceeds the share
    limit, or would leave `earned` (the month's pay before fines, overtime excluded) under the
    floor. The floor is pro rata for the days not worked."""
    limits: dict[str, Decimal] = {}
    if rules.cap_share is not None and rules.cap_share < 1:
        limits["share"] = cents(wage * rules.cap_share)
    floor = {"minimum_wage": minimum_wage, "fixed": rules.floor_amount}.get(rules.floor)
    if floor is not None:
        worked = max(rules.working_days - days_off, ZERO) / rules.working_days
        floor = cents(floor * worked)
        limits["floor"] = max(earned - floor, ZERO)
    allowed = min([fines, *limits.values()])
    waived = fines - allowed if fines > 0 else ZERO
    detail = {k: str(v) for k, v in limits.items()} | {
        "fines": str(fines), "waived": str(waived)}
    if floor is not None:
        detail["floor_amount"] = str(floor)
    return waived, detail


def payslip(i: Inputs, rules: Rules) -> dict[str, Any]:
    """The payslip row (column → value) for one employee's month."""
    wage = i.base + i.allowances_total
    penalty = cents(Decimal(i.penalty_points) * rules.penalty_per_point)
    att = attendance_deduction(i.attendance, wage, rules)
    adjustments = sum((a for a, _r in i.adjustments), ZERO)
    overtime, ot_items = overtime_pay(
        i.overtime_minutes, i.overtime_rates,
        wage if rules.overtime_on_allowances else i.base, rules.working_days)
    fines = max(penalty, ZERO) + att.total - att.time_off
    waived, cap = capped_deductions(
        wage=wage, fines=fines, earned=wage - att.time_off + i.bonus + adjustments,
        days_off=att.days_off, minimum_wage=i.city.minimum_wage, rules=rules)
    gross = (i.base + i.allowances_total + overtime + i.bonus - penalty - att.total + waived
             + adjustments)
    c = contributions(wage, i.city)
    special = c["si_employee"] + c["hf_employee"]
    # The year-end bonus stays out of the cumulative income: it is taxed on its own.
    income = i.ytd.income + gross - i.annual_bonus
    w = withhold_month(i.tax_months, MonthIncome(
        income=income, special=i.ytd.special + special,
        additional=i.ytd.additional + i.additional_deduction), i.ytd.withheld)
    bonus_tax = annual_bonus_tax(i.annual_bonus)
    tax = w.withheld + bonus_tax
    net = gross - special - tax
    return {
        "tenant_id": i.tenant_id, "org_unit_id": i.org_unit_id, "employee_id": i.employee_id,
        "city": i.city.city, "base": i.base, "allowances": i.allowances_total,
        "overtime": overtime, "bonus": i.bonus, "penalty": penalty,
        "attendance_deduction": att.total, "deduction_waived": waived,
        "adjustments": adjustments, "annual_bonus": i.annual_bonus,
        "annual_bonus_tax": bonus_tax, "gross": gross, "si_employee": c["si_employee"],
        "hf_employee": c["hf_employee"], "si_employer": c["si_employer"],
        "hf_employer": c["hf_employer"], "additional_deduction": i.additional_deduction,
        "tax_months": i.tax_months, "cumulative_taxable": w.cumulative_taxable,
        "tax": tax, "net": net, "bank_account": i.bank_account,
        "lines": {
            "allowances": [dict(a) for a in i.allowances],
            "bonus": [dict(b) for b in i.bonus_lines],
            "penalty": {"points": i.penalty_points, "per_point": str(rules.penalty_per_point),
                        "cases": [dict(p) for p in i.penalty_lines]},
            "attendance": att.items,
            "overtime": ot_items,
            "cap": cap if waived else {},
            "adjustments": [[str(a), r] for a, r in i.adjustments],
            "insurance": {"si_base": str(c["si_base"]), "hf_base": str(c["hf_base"]),
                          "parts": c["parts"], "city_name": i.city.name},
            "annual_bonus": annual_bonus_lines(i.annual_bonus, bonus_tax),
            "tax": {"months": i.tax_months, "cumulative_income": str(income),
                    "cumulative_special": str(i.ytd.special + special),
                    "cumulative_additional": str(i.ytd.additional + i.additional_deduction),
                    "cumulative_taxable": str(w.cumulative_taxable), "rate": str(w.rate),
                    "quick_deduction": str(w.quick_deduction),
                    "cumulative_tax": str(w.cumulative_tax),
                    "already_withheld": str(i.ytd.withheld),
                    "withheld": str(w.withheld),
                    "additional_items": [list(x) for x in i.additional_lines]},
        },
    }


def annual_bonus_lines(bonus: Decimal, tax: Decimal) -> dict[str, str]:
    if bonus <= 0:
        return {}
    rate, quick = annual_bonus_rate(bonus)
    return {"amount": str(bonus), "monthly": str(cents(bonus / 12)), "rate": str(rate),
            "quick_deduction": str(quick), "tax": str(tax)}


def payslips(batch: Sequence[Inputs], rules: Mapping[int, Rules]) -> list[dict[str, Any]]:
    """Many at once (run in a worker thread); `rules` by tenant id."""
    return [payslip(i, rules[i.tenant_id]) for i in batch]
