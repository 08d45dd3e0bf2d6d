"""Demo data for the chat workspace: refunds for the demo orders marked refunded."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import Order, OrderStatus, Refund
from probity.models.base import utcnow

REASONS = ["七天无理由退货", "商品质量问题", "重复下单", "未按时发货", "尺码不合适"]


async def seed_chat_demo(session: AsyncSession) -> None:
    orders = (await session.scalars(
        select(Order).where(Order.status == OrderStatus.refunded).order_by(Order.id))).all()
    for i, order in enumerate(orders):
        session.add(Refund(
            tenant_id=order.tenant_id, order_id=order.id, customer_id=order.customer_id,
            refund_no=f"RF{order.order_no[-10:]}{i:04d}", amount=order.amount,
            currency=order.currency, reason=REASONS[i % len(REASONS)], status="completed",
            # Never in the future: an export of the demo must import again (a refund dated
            # after "now" is refused by the importer's date check).
            refunded_at=min(order.placed_at + timedelta(days=3), utcnow())))
    await session.flush()


# (speaker, text): a conversation as it happens on the official channel. Screening runs on
# every line through the real send path, so blocks, alerts, cases and refusals are genuine.
DEMO_CONVERSATIONS: list[tuple[str, list[tuple[str, str]], str]] = [
    ("account", [
        ("customer", "你好，我上周买的蓝牙耳机什么时候发货？"),
        ("agent", "您好，已为您查询，仓库预计明天发出，发货后会短信通知您。"),
        ("customer", "太好了，加我vx吧，以后有事直接找你"),
        ("agent", "抱歉，为了保障您的权益，请一直通过官方渠道联系我们。"),
        ("customer", "那我给你发个红包表示感谢"),
        ("agent", "感谢您的好意，按公司规定我们不能收红包，能帮到您就好。"),
    ], "active"),
    ("guest", [
        ("customer", "申请的退款多久能到账？"),
        ("agent", "退款会在1-3个工作日内原路退回到您的支付账户，请留意。"),
        ("customer", "好的，谢谢"),
    ], "closed"),
    ("guest", [
        ("customer", "请问平台红包优惠券怎么使用？"),
        ("agent", "下单结算时勾选可用的平台红包即可自动抵扣。"),
    ], "closed"),
    ("guest", [
        ("customer", "在吗？手表屏幕有划痕，能换货吗"),
    ], "waiting"),
]


async def seed_conversations(session: AsyncSession) -> None:
    """A few conversations for the demo agent: active, closed and rated, and one waiting in the
    queue; the customer's attempts to move off the channel are blocked and raise alerts."""
    from probity.auth.service import load_principal
    from probity.chat import conversations, send, store
    from probity.models import Customer, User

    async def no_publish(channel: str, event: dict[str, object]) -> None:
        return None

    agent_user = await session.scalar(select(User).where(User.username == "agent"))
    customer_user = await session.scalar(select(User).where(User.username == "customer"))
    if agent_user is None or customer_user is None:
        return
    agent = await load_principal(session, agent_user.id)
    customer = await load_principal(session, customer_user.id)
    assert agent is not None and customer is not None
    await conversations.set_availability(session, agent, no_publish, True)
    me = await session.get(Customer, customer_user.customer_id)
    assert me is not None
    guests = (await session.scalars(
        select(Order).where(Order.tenant_id == me.tenant_id, Order.customer_id != me.id,
                            Order.contact_phone.is_not(None)).order_by(Order.id).limit(3))).all()
    guest_orders = iter(guests)
    for mode, lines, end in DEMO_CONVERSATIONS:
        if end == "waiting":
            await conversations.set_availability(session, agent, no_publish, False)
        if mode == "account":
            conv, _ = await conversations.start_conversation(session, customer, no_publish)
            cust_who = conversations.Participant("customer", customer.user_id, None, customer)
        else:
            order = next(guest_orders)
            conv, _ = await conversations.start_conversation(
                session, None, no_publish, order_no=order.order_no,
                phone_last4=(order.contact_phone or "")[-4:])
            cust_who = conversations.Participant("customer", None, None, None)
        agent_who = conversations.Participant("agent", agent.user_id, agent.employee_id, agent)
        for speaker, text in lines:
            who = cust_who if speaker == "customer" else agent_who
            if who.role == "agent" and conv.agent_user_id != agent.user_id:
                continue
            pending = await send.prepare_send(conv.id, who, no_publish, text=text)
            await store.store_messages(session, [pending])
        if end == "closed":
            await conversations.close_conversation(session, conv, agent_who, no_publish)
            if mode == "guest" and len(lines) > 2:
                await conversations.rate(session, conv, cust_who, 5, "回复很快，谢谢")
    await session.flush()
