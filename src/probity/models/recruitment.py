"""Recruitment: requisitions per position, candidates through a pipeline, interview feedback."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from probity.models.base import Base, IdMixin, TimestampMixin, UTCDateTime


class RequisitionStatus(enum.StrEnum):
    open = "open"
    filled = "filled"
    closed = "closed"


class Requisition(IdMixin, TimestampMixin, Base):
    """A request to hire `headcount` people into one position (optionally one team)."""

    __tablename__ = "requisitions"
    __table_args__ = (Index("ix_requisitions_tenant_status", "tenant_id", "status"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    position_id: Mapped[int] = mapped_column(ForeignKey("positions.id"))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    headcount: Mapped[int] = mapped_column(default=1)
    hired: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[RequisitionStatus] = mapped_column(
        Enum(RequisitionStatus, native_enum=False, length=16), default=RequisitionStatus.open)
    opened_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CandidateStage(enum.StrEnum):
    applied = "applied"
    screening = "screening"
    interview = "interview"
    offer = "offer"
    hired = "hired"
    rejected = "rejected"


class Candidate(IdMixin, TimestampMixin, Base):
    """One application to one requisition. `phone_key`/`email_key` are normalised for the
    duplicate check (the same person applying twice, or already known under another name)."""

    __tablename__ = "candidates"
    __table_args__ = (
        Index("ix_candidates_tenant_phone", "tenant_id", "phone_key"),
        Index("ix_candidates_tenant_email", "tenant_id", "email_key"),
    )

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    requisition_id: Mapped[int] = mapped_column(ForeignKey("requisitions.id"), index=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(200))
    phone_key: Mapped[str | None] = mapped_column(String(32))
    email_key: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(64), default="")
    stage: Mapped[CandidateStage] = mapped_column(
        Enum(CandidateStage, native_enum=False, length=16), default=CandidateStage.applied)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("candidates.id"))
    resume_sha256: Mapped[str | None] = mapped_column(String(64))
    resume_name: Mapped[str | None] = mapped_column(String(200))
    resume_mime: Mapped[str | None] = mapped_column(String(100))
    resume_size: Mapped[int | None]
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CandidateEvent(IdMixin, TimestampMixin, Base):
    """One stage change of a candidate. Append-only."""

    __tablename__ = "candidate_events"

    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(1000), default="")
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class InterviewFeedback(IdMixin, TimestampMixin, Base):
    """An interviewer's rating and recommendation. Append-only: a second opinion is a new row."""

    __tablename__ = "interview_feedback"

    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    interviewer_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    interviewer_name: Mapped[str] = mapped_column(String(100))
    round: Mapped[int] = mapped_column(default=1)
    rating: Mapped[int]
    recommendation: Mapped[str] = mapped_column(String(16))
    notes: Mapped[str] = mapped_column(Text, default="")
