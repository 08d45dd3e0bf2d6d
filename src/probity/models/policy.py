"""Screening policy versions per tenant. Append-only: a change is a new version."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from probity.models.base import Base, IdMixin, TimestampMixin


class TenantPolicy(IdMixin, TimestampMixin, Base):
    """One version of a tenant's screening overlay (terms, allow-lists, thresholds, actions),
    applied on top of the built-in policy and every ancestor's overlay."""

    __tablename__ = "tenant_policies"
    __table_args__ = (UniqueConstraint("tenant_id", "version"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    version: Mapped[int] = mapped_column()
    overlay: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(String(500))
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
