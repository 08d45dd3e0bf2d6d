"""Accounts, role assignments with scopes, API tokens, login attempts."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from probity.models.base import Base, IdMixin, TimestampMixin, UTCDateTime


class Role(enum.StrEnum):
    customer = "customer"
    agent = "agent"
    team_lead = "team_lead"
    hr = "hr"
    finance = "finance"
    compliance = "compliance"
    auditor = "auditor"
    hq_admin = "hq_admin"


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # The tenant the account belongs to (its home); role scopes are separate.
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), unique=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    lockouts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Every cookie session carries the version it was issued under; logout, a password change
    # and offboarding bump it, so older cookies stop working at once (`auth.sessions`).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")


class RoleAssignment(IdMixin, TimestampMixin, Base):
    """A role granted over a scope: a tenant subtree, or (when org_unit_id is set) one team."""

    __tablename__ = "role_assignments"
    __table_args__ = (Index("ix_role_assignments_user", "user_id"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))


class ApiToken(IdMixin, TimestampMixin, Base):
    """A bearer token. Only its SHA-256 is stored; the prefix identifies it in listings."""

    __tablename__ = "api_tokens"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
