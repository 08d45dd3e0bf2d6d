"""Performance management: appraisal cycles, KPI templates, the penalty standard, manual scores,
frozen scores with their evidence lines, 合规标兵 awards and promotion decisions.

`performance_scores` and `performance_lines` are written once, when a cycle closes, and are
append-only (database triggers). A closed `appraisal_cycles` row refuses UPDATE and DELETE by
trigger too (migration 0010), so a closed cycle is never rewritten; a later restoration is an
adjustment line in the next cycle.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from probity.models.base import Base, IdMixin, TimestampMixin, UTCDateTime


class CycleStatus(enum.StrEnum):
    open = "open"
    review = "review"
    closed = "closed"


class AppraisalCycle(IdMixin, TimestampMixin, Base):
    __tablename__ = "appraisal_cycles"
    __table_args__ = (UniqueConstraint("tenant_id", "starts_on"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # monthly | quarterly
    period: Mapped[str] = mapped_column(String(16))
    # Calendar days in the tenant's zone; [starts_at, ends_at) is the same span in UTC.
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[CycleStatus] = mapped_column(
        Enum(CycleStatus, native_enum=False, length=16), default=CycleStatus.open)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_off_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # SHA-256 of the canonical frozen scores, and the ledger entry that records it.
    scores_digest: Mapped[str | None] = mapped_column(String(64))
    ledger_seq: Mapped[int | None] = mapped_column(Integer)
    employees: Mapped[int] = mapped_column(Integer, default=0)


class KpiTemplate(IdMixin, TimestampMixin, Base):
    """Weighted indicators for one position (or the tenant's default when position is NULL)."""

    __tablename__ = "kpi_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "position_id"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    position_id: Mapped[int | None] = mapped_column(ForeignKey("positions.id"))
    name: Mapped[str] = mapped_column(String(100))
    # [{"code": "compliance", "weight": 20}, {"code": "csat", "weight": 30}, ...]
    indicators: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ManualScore(IdMixin, TimestampMixin, Base):
    """A team lead's score (0–100) with a comment, for what the system cannot see."""

    __tablename__ = "manual_scores"
    __table_args__ = (UniqueConstraint("cycle_id", "employee_id", "indicator"),)

    cycle_id: Mapped[int] = mapped_column(ForeignKey("appraisal_cycles.id"), index=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    indicator: Mapped[str] = mapped_column(String(40))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(String(500))
    entered_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PerformanceScore(IdMixin, TimestampMixin, Base):
    """One employee's frozen result for a closed cycle, with the bonus. Append-only."""

    __tablename__ = "performance_scores"
    __table_args__ = (UniqueConstraint("cycle_id", "employee_id"),
                      Index("ix_performance_scores_employee", "employee_id", "cycle_id"))

    cycle_id: Mapped[int] = mapped_column(ForeignKey("appraisal_cycles.id"))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    grade: Mapped[str | None] = mapped_column(String(16))
    compliance_score: Mapped[int] = mapped_column(Integer)
    total_score: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    # {"compliance": 95, "csat": 88.5, "first_response": null, ...} plus the raw figures
    indicators: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    violations: Mapped[int] = mapped_column(Integer, default=0)
    refusals: Mapped[int] = mapped_column(Integer, default=0)
    offers: Mapped[int] = mapped_column(Integer, default=0)
    rebuffed: Mapped[int] = mapped_column(Integer, default=0)
    self_reports: Mapped[int] = mapped_column(Integer, default=0)
    bonus_base: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    bonus_eligible: Mapped[bool] = mapped_column(default=False)
    bonus_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    # Owed for earlier cycles whose deductions were reversed on appeal (adjustment lines).
    bonus_adjustment: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    bonus_reason: Mapped[str] = mapped_column(String(500), default="")


class PerformanceLine(IdMixin, TimestampMixin, Base):
    """One point given or taken, or one positive fact, with its evidence. Append-only."""

    __tablename__ = "performance_lines"
    __table_args__ = (Index("ix_performance_lines_cycle_employee", "cycle_id", "employee_id"),)

    cycle_id: Mapped[int] = mapped_column(ForeignKey("appraisal_cycles.id"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    # violation | concealment | adjustment | refusal | rebuffed | self_report
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(Integer, default=0)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(Integer)
    conversation_id: Mapped[int | None] = mapped_column(Integer)
    alert_id: Mapped[int | None] = mapped_column(Integer)
    # For an adjustment: the closed cycle whose score it restores.
    ref_cycle_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AwardStatus(enum.StrEnum):
    nominated = "nominated"
    confirmed = "confirmed"
    declined = "declined"


class Award(IdMixin, TimestampMixin, Base):
    """合规标兵: nominated by the tenant's rule when a cycle closes, confirmed by HR."""

    __tablename__ = "awards"
    __table_args__ = (UniqueConstraint("cycle_id", "employee_id", "kind"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("appraisal_cycles.id"), index=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    kind: Mapped[str] = mapped_column(String(32), default="compliance_star")
    status: Mapped[AwardStatus] = mapped_column(
        Enum(AwardStatus, native_enum=False, length=16), default=AwardStatus.nominated)
    # The facts that met the rule: violations, refusals, CSAT.
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PromotionDecision(IdMixin, TimestampMixin, Base):
    """HR's decision on a promotion candidate, with the record it saw. Append-only."""

    __tablename__ = "promotion_decisions"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    # promote | defer | decline
    decision: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(1000), default="")
    record: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
