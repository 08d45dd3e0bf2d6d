from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


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
