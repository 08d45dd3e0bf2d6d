"""Webhook API schemas (separate create / update / read; the secret only where asked for)."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenant_id: int = Field(gt=0, le=2**31 - 1)
    url: str = Field(min_length=1, max_length=2000)
    events: list[str] = Field(min_length=1, max_length=50)
    description: str = Field(default="", max_length=200)


class EndpointUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(default=None, min_length=1, max_length=2000)
    events: list[str] | None = Field(default=None, min_length=1, max_length=50)
    description: str | None = Field(default=None, max_length=200)
    active: bool | None = None


class EndpointRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    url: str
    description: str
    events: list[str]
    active: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    consecutive_failures: int
    created_at: datetime
    updated_at: datetime


class EndpointSecret(BaseModel):
    """The signing secret (``whsec_…``): verify deliveries with it (Standard Webhooks)."""

    endpoint_id: int
    secret: str
    previous_secret_valid_until: datetime | None = None


class EndpointCreated(EndpointRead):
    secret: str = Field(description="The signing secret (whsec_…); also at GET …/secret.")


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    endpoint_id: int
    event_tenant_id: int
    msg_id: str
    event_type: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None
    replay_of_id: int | None
    created_at: datetime


class AttemptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    attempt: int
    status_code: int | None
    error: str | None
    response_excerpt: str | None
    duration_ms: int
    created_at: datetime


class DeliveryDetail(DeliveryRead):
    body: str
    attempts_log: list[AttemptRead]


class ReplayFailed(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: AwareDatetime = Field(description="Replay failed or skipped deliveries created since "
                                        "this time (with a time zone)")


class ReplayResult(BaseModel):
    replayed: int
    delivery_ids: list[int]


class EventType(BaseModel):
    type: str
    description: str
