"""Finance cross-checks: the payee-account registry, import batches, anomaly-rule settings."""

from __future__ import annotations

import enum

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from probity.models.base import Base, IdMixin, TimestampMixin


class PayeeKind(enum.StrEnum):
    company = "company"  # the company's own receiving account (对公账户)
    employee = "employee"  # declared by an employee as their own (个人账户)


class PayeeAccount(IdMixin, TimestampMixin, Base):
    """A known receiving account. An account in no row of the registry is "unknown"."""

    __tablename__ = "payee_accounts"
    __table_args__ = (UniqueConstraint("tenant_id", "account_no"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    account_no: Mapped[str] = mapped_column(String(64))
    kind: Mapped[PayeeKind] = mapped_column(Enum(PayeeKind, native_enum=False, length=16))
    # merchant_id | bank_account | qr_merchant | other
    account_type: Mapped[str] = mapped_column(String(16), default="merchant_id")
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), index=True)
    label: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ImportBatch(IdMixin, TimestampMixin, Base):
    """One committed import (file or feed): what came in and what it changed."""

    __tablename__ = "finance_imports"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # orders | payments | refunds | payees
    source: Mapped[str] = mapped_column(String(16))  # file | feed
    filename: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    inserted: Mapped[int] = mapped_column(Integer)
    updated: Mapped[int] = mapped_column(Integer)
    unchanged: Mapped[int] = mapped_column(Integer)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
