"""Request and response schemas of the notify API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class RuleCreate(BaseModel):
    tenant_id: int
    channel: str = Field(pattern="^(in_app|email|wecom|dingtalk|feishu)$")
    role: str | None = Field(default=None, max_length=16)
    min_severity: int = Field(default=1, ge=1, le=4)
    events: str = Field(default="case.opened", max_length=200)
    target: str | None = Field(default=None, max_length=500)
    secret: str | None = Field(default=None, max_length=200)


class RuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    tenant_id: int
    channel: str
    role: str | None
    min_severity: int
    events: str
    target: str | None
    active: bool
    has_secret: bool = False


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: int | None
    event: str
    title: str
    body: str
    read_at: datetime | None
    created_at: datetime
