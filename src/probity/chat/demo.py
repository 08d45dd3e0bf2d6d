"""Demo data for the chat workspace: refunds for the demo orders marked refunded."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import Order, OrderStatus, Refund

REASONS = ["七天无理由退货", "商品质量问题", "重复下单", "未按时发货", "尺码不合适"]


async def seed_chat_demo(session: AsyncSession) -> None:
    orders = (await session.scalars(
        select(Order).where(Order.status == OrderStatus.refunded).order_by(Order.id))).all()
    for i, order in enumerate(orders):
        session.add(Refund(
            tenant_id=order.tenant_id, order_id=order.id, customer_id=order.customer_id,
            refund_no=f"RF{order.order_no[-10:]}{i:04d}", amount=order.amount,
            currency=order.currency, reason=REASONS[i % len(REASONS)], status="completed",
            refunded_at=order.placed_at + timedelta(days=3)))
    await session.flush()
