"""Demo performance management: HQ's group standards, KPI templates for agents, the penalty
standard, and three monthly cycles of the e-commerce subsidiary — two closed, one open — whose
figures come from the demo's own activity.

The activity goes through the real paths: every message is screened by the tenant's policy and
stored by the chat send path (alerts, refusal rows, cases grouped as in production); cases are
decided, penalised and closed through the case workflow by the demo's compliance officer and
HQ admin; one decision is appealed and overturned after its cycle closed, so the next cycle
carries the adjustment; cycles are reviewed by the team lead and signed off by HR. Only the
clock is moved: the history is dated across the last two months (`_clock`), which the send
path and the case workflow read through their module's `utcnow`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Principal
from probity.governance import change_settings
from probity.models import (
    Case,
    CaseStatus,
    Conversation,
    ConversationStatus,
    Customer,
    Employee,
    EmploymentStatus,
    Position,
    Tenant,
    User,
)
from probity.models.base import utcnow
from probity.screening.policy import CompiledPolicy

CLEAN = [
    [("customer", "你好，我上周买的蓝牙耳机什么时候发货？"),
     ("agent", "您好，已为您查询，仓库预计明天发出，发货后会短信通知您。")],
    [("customer", "退款多久到账？"),
     ("agent", "退款会在1-3个工作日内原路退回到您的支付账户，请留意。")],
    [("customer", "请问平台红包优惠券怎么使用？"),
     ("agent", "下单结算时勾选可用的平台红包即可自动抵扣。")],
]
REFUSED = [
    [("customer", "问题解决了，谢谢你"), ("agent", "不客气，祝您生活愉快。"),
     ("customer", "那我给你发个红包表示感谢"),
     ("agent", "感谢您的好意，按公司规定我们不能收红包，能帮到您就好。")],
    [("customer", "我私下转你200块，帮我加急处理一下"),
     ("agent", "不用客气，私下转账我们是不接受的，我会按流程尽快处理。")],
]
REBUFFED = [
    [("customer", "太好了，加我vx吧，以后有事直接找你"),
     ("agent", "抱歉，为了保障您的权益，请一直通过官方渠道联系我们。")],
]
VIOLATION = [
    [("customer", "订单能便宜点吗？"), ("agent", "你加我微信吧，微信号 abc12345，私下给你便宜")],
    [("customer", "那我给你发个红包表示感谢"), ("agent", "红包我收下了，谢谢老板，微信转我就行")],
]
REASONS = ["聊天记录显示客服主动索要微信并引导私下交易", "客服接受客户红包，违反廉洁规定"]


@contextmanager
def _clock(at: datetime) -> Iterator[None]:
    """Date the chat send path and the case workflow at `at` (demo history only)."""
    import probity.cases.service as cases_service
    import probity.chat.store as chat_store

    modules = (chat_store, cases_service)
    saved = [getattr(m, "utcnow") for m in modules]  # noqa: B009
    for m in modules:
        setattr(m, "utcnow", lambda: at)  # noqa: B010
    try:
        yield
    finally:
        for m, original in zip(modules, saved, strict=True):
            setattr(m, "utcnow", original)  # noqa: B010


def _month_start(day: date, back: int) -> date:
    y, m = divmod(day.year * 12 + day.month - 1 - back, 12)
    return date(y, m + 1, 1)


async def seed_performance(session: AsyncSession) -> None:
    from probity.auth.service import load_principal

    tenants = {t.code: t for t in (await session.scalars(select(Tenant))).all()}
    hq, ecom = tenants.get("HQ"), tenants.get("ECOM")
    if hq is None or ecom is None:
        return
    await change_settings(
        session, None, hq.id, "performance", {"compliance_weight": 20},
        {"compliance_weight": True}, "集团统一合规指标权重 20%", actor_name="demo")
    users = {u.username: u for u in (await session.scalars(select(User).where(
        User.username.in_(["admin", "hr", "lead", "compliance", "agent"])))).all()}
    people: dict[str, Principal] = {}
    for name, user in users.items():
        p = await load_principal(session, user.id)
        if p is None:
            return
        people[name] = p
    if len(people) < 5:
        return
    await _standards(session, people["admin"], hq)
    now = utcnow()
    tz = ZoneInfo(ecom.timezone)
    today = now.astimezone(tz).date()
    months = [_month_start(today, back) for back in (2, 1, 0)]
    await _activity(session, ecom, months, now, tz, people)
    from probity.performance import cycles

    opened = [await cycles.create_cycle(session, people["hr"], tenant_id=ecom.id,
                                       period="monthly", starts_on=m) for m in months]
    demo_case = await _first_case(session, people["agent"], opened[0])
    await _close(session, opened[0].id, people)
    if demo_case is not None:  # appealed and overturned after its cycle closed
        await _overturn(session, demo_case, opened[1].ends_at - timedelta(days=3), people)
    await _close(session, opened[1].id, people)


async def _standards(session: AsyncSession, admin: Principal, hq: Tenant) -> None:
    from probity.performance.cycles import save_penalties, save_template

    positions = {p.code: p for p in (await session.scalars(select(Position))).all()}
    for code in ("CS1", "CS2", "CS3"):
        if code in positions:
            await save_template(session, admin, tenant_id=hq.id, position_id=positions[code].id,
                                name=f"{positions[code].title} KPI", indicators=[
                                    {"code": "compliance", "weight": 20},
                                    {"code": "csat", "weight": 30},
                                    {"code": "first_response", "weight": 20},
                                    {"code": "resolution", "weight": 20},
                                    {"code": "manual.quality", "weight": 10}])
    ladder = ["written_warning", "demerit", "dismissal"]
    await save_penalties(session, admin, tenant_id=hq.id, rules=[
        {"violation_type": "bribe", "severity": None, "points": 15, "measures": ladder},
        {"violation_type": "bribe", "severity": 4, "points": 25,
         "measures": ["demerit", "dismissal"]},
        {"violation_type": "payment", "severity": None, "points": 15, "measures": ladder},
        {"violation_type": "contact", "severity": None, "points": 10,
         "measures": ["verbal_warning", "written_warning", "demerit"]},
        {"violation_type": "concealment", "severity": None, "points": 10,
         "measures": ["written_warning", "demerit"]}])
    await session.flush()


async def _activity(session: AsyncSession, ecom: Tenant, months: list[date], now: datetime,
                    tz: ZoneInfo, people: dict[str, Principal]) -> None:
    """Two conversations per agent of two ECOM teams per month, through the real send path
    (kept small: every test session seeds the demo)."""
    from probity.models import RoleAssignment

    rng = random.Random(2026)
    agents = (await session.execute(
        select(Employee.id, Employee.org_unit_id, User.id)
        .join(User, User.employee_id == Employee.id)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(Employee.tenant_id == ecom.id, RoleAssignment.role == "agent",
               Employee.status == EmploymentStatus.active).order_by(Employee.id))).all()
    teams = sorted({a[1] for a in agents if a[1] is not None})[:2]
    agents = [a for a in agents if a[1] in teams]
    customers = list((await session.scalars(select(Customer.id).where(
        Customer.tenant_id == ecom.id).order_by(Customer.id).limit(60))).all())
    from probity.policy.registry import policy_for

    policy = await policy_for(session, ecom.id, wait=True)
    first_new_case = (await session.scalar(select(func.max(Case.id)))) or 0

    # A few agents are tempted more often, so the charts have something to show.
    risky = {a[0] for a in agents[3::7]} | {people["agent"].employee_id}
    for index, month in enumerate(months):
        start = datetime.combine(month, datetime.min.time(), tzinfo=tz)
        end = min(datetime.combine(_month_start(month, -1), datetime.min.time(), tzinfo=tz),
                  now - timedelta(hours=1))
        if end <= start:
            continue
        for emp_id, unit, user_id in agents:
            for k in range(2):
                roll = rng.random()
                if emp_id == people["agent"].employee_id and k == 0 and index != 1:
                    script = VIOLATION[index % 2]  # the demo agent: a deduction in each cycle
                elif roll < (0.25 if emp_id in risky else 0.02):
                    script = rng.choice(VIOLATION)
                elif roll < 0.4:
                    script = rng.choice(REFUSED)
                elif roll < 0.5:
                    script = rng.choice(REBUFFED)
                else:
                    script = rng.choice(CLEAN)
                at = start + (end - start) * rng.random()
                await _conversation(session, ecom, unit, emp_id, user_id,
                                    rng.choice(customers), script, at, policy, rng)
    await _decide(session, ecom, people, rng, first_new_case)


async def _no_publish(channel: str, event: dict[str, Any]) -> None:
    return None


async def _conversation(session: AsyncSession, ecom: Tenant, unit: int | None, emp_id: int,
                        user_id: int, customer_id: int, script: list[tuple[str, str]],
                        at: datetime, policy: CompiledPolicy | None,
                        rng: random.Random) -> None:
    from probity.chat.conversations import Participant
    from probity.chat.send import prepare_send
    from probity.chat.store import store_messages

    if unit is None:
        return
    assigned = at - timedelta(seconds=rng.randint(15, 240))
    conv = Conversation(tenant_id=ecom.id, org_unit_id=unit, customer_id=customer_id,
                        agent_user_id=user_id, agent_employee_id=emp_id,
                        status=ConversationStatus.active, assigned_at=assigned,
                        created_at=assigned)
    session.add(conv)
    await session.flush()
    agent = Participant("agent", user_id, emp_id, None)
    customer = Participant("customer", None, None, None)
    pending = [await prepare_send(conv.id, agent if role == "agent" else customer,
                                  _no_publish, text=text, policy=policy)
               for role, text in script]
    with _clock(at):
        await store_messages(session, pending)
    conv.status = ConversationStatus.closed
    conv.closed_at = at + timedelta(minutes=rng.randint(2, 15))
    roll = rng.random()
    conv.csat_score = 5 if roll < 0.55 else 4 if roll < 0.8 else 3 if roll < 0.9 else None
    await session.flush()


async def _decide(session: AsyncSession, ecom: Tenant, people: dict[str, Principal],
                  rng: random.Random, after_id: int) -> None:
    """The cases this history opened about agents are substantiated, penalised and closed by
    compliance and the HQ admin (four eyes) a day or two after they opened."""
    from probity.cases import service as cases

    rows = (await session.scalars(select(Case).where(
        Case.id > after_id, Case.tenant_id == ecom.id, Case.status == CaseStatus.new)
        .order_by(Case.id))).all()
    now = utcnow()
    for case in rows:
        at = min(case.last_alert_at + timedelta(hours=rng.randint(20, 40)),
                 now - timedelta(minutes=30))
        if case.subject != "agent" or case.agent_employee_id is None:
            with _clock(at):  # the customer's attempt: nothing against the agent
                await cases.transition(session, people["compliance"], case.id, "triage")
                await cases.transition(session, people["compliance"], case.id,
                                       "unsubstantiated", reason="客户的私下交易企图，客服已拒绝")
                await cases.transition(session, people["compliance"], case.id, "closed")
            continue
        reason = REASONS[case.id % len(REASONS)]
        with _clock(at):
            for to, kw in (("triage", {}), ("investigating", {}),
                           ("substantiated", {"reason": reason}),
                           ("penalty_proposed", {"penalty": "书面警告，扣减当期合规分"})):
                await cases.transition(session, people["compliance"], case.id, to, **kw)
            await cases.transition(session, people["admin"], case.id, "penalty_approved")
            await cases.transition(session, people["compliance"], case.id, "closed")


async def _first_case(session: AsyncSession, agent: Principal, cycle: object) -> Case | None:
    from probity.models import AppraisalCycle

    assert isinstance(cycle, AppraisalCycle)
    return await session.scalar(select(Case).where(
        Case.agent_employee_id == agent.employee_id, Case.decision == "substantiated",
        Case.status == CaseStatus.closed, Case.decided_at >= cycle.starts_at,
        Case.decided_at < cycle.ends_at).order_by(Case.id))


async def _overturn(session: AsyncSession, case: Case, at: datetime,
                    people: dict[str, Principal]) -> None:
    from probity.cases import service as cases

    with _clock(min(at, utcnow())):
        await cases.appeal_by_subject(session, people["agent"], case.id,
                                      "客户先发来的微信号，我只是复述提醒，并未添加")
        await cases.transition(session, people["admin"], case.id, "investigating",
                               reason="复核聊天记录：客服系复述客户信息并提醒走官方渠道，改判")
        await cases.transition(session, people["compliance"], case.id, "unsubstantiated",
                               reason="申诉成立")
        await cases.transition(session, people["compliance"], case.id, "closed")


async def _close(session: AsyncSession, cycle_id: int, people: dict[str, Principal]) -> None:
    from probity.models import Award
    from probity.performance import awards, cycles

    await cycles.review_cycle(session, people["lead"], cycle_id)
    await cycles.close_cycle(session, people["hr"], cycle_id)
    nominated = (await session.scalars(select(Award).where(Award.cycle_id == cycle_id)
                                       .order_by(Award.id).limit(3))).all()
    for award in nominated:
        await awards.decide_award(session, people["hr"], award.id, True)
