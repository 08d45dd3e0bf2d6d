"""The payroll section of the group standards (probity.governance): what a penalty point costs,
the attendance deductions, the working days a day's pay is counted from, how overtime is paid
and how far penalties and fines may cut a month's wage. Changed through
`/api/v1/settings/{tenant}/payroll` like every section; HQ may lock any field."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Perm
from probity.governance import SettingsSection, register_section
from probity.governance import effective_settings as governed

# The statutory public holidays (法定节假日) of 《全国年节及纪念日放假办法》 as amended in 2024
# (13 days from 2025: New Year's Day; the Spring Festival's eve and first three days; Qingming;
# 1-2 May; the Dragon Boat and Mid-Autumn festivals; 1-3 October), on which overtime is paid
# at 300 % (Labour Law art. 44(3)). Only the statutory days themselves: the weekend days moved
# next to them are rest days (200 %). Later years are added here or by each tenant.
STATUTORY_HOLIDAYS = (
    "2025-01-01", "2025-01-28", "2025-01-29", "2025-01-30", "2025-01-31", "2025-04-04",
    "2025-05-01", "2025-05-02", "2025-05-31", "2025-10-01", "2025-10-02", "2025-10-03",
    "2025-10-06",
    "2026-01-01", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-04-05",
    "2026-05-01", "2026-05-02", "2026-06-19", "2026-09-25", "2026-10-01", "2026-10-02",
    "2026-10-03",
)


# The weekend days worked in lieu (调休上班) of the State Council's holiday notices:
# 2025 国办发明电〔2024〕12号, 2026 国办发明电〔2025〕7号. A year whose notice is not out (2027 at
# the time of writing) has no calendar until HR adds it on the payroll standard's page (or
# through the settings API): pages and runs of such a year say so.
MAKEUP_WORKDAYS = (
    "2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11",
    "2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10",
)


def calendar_years(values: PayrollSettings) -> set[int]:
    """The years the standard has a holiday calendar for (at least one statutory holiday)."""
    return {int(d[:4]) for d in values.statutory_holidays}


def _dates(value: list[str]) -> list[str]:
    out = []
    for s in value:
        try:
            out.append(date.fromisoformat(s.strip()).isoformat())
        except ValueError:
            raise ValueError(f"{s[:20]!r} is not a date (YYYY-MM-DD)") from None
    return sorted(set(out))


class PayrollSettings(SettingsSection):
    penalty_per_point: Decimal = Field(
        Decimal("50.00"), ge=0, le=100_000, decimal_places=2,
        title="Pay deducted per penalty point (yuan)")
    late_deduction: Decimal = Field(Decimal("20.00"), ge=0, le=100_000, decimal_places=2,
                                    title="Deduction per late arrival (yuan)")
    early_leave_deduction: Decimal = Field(Decimal("20.00"), ge=0, le=100_000, decimal_places=2,
                                           title="Deduction per early leave (yuan)")
    missing_punch_deduction: Decimal = Field(Decimal("10.00"), ge=0, le=100_000,
                                             decimal_places=2,
                                             title="Deduction per missing punch (yuan)")
    absence_days_pay: Decimal = Field(Decimal("1.0"), ge=0, le=3, decimal_places=2,
                                      title="Days of pay deducted per absence")
    personal_leave_unpaid: bool = Field(True, title="Personal leave is unpaid")
    working_days_per_month: Decimal = Field(Decimal("21.75"), gt=0, le=31, decimal_places=2,
                                            title="Working days per month (a day's pay)")
    overtime_base: Literal["base", "base_and_allowances"] = Field(
        "base", title="Overtime pay is counted on (base pay, or base pay and allowances)")
    deduction_cap_share: Decimal = Field(
        Decimal("0.20"), ge=0, le=1, decimal_places=2,
        title="Penalties and attendance fines: at most this share of the month's wage")
    deduction_floor: Literal["minimum_wage", "fixed", "none"] = Field(
        "minimum_wage", title="Pay left after penalties and fines: at least (the city's "
        "minimum wage, a fixed amount, or no floor)")
    deduction_floor_amount: Decimal = Field(
        Decimal("0.00"), ge=0, le=1_000_000, decimal_places=2,
        title="The fixed floor (yuan a month)")
    statutory_holidays: list[str] = Field(
        default_factory=lambda: list(STATUTORY_HOLIDAYS), max_length=400,
        title="Statutory holidays (overtime at the holiday rate), YYYY-MM-DD")
    makeup_workdays: list[str] = Field(
        default_factory=lambda: list(MAKEUP_WORKDAYS), max_length=200,
        title="Weekend days worked in lieu of a holiday (调休), YYYY-MM-DD")

    _holidays = field_validator("statutory_holidays", "makeup_workdays")(_dates)


register_section("payroll", PayrollSettings, title="Payroll",
                 read=Perm.payroll_read, manage=Perm.payroll_prepare)


async def effective_settings(session: AsyncSession, tenant_id: int) -> PayrollSettings:
    return (await governed(session, tenant_id, PayrollSettings)).values
