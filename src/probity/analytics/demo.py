"""Demo activity for risk analytics: six weeks of conversations in the e-commerce subsidiary,
sent through the real send path (`prepare_send` screens, `store_messages` stores, raises
alerts and cases, and keeps the rollups), with realistic patterns so that the findings appear
on their own: customers try to move off the channel far more on weekend evenings
(18:00–21:00 local), and agents in their first months violate more often than veterans.

The clock of the chat service is set to each batch's time while it is stored (one batch per
hour of activity), so the messages, alerts and rollups carry their historical times."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.analytics.rollup import tenure_band
from probity.models import (
    Conversation,
    ConversationStatus,
    Customer,
    Employee,
    Role,
    RoleAssignment,
    Tenant,
    User,
)

CUSTOMER_LINES = ["你好，请问什么时候发货？", "订单能改一下收货地址吗？", "退款多久能到账？",
                  "有没有可以用的优惠券？", "这个尺码偏大吗？", "好的，谢谢"]
AGENT_LINES = ["您好，已为您查询，仓库预计明天发出。", "可以的，已为您修改收货地址。",
               "退款会在1-3个工作日内原路退回。", "下单结算时可勾选平台优惠券。",
               "不客气，祝您生活愉快！"]
CUSTOMER_ATTEMPTS = ["加我vx吧，以后直接找你", "给你发个红包表示感谢", "能不能线下交易便宜点",
                     "你电话多少，私下聊"]
AGENT_VIOLATIONS = ["加我微信吧，私下给你优惠", "你直接转我支付宝就行",
                    "留个联系方式，我私下联系你"]
# Conversations started per local hour of a weekday (weekends: evenings busier).
HOURLY = [0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 0.8, 1.4, 2.0, 2.2, 2.0, 1.6, 1.8, 2.0, 2.0, 1.8,
          1.6, 1.6, 1.8, 1.7, 1.2, 0.8, 0.4]


@contextlib.contextmanager
def _clock(at: datetime) -> Iterator[None]:
    from probity.chat import store

    mod: Any = store
    original = mod.utcnow
    mod.utcnow = lambda: at
    try:
        yield
    finally:
        mod.utcnow = original


async def seed_analytics(session: AsyncSession, *, today: date | None = None, weeks: int = 6,
                         per_day: int = 4, seed: int = 11) -> int:
    """Seed `weeks` of history ending yesterday; returns the number of messages sent."""
    from probity.chat.conversations import Participant
    from probity.chat.send import prepare_send
    from probity.chat.store import store_messages
    from probity.governance.accessors import display_timezone

    rng = random.Random(seed)
    ecom = await session.scalar(select(Tenant).where(Tenant.code == "ECOM"))
    if ecom is None:
        return 0
    zone = ZoneInfo(await display_timezone(session, ecom.id))
    today = today or datetime.now(zone).date()
    agents = (await session.execute(
        select(User.id, Employee.id, Employee.org_unit_id, Employee.hire_date)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .join(Employee, Employee.id == User.employee_id)
        .where(RoleAssignment.role == Role.agent, Employee.tenant_id.in_(
            select(Tenant.id).where(Tenant.path.startswith(ecom.path))),
            Employee.org_unit_id.is_not(None)).order_by(Employee.id))).all()
    customers = (await session.execute(select(Customer.id, Customer.tenant_id).where(
        Customer.tenant_id == ecom.id).order_by(Customer.id))).all()
    if not agents or not customers:
        return 0
    cust_users = dict((await session.execute(select(User.customer_id, User.id).where(
        User.customer_id.is_not(None)))).all())

    async def no_publish(_channel: str, _event: dict[str, Any]) -> None:
        return None

    # Plan: conversations per local hour, each a few lines; attempts by pattern.
    slots: dict[datetime, list[list[tuple[str, str]]]] = {}
    plan_agents: dict[datetime, list[tuple[Any, ...]]] = {}
    plan_customers: dict[datetime, list[tuple[Any, ...]]] = {}
    first = today - timedelta(days=7 * weeks)
    day = first
    while day < today:
        weekend = day.weekday() >= 5
        for hour, weight in enumerate(HOURLY):
            evening = 18 <= hour < 21
            w = weight * (1.3 if weekend and evening else 1.0)
            n = int(w * per_day / 10 + rng.random())
            if not n:
                continue
            at = datetime(day.year, day.month, day.day, hour, rng.randrange(60),
                          tzinfo=zone).astimezone(UTC)
            for _ in range(n):
                agent: Any = rng.choice(agents)
                band = tenure_band(agent[3], day)
                p_customer = 0.3 if weekend and evening else 0.025
                p_agent = {"lt3m": 0.08, "3to12m": 0.03}.get(band, 0.01)
                if weekend and evening:
                    p_agent *= 2
                lines: list[tuple[str, str]] = []
                for i in range(rng.choice((2, 3, 4))):
                    if rng.random() < p_customer:
                        lines.append(("customer", rng.choice(CUSTOMER_ATTEMPTS)))
                    else:
                        lines.append(("customer", CUSTOMER_LINES[(i + rng.randrange(3)) %
                                                                 len(CUSTOMER_LINES)]))
                    if rng.random() < p_agent:
                        lines.append(("agent", rng.choice(AGENT_VIOLATIONS)))
                    else:
                        lines.append(("agent", rng.choice(AGENT_LINES)))
                slots.setdefault(at, []).append(lines)
                plan_agents.setdefault(at, []).append(tuple(agent))
                plan_customers.setdefault(at, []).append(tuple(rng.choice(customers)))
        day += timedelta(days=1)
    sent = 0
    for at in sorted(slots):
        convs = []
        for (user_id, emp_id, team_id, _h), (cust_id, tenant_id) in zip(
                plan_agents[at], plan_customers[at], strict=True):
            conv = Conversation(tenant_id=tenant_id, org_unit_id=team_id, customer_id=cust_id,
                                customer_user_id=cust_users.get(cust_id), agent_user_id=user_id,
                                agent_employee_id=emp_id, status=ConversationStatus.closed,
                                assigned_at=at, closed_at=at + timedelta(minutes=20),
                                created_at=at)
            session.add(conv)
            convs.append(conv)
        await session.flush()
        sends = []
        for conv, lines, agent in zip(convs, slots[at], plan_agents[at], strict=True):
            agent_who = Participant("agent", agent[0], agent[1], None)
            cust_who = Participant("customer", conv.customer_user_id, None, None)
            for speaker, text in lines:
                who = agent_who if speaker == "agent" else cust_who
                sends.append(await prepare_send(conv.id, who, no_publish, text=text))
        # Closed conversations take no messages: store them as the writer would have, while
        # they were active (the batch's seq allocation skips closed ones).
        for conv in convs:
            conv.status = ConversationStatus.active
        await session.flush()
        with _clock(at):
            for i in range(0, len(sends), 64):
                await store_messages(session, sends[i:i + 64])
        for conv in convs:
            conv.status = ConversationStatus.closed
        sent += len(sends)
    await session.flush()
    # Agents on shift (the per-agent-hour rates) from the rota the attendance seed wrote.
    from probity.analytics.staffing import refresh

    for tid in (await session.scalars(select(Tenant.id).where(
            Tenant.path.startswith(ecom.path)))).all():
        await refresh(session, int(tid), first, today + timedelta(days=1))
    return sent
