"""Special additional deductions (专项附加扣除) by category: what an employee declares, and the
monthly amount the cumulative withholding (payroll.tax) deducts for it. A pure library.

Sources: 《个人所得税专项附加扣除暂行办法》 (国发〔2018〕41号); infant care added by
国发〔2022〕8号;
the standards raised from 2023-01-01 by 《国务院关于提高个人所得税有关专项附加扣除标准的通知》
(国发〔2023〕13号); how an employer applies them in the monthly withholding: 国家税务总局公告
2018年第60号 (《个人所得税专项附加扣除操作办法（试行）》).

    子女教育 children's education        2,000 a month per child (either parent 100 %, or 50 % each)
    3岁以下婴幼儿照护 infant care         2,000 a month per child (the same split)
    赡养老人 elderly support              only child 3,000 a month; otherwise the siblings share
                                           3,000 and each deducts at most 1,500
    住房贷款利息 housing loan interest     1,000 a month (one spouse, or 50 % each for homes bought
                                           before marriage), at most 240 months
    住房租金 housing rent                  1,500 (municipalities, provincial capitals, cities
                                           specifically listed), 1,100 (other cities of more than
                                           one million registered residents), 800 (the rest);
                                           never together with housing loan interest
    继续教育 continuing education          400 a month for a degree course (at most 48 months);
                                           3,600 in the year a vocational certificate is obtained
                                           (the employer may deduct it in the month declared)
    大病医疗 serious illness              annual only: out-of-pocket costs above 15,000, at most
                                           80,000 — deducted at the annual reconciliation
                                           (汇算清缴), never by the employer's monthly
                                           withholding
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

CATEGORIES = ("children_education", "infant_care", "elderly_support", "housing_loan",
              "housing_rent", "continuing_education", "continuing_education_certificate",
              "serious_illness")
PER_CHILD = Decimal(2000)
ELDERLY_ONLY_CHILD = Decimal(3000)
ELDERLY_SHARE_MAX = Decimal(1500)
HOUSING_LOAN = Decimal(1000)
HOUSING_RENT = {1: Decimal(1500), 2: Decimal(1100), 3: Decimal(800)}
DEGREE_COURSE = Decimal(400)
CERTIFICATE = Decimal(3600)
SERIOUS_ILLNESS_THRESHOLD = Decimal(15000)
SERIOUS_ILLNESS_MAX = Decimal(80000)
SHARES = (Decimal("1"), Decimal("0.5"))


# The rule each refusal names (English msgids; payroll.po translates them).
MESSAGES = {
    "duplicate_category": "Special additional deductions: a category is declared twice",
    "bad_share": "Special additional deductions: a share is 100 % or 50 %",
    "elderly_share": "Elderly support: a child who is not an only child deducts at most "
                     "1,500 a month (give the amount)",
    "city_tier": "Housing rent: give the city tier (1, 2 or 3)",
    "certificate_month": "Continuing education certificate: give the month it was obtained",
    "loan_and_rent": "Housing loan interest and housing rent are never deducted together",
    "unknown_category": "Special additional deductions: unknown category",
}


class DeductionError(ValueError):
    """A declaration the rules do not allow; `code` names which rule (MESSAGES)."""

    def __init__(self, code: str) -> None:
        super().__init__(MESSAGES[code])
        self.code = code


def check(items: Sequence[Mapping[str, Any]]) -> None:
    """Refuse what the rules forbid: unknown categories, a split other than 100 % or 50 %, a
    sibling's share of elderly support above 1,500, a city tier other than 1-3, housing loan
    interest together with rent, a category twice."""
    seen: set[str] = set()
    for item in items:
        cat = str(item.get("category"))
        if cat not in CATEGORIES:
            raise DeductionError("unknown_category")
        if cat in seen:
            raise DeductionError("duplicate_category")
        seen.add(cat)
        if Decimal(str(item.get("share", 1))) not in SHARES:
            raise DeductionError("bad_share")
        if cat == "elderly_support" and not item.get("only_child"):
            amount = Decimal(str(item.get("amount") or 0))
            if not 0 < amount <= ELDERLY_SHARE_MAX:
                raise DeductionError("elderly_share")
        if cat == "housing_rent" and int(item.get("city_tier") or 0) not in HOUSING_RENT:
            raise DeductionError("city_tier")
        if cat == "continuing_education_certificate" and not item.get("month"):
            raise DeductionError("certificate_month")
    if {"housing_loan", "housing_rent"} <= seen:
        raise DeductionError("loan_and_rent")


def monthly(items: Sequence[Mapping[str, Any]], month: date
            ) -> tuple[Decimal, list[list[str]]]:
    """The month's total and its lines ([category, amount]) for checked declarations. The
    certificate's 3,600 falls in the month declared; serious illness is shown as 0 (annual)."""
    total = Decimal(0)
    lines: list[list[str]] = []
    for item in items:
        cat = str(item["category"])
        share = Decimal(str(item.get("share", 1)))
        count = int(item.get("count") or 1)
        if cat in ("children_education", "infant_care"):
            amount = PER_CHILD * count * share
        elif cat == "elderly_support":
            amount = (ELDERLY_ONLY_CHILD if item.get("only_child")
                      else Decimal(str(item["amount"])))
        elif cat == "housing_loan":
            amount = HOUSING_LOAN * share
        elif cat == "housing_rent":
            amount = HOUSING_RENT[int(item["city_tier"])]
        elif cat == "continuing_education":
            amount = DEGREE_COURSE
        elif cat == "continuing_education_certificate":
            got = date.fromisoformat(str(item["month"])[:7] + "-01")
            amount = CERTIFICATE if got == month.replace(day=1) else Decimal(0)
        else:  # serious_illness: annual reconciliation only
            amount = Decimal(0)
        amount = amount.quantize(Decimal("0.01"))
        total += amount
        lines.append([cat, str(amount)])
    return total, lines


def serious_illness_deduction(out_of_pocket: Decimal) -> Decimal:
    """The annual deduction for a year's out-of-pocket medical costs (annual reconciliation)."""
    return min(max(out_of_pocket - SERIOUS_ILLNESS_THRESHOLD, Decimal(0)), SERIOUS_ILLNESS_MAX)
