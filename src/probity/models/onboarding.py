"""Onboarding: checklists per position, the integrity pledge and its signatures, probation."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from probity.models.base import Base, IdMixin, TimestampMixin, UTCDateTime

CHECKLIST_CATEGORIES = ("documents", "account", "equipment", "training")


class ChecklistItem(IdMixin, TimestampMixin, Base):
    """One line of a position's onboarding checklist (position_id NULL: the tenant's default)."""

    __tablename__ = "onboarding_checklist_items"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    position_id: Mapped[int | None] = mapped_column(ForeignKey("positions.id"), index=True)
    category: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    sort: Mapped[int] = mapped_column(default=0)


class Onboarding(IdMixin, TimestampMixin, Base):
    """One new hire's onboarding: probation end date, reminder and completion."""

    __tablename__ = "onboardings"

    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    candidate_id: Mapped[int | None] = mapped_column(ForeignKey("candidates.id"))
    probation_end: Mapped[date] = mapped_column(Date, index=True)
    probation_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OnboardingTask(IdMixin, TimestampMixin, Base):
    """A checklist line copied onto one new hire (the template may change later)."""

    __tablename__ = "onboarding_tasks"

    onboarding_id: Mapped[int] = mapped_column(ForeignKey("onboardings.id"), index=True)
    category: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    sort: Mapped[int] = mapped_column(default=0)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PledgeVersion(IdMixin, TimestampMixin, Base):
    """A version of a tenant's integrity pledge (廉洁承诺书). Append-only; a new version asks
    everyone to sign again."""

    __tablename__ = "pledge_versions"
    __table_args__ = (UniqueConstraint("tenant_id", "version"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    published_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PledgeSignature(IdMixin, TimestampMixin, Base):
    """An employee's electronic signature of one pledge version: the typed name, the time and
    the SHA-256 of the exact text they saw, with the ledger entry that records it. Append-only."""

    __tablename__ = "pledge_signatures"
    __table_args__ = (UniqueConstraint("employee_id", "pledge_version_id"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    pledge_version_id: Mapped[int] = mapped_column(ForeignKey("pledge_versions.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    typed_name: Mapped[str] = mapped_column(String(100))
    text_sha256: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ledger_seq: Mapped[int]
    ip: Mapped[str | None] = mapped_column(String(64))
