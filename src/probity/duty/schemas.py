"""Schemas of the HR duty API."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from probity.attendance.schemas import OnShiftRead
from probity.bounds import DbId


class DutyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: DbId
    employee_id: DbId
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    note: str = Field("", max_length=200)
    repeat_weeks: int = Field(1, ge=1, le=26)


class DutyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    tenant_id: int
    employee_id: int
    starts_at: datetime
    ends_at: datetime
    note: str


class DutyRow(DutyRead):
    employee_name: str
    employee_no: str


class OnDutyRow(BaseModel):
    employee_id: int
    employee_no: str
    name: str
    user_id: int | None
    roster_tenant_id: int
    starts_at: datetime
    ends_at: datetime


class OnDutyRead(BaseModel):
    at: datetime
    tenant_id: int
    on_duty: list[OnDutyRow]


class GapRead(BaseModel):
    label: str
    source: str
    starts_at: datetime
    ends_at: datetime
    uncovered: list[tuple[datetime, datetime]]


class AlertPeopleRead(BaseModel):
    """Who was on shift in the alert's team and who was on HR duty when it was raised."""

    alert_id: int
    at: datetime
    tenant_id: int
    on_duty: list[OnDutyRow]
    on_shift: OnShiftRead | None
