"""Payroll: salary structures per grade, salary assignments per employee, city tables (social
insurance, housing fund, minimum wage), adjustments, monthly runs and their payslips.

A closed `payroll_runs` row refuses UPDATE and DELETE by trigger, and so does every payslip of
a closed run (migration 0016): a closed month is never rewritten; a correction is an adjustment
in a later month. `payroll_adjustments` are append-only (a wrong one is offset by another).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from probity.models.base import Base, IdMixin, TimestampMixin, UTCDateTime

MONEY = Numeric(12, 2)
RATE = Numeric(7, 5)
MULTIPLIER = Numeric(4, 2)


class SalaryStructure(IdMixin, TimestampMixin, Base):
    """Base pay and allowances for one grade in one tenant (the nearest tenant up the chain
    applies, so HQ's structure covers the group unless a subsidiary sets its own)."""

    __tablename__ = "salary_structures"
    __table_args__ = (UniqueConstraint("tenant_id", "grade"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    grade: Mapped[str] = mapped_column(String(16))
    base: Mapped[Decimal] = mapped_column(MONEY)
    # [{"code": "meal", "name": "餐补", "amount": "300.00"}, ...]
    allowances: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Overtime multipliers (Labour Law art. 44 sets the minimums: 1.5, 2 and 3).
    overtime_weekday: Mapped[Decimal] = mapped_column(MULTIPLIER, default=Decimal("1.50"),
                                                     server_default="1.50")
    overtime_rest_day: Mapped[Decimal] = mapped_column(MULTIPLIER, default=Decimal("2.00"),
                                                      server_default="2.00")
    overtime_holiday: Mapped[Decimal] = mapped_column(MULTIPLIER, default=Decimal("3.00"),
                                                     server_default="3.00")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PayrollCity(IdMixin, TimestampMixin, Base):
    """One city's social insurance and housing fund rates (employee and employer), the bases'
    floor and ceiling, and the monthly minimum wage. Nearest tenant up the chain applies."""

    __tablename__ = "payroll_cities"
    __table_args__ = (UniqueConstraint("tenant_id", "city"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    city: Mapped[str] = mapped_column(String(32))  # code, e.g. "shanghai"
    name: Mapped[str] = mapped_column(String(64))  # e.g. 上海
    minimum_wage: Mapped[Decimal] = mapped_column(MONEY)
    si_base_floor: Mapped[Decimal] = mapped_column(MONEY)
    si_base_ceiling: Mapped[Decimal] = mapped_column(MONEY)
    hf_base_floor: Mapped[Decimal] = mapped_column(MONEY)
    hf_base_ceiling: Mapped[Decimal] = mapped_column(MONEY)
    # {"pension": ["0.08", "0.16"], "medical": [...], "unemployment": [...], "injury": [...],
    #  "maternity": [...]}: [employee rate, employer rate]
    si_rates: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    hf_employee_rate: Mapped[Decimal] = mapped_column(RATE)
    hf_employer_rate: Mapped[Decimal] = mapped_column(RATE)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SalaryAssignment(IdMixin, TimestampMixin, Base):
    """An employee's pay from a month on: grade, base and allowances (copied from the structure
    when not given, so a later structure change rewrites nobody's history), the city of their
    social insurance, their monthly special additional deductions (专项附加扣除) and bank
    account. The latest assignment effective on or before a month applies."""

    __tablename__ = "salary_assignments"
    __table_args__ = (UniqueConstraint("employee_id", "effective_from"),
                      Index("ix_salary_assignments_tenant", "tenant_id", "effective_from"))

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    effective_from: Mapped[date] = mapped_column(Date)  # the first day of a month
    grade: Mapped[str | None] = mapped_column(String(16))
    base: Mapped[Decimal] = mapped_column(MONEY)
    allowances: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    allowances_total: Mapped[Decimal] = mapped_column(MONEY)
    city: Mapped[str] = mapped_column(String(32))
    additional_deduction: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    # The declared categories (payroll.deductions); when any, they decide the month's amount.
    additional_items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list,
                                                                    server_default="[]")
    bank_name: Mapped[str | None] = mapped_column(String(100))
    bank_account: Mapped[str | None] = mapped_column(String(40))
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PayrollAdjustment(IdMixin, TimestampMixin, Base):
    """A one-off amount in one month's pay (positive or negative, taxable), e.g. the correction
    of a closed month. Append-only."""

    __tablename__ = "payroll_adjustments"
    __table_args__ = (Index("ix_payroll_adjustments_tenant_month", "tenant_id", "month"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    month: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    reason: Mapped[str] = mapped_column(String(500))
    # The closed month this corrects, if any.
    corrects_month: Mapped[date | None] = mapped_column(Date)
    # The year-end one-off bonus (全年一次性奖金), taxed on its own (payroll.tax.annual_bonus_tax).
    annual_bonus: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class RunStatus(enum.StrEnum):
    computing = "computing"
    draft = "draft"
    approved = "approved"
    closed = "closed"


class PayrollRun(IdMixin, TimestampMixin, Base):
    __tablename__ = "payroll_runs"
    __table_args__ = (UniqueConstraint("tenant_id", "month"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    month: Mapped[date] = mapped_column(Date)
    status: Mapped[RunStatus] = mapped_column(
        Enum(RunStatus, native_enum=False, length=16), default=RunStatus.computing)
    prepared_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    job_id: Mapped[int | None] = mapped_column(Integer)
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    employees: Mapped[int] = mapped_column(Integer, default=0)
    # {"gross": "...", "net": "...", "tax": "...", "bonus": "...", "penalty": "...", ...}
    totals: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The closed appraisal cycles whose bonus and penalties this run pays.
    cycle_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    digest: Mapped[str | None] = mapped_column(String(64))
    ledger_seq: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Payslip(IdMixin, TimestampMixin, Base):
    """One employee's pay for one run's month. Immutable once the run is closed."""

    __tablename__ = "payslips"
    __table_args__ = (UniqueConstraint("run_id", "employee_id"),
                      Index("ix_payslips_employee_month", "employee_id", "month"),
                      Index("ix_payslips_tenant_month", "tenant_id", "month"))

    run_id: Mapped[int] = mapped_column(ForeignKey("payroll_runs.id"))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    month: Mapped[date] = mapped_column(Date)
    city: Mapped[str] = mapped_column(String(32))
    base: Mapped[Decimal] = mapped_column(MONEY)
    allowances: Mapped[Decimal] = mapped_column(MONEY)
    overtime: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"),
                                            server_default="0")
    bonus: Mapped[Decimal] = mapped_column(MONEY)
    penalty: Mapped[Decimal] = mapped_column(MONEY)
    attendance_deduction: Mapped[Decimal] = mapped_column(MONEY)
    # Penalties and attendance fines above the cap (a share of the wage, the pay floor).
    deduction_waived: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"),
                                                    server_default="0")
    adjustments: Mapped[Decimal] = mapped_column(MONEY)
    # Of `adjustments`: the year-end one-off bonus, and its tax (included in `tax`), both kept
    # out of the cumulative withholding.
    annual_bonus: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"),
                                                  server_default="0")
    annual_bonus_tax: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"),
                                                      server_default="0")
    gross: Mapped[Decimal] = mapped_column(MONEY)
    si_employee: Mapped[Decimal] = mapped_column(MONEY)
    hf_employee: Mapped[Decimal] = mapped_column(MONEY)
    si_employer: Mapped[Decimal] = mapped_column(MONEY)
    hf_employer: Mapped[Decimal] = mapped_column(MONEY)
    additional_deduction: Mapped[Decimal] = mapped_column(MONEY)
    tax_months: Mapped[int] = mapped_column(Integer)
    cumulative_taxable: Mapped[Decimal] = mapped_column(MONEY)
    tax: Mapped[Decimal] = mapped_column(MONEY)
    net: Mapped[Decimal] = mapped_column(MONEY)
    bank_account: Mapped[str | None] = mapped_column(String(40))
    # The detail behind each figure: allowances, bonus per cycle, penalty cases, attendance
    # items, adjustments, each insurance, the tax computation.
    lines: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
