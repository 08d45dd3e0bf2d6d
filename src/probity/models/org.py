"""Group structure: tenants (HQ → subsidiaries → regions), org units, positions, employees."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from probity.config import DEFAULT_TIMEZONE
from probity.models.base import Base, IdMixin, TimestampMixin, UTCDateTime


class TenantKind(enum.StrEnum):
    hq = "hq"
    subsidiary = "subsidiary"
    region = "region"


class Tenant(IdMixin, TimestampMixin, Base):
    """A node of the group tree. `path` is the materialised path "/1/4/9/" for subtree queries."""

    __tablename__ = "tenants"

    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[TenantKind] = mapped_column(Enum(TenantKind, native_enum=False, length=16))
    path: Mapped[str] = mapped_column(String(400), index=True, default="")
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE)


class OrgUnitKind(enum.StrEnum):
    department = "department"
    team = "team"


class OrgUnit(IdMixin, TimestampMixin, Base):
    __tablename__ = "org_units"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrgUnitKind] = mapped_column(Enum(OrgUnitKind, native_enum=False, length=16))
    # Concurrent-conversation limit for agents in this team (used by chat routing).
    max_concurrent: Mapped[int] = mapped_column(default=5)


class Position(IdMixin, TimestampMixin, Base):
    __tablename__ = "positions"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    grade: Mapped[str] = mapped_column(String(16))


class EmploymentStatus(enum.StrEnum):
    onboarding = "onboarding"
    active = "active"
    transferred = "transferred"
    left = "left"


class Employee(IdMixin, TimestampMixin, Base):
    __tablename__ = "employees"
    __table_args__ = (
        UniqueConstraint("tenant_id", "employee_no"),
        Index("ix_employees_tenant_status", "tenant_id", "status"),
    )

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    position_id: Mapped[int | None] = mapped_column(ForeignKey("positions.id"))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    employee_no: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    hire_date: Mapped[date] = mapped_column(Date)
    status: Mapped[EmploymentStatus] = mapped_column(
        Enum(EmploymentStatus, native_enum=False, length=16), default=EmploymentStatus.onboarding
    )
    left_date: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EmploymentEvent(IdMixin, TimestampMixin, Base):
    """One dated lifecycle transition (onboarding → active → transferred → left). Append-only."""

    __tablename__ = "employment_events"

    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    effective_date: Mapped[date] = mapped_column(Date)
    from_org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    to_org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    note: Mapped[str | None] = mapped_column(String(500))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
