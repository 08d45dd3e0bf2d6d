"""Read access to commerce data (customers, orders, payments), scoped by tenant."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Perm, Principal
from probity.commerce import schemas
from probity.errors import NotFound
from probity.masking import mask_phone
from probity.models import Customer, Order, Payment


def customer_read(c: Customer, viewer: Principal) -> schemas.CustomerRead:
    full = viewer.can(Perm.customer_contact)
    return schemas.CustomerRead(id=c.id, tenant_id=c.tenant_id, customer_no=c.customer_no,
                                name=c.name, phone=c.phone if full else mask_phone(c.phone))


async def list_customers(session: AsyncSession, principal: Principal, *, q: str | None,
                         limit: int, offset: int) -> list[Customer]:
    scope = principal.scope(Perm.commerce_read)
    query = select(Customer).where(scope.filter(Customer.tenant_id))
    if q:
        query = query.where(Customer.name.contains(q, autoescape=True)
                            | Customer.customer_no.contains(q, autoescape=True))
    rows = await session.scalars(query.order_by(Customer.id).limit(limit).offset(offset))
    return list(rows.all())


async def get_customer(session: AsyncSession, principal: Principal, customer_id: int) -> Customer:
    scope = principal.scope(Perm.commerce_read)
    c = await session.scalar(select(Customer).where(Customer.id == customer_id,
                                                    scope.filter(Customer.tenant_id)))
    if c is None:
        raise NotFound("customer not found")
    return c


async def list_orders(session: AsyncSession, principal: Principal, customer_id: int
                      ) -> list[Order]:
    customer = await get_customer(session, principal, customer_id)
    rows = await session.scalars(select(Order).where(Order.customer_id == customer.id)
                                 .order_by(Order.placed_at.desc()))
    return list(rows.all())


async def list_payments(session: AsyncSession, principal: Principal, customer_id: int
                        ) -> list[Payment]:
    customer = await get_customer(session, principal, customer_id)
    rows = await session.scalars(select(Payment).where(Payment.customer_id == customer.id)
                                 .order_by(Payment.paid_at.desc()))
    return list(rows.all())
