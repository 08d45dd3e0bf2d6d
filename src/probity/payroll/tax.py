"""Individual income tax on wages by the cumulative withholding method (累计预扣法).

A pure library (no web or database imports). Source: State Taxation Administration Announcement
2018 No. 61 (国家税务总局公告2018年第61号, 《个人所得税扣缴申报管理办法（试行）》), in force from
2019-01-01, and its withholding rate table 1 (个人所得税预扣率表一):

    本期应预扣预缴税额 = (累计预扣预缴应纳税所得额 × 预扣率 − 速算扣除数)
                         − 累计减免税额 − 累计已预扣预缴税额
    累计预扣预缴应纳税所得额 = 累计收入 − 累计免税收入 − 累计减除费用
                               − 累计专项扣除 − 累计专项附加扣除 − 累计依法确定的其他扣除

累计减除费用 is 5,000 per month of employment with this employer in the year. When the formula
gives less than what was already withheld, nothing is withheld that month and nothing is
refunded (余额为负值时，暂不退税): the annual reconciliation settles it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
STANDARD_DEDUCTION = Decimal(5000)  # 减除费用, per month

# (upper bound of cumulative taxable income, rate, quick deduction); None = no upper bound.
BRACKETS: tuple[tuple[Decimal | None, Decimal, Decimal], ...] = (
    (Decimal(36000), Decimal("0.03"), Decimal(0)),
    (Decimal(144000), Decimal("0.10"), Decimal(2520)),
    (Decimal(300000), Decimal("0.20"), Decimal(16920)),
    (Decimal(420000), Decimal("0.25"), Decimal(31920)),
    (Decimal(660000), Decimal("0.30"), Decimal(52920)),
    (Decimal(960000), Decimal("0.35"), Decimal(85920)),
    (None, Decimal("0.45"), Decimal(181920)),
)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def bracket(taxable: Decimal) -> tuple[Decimal, Decimal]:
    """(rate, quick deduction) for a cumulative taxable income."""
    for upper, rate, quick in BRACKETS:
        if upper is None or taxable <= upper:
            return rate, quick
    raise AssertionError("unreachable: the last bracket has no upper bound")


def tax_on(taxable: Decimal) -> Decimal:
    """Tax on a cumulative (or annual) taxable income; zero at or below zero."""
    if taxable <= 0:
        return Decimal(0)
    rate, quick = bracket(taxable)
    return cents(taxable * rate - quick)


@dataclass(frozen=True)
class MonthIncome:
    """One month's figures (all in yuan). `special` = 专项扣除 (the employee's social insurance
    and housing fund); `additional` = 专项附加扣除 (children's education, elderly care, housing
    loan interest or rent, continuing education, infant care …); `other` = other lawful
    deductions; `exempt` = tax-free income; `relief` = tax relief (减免税额)."""

    income: Decimal
    special: Decimal = Decimal(0)
    additional: Decimal = Decimal(0)
    other: Decimal = Decimal(0)
    exempt: Decimal = Decimal(0)
    relief: Decimal = Decimal(0)


@dataclass(frozen=True)
class Withholding:
    month: int  # 1-based month of employment in the year
    cumulative_taxable: Decimal
    rate: Decimal
    quick_deduction: Decimal
    cumulative_tax: Decimal
    withheld: Decimal  # this month
    cumulative_withheld: Decimal


def withhold_month(months: int, cumulative: MonthIncome, already_withheld: Decimal
                   ) -> Withholding:
    """This month's withholding from the year-to-date totals (`cumulative`, this month
    included), `months` months of employment so far and the tax already withheld."""
    if months < 1 or months > 12:
        raise ValueError("months of employment in the year must be 1..12")
    taxable = (cumulative.income - cumulative.exempt - STANDARD_DEDUCTION * months
               - cumulative.special - cumulative.additional - cumulative.other)
    taxable = max(cents(taxable), Decimal(0))
    rate, quick = bracket(taxable) if taxable > 0 else (BRACKETS[0][1], BRACKETS[0][2])
    due = max(tax_on(taxable) - cumulative.relief, Decimal(0))
    this_month = max(cents(due - already_withheld), Decimal(0))
    return Withholding(month=months, cumulative_taxable=taxable, rate=rate,
                       quick_deduction=quick, cumulative_tax=due, withheld=this_month,
                       cumulative_withheld=already_withheld + this_month)


def withhold_year(months: Sequence[MonthIncome] | Iterable[MonthIncome]) -> list[Withholding]:
    """Month by month through a year (the months of employment with this employer)."""
    out: list[Withholding] = []
    total = MonthIncome(Decimal(0))
    withheld = Decimal(0)
    for n, m in enumerate(months, start=1):
        total = MonthIncome(
            income=total.income + m.income, special=total.special + m.special,
            additional=total.additional + m.additional, other=total.other + m.other,
            exempt=total.exempt + m.exempt, relief=total.relief + m.relief)
        w = withhold_month(n, total, withheld)
        withheld = w.cumulative_withheld
        out.append(w)
    return out


# The year-end one-off bonus (全年一次性奖金) taxed on its own: 《财政部 税务总局关于个人所得税
# 法修改后有关优惠政策衔接问题的通知》 (财税〔2018〕164号) art. 1(1), extended to 2027-12-31 by
# 财政部 税务总局公告2023年第30号. The bonus ÷ 12 picks the rate and quick deduction of the
# monthly-converted comprehensive income rate table (按月换算后的综合所得税率表); the tax is
# bonus × rate − quick deduction (the quick deduction once, not twelve times). Once per tax
# year per taxpayer; the employee may instead have it added to the year's wages.
ANNUAL_BONUS_UNTIL = 2027
MONTHLY_BRACKETS: tuple[tuple[Decimal | None, Decimal, Decimal], ...] = (
    (Decimal(3000), Decimal("0.03"), Decimal(0)),
    (Decimal(12000), Decimal("0.10"), Decimal(210)),
    (Decimal(25000), Decimal("0.20"), Decimal(1410)),
    (Decimal(35000), Decimal("0.25"), Decimal(2660)),
    (Decimal(55000), Decimal("0.30"), Decimal(4410)),
    (Decimal(80000), Decimal("0.35"), Decimal(7160)),
    (None, Decimal("0.45"), Decimal(15160)),
)


def annual_bonus_rate(bonus: Decimal) -> tuple[Decimal, Decimal]:
    """(rate, quick deduction) for a year-end one-off bonus: by the bonus ÷ 12."""
    monthly = bonus / 12
    for upper, rate, quick in MONTHLY_BRACKETS:
        if upper is None or monthly <= upper:
            return rate, quick
    raise AssertionError("unreachable: the last bracket has no upper bound")


def annual_bonus_tax(bonus: Decimal) -> Decimal:
    """Tax on a year-end one-off bonus taxed on its own; zero for nothing."""
    if bonus <= 0:
        return Decimal("0.00")
    rate, quick = annual_bonus_rate(bonus)
    return cents(bonus * rate - quick)
