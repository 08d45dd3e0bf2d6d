"""Create / Read schemas for onboarding and the integrity pledge."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Category = Literal["documents", "account", "equipment", "training"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ChecklistItemIn(Strict):
    category: Category
    title: str = Field(min_length=1, max_length=200)


class ChecklistSet(Strict):
    tenant_id: int = Field(gt=0)
    position_id: int | None = Field(default=None, gt=0)
    items: list[ChecklistItemIn] = Field(min_length=1, max_length=100)


class ChecklistItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    position_id: int | None
    category: str
    title: str
    sort: int


class TaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    category: str
    title: str
    done_at: datetime | None


class OnboardingRead(BaseModel):
    id: int
    employee_id: int
    employee_name: str
    tenant_id: int
    probation_end: date
    completed_at: datetime | None
    tasks: list[TaskRead]
    pledge_signed: bool


class PledgePublish(Strict):
    tenant_id: int = Field(gt=0)
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=20, max_length=20000)


class PledgeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    version: int
    title: str
    text: str
    text_sha256: str
    created_at: datetime


class PledgeSign(Strict):
    pledge_version_id: int = Field(gt=0)
    typed_name: str = Field(min_length=1, max_length=100)
    # SHA-256 (hex) of the exact text shown to the signer, computed by the page.
    text_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class SignatureRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    employee_id: int
    pledge_version_id: int
    typed_name: str
    text_sha256: str
    signed_at: datetime
    ledger_seq: int


class PledgeStatusRow(BaseModel):
    employee_id: int
    employee_no: str
    name: str
    signed_version: int | None
    signed_at: datetime | None
    current: bool


class CompleteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effective_date: date
