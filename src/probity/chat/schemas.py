from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ConversationStart(BaseModel):
    """Signed-in customers send nothing (or an order number); guests send both fields."""

    order_no: str | None = Field(default=None, max_length=40)
    phone_last4: str | None = Field(default=None, pattern=r"^\d{4}$")
    team_id: int | None = None


class ConversationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    tenant_id: int
    org_unit_id: int
    customer_id: int
    order_id: int | None
    agent_user_id: int | None
    status: str
    last_seq: int
    customer_delivered_seq: int
    customer_read_seq: int
    agent_delivered_seq: int
    agent_read_seq: int
    created_at: datetime
    assigned_at: datetime | None
    closed_at: datetime | None
    csat_score: int | None


class ConversationStarted(BaseModel):
    conversation: ConversationRead
    # Only for guests: present it as X-Chat-Token (HTTP) or ?token= (WebSocket).
    token: str | None = None
    queue_position: int = 0


class MessageCreate(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    client_id: str | None = Field(default=None, max_length=64)


class CsatCreate(BaseModel):
    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=500)


class Availability(BaseModel):
    available: bool


class ReassignCreate(BaseModel):
    to_user_id: int
    reason: str | None = Field(default=None, max_length=500)


class TransferRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    conversation_id: int
    from_user_id: int | None
    to_user_id: int | None
    kind: str
    actor_user_id: int | None
    reason: str | None
    created_at: datetime
