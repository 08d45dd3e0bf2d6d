"""The cumulative withholding method (累计预扣法) against worked examples, each written out with
its source, and against the annual table it is designed to converge to."""

from __future__ import annotations

from decimal import Decimal

import pytest

from probity.payroll.tax import MonthIncome, tax_on, withhold_month, withhold_year

D = Decimal


def test_sat_example_with_special_additional_deductions() -> None:
    """Source: the State Taxation Administration's explanation of Announcement 2018 No. 61
    (《关于〈个人所得税扣缴申报管理办法（试行）〉的解读》), example 1:
    某职员2015年入职，2019年每月应发工资均为30000元，每月减除费用5000元，“三险一金”等专项扣除
    为4500元，享受子女教育、赡养老人两项专项附加扣除共计2000元，假设没有减免收入及减免税额等
    情况，以前三个月为例：
      1月：(30000－5000－4500－2000)×3% = 555 元；
      2月：(30000×2－5000×2－4500×2－2000×2)×10%－2520－555 = 625 元；
      3月：(30000×3－5000×3－4500×3－2000×3)×10%－2520－555－625 = 1850 元。
    The second month crosses from the 3 % into the 10 % bracket."""
    month = MonthIncome(income=D(30000), special=D(4500), additional=D(2000))
    got = withhold_year([month] * 3)
    assert [w.withheld for w in got] == [D(555), D(625), D(1850)]
    assert [w.cumulative_taxable for w in got] == [D(18500), D(37000), D(55500)]
    assert [w.rate for w in got] == [D("0.03"), D("0.10"), D("0.10")]


def test_twelve_months_crossing_two_brackets() -> None:
    """The same employee through the whole year (same source, continued by the formula).
    Cumulative taxable income grows by 30000 − 5000 − 4500 − 2000 = 18500 a month:
      n   cumulative   rate  quick    cumulative tax              withheld this month
      1      18,500     3%       0      555.00                      555
      2      37,000    10%    2520     1,180.00   (3700 − 2520)    625   ← first crossing
      3      55,500    10%    2520     3,030.00                   1,850
      4      74,000    10%    2520     4,880.00                   1,850
      5      92,500    10%    2520     6,730.00                   1,850
      6     111,000    10%    2520     8,580.00                   1,850
      7     129,500    10%    2520    10,430.00                   1,850
      8     148,000    20%   16920    12,680.00   (29600 − 16920) 2,250   ← second crossing
      9     166,500    20%   16920    16,380.00                   3,700
     10     185,000    20%   16920    20,080.00                   3,700
     11     203,500    20%   16920    23,780.00                   3,700
     12     222,000    20%   16920    27,480.00                   3,700
    The year withholds 27,480, exactly the annual table's tax on 222,000."""
    month = MonthIncome(income=D(30000), special=D(4500), additional=D(2000))
    got = withhold_year([month] * 12)
    assert [w.withheld for w in got] == [D(x) for x in (
        555, 625, 1850, 1850, 1850, 1850, 1850, 2250, 3700, 3700, 3700, 3700)]
    assert got[-1].cumulative_taxable == D(222000)
    assert got[-1].cumulative_withheld == D(27480) == tax_on(D(222000))


def test_sat_example_without_additional_deductions() -> None:
    """Worked by hand from the formula of Announcement 2018 No. 61 (not an official example):
    monthly wage 10,000, 三险一金 1,500, no additional deduction → cumulative taxable 3,500 a
    month, in the 3 % bracket until month 11 (38,500 > 36,000):
      months 1–10: 3,500 × 3 % = 105 each;
      month 11: 38,500 × 10 % − 2,520 = 1,330, minus 1,050 already withheld = 280;
      month 12: 42,000 × 10 % − 2,520 = 1,680, minus 1,330 = 350."""
    got = withhold_year([MonthIncome(income=D(10000), special=D(1500))] * 12)
    assert [w.withheld for w in got] == [D(105)] * 10 + [D(280), D(350)]
    assert got[-1].cumulative_withheld == tax_on(D(42000)) == D(1680)


def test_below_the_threshold_and_no_refund() -> None:
    """Income below 5,000 + deductions withholds nothing; a low month after high ones withholds
    nothing rather than refunding (暂不退税), and the year still converges."""
    assert withhold_year([MonthIncome(income=D(4800))] * 3)[-1].cumulative_withheld == 0
    months = [MonthIncome(income=D(20000))] + [MonthIncome(income=D(0))] * 2
    got = withhold_year(months)
    assert [w.withheld for w in got] == [D(450), D(0), D(0)]  # (20000 − 5000) × 3 %
    assert got[-1].cumulative_tax == D(150)  # 5,000 × 3 %: settled at reconciliation


@pytest.mark.parametrize("salary", [6000, 12000, 25000, 48000, 90000, 150000])
def test_constant_salary_converges_to_the_annual_table(salary: int) -> None:
    month = MonthIncome(income=D(salary), special=D(salary) * D("0.105"),
                        additional=D(1000))
    got = withhold_year([month] * 12)
    annual = tax_on(D(salary * 12) - D(60000) - D(salary) * D("0.105") * 12 - D(12000))
    assert got[-1].cumulative_withheld == annual
    assert all(w.withheld >= 0 for w in got)


def test_bad_month_count() -> None:
    with pytest.raises(ValueError):
        withhold_month(13, MonthIncome(income=D(1)), D(0))
