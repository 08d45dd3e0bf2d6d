"""Group standards: versioned settings sections per tenant. Append-only: a change is a version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from probity.models.base import Base, IdMixin, TimestampMixin, UTCDateTime


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


class PolicyReplay(IdMixin, TimestampMixin, Base):
    """A run of a screening policy over stored messages: a *replay* of a candidate overlay
    before it is published (nothing written but this row), or a *retro* screening of a date
    range with the published policy (new flags raise retrospective alerts). Progress and the
    result are kept here; the row changes while the run goes on."""

    __tablename__ = "policy_replays"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # replay | retro
    overlay: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the candidate (replay)
    overlay_sha256: Mapped[str | None] = mapped_column(String(64))
    base_key: Mapped[list[int]] = mapped_column(JSON)  # the tenant's policy chain at start
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default="queued")  # running | done | failed
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    samples: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(500))
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
