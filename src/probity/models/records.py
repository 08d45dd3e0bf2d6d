"""Records management: the access log, retention rules, legal holds, ledger verification runs.

``access_entries`` is append-only (database triggers refuse UPDATE and DELETE): every read of a
conversation (and later a case or an evidence pack) by anyone but its participants.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from probity.models.base import Base, IdMixin, TimestampMixin, UTCDateTime


class AccessEntry(IdMixin, TimestampMixin, Base):
    __tablename__ = "access_entries"
    __table_args__ = (
        Index("ix_access_tenant_created", "tenant_id", "created_at"),
        Index("ix_access_target", "target_type", "target_id"),
    )

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor_name: Mapped[str] = mapped_column(String(100))
    actor_roles: Mapped[str] = mapped_column(String(200))  # comma-separated, at read time
    action: Mapped[str] = mapped_column(String(32))  # read | export
    target_type: Mapped[str] = mapped_column(String(32))  # conversation | case | evidence_pack
    target_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(500))
    ip: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))


class RetentionRule(IdMixin, TimestampMixin, Base):
    """How long a tenant keeps the personal content of one record type (a ledger entry type)."""

    __tablename__ = "retention_rules"
    __table_args__ = (UniqueConstraint("tenant_id", "record_type",
                                       name="uq_retention_rules_tenant_type"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    record_type: Mapped[str] = mapped_column(String(64))  # e.g. chat.message
    days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class LegalHold(IdMixin, TimestampMixin, Base):
    """Nothing about the subject may be purged while the hold is active (released_at NULL)."""

    __tablename__ = "legal_holds"
    __table_args__ = (Index("ix_legal_holds_subject", "tenant_id", "subject_type", "subject_id"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    subject_type: Mapped[str] = mapped_column(String(32))  # customer|employee|conversation|case
    subject_id: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500))
    set_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    release_reason: Mapped[str | None] = mapped_column(String(500))


class LedgerVerification(IdMixin, Base):
    """One run of the full verification of a tenant's ledger (from the page, the API or cron)."""

    __tablename__ = "ledger_verifications"
    __table_args__ = (Index("ix_ledger_verifications_tenant", "tenant_id", "started_at"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    started_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    total_entries: Mapped[int] = mapped_column(Integer, default=0)
    ok: Mapped[bool | None] = mapped_column(Boolean)
    entries_checked: Mapped[int] = mapped_column(Integer, default=0)
    first_bad_seq: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text, default="")
