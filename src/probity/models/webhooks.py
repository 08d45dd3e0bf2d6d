"""Signed integrations: outbound webhooks (endpoints, deliveries, the attempt log) and the
HMAC-signed inbound finance feed (per-tenant secrets, received ids for replay protection)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from probity.models.base import Base, IdMixin, UTCDateTime, utcnow

DELIVERY_STATES = ("pending", "retrying", "delivered", "failed", "skipped")


class WebhookEndpoint(IdMixin, Base):
    """A tenant's subscription: a URL and the events it wants (for the tenant's subtree)."""

    __tablename__ = "webhook_endpoints"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Standard Webhooks secret "whsec_<base64>"; the previous one keeps signing (a second
    # signature) until previous_secret_expires_at, so receivers can roll over.
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(40))
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(IdMixin, Base):
    """One event for one endpoint: the exact body signed and sent (the same bytes on every
    attempt), its state and the next retry. A replay is a new delivery of the same message
    (same ``msg_id``, so receivers dedupe it)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
    )

    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    event_tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    msg_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(60))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replay_of_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_deliveries.id"))
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookAttempt(IdMixin, Base):
    """The delivery log: one row per HTTP attempt (append-only)."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "attempt"),)

    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(300))
    response_excerpt: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeedSecret(IdMixin, Base):
    """The HMAC secret of a tenant's signed finance feed (one active per tenant)."""

    __tablename__ = "finance_feed_secrets"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), unique=True)
    secret: Mapped[str] = mapped_column(String(100))
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeedReceipt(IdMixin, Base):
    """A signed feed message seen (its id): the same id again is refused as a replay."""

    __tablename__ = "finance_feed_receipts"
    __table_args__ = (UniqueConstraint("tenant_id", "message_id",
                                       name="uq_finance_feed_receipts_message"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    message_id: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
