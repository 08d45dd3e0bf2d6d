"""Rollups kept by the chat writer equal a direct SQL aggregate of the stored messages, after
random sequences of sends (hypothesis) — at random hours, from agents of different tenure and
teams, with a rota entry covering some of them — and the writer's hook costs one statement."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import and_, pool, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.analytics import rollup
from probity.analytics.rollup import tenure_band
from probity.chat import store
from probity.chat.conversations import Participant
from probity.chat.screening import forget_contexts
from probity.chat.send import prepare_send
from probity.chat.store import store_messages
from probity.db import make_engine
from probity.governance.accessors import display_timezone
from probity.models import (
    Conversation,
    ConversationStatus,
    Customer,
    Employee,
    Message,
    Role,
    RoleAssignment,
    RollupCube,
    RollupHourly,
    ShiftAssignment,
    ShiftTemplate,
    User,
)
from probity.monitoring import enforce

BASE = datetime(2031, 3, 3, tzinfo=UTC)  # far from any seeded activity
SPAN = timedelta(days=15)
TEXTS = ["请问什么时候发货？", "好的，谢谢", "加我vx abc12345，私下聊", "给你发个红包", "在吗"]


async def _agents(session: AsyncSession) -> list[tuple[int, int, int, int, date]]:
    """(user id, employee id, team id, tenant id, hire date) of three agents with different
    hire dates."""
    rows = (await session.execute(
        select(User.id, Employee.id, Employee.org_unit_id, Employee.tenant_id, Employee.hire_date)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .join(Employee, Employee.id == User.employee_id)
        .where(RoleAssignment.role == Role.agent, Employee.org_unit_id.is_not(None))
        .order_by(Employee.hire_date.desc()))).all()
    assert len(rows) >= 3
    return [tuple(rows[0]), tuple(rows[len(rows) // 2]), tuple(rows[-1])]  # type: ignore[misc]


async def _setup(session: AsyncSession) -> list[tuple[int, Participant, Participant]]:
    customer = await session.scalar(select(Customer).order_by(Customer.id).limit(1))
    assert customer is not None
    cust_user = await session.scalar(select(User.id).where(User.customer_id == customer.id))
    convs = []
    agents = await _agents(session)
    for user_id, emp_id, team_id, tenant_id, _hired in agents:
        conv = Conversation(tenant_id=tenant_id, org_unit_id=team_id, customer_id=customer.id,
                            customer_user_id=cust_user, agent_user_id=user_id,
                            agent_employee_id=emp_id, status=ConversationStatus.active)
        session.add(conv)
        await session.flush()
        convs.append((conv.id, Participant("agent", user_id, emp_id, None),
                      Participant("customer", cust_user, None, None)))
    # The first agent is on the rota on BASE's first days, 08:00–16:00 UTC.
    _u, emp_id, team_id, tenant_id, _h = agents[0]
    tpl = ShiftTemplate(tenant_id=tenant_id, code="RT-EARLY", name="早班",
                        start_time=time(16), end_time=time(0))
    session.add(tpl)
    await session.flush()
    for d in range(3):
        start = BASE + timedelta(days=d, hours=8)
        session.add(ShiftAssignment(tenant_id=tenant_id, org_unit_id=team_id,
                                    employee_id=emp_id, template_id=tpl.id,
                                    day=start.date(), starts_at=start,
                                    ends_at=start + timedelta(hours=8)))
    await session.flush()
    return convs


async def _direct(session: AsyncSession) -> Counter[tuple[Any, ...]]:
    """The same aggregate computed straight from messages, conversations, employees and the
    rota (no caches)."""
    shift = (select(ShiftAssignment.template_id).where(
        ShiftAssignment.employee_id == Conversation.agent_employee_id,
        ShiftAssignment.starts_at <= Message.created_at,
        ShiftAssignment.ends_at > Message.created_at).limit(1).scalar_subquery())
    rows = (await session.execute(
        select(Message.tenant_id, Conversation.org_unit_id, Conversation.agent_employee_id,
               Employee.hire_date, Message.sender_role, Message.decision, Message.categories,
               Message.seq, Message.created_at, shift)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .outerjoin(Employee, Employee.id == Conversation.agent_employee_id)
        .where(Message.created_at >= BASE, Message.created_at < BASE + SPAN))).all()
    zones: dict[int, ZoneInfo] = {}
    out: Counter[tuple[Any, ...]] = Counter()
    for tenant, team, agent, hired, role, decision, cats, seq, at, tpl in rows:
        if tenant not in zones:
            zones[tenant] = ZoneInfo(await display_timezone(session, tenant))
        hour = at.replace(minute=0, second=0, microsecond=0)
        band = tenure_band(hired, at.astimezone(zones[tenant]).date()) if agent else "none"
        local = hour.astimezone(zones[tenant])
        key = (tenant, team or 0, band, int(tpl or 0), hour, local.weekday(), local.hour)
        flagged = str(decision) in ("warn", "block")
        agent_sent = str(getattr(role, "value", role)) == "agent"
        out[(*key, "messages")] += 1
        out[(*key, "agent_messages")] += agent_sent
        out[(*key, "conversations")] += seq == 1
        out[(*key, "attempts")] += flagged
        out[(*key, "violations")] += flagged and agent_sent
        out[(*key, "blocks")] += str(decision) == "block"
        out[(*key, "contact_attempts")] += flagged and "contact" in (cats or [])
    return +out  # drop zeros


async def _rolled(session: AsyncSession) -> Counter[tuple[Any, ...]]:
    out: Counter[tuple[Any, ...]] = Counter()
    for r in (await session.scalars(select(RollupHourly).where(
            and_(RollupHourly.hour >= BASE, RollupHourly.hour < BASE + SPAN)))).all():
        key = (r.tenant_id, r.team_id, r.tenure_band, r.shift_id, r.hour, r.local_dow,
               r.local_hour)
        for c in rollup.COUNTERS:
            out[(*key, c)] += getattr(r, c)
    return +out


async def _cube(session: AsyncSession) -> Counter[tuple[Any, ...]]:
    out: Counter[tuple[Any, ...]] = Counter()
    lo, hi = (BASE - timedelta(days=1)).date(), (BASE + SPAN + timedelta(days=1)).date()
    for r in (await session.scalars(select(RollupCube).where(
            RollupCube.period >= lo.replace(day=1), RollupCube.period <= hi))).all():
        for c in rollup.COUNTERS:
            out[(r.grain, r.period, r.tenant_id, r.team_id, r.tenure_band, r.local_dow,
                 r.local_hour, c)] += getattr(r, c)
    return +out


def _cube_of(hourly: Counter[tuple[Any, ...]]) -> Counter[tuple[Any, ...]]:
    """What the cube must hold given the hourly rollups (each hourly cell feeds its day × band
    and day × hour rows; the month rows only once the month is sealed — these are not)."""
    zones: dict[int, ZoneInfo] = {}
    out: Counter[tuple[Any, ...]] = Counter()
    for (tenant, team, band, _shift, hour, dow, lhour, c), n in hourly.items():
        zone = zones.setdefault(tenant, ZoneInfo("Asia/Shanghai"))
        day = hour.astimezone(zone).date()
        for key in rollup.live_keys(tenant, team, band, day, dow, lhour):
            out[(*key, c)] += n
    return +out


async def _run(url: str, events: list[tuple[int, bool, int, int, int]]) -> None:
    engine = make_engine(url, poolclass=pool.NullPool)
    conn = await engine.connect()
    outer = await conn.begin()
    session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint",
                           expire_on_commit=False)
    rollup.reset()
    enforce.reset()
    forget_contexts()
    original = store.utcnow
    try:
        convs = await _setup(session)

        async def publish(_channel: str, _event: dict[str, Any]) -> None:
            return None

        batches: dict[int, list[tuple[int, bool, int, int]]] = {}
        for conv, by_agent, text, hour, minute in events:
            batches.setdefault(hour, []).append((conv, by_agent, text, minute))
        for hour in sorted(batches):
            sends = []
            for conv, by_agent, text, _m in batches[hour]:
                conv_id, agent, customer = convs[conv]
                sends.append(await prepare_send(conv_id, agent if by_agent else customer,
                                                publish, text=TEXTS[text]))
            minute = batches[hour][0][3]
            store.utcnow = lambda h=hour, m=minute: BASE + timedelta(hours=h, minutes=m)  # type: ignore[misc]
            await store_messages(session, sends)
        rolled = await _rolled(session)
        assert rolled and rolled == await _direct(session)
        assert await _cube(session) == _cube_of(rolled)
    finally:
        store.utcnow = original  # type: ignore[assignment]
        await session.close()
        await outer.rollback()
        await conn.close()
        await engine.dispose()
        rollup.reset()


event = st.tuples(st.integers(0, 2), st.booleans(), st.integers(0, len(TEXTS) - 1),
                  st.integers(0, 24 * 14 - 1), st.integers(0, 59))


@settings(max_examples=12, deadline=None,  # the machine is shared: no wall clock
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(event, min_size=1, max_size=30))
def test_rollups_equal_a_direct_aggregate(database_url: str,
                                          events: list[tuple[int, bool, int, int, int]]) -> None:
    asyncio.run(_run(database_url, events))


async def _same_rows(url: str) -> None:
    engine = make_engine(url, poolclass=pool.NullPool)
    conn = await engine.connect()
    outer = await conn.begin()
    session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint")
    try:
        tenant = 424242  # no such tenant: only this test's rows
        hourly = {"tenant_id": tenant, "team_id": 5, "tenure_band": "lt3m", "shift_id": 0,
                  "hour": datetime(2031, 1, 4, 11, tzinfo=UTC), "local_dow": 5,
                  "local_hour": 19, **dict.fromkeys(rollup.COUNTERS, 1)}
        cube = {"grain": "m", "period": date(2031, 1, 1), "tenant_id": tenant, "team_id": 5,
                "tenure_band": "*", "local_dow": 5, "local_hour": 19,
                **dict.fromkeys(rollup.COUNTERS, 1)}
        # Through SQLAlchemy (as before the fast path, and as rows already stored are), then
        # straight to the driver: the same rows are incremented, none is added.
        await session.execute(rollup.upsert_statement("sqlite"), hourly)
        await session.execute(rollup.upsert_statement("sqlite", RollupCube, rollup.CUBE_KEY), cube)
        await rollup._sqlite_upserts(session, [tuple(hourly[c] for c in rollup.HOURLY_COLS)],
                                     [tuple(cube[c] for c in rollup.CUBE_COLS)])
        got = (await session.execute(select(RollupHourly.hour, RollupHourly.messages).where(
            RollupHourly.tenant_id == tenant))).all()
        assert got == [(hourly["hour"], 2)]
        got = (await session.execute(select(RollupCube.period, RollupCube.messages).where(
            RollupCube.tenant_id == tenant))).all()
        assert got == [(cube["period"], 2)]
    finally:
        await session.close()
        await outer.rollback()
        await conn.close()
        await engine.dispose()


def test_the_sqlite_fast_path_increments_the_rows_sqlalchemy_wrote(database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the fast path is SQLite's")
    asyncio.run(_same_rows(database_url))


async def test_sealed_months_keep_their_month_rows_complete(db: AsyncSession) -> None:
    """The hook keeps only the day grains; `seal_months` sums a finished month's month rows
    from them once, and late events in a sealed month go into its month rows too — so the
    month rows equal the day rows summed, and the heat-map reads the same either way."""
    from probity.analytics import months, queries
    from probity.auth.permissions import Grant, Principal
    from probity.models import RollupMonth, Tenant

    rollup.reset()
    enforce.reset()
    forget_contexts()
    convs = await _setup(db)
    today = datetime.now(UTC).date()
    # A month well before the seal lag, and the first agent's tenant: every event is late.
    month = (today.replace(day=1) - timedelta(days=70)).replace(day=1)
    at = datetime.combine(month + timedelta(days=9), time(11), UTC)

    async def publish(_channel: str, _event: dict[str, Any]) -> None:
        return None

    async def send(n: int, when: datetime) -> None:
        original = store.utcnow
        store.utcnow = lambda: when  # type: ignore[assignment]
        try:
            for i in range(n):
                conv_id, agent, customer = convs[i % 3]
                await store_messages(db, [await prepare_send(
                    conv_id, agent if i % 2 else customer, publish, text=TEXTS[i % len(TEXTS)])])
        finally:
            store.utcnow = original  # type: ignore[assignment]

    async def grain_sums(grain: str) -> Counter[tuple[Any, ...]]:
        out: Counter[tuple[Any, ...]] = Counter()
        for r in (await db.scalars(select(RollupCube).where(
                RollupCube.grain == grain, RollupCube.period >= month,
                RollupCube.period < months.next_month(month)))).all():
            out[(r.tenant_id, r.team_id, r.local_dow, r.local_hour)] += r.messages
        return +out

    await send(6, at)
    assert await grain_sums("d") and not await grain_sums("m")  # open month: day rows only
    assert rollup.late_cutoff() >= at.date()
    sealed = await months.seal_months(db)
    assert month in sealed
    assert await db.get(RollupMonth, month) is not None
    assert await grain_sums("m") == await grain_sums("d")
    assert await grain_sums("M") == await grain_sums("D")
    assert month not in await months.seal_months(db)  # once
    await send(5, at + timedelta(days=3, hours=7))  # late, into the sealed month
    assert await grain_sums("m") == await grain_sums("d")
    assert await grain_sums("M") == await grain_sums("D")
    # The heat-map reads the sealed month's rows and equals the day rows' sums.
    tenant = await db.get(Tenant, convs[0][1].employee_id and (await db.get(
        Employee, convs[0][1].employee_id)).tenant_id)  # type: ignore[union-attr]
    assert tenant is not None
    hq = Principal(user_id=0, username="t", display_name="t", tenant_id=tenant.id,
                   employee_id=None, customer_id=None,
                   grants=[Grant(Role.hq_admin, tenant.id, tenant.path)])
    f = await queries.filters(db, hq, start=month.isoformat(),
                              end=(months.next_month(month) - timedelta(days=1)).isoformat(),
                              tenant=tenant.id)
    months._sealed[0] = (-float("inf"), frozenset())
    assert queries.month_split(f.start, f.end, await months.sealed(db))[0] == [month]
    by_month = {(c["local_dow"], c["local_hour"]): c["messages"]
                for c in (await queries.heatmap(db, hq, f))["cells"] if c["messages"]}
    d_rows = Counter[tuple[int, int]]()
    for (tid, _team, dow, hour), n in (await grain_sums("D")).items():
        if tid == tenant.id:
            d_rows[(dow, hour)] += n
    assert by_month and by_month == dict(d_rows)
    assert sum((await grain_sums("M")).values()) == 11
    rollup.reset()
    months._sealed[0] = (-float("inf"), frozenset())  # the seal is rolled back with the test


def test_month_split_reads_months_with_month_rows_only() -> None:
    from probity.analytics.queries import month_split

    d = date
    assert month_split(d(2026, 1, 15), d(2026, 4, 10)) == (
        [d(2026, 2, 1), d(2026, 3, 1)], [(d(2026, 1, 15), d(2026, 1, 31)),
                                         (d(2026, 4, 1), d(2026, 4, 10))])
    assert month_split(d(2026, 1, 15), d(2026, 4, 10), frozenset({d(2026, 3, 1)})) == (
        [d(2026, 3, 1)], [(d(2026, 1, 15), d(2026, 2, 28)), (d(2026, 4, 1), d(2026, 4, 10))])
    assert month_split(d(2026, 1, 1), d(2026, 1, 31), frozenset()) == (
        [], [(d(2026, 1, 1), d(2026, 1, 31))])
