"""Create / Read schemas for recruitment."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from probity.models.recruitment import CandidateStage, RequisitionStatus


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RequisitionCreate(Strict):
    tenant_id: int = Field(gt=0)
    position_id: int = Field(gt=0)
    org_unit_id: int | None = Field(default=None, gt=0)
    title: str = Field(min_length=1, max_length=200)
    headcount: int = Field(default=1, ge=1, le=500)
    reason: str = Field(default="", max_length=500)


class RequisitionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    position_id: int
    org_unit_id: int | None
    title: str
    headcount: int
    hired: int
    reason: str
    status: RequisitionStatus
    created_at: datetime


class CandidateCreate(Strict):
    requisition_id: int = Field(gt=0)
    name: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=32, pattern=r"^\+?[0-9 -]{5,20}$")
    email: EmailStr | None = None
    source: str = Field(default="", max_length=64)

    @model_validator(mode="after")
    def _contact(self) -> CandidateCreate:
        if not self.phone and not self.email:
            raise ValueError("a candidate needs a phone number or an e-mail address")
        return self


class DuplicateRead(BaseModel):
    kind: Literal["candidate", "employee"]
    id: int
    name: str
    match: Literal["phone", "email"]
    requisition_id: int | None = None
    stage: str | None = None


class CandidateRead(BaseModel):
    id: int
    tenant_id: int
    requisition_id: int
    name: str
    phone: str | None
    email: str | None
    source: str
    stage: CandidateStage
    duplicate_of_id: int | None
    duplicates: list[DuplicateRead] = []
    resume_sha256: str | None
    resume_name: str | None
    employee_id: int | None
    created_at: datetime


class StageChange(Strict):
    to_stage: Literal["screening", "interview", "offer", "rejected"]
    note: str = Field(default="", max_length=1000)


class FeedbackCreate(Strict):
    round: int = Field(default=1, ge=1, le=10)
    rating: int = Field(ge=1, le=5)
    recommendation: Literal["hire", "hold", "no_hire"]
    notes: str = Field(default="", max_length=4000)


class FeedbackRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    candidate_id: int
    interviewer_name: str
    round: int
    rating: int
    recommendation: str
    notes: str
    created_at: datetime


class CandidateEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    from_stage: str | None
    to_stage: str
    note: str
    created_at: datetime


class HireRequest(Strict):
    """What hiring needs beyond the candidate (name, contacts, position and team come from the
    candidate and the requisition: nothing is retyped)."""

    employee_no: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    hire_date: date
    probation_months: int = Field(default=3, ge=0, le=6)
    manager_id: int | None = Field(default=None, gt=0)
