"""Commerce data: customers, orders, payments. Tenant-scoped from day one."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Enum, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from probity.models.base import Base, IdMixin, TimestampMixin, UTCDateTime


class Customer(IdMixin, TimestampMixin, Base):
    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("tenant_id", "customer_no"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    customer_no: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))


class OrderStatus(enum.StrEnum):
    created = "created"
    paid = "paid"
    shipped = "shipped"
    completed = "completed"
    refunded = "refunded"
    cancelled = "cancelled"


class Order(IdMixin, TimestampMixin, Base):
    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("tenant_id", "order_no"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    order_no: Mapped[str] = mapped_column(String(40))
    item: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    status: Mapped[OrderStatus] = mapped_column(Enum(OrderStatus, native_enum=False, length=16))
    # The phone on the order: customers identify themselves by order number + its last 4 digits.
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PaymentMethod(enum.StrEnum):
    wechat_pay = "wechat_pay"
    alipay = "alipay"
    card = "card"
    bank_transfer = "bank_transfer"
    offline = "offline"


class Payment(IdMixin, TimestampMixin, Base):
    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("tenant_id", "payment_no"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    payment_no: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    method: Mapped[PaymentMethod] = mapped_column(Enum(PaymentMethod, native_enum=False, length=16))
    payee_account: Mapped[str] = mapped_column(String(64))
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A payment imported in bulk is proven by a leaf of its import's batch entry (ledger
    # format probity-record-batch/v1, probity.ledger.batch): the batch entry's seq, the
    # leaf's index in it, and the leaf's salt (NULL once erased; the leaf hash stays in
    # ledger_batch_leaves). All NULL for a payment with its own finance.payment entry.
    ledger_seq: Mapped[int | None] = mapped_column(Integer)
    ledger_index: Mapped[int | None] = mapped_column(Integer)
    ledger_salt: Mapped[str | None] = mapped_column(String(32))


class Refund(IdMixin, TimestampMixin, Base):
    __tablename__ = "refunds"
    __table_args__ = (UniqueConstraint("tenant_id", "refund_no"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    refund_no: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    reason: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="completed")
    refunded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Added by the finance work (migration 0005): a refund or a compensation (补偿), and the
    # employee (usually the agent) who approved it — what the outlier rules look at.
    kind: Mapped[str] = mapped_column(String(16), default="refund", server_default="refund")
    approved_by_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"),
                                                                index=True)
