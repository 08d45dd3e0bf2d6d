"""Create / Read schemas for payroll."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from probity.bounds import DbId
from probity.models.payroll import RunStatus

Money = Annotated[Decimal, Field(ge=0, le=10_000_000, decimal_places=2)]
SignedMoney = Annotated[Decimal, Field(ge=-10_000_000, le=10_000_000, decimal_places=2)]
Rate = Annotated[Decimal, Field(ge=0, le=1, decimal_places=5)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def first_of_month(value: date) -> date:
    if value.day != 1:
        raise ValueError("a payroll month is given as its first day (YYYY-MM-01)")
    if not 2000 <= value.year <= 2100:
        raise ValueError("the year must be between 2000 and 2100")
    return value


class Allowance(Strict):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=64)
    amount: Money


class AdditionalItem(Strict):
    """One special additional deduction the employee declared (payroll.deductions): `count`
    children for children's education and infant care; `share` 1 or 0.5 (parents or spouses
    splitting); elderly support by an only child (3,000) or a sibling's `amount` (at most
    1,500); housing rent by `city_tier` (1: 1,500, 2: 1,100, 3: 800); the certificate's
    `month`; serious illness's annual out-of-pocket `amount` (annual reconciliation only)."""

    category: Literal["children_education", "infant_care", "elderly_support", "housing_loan",
                      "housing_rent", "continuing_education",
                      "continuing_education_certificate", "serious_illness"]
    count: int = Field(1, ge=1, le=20)
    share: Decimal = Field(Decimal(1), ge=Decimal("0.5"), le=1, decimal_places=1)
    only_child: bool = False
    amount: Money | None = None
    city_tier: int | None = Field(None, ge=1, le=3)
    month: date | None = None


Multiplier = Annotated[Decimal, Field(ge=1, le=10, decimal_places=2)]


class StructureSave(Strict):
    """Base pay and allowances of a grade; overtime multipliers default to the statutory
    minimums (weekday 1.5, rest day 2, statutory holiday 3) and may not go below them."""

    tenant_id: DbId
    grade: str = Field(min_length=1, max_length=16)
    base: Money
    allowances: list[Allowance] = Field(default_factory=list, max_length=20)
    overtime_weekday: Multiplier = Decimal("1.50")
    overtime_rest_day: Multiplier = Decimal("2.00")
    overtime_holiday: Multiplier = Decimal("3.00")


class StructureRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    grade: str
    base: Decimal
    allowances: list[dict[str, Any]]
    # Added in 1.x: optional in the schema so older clients stay valid.
    overtime_weekday: Decimal = Decimal("1.50")
    overtime_rest_day: Decimal = Decimal("2.00")
    overtime_holiday: Decimal = Decimal("3.00")


class InsuranceRates(Strict):
    pension: tuple[Rate, Rate]
    medical: tuple[Rate, Rate]
    unemployment: tuple[Rate, Rate]
    injury: tuple[Rate, Rate]
    maternity: tuple[Rate, Rate] = (Decimal(0), Decimal(0))


class CitySave(Strict):
    tenant_id: DbId
    city: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=64)
    minimum_wage: Money
    si_base_floor: Money
    si_base_ceiling: Money
    hf_base_floor: Money
    hf_base_ceiling: Money
    si_rates: InsuranceRates
    hf_employee_rate: Rate
    hf_employer_rate: Rate


class CityRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    city: str
    name: str
    minimum_wage: Decimal
    si_base_floor: Decimal
    si_base_ceiling: Decimal
    hf_base_floor: Decimal
    hf_base_ceiling: Decimal
    si_rates: dict[str, list[str]]
    hf_employee_rate: Decimal
    hf_employer_rate: Decimal


class AssignmentCreate(Strict):
    """Pay from `effective_from` on. Base and allowances default to the grade's structure."""

    employee_id: DbId
    effective_from: date
    city: str = Field(min_length=1, max_length=32)
    grade: str | None = Field(default=None, min_length=1, max_length=16)
    base: Money | None = None
    allowances: list[Allowance] | None = Field(default=None, max_length=20)
    additional_deduction: Money = Decimal(0)
    # By category; when given, they decide the month's deduction (additional_deduction is
    # then their recurring monthly total).
    additional_items: list[AdditionalItem] | None = Field(default=None, max_length=8)
    bank_name: str | None = Field(default=None, max_length=100)
    bank_account: str | None = Field(default=None, min_length=6, max_length=40,
                                     pattern=r"^[0-9 -]+$")

    _month = field_validator("effective_from")(first_of_month)


class AssignmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    employee_id: int
    effective_from: date
    grade: str | None
    base: Decimal
    allowances: list[dict[str, Any]]
    allowances_total: Decimal
    city: str
    additional_deduction: Decimal
    additional_items: list[dict[str, Any]] = []
    bank_name: str | None
    bank_account: str | None


class AdjustmentCreate(Strict):
    employee_id: DbId
    month: date
    amount: SignedMoney
    reason: str = Field(min_length=1, max_length=500)
    corrects_month: date | None = None
    # The year-end one-off bonus (全年一次性奖金), taxed on its own; once a year per employee.
    annual_bonus: bool = False

    _month = field_validator("month")(first_of_month)


class AdjustmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    employee_id: int
    month: date
    amount: Decimal
    reason: str
    corrects_month: date | None
    annual_bonus: bool = False


class RunCreate(Strict):
    tenant_id: DbId
    month: date

    _month = field_validator("month")(first_of_month)


class RunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    month: date
    status: RunStatus
    prepared_by_user_id: int | None
    approved_by_user_id: int | None
    approved_at: datetime | None
    closed_by_user_id: int | None
    closed_at: datetime | None
    job_id: int | None
    computed_at: datetime | None
    employees: int
    totals: dict[str, Any]
    cycle_ids: list[int]
    digest: str | None
    ledger_seq: int | None


class PayslipRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    run_id: int
    tenant_id: int
    employee_id: int
    month: date
    city: str
    base: Decimal
    allowances: Decimal
    overtime: Decimal = Decimal("0.00")  # added in 1.x (optional in the schema)
    bonus: Decimal
    penalty: Decimal
    attendance_deduction: Decimal
    deduction_waived: Decimal = Decimal("0.00")  # added in 1.x (optional in the schema)
    adjustments: Decimal
    gross: Decimal
    si_employee: Decimal
    hf_employee: Decimal
    si_employer: Decimal
    hf_employer: Decimal
    additional_deduction: Decimal
    tax_months: int
    cumulative_taxable: Decimal
    tax: Decimal
    net: Decimal
    bank_account: str | None
    lines: dict[str, Any]
