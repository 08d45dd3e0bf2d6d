"""Group standards: versioned settings sections per tenant. Append-only: a change is a version."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from probity.models.base import Base, IdMixin, TimestampMixin


class SettingsVersion(IdMixin, TimestampMixin, Base):
    """One version of what a tenant itself sets in one settings section: its own values (the
    fields it overrides; everything else is inherited) and the fields it locks for every tenant
    below it. Each version is a full snapshot, so a rollback copies an older one forward."""

    __tablename__ = "settings_versions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "section", "version"),
        Index("ix_settings_versions_section_tenant", "section", "tenant_id"),
    )

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    section: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column()
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    locks: Mapped[list[str]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(500))
    rollback_of: Mapped[int | None] = mapped_column()  # the version copied forward, if any
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_name: Mapped[str | None] = mapped_column(String(100))
