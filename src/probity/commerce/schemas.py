from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from probity.models import OrderStatus, PaymentMethod


class CustomerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    customer_no: str
    name: str
    phone: str | None


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    customer_id: int
    order_no: str
    item: str
    amount: Decimal
    currency: str
    status: OrderStatus
    placed_at: datetime


class PaymentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    order_id: int | None
    customer_id: int
    payment_no: str
    amount: Decimal
    currency: str
    method: PaymentMethod
    payee_account: str
    paid_at: datetime
