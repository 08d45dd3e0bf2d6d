"""The payroll section of the group standards (probity.governance): what a penalty point costs,
the attendance deductions and the working days a day's pay is counted from. Changed through
`/api/v1/settings/{tenant}/payroll` like every section; HQ may lock any field."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Perm
from probity.governance import SettingsSection, register_section
from probity.governance import effective_settings as governed


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


register_section("payroll", PayrollSettings, title="Payroll",
                 read=Perm.payroll_read, manage=Perm.payroll_prepare)


async def effective_settings(session: AsyncSession, tenant_id: int) -> PayrollSettings:
    return (await governed(session, tenant_id, PayrollSettings)).values
