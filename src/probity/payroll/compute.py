"""One employee's month, from figures already gathered: pure functions (no database, no web),
so a run computes 50,000 payslips in a worker thread and a test checks any one by hand.

    gross = base + allowances + performance bonus − penalties − attendance deductions + adjustments
    social insurance / housing fund (employee part) = base clamped to the city's floor..ceiling
                                                      × each rate, rounded to the cent
    income tax = the cumulative withholding method (payroll.tax), special deduction = the
                 employee's insurance and fund, special additional deduction = the employee's
    net = gross − insurance − fund − tax
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from probity.payroll.tax import MonthIncome, cents, withhold_month

ZERO = Decimal("0.00")
INSURANCES = ("pension", "medical", "unemployment", "injury", "maternity")


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


@dataclass(frozen=True)
class Rules:
    """The payroll standard in force (payroll.settings), as plain numbers."""

    penalty_per_point: Decimal
    late: Decimal
    early_leave: Decimal
    missing_punch: Decimal
    absence_days: Decimal
    working_days: Decimal


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


def attendance_deduction(att: Attendance, wage: Decimal, rules: Rules) -> tuple[Decimal,
                                                                                 list[Any]]:
    day = wage / rules.working_days
    items: list[Any] = []
    total = ZERO
    for kind, count, each in (("late", att.late, rules.late),
                              ("early_leave", att.early_leave, rules.early_leave),
                              ("missing_punch", att.missing_punch, rules.missing_punch),
                              ("absent", att.absent, cents(day * rules.absence_days)),
                              ("unpaid_leave", att.unpaid_leave_days, cents(day))):
        if count:
            amount = cents(Decimal(count) * each)
            total += amount
            items.append([kind, str(count), str(each), str(amount)])
    return total, items


def payslip(i: Inputs, rules: Rules) -> dict[str, Any]:
    """The payslip row (column → value) for one employee's month."""
    wage = i.base + i.allowances_total
    penalty = cents(Decimal(i.penalty_points) * rules.penalty_per_point)
    att_total, att_items = attendance_deduction(i.attendance, wage, rules)
    adjustments = sum((a for a, _r in i.adjustments), ZERO)
    gross = i.base + i.allowances_total + i.bonus - penalty - att_total + adjustments
    c = contributions(wage, i.city)
    special = c["si_employee"] + c["hf_employee"]
    w = withhold_month(i.tax_months, MonthIncome(
        income=i.ytd.income + gross, special=i.ytd.special + special,
        additional=i.ytd.additional + i.additional_deduction), i.ytd.withheld)
    net = gross - special - w.withheld
    return {
        "tenant_id": i.tenant_id, "org_unit_id": i.org_unit_id, "employee_id": i.employee_id,
        "city": i.city.city, "base": i.base, "allowances": i.allowances_total,
        "bonus": i.bonus, "penalty": penalty, "attendance_deduction": att_total,
        "adjustments": adjustments, "gross": gross, "si_employee": c["si_employee"],
        "hf_employee": c["hf_employee"], "si_employer": c["si_employer"],
        "hf_employer": c["hf_employer"], "additional_deduction": i.additional_deduction,
        "tax_months": i.tax_months, "cumulative_taxable": w.cumulative_taxable,
        "tax": w.withheld, "net": net, "bank_account": i.bank_account,
        "lines": {
            "allowances": [dict(a) for a in i.allowances],
            "bonus": [dict(b) for b in i.bonus_lines],
            "penalty": {"points": i.penalty_points, "per_point": str(rules.penalty_per_point),
                        "cases": [dict(p) for p in i.penalty_lines]},
            "attendance": att_items,
            "adjustments": [[str(a), r] for a, r in i.adjustments],
            "insurance": {"si_base": str(c["si_base"]), "hf_base": str(c["hf_base"]),
                          "parts": c["parts"], "city_name": i.city.name},
            "tax": {"months": i.tax_months, "cumulative_income": str(i.ytd.income + gross),
                    "cumulative_special": str(i.ytd.special + special),
                    "cumulative_additional": str(i.ytd.additional + i.additional_deduction),
                    "cumulative_taxable": str(w.cumulative_taxable), "rate": str(w.rate),
                    "quick_deduction": str(w.quick_deduction),
                    "cumulative_tax": str(w.cumulative_tax),
                    "already_withheld": str(i.ytd.withheld)},
        },
    }


def payslips(batch: Sequence[Inputs], rules: Mapping[int, Rules]) -> list[dict[str, Any]]:
    """Many at once (run in a worker thread); `rules` by tenant id."""
    return [payslip(i, rules[i.tenant_id]) for i in batch]
