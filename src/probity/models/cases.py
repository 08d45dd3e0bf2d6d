"""Cases: alerts grouped around one agent and one customer, worked through to a decision.

`case_events` (every transition, assignment, alert added) and `case_notes` are append-only:
the database refuses UPDATE and DELETE on them (migration 0005).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from probity.models.base import Base, IdMixin, TimestampMixin, UTCDateTime


class CaseStatus(enum.StrEnum):
    new = "new"
    triage = "triage"
    investigating = "investigating"
    substantiated = "substantiated"
    unsubstantiated = "unsubstantiated"
    false_positive = "false_positive"
    penalty_proposed = "penalty_proposed"
    penalty_approved = "penalty_approved"
    closed = "closed"
    appealed = "appealed"


class Case(IdMixin, TimestampMixin, Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_group", "tenant_id", "agent_employee_id", "customer_id", "status"),
    )

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    # The agent's team: team-scoped roles see the cases of their team.
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    agent_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    # Who the case is about (migration 0009): agent | customer. A customer's case names the
    # agent only as the recipient (or refuser) of the attempt: it never counts against them.
    subject: Mapped[str] = mapped_column(String(16), default="agent", server_default="agent")
    agent_part: Mapped[str | None] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[CaseStatus] = mapped_column(
        Enum(CaseStatus, native_enum=False, length=20), default=CaseStatus.new)
    # 1 (low) … 5 (critical); starts at the highest alert severity, set by people afterwards.
    severity: Mapped[int] = mapped_column(Integer, default=1)
    assignee_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The newest alert's time: grouping adds an alert when it falls within the window of this.
    last_alert_at: Mapped[datetime] = mapped_column(UTCDateTime)
    triage_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decision_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    triaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # substantiated | unsubstantiated | false_positive (kept when the case moves on)
    decision: Mapped[str | None] = mapped_column(String(20))
    penalty: Mapped[str | None] = mapped_column(String(500))
    penalty_proposed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    penalty_approved_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    appeal_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CaseAlert(IdMixin, TimestampMixin, Base):
    """An alert grouped into a case. An alert belongs to at most one case (dedupe)."""

    __tablename__ = "case_alerts"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), unique=True)


class CaseEvent(IdMixin, TimestampMixin, Base):
    """One thing that happened to a case. Append-only."""

    __tablename__ = "case_events"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    # opened | transition | assigned | severity | alert_added
    kind: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CaseNote(IdMixin, TimestampMixin, Base):
    """An investigator's note. Append-only: never edited, never deleted."""

    __tablename__ = "case_notes"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)


class NotificationRule(IdMixin, TimestampMixin, Base):
    """Who hears about what: per tenant, a role (or a group-chat robot) and a minimum severity.

    channel: in_app | email (to each user with the role in scope, or to `target` when set) |
    wecom | dingtalk | feishu (one message to the robot webhook in `target`, signed with
    `secret` where the platform requires it).
    """

    __tablename__ = "notification_rules"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    role: Mapped[str | None] = mapped_column(String(16))
    min_severity: Mapped[int] = mapped_column(Integer, default=1)
    channel: Mapped[str] = mapped_column(String(16))
    # comma-separated: case.opened, case.sla_warning, case.sla_breached, case.decided
    events: Mapped[str] = mapped_column(String(200), default="case.opened")
    target: Mapped[str | None] = mapped_column(String(500))
    secret: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Notification(IdMixin, TimestampMixin, Base):
    """An in-app notification for one user."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    event: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))  # in the product's default language
    body: Mapped[str] = mapped_column(Text, default="")
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The title and body as msgids with their parameters (`probity.i18n.deferred`), so that a
    # page shows them in the reader's language; None for rows written before (title as is).
    message: Mapped[dict[str, Any] | None] = mapped_column(JSON)
