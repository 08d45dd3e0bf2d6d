"""Compliance training: courses (Markdown, attachments, a quiz with a pass mark), assignments
with due dates, quiz attempts, and case studies made from closed cases."""

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


class CourseStatus(enum.StrEnum):
    draft = "draft"
    published = "published"
    retired = "retired"


class Course(IdMixin, TimestampMixin, Base):
    """A course of a tenant, for its whole subtree (HQ's covers the group). `mandatory`
    courses gate chat availability (when the tenant's training standard says so) and complete
    the onboarding checklist's training item."""

    __tablename__ = "training_courses"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body_md: Mapped[str] = mapped_column(Text, default="")
    pass_mark: Mapped[int] = mapped_column(Integer, default=80)  # percent
    mandatory: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[CourseStatus] = mapped_column(
        Enum(CourseStatus, native_enum=False, length=16), default=CourseStatus.draft)
    due_days: Mapped[int] = mapped_column(Integer, default=14)
    # Automatic assignment rules: new hires (within the standard's window), agents with a
    # substantiated case since their last pass.
    auto_new_hires: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_substantiated: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CourseAttachment(IdMixin, TimestampMixin, Base):
    """A file of a course, stored by content address (SHA-256) like résumés."""

    __tablename__ = "training_attachments"

    course_id: Mapped[int] = mapped_column(ForeignKey("training_courses.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    mime: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)


class QuizQuestion(IdMixin, TimestampMixin, Base):
    """One question: options and the indexes of the correct ones (at least one)."""

    __tablename__ = "training_questions"

    course_id: Mapped[int] = mapped_column(ForeignKey("training_courses.id"), index=True)
    sort: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(String(1000))
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    correct: Mapped[list[int]] = mapped_column(JSON, default=list)


class Assignment(IdMixin, TimestampMixin, Base):
    """A course assigned to one employee: why, by when, and how it went."""

    __tablename__ = "training_assignments"
    __table_args__ = (UniqueConstraint("course_id", "employee_id"),
                      Index("ix_training_assignments_due", "completed_at", "due_at"))

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("training_courses.id"), index=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    # manual | new_hire | cohort | substantiated_case
    reason: Mapped[str] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(200), default="")
    assigned_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # passed
    best_score: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class QuizAttempt(IdMixin, TimestampMixin, Base):
    """One submitted quiz: the answers, the score (percent) and whether it passed.
    Append-only."""

    __tablename__ = "training_attempts"

    assignment_id: Mapped[int] = mapped_column(ForeignKey("training_assignments.id"),
                                               index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("training_courses.id"), index=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    score: Mapped[int] = mapped_column(Integer)
    passed: Mapped[bool] = mapped_column(Boolean)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CaseStudyStatus(enum.StrEnum):
    draft = "draft"
    published = "published"
    rejected = "rejected"


class CaseStudy(IdMixin, TimestampMixin, Base):
    """A closed case retold without personal data, for HR to review and publish."""

    __tablename__ = "training_case_studies"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body_md: Mapped[str] = mapped_column(Text)
    status: Mapped[CaseStudyStatus] = mapped_column(
        Enum(CaseStudyStatus, native_enum=False, length=16), default=CaseStudyStatus.draft)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
