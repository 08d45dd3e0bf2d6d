from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CaseCreate(BaseModel):
    """Open a case by hand around alerts that are in no case yet."""

    alert_ids: list[int] = Field(min_length=1, max_length=100)
    title: str | None = Field(default=None, max_length=200)


class CaseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    tenant_id: int
    org_unit_id: int | None
    agent_employee_id: int | None
    customer_id: int | None
    title: str
    status: str
    severity: int
    assignee_user_id: int | None
    decision: str | None
    penalty: str | None
    penalty_proposed_by_user_id: int | None
    penalty_approved_by_user_id: int | None
    decided_by_user_id: int | None
    appeal_count: int
    created_at: datetime
    last_alert_at: datetime
    triage_due_at: datetime
    decision_due_at: datetime
    triaged_at: datetime | None
    decided_at: datetime | None
    closed_at: datetime | None
    sla: dict[str, Any] = {}


class TransitionIn(BaseModel):
    to: str = Field(max_length=20)
    reason: str | None = Field(default=None, max_length=1000)
    penalty: str | None = Field(default=None, max_length=500)


class AssignIn(BaseModel):
    user_id: int | None


class SeverityIn(BaseModel):
    severity: int = Field(ge=1, le=4)


class NoteCreate(BaseModel):
    body: str = Field(min_length=1, max_length=10000)


class NoteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: int
    author_user_id: int | None
    body: str
    created_at: datetime


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    from_status: str | None
    to_status: str | None
    actor_user_id: int | None
    detail: dict[str, Any]
    created_at: datetime


class CaseAlertRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    source: str
    rule: str | None
    category: str
    severity: int
    snippet: str
    conversation_id: int | None
    customer_id: int | None
    agent_employee_id: int | None
    evidence: dict[str, Any] | None
    created_at: datetime


class ReportCreate(BaseModel):
    """A customer complaint/report or an agent's self-report, recorded by compliance."""

    tenant_id: int
    source: str = Field(pattern="^(customer_report|self_report)$")
    text: str = Field(min_length=1, max_length=5000)
    agent_employee_id: int | None = None
    customer_id: int | None = None
    severity: int | None = Field(default=None, ge=1, le=4)


class ReportResult(BaseModel):
    alert_id: int
    case_id: int | None


class GroupResult(BaseModel):
    cases: list[int]


class SettingsUpdate(BaseModel):
    """A change to the tenant's `cases` group standard; values and their bounds are checked by
    governance (`CaseStandardSettings`), which answers 422 naming the field."""

    tenant_id: int
    group_by: str | None = Field(default=None, max_length=32)
    window_hours: int | None = None
    triage_hours: int | None = None
    decision_working_days: int | None = None
    reason: str | None = Field(default=None, max_length=500)


class SettingsRead(BaseModel):
    tenant_id: int
    group_by: str
    window_hours: int
    triage_hours: int
    decision_working_days: int


class TimelineItem(BaseModel):
    at: datetime
    kind: str
    id: int
    title: str
    text: str = ""
    data: dict[str, Any] = {}


class OwnReport(BaseModel):
    text: str = Field(min_length=1, max_length=5000)
    conversation_id: int | None = None


class AppealIn(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)
