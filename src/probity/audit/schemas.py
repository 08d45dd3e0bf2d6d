"""Request and response schemas of the audit API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class AuditRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    created_at: datetime
    tenant_id: int | None
    actor_user_id: int | None
    actor_name: str | None
    action: str
    target_type: str
    target_id: str | None
    before: dict[str, object] | None
    after: dict[str, object] | None
    ip: str | None
    request_id: str | None
