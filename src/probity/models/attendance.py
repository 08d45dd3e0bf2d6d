"""Shifts and attendance: shift templates, the rota, swaps, punches, exceptions, leave and
overtime. Times are stored as UTC; a shift's local day and template times are kept too."""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import (
    Date,
    Enum,
    ForeignKey,
    Index,
    Numeric,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from probity.models.base import Base, IdMixin, TimestampMixin, UTCDateTime


class ShiftTemplate(IdMixin, TimestampMixin, Base):
    """A named shift, e.g. 早班 08:00–16:00. An end at or before the start ends the next day."""

    __tablename__ = "shift_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    break_minutes: Mapped[int] = mapped_column(default=0)


class ShiftAssignment(IdMixin, TimestampMixin, Base):
    """One person on one shift on one (local) day: the rota is the set of these."""

    __tablename__ = "shift_assignments"
    __table_args__ = (
        Index("ix_shift_assignments_employee_start", "employee_id", "starts_at"),
        Index("ix_shift_assignments_unit_start", "org_unit_id", "starts_at"),
    )

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    template_id: Mapped[int] = mapped_column(ForeignKey("shift_templates.id"))
    day: Mapped[date] = mapped_column(Date)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class RequestStatus(enum.StrEnum):
    requested = "requested"
    approved = "approved"
    rejected = "rejected"
    cancelled = "cancelled"


class ShiftSwap(IdMixin, TimestampMixin, Base):
    """A request to hand one's shift to a colleague (or exchange it for theirs), approved by
    someone who manages the rota."""

    __tablename__ = "shift_swaps"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    assignment_id: Mapped[int] = mapped_column(ForeignKey("shift_assignments.id"))
    target_employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    target_assignment_id: Mapped[int | None] = mapped_column(ForeignKey("shift_assignments.id"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[RequestStatus] = mapped_column(
        Enum(RequestStatus, native_enum=False, length=16), default=RequestStatus.requested)
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Punch(IdMixin, TimestampMixin, Base):
    """A clock-in or clock-out, from the web or the phone. Append-only."""

    __tablename__ = "punches"
    __table_args__ = (Index("ix_punches_employee_at", "employee_id", "at"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("shift_assignments.id"),
                                                      index=True)
    kind: Mapped[str] = mapped_column(String(8))  # in | out
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(8))  # web | phone
    ip: Mapped[str | None] = mapped_column(String(64))


class AttendanceException(IdMixin, TimestampMixin, Base):
    """Late, early leave, absent, missing punch or a clock-in off the rota. Append-only."""

    __tablename__ = "attendance_exceptions"
    __table_args__ = (
        UniqueConstraint("assignment_id", "kind"),
        Index("ix_attendance_exceptions_unit_day", "org_unit_id", "day"),
    )

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("shift_assignments.id"))
    punch_id: Mapped[int | None] = mapped_column(ForeignKey("punches.id"))
    kind: Mapped[str] = mapped_column(String(16))
    day: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column(default=0)


class LeaveType(enum.StrEnum):
    annual = "annual"
    sick = "sick"
    personal = "personal"


class LeaveBalance(IdMixin, TimestampMixin, Base):
    __tablename__ = "leave_balances"
    __table_args__ = (UniqueConstraint("employee_id", "leave_type", "year"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    leave_type: Mapped[LeaveType] = mapped_column(Enum(LeaveType, native_enum=False, length=16))
    year: Mapped[int]
    entitled_days: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    used_days: Mapped[Decimal] = mapped_column(Numeric(5, 1), default=Decimal(0))


class LeaveRequest(IdMixin, TimestampMixin, Base):
    __tablename__ = "leave_requests"
    __table_args__ = (Index("ix_leave_requests_employee_start", "employee_id", "start_date"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    leave_type: Mapped[LeaveType] = mapped_column(Enum(LeaveType, native_enum=False, length=16))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    days: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    reason: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[RequestStatus] = mapped_column(
        Enum(RequestStatus, native_enum=False, length=16), default=RequestStatus.requested)
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OvertimeRequest(IdMixin, TimestampMixin, Base):
    __tablename__ = "overtime_requests"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int]
    reason: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[RequestStatus] = mapped_column(
        Enum(RequestStatus, native_enum=False, length=16), default=RequestStatus.requested)
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
