"""Create / Read schemas for shifts and attendance."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from probity.models.attendance import LeaveType, RequestStatus


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TemplateCreate(Strict):
    tenant_id: int = Field(gt=0)
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=100)
    start_time: time
    end_time: time
    break_minutes: int = Field(default=0, ge=0, le=240)

    @model_validator(mode="after")
    def _length(self) -> TemplateCreate:
        if self.start_time == self.end_time:
            raise ValueError("a shift cannot start and end at the same time")
        return self


class TemplateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    code: str
    name: str
    start_time: time
    end_time: time
    break_minutes: int


class RotaEntry(Strict):
    employee_id: int = Field(gt=0)
    day: date
    template_id: int = Field(gt=0)


class RotaWeek(Strict):
    """A team's week: every entry is checked (team, week, template, overlaps) before any is
    written; one bad entry refuses the whole week."""

    org_unit_id: int = Field(gt=0)
    week_start: date
    entries: list[RotaEntry] = Field(min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _monday(self) -> RotaWeek:
        if self.week_start.weekday() != 0:
            raise ValueError("week_start must be a Monday")
        return self


class AssignmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    org_unit_id: int
    employee_id: int
    template_id: int
    day: date
    starts_at: datetime
    ends_at: datetime


class SwapCreate(Strict):
    assignment_id: int = Field(gt=0)
    target_employee_id: int = Field(gt=0)
    target_assignment_id: int | None = Field(default=None, gt=0)
    reason: str = Field(default="", max_length=500)


class SwapRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    org_unit_id: int
    requester_id: int
    assignment_id: int
    target_employee_id: int
    target_assignment_id: int | None
    reason: str
    status: RequestStatus
    created_at: datetime


class Decision(Strict):
    approve: bool
    note: str = Field(default="", max_length=500)


class ClockIn(Strict):
    kind: Literal["in", "out"]
    source: Literal["web", "phone"] = "web"


class PunchRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    employee_id: int
    assignment_id: int | None
    kind: str
    at: datetime
    source: str


class ExceptionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    employee_id: int
    org_unit_id: int | None
    assignment_id: int | None
    kind: str
    day: date
    minutes: int
    created_at: datetime


class ClockResult(BaseModel):
    punch: PunchRead
    exceptions: list[ExceptionRead]


class BalanceSet(Strict):
    employee_id: int = Field(gt=0)
    leave_type: LeaveType
    year: int = Field(ge=2000, le=2100)
    entitled_days: Decimal = Field(ge=0, le=365, decimal_places=1)


class BalanceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    employee_id: int
    leave_type: LeaveType
    year: int
    entitled_days: Decimal
    used_days: Decimal
    pending_days: Decimal = Decimal(0)
    available_days: Decimal = Decimal(0)


class LeaveCreate(Strict):
    leave_type: LeaveType
    start_date: date
    end_date: date
    reason: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _order(self) -> LeaveCreate:
        if self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        if self.start_date.year != self.end_date.year:
            raise ValueError("a leave request stays within one calendar year")
        if (self.end_date - self.start_date).days > 90:
            raise ValueError("a leave request covers at most 91 days")
        return self


class LeaveRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    employee_id: int
    leave_type: LeaveType
    start_date: date
    end_date: date
    days: Decimal
    reason: str
    status: RequestStatus
    created_at: datetime


class OvertimeCreate(Strict):
    day: date
    minutes: int = Field(ge=15, le=720)
    reason: str = Field(min_length=1, max_length=500)


class OvertimeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    employee_id: int
    day: date
    minutes: int
    reason: str
    status: RequestStatus
    created_at: datetime


class OnShiftRow(BaseModel):
    employee_id: int
    employee_no: str
    name: str
    org_unit_id: int
    assignment_id: int
    starts_at: datetime
    ends_at: datetime
    clocked_in: bool


class OnShiftRead(BaseModel):
    at: datetime
    tenant_id: int | None
    org_unit_id: int | None
    on_shift: list[OnShiftRow]
    # For an alert: the agent it is about, and whether they were on the rota at that moment.
    agent_employee_id: int | None = None
    agent_on_shift: bool | None = None
