"""Create / Update / Read schemas for the group structure."""

from __future__ import annotations

from datetime import date, datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from probity.config import DEFAULT_TIMEZONE
from probity.models import EmploymentStatus, OrgUnitKind, TenantKind

T = TypeVar("T")

Code = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
Name = Field(min_length=1, max_length=200)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TenantCreate(Strict):
    parent_id: int = Field(gt=0)
    code: str = Code
    name: str = Name
    name_en: str | None = Field(default=None, max_length=200)
    kind: TenantKind = TenantKind.subsidiary
    timezone: str = Field(default=DEFAULT_TIMEZONE, max_length=64)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v


class TenantUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)


class TenantRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    parent_id: int | None
    code: str
    name: str
    name_en: str | None
    kind: TenantKind
    timezone: str


class OrgUnitCreate(Strict):
    tenant_id: int = Field(gt=0)
    parent_id: int | None = Field(default=None, gt=0)
    code: str = Code
    name: str = Name
    kind: OrgUnitKind = OrgUnitKind.team
    max_concurrent: int = Field(default=5, ge=1, le=50)


class OrgUnitUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    parent_id: int | None = Field(default=None, gt=0)
    max_concurrent: int | None = Field(default=None, ge=1, le=50)


class OrgUnitRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    parent_id: int | None
    code: str
    name: str
    kind: OrgUnitKind
    max_concurrent: int


class PositionCreate(Strict):
    tenant_id: int = Field(gt=0)
    code: str = Code
    title: str = Name
    grade: str = Field(min_length=1, max_length=16)


class PositionUpdate(Strict):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    grade: str | None = Field(default=None, min_length=1, max_length=16)


class PositionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    code: str
    title: str
    grade: str


class EmployeeCreate(Strict):
    tenant_id: int = Field(gt=0)
    employee_no: str = Code
    name: str = Field(min_length=1, max_length=100)
    org_unit_id: int | None = Field(default=None, gt=0)
    position_id: int | None = Field(default=None, gt=0)
    manager_id: int | None = Field(default=None, gt=0)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=32, pattern=r"^\+?[0-9 -]{5,20}$")
    hire_date: date

    @field_validator("hire_date")
    @classmethod
    def _plausible(cls, v: date) -> date:
        if not date(1950, 1, 1) <= v <= date.today().replace(year=date.today().year + 1):
            raise ValueError("hire_date must be between 1950-01-01 and one year from today")
        return v


class EmployeeUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    position_id: int | None = Field(default=None, gt=0)
    manager_id: int | None = Field(default=None, gt=0)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=32, pattern=r"^\+?[0-9 -]{5,20}$")


class EmployeeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    employee_no: str
    name: str
    org_unit_id: int | None
    position_id: int | None
    manager_id: int | None
    email: str | None
    phone: str | None
    hire_date: date
    status: EmploymentStatus
    left_date: date | None
    tenure_days: int


class TransitionCreate(Strict):
    to_status: EmploymentStatus
    effective_date: date
    to_org_unit_id: int | None = Field(default=None, gt=0)
    note: str | None = Field(default=None, max_length=500)


class EmploymentEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    employee_id: int
    from_status: str | None
    to_status: str
    effective_date: date
    from_org_unit_id: int | None
    to_org_unit_id: int | None
    note: str | None
    created_at: datetime


class OrgChartNode(BaseModel):
    type: str  # tenant | unit
    id: int
    name: str
    kind: str
    headcount: int
    lead: str | None = None
    children: list[OrgChartNode] = []


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
