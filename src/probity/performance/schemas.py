"""Request and response schemas of the performance API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class CycleCreate(BaseModel):
    tenant_id: int
    period: Literal["monthly", "quarterly"]
    starts_on: date
    name: str | None = Field(default=None, max_length=100)


class CycleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    tenant_id: int
    name: str
    period: str
    starts_on: date
    ends_on: date
    starts_at: datetime
    ends_at: datetime
    status: str
    reviewed_by_user_id: int | None
    reviewed_at: datetime | None
    signed_off_by_user_id: int | None
    closed_at: datetime | None
    scores_digest: str | None
    ledger_seq: int | None
    employees: int


class Indicator(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    weight: int


class TemplateSave(BaseModel):
    tenant_id: int
    position_id: int | None = None
    name: str = Field(min_length=1, max_length=100)
    indicators: list[Indicator] = Field(min_length=1, max_length=20)


class TemplateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    tenant_id: int
    position_id: int | None
    name: str
    indicators: list[dict[str, Any]]


class PenaltyRule(BaseModel):
    violation_type: str = Field(max_length=16)
    severity: int | None = None
    points: int
    measures: list[str] = Field(default_factory=list, max_length=5)


class PenaltySave(BaseModel):
    tenant_id: int
    rules: list[PenaltyRule] = Field(max_length=50)


class ManualScoreIn(BaseModel):
    employee_id: int
    indicator: str = Field(min_length=3, max_length=40)
    score: int
    comment: str = Field(min_length=1, max_length=500)


class PromotionDecisionIn(BaseModel):
    decision: Literal["promote", "defer", "decline"]
    note: str = Field(default="", max_length=1000)
