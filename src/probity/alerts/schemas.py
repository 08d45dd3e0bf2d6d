from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class AlertRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    tenant_id: int
    org_unit_id: int | None
    conversation_id: int | None
    message_id: int | None
    sender_role: str
    sender_user_id: int | None
    agent_employee_id: int | None
    decision: str
    category: str
    categories: list[str]
    severity: int
    snippet: str
    spans: list[dict[str, Any]]
    created_at: datetime
    # screening | finance | customer_report | self_report; finance alerts name their rule and
    # evidence (payments, refunds, orders they reference).
    source: str = "screening"
    rule: str | None = None
    customer_id: int | None = None
    evidence: dict[str, Any] | None = None
    # Who did it: the subject (customer | agent) and the agent's part (initiator | recipient |
    # refuser); see docs/SCREENING.md.
    subject: str = "agent"
    agent_part: str | None = None


class AlertVerdict(BaseModel):
    verdict: Literal["confirmed", "false_positive"]
    note: str | None = Field(default=None, max_length=500)


class MissedReport(BaseModel):
    categories: list[Literal["contact", "bribe", "payment"]] = Field(min_length=1)
    note: str | None = Field(default=None, max_length=500)


class LabelRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    tenant_id: int
    message_id: int
    alert_id: int | None
    verdict: str
    categories: list[str]
    policy_version: int
    reviewer_user_id: int | None
    note: str | None
    created_at: datetime
