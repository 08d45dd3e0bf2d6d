"""The official chat channel: conversations, messages (append-only), transfers, agent presence.

Messages are never edited or deleted. The database refuses UPDATE and DELETE on `messages`
with one exception: `recalled_at` may be set once, from NULL, with every other column unchanged
(see migration 0002). Transfers are append-only.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from probity.models.base import Base, IdMixin, TimestampMixin, UTCDateTime


class ConversationStatus(enum.StrEnum):
    waiting = "waiting"
    active = "active"
    closed = "closed"


class Conversation(IdMixin, TimestampMixin, Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_agent_status", "agent_user_id", "status"),
        Index("ix_conversations_team_status", "org_unit_id", "status"),
    )

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    # The team the conversation is routed to.
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    # Set when the customer is signed in; guests identify with order no. + phone last four.
    customer_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    # SHA-256 of the guest access token (the token itself is only ever given to the guest).
    guest_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    agent_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    agent_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), index=True)
    status: Mapped[ConversationStatus] = mapped_column(
        Enum(ConversationStatus, native_enum=False, length=16), default=ConversationStatus.waiting)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    # Delivery and read state, per side: the highest seq the side's client confirmed.
    customer_delivered_seq: Mapped[int] = mapped_column(Integer, default=0)
    customer_read_seq: Mapped[int] = mapped_column(Integer, default=0)
    agent_delivered_seq: Mapped[int] = mapped_column(Integer, default=0)
    agent_read_seq: Mapped[int] = mapped_column(Integer, default=0)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    csat_score: Mapped[int | None] = mapped_column(Integer)
    csat_comment: Mapped[str | None] = mapped_column(String(500))


class MessageKind(enum.StrEnum):
    text = "text"
    image = "image"
    voice = "voice"
    system = "system"


class Message(IdMixin, TimestampMixin, Base):
    """One message with its screening decision. Blocked messages are stored too (evidence)."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("conversation_id", "sender_role", "client_id",
                         name="uq_messages_client_id"),
    )

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    # customer | agent | system
    sender_role: Mapped[str] = mapped_column(String(16))
    sender_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Not indexed (migration 0037): no query reads messages by sender employee, and every
    # message would pay the B-tree insert (issue 17: the chat writer's pages per commit).
    sender_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    # The client's idempotency key: a resend after a reconnect returns the stored message.
    client_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[MessageKind] = mapped_column(Enum(MessageKind, native_enum=False, length=16))
    body: Mapped[str] = mapped_column(Text, default="")
    attachment_sha256: Mapped[str | None] = mapped_column(String(64))
    attachment_mime: Mapped[str | None] = mapped_column(String(64))
    attachment_size: Mapped[int | None] = mapped_column(Integer)
    # Screening: allow | warn | block; "screened" or "unscreened" (voice without speech-to-text).
    decision: Mapped[str] = mapped_column(String(8))
    screening_status: Mapped[str] = mapped_column(String(16), default="screened")
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    severity: Mapped[int] = mapped_column(Integer, default=0)
    spans: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    policy_version: Mapped[int] = mapped_column(Integer, default=0)
    recalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Transfer(IdMixin, TimestampMixin, Base):
    """An assignment or reassignment of a conversation. Append-only."""

    __tablename__ = "conversation_transfers"

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    from_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    to_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # route (automatic) | queue (from the waiting queue) | reassign (a team lead)
    kind: Mapped[str] = mapped_column(String(16))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(String(500))


class AgentStatus(Base):
    """Whether an agent takes new conversations (set from the workspace)."""

    __tablename__ = "agent_status"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    available: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
