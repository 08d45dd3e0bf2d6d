"""Hourly rollups maintained incrementally by the chat writer.

`record_batch(session, rows)` is the ONE call the writer makes per batch, inside its
transaction, after the batch's messages (and alerts) are inserted. It groups the batch in memory
by (tenant, team, tenure band, shift, UTC hour) and sends one grouped upsert
(``INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n``, keys in sorted order so concurrent
writers lock rows in one order). What it needs to know about each agent (hire date, team, the
rota around the message) and each tenant (display zone) is cached per process, so a batch costs
no extra round trip in the steady state; a cache miss costs one SELECT for all the batch's
misses. A second upsert keeps the coarser cube the dashboards read (`RollupCube`: local day ×
band, local day × hour, local month × weekday × hour — per team, and the last two also per
tenant with every team summed, for the heat-map), so a year's dashboard reads thousands of rows
instead of the hourly table's millions. Then the monitoring rules in force get
the batch (`probity.monitoring.enforce.on_batch`:
QA sampling and alerts to HR on duty) — nothing when no rule is active.

Dimensions:
* hour: the UTC hour of the message; local weekday and hour in the tenant's display zone
  (`governance.accessors.display_timezone`) at that hour are stored with it;
* team: the conversation's team (0: none);
* tenure band of the conversation's agent on the message's local day: ``lt3m`` (< 91 days),
  ``3to12m`` (< 365), ``1to3y`` (< 1096), ``gt3y``; ``none`` without an agent;
* shift: the rota entry (`shift_assignments`) of that agent covering the message — its shift
  template id; 0 = off rota.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.bulk import driver_error, tell_listeners
from probity.models import Employee, RollupCube, RollupHourly, ShiftAssignment

COUNTERS = ("messages", "agent_messages", "conversations", "attempts", "violations", "blocks",
            "contact_attempts")
FLAGGED = ("warn", "block")
TZ_TTL_S = 60.0
EMPLOYEE_TTL_S = 600.0
ROTA_TTL_S = 120.0
ROTA_SPAN = timedelta(hours=18)


def tenure_band(hire_date: date | None, day: date) -> str:
    """The tenure band of someone hired on `hire_date`, on `day`."""
    if hire_date is None:
        return "none"
    days = (day - hire_date).days
    if days < 91:
        return "lt3m"
    if days < 365:
        return "3to12m"
    if days < 1096:
        return "1to3y"
    return "gt3y"


def hour_floor(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class MessageLike(Protocol):
    tenant_id: int
    seq: int
    sender_role: Any
    decision: Any
    categories: Any
    created_at: datetime


@dataclass(frozen=True)
class Event:
    """One stored message as the rollups see it."""

    tenant_id: int
    team_id: int
    agent_employee_id: int | None
    conversation_id: int
    sender_role: str
    decision: str
    categories: tuple[str, ...]
    first: bool  # the conversation's first message
    at: datetime
    message_id: int = 0  # 0: not known (e.g. synthetic events)


def events_of(rows: Iterable[tuple[Any, int | None, int | None]]) -> list[Event]:
    out: list[Event] = []
    for msg, team_id, agent_id in rows:
        out.append(Event(int(msg.tenant_id), int(team_id or 0), agent_id,
                         int(msg.conversation_id), str(getattr(msg.sender_role, "value",
                                                                msg.sender_role)),
                         str(msg.decision), tuple(msg.categories or ()), int(msg.seq) == 1,
                         msg.created_at, int(getattr(msg, "id", 0) or 0)))
    return out


# ---- per-process caches ----------------------------------------------------------------------

_tz: dict[int, tuple[ZoneInfo, float]] = {}
_employees: dict[int, tuple[date | None, int | None, float]] = {}
# employee id -> (window start, window end, loaded at (monotonic), [(start, end, template id)])
_rota: dict[int, tuple[datetime, datetime, float, list[tuple[datetime, datetime, int]]]] = {}


def reset() -> None:
    """Forget every cache (tests; after a rota or hire-date change in this process)."""
    _tz.clear()
    _employees.clear()
    _rota.clear()


async def zones(session: AsyncSession, tenant_ids: Iterable[int]) -> dict[int, ZoneInfo]:
    from probity.governance.accessors import display_timezone

    now = time.monotonic()
    out: dict[int, ZoneInfo] = {}
    for tid in tenant_ids:
        cached = _tz.get(tid)
        if cached is None or now - cached[1] > TZ_TTL_S:
            cached = (ZoneInfo(await display_timezone(session, tid)), now)
            _tz[tid] = cached
        out[tid] = cached[0]
    return out


async def employees(session: AsyncSession, ids: Iterable[int]
                    ) -> dict[int, tuple[date | None, int | None]]:
    """Hire date and team per employee (one SELECT for the misses)."""
    now = time.monotonic()
    want = set(ids)
    missing = [i for i in want
               if i not in _employees or now - _employees[i][2] > EMPLOYEE_TTL_S]
    if missing:
        for eid, hired, unit in (await session.execute(
                select(Employee.id, Employee.hire_date, Employee.org_unit_id)
                .where(Employee.id.in_(missing)))).all():
            _employees[eid] = (hired, unit, now)
        for eid in missing:
            if eid not in _employees:
                _employees[eid] = (None, None, now)
    return {i: (_employees[i][0], _employees[i][1]) for i in want}


async def shifts(session: AsyncSession, wanted: Sequence[tuple[int, datetime]]
                 ) -> dict[tuple[int, datetime], int]:
    """The shift template id of each (employee, instant) from the rota (0: off rota); one
    SELECT for the employees whose cached rota window does not cover their instants."""
    now = time.monotonic()
    stale: dict[int, list[datetime]] = {}
    for eid, at in wanted:
        c = _rota.get(eid)
        if c is None or not (c[0] <= at < c[1]) or now - c[2] > ROTA_TTL_S:
            stale.setdefault(eid, []).append(at)
    if stale:
        lo = min(min(v) for v in stale.values()) - ROTA_SPAN
        hi = max(max(v) for v in stale.values()) + ROTA_SPAN
        if hi - lo > 4 * ROTA_SPAN:  # spread-out instants (backfills, tests): one per employee
            lo = min(min(v) for v in stale.values()) - timedelta(hours=1)
        found: dict[int, list[tuple[datetime, datetime, int]]] = {e: [] for e in stale}
        for eid, start, end, tpl in (await session.execute(
                select(ShiftAssignment.employee_id, ShiftAssignment.starts_at,
                       ShiftAssignment.ends_at, ShiftAssignment.template_id)
                .where(ShiftAssignment.employee_id.in_(list(stale)),
                       ShiftAssignment.starts_at < hi, ShiftAssignment.ends_at > lo))).all():
            found[eid].append((start, end, int(tpl or 0)))
        for eid, entries in found.items():
            _rota[eid] = (lo, hi, now, entries)
    out: dict[tuple[int, datetime], int] = {}
    for eid, at in wanted:
        c = _rota.get(eid)
        tpl = 0
        if c is not None and c[0] <= at < c[1]:
            for start, end, t in c[3]:
                if start <= at < end:
                    tpl = t
                    break
        else:  # outside even the fresh window (cannot happen; be exact anyway)
            tpl = await _shift_at(session, eid, at)
        out[(eid, at)] = tpl
    return out


async def _shift_at(session: AsyncSession, eid: int, at: datetime) -> int:
    tpl = await session.scalar(select(ShiftAssignment.template_id).where(
        ShiftAssignment.employee_id == eid, ShiftAssignment.starts_at <= at,
        ShiftAssignment.ends_at > at).limit(1))
    return int(tpl or 0)


@dataclass(frozen=True)
class Cohort:
    """Where one event falls: the rollup key and its local weekday/hour."""

    tenant_id: int
    team_id: int
    tenure_band: str
    shift_id: int
    hour: datetime
    local_dow: int
    local_hour: int
    local_day: date


async def cohorts(session: AsyncSession, events: Sequence[Event]) -> list[Cohort]:
    zs = await zones(session, {e.tenant_id for e in events})
    agents = {e.agent_employee_id for e in events if e.agent_employee_id}
    emp = await employees(session, agents) if agents else {}
    rota = await shifts(session, [(e.agent_employee_id, e.at) for e in events
                                  if e.agent_employee_id]) if agents else {}
    out: list[Cohort] = []
    for e in events:
        hour = hour_floor(e.at)
        local = hour.astimezone(zs[e.tenant_id])
        day = e.at.astimezone(zs[e.tenant_id]).date()
        if e.agent_employee_id:
            band = tenure_band(emp[e.agent_employee_id][0], day)
            shift = rota[(e.agent_employee_id, e.at)]
        else:
            band, shift = "none", 0
        out.append(Cohort(e.tenant_id, e.team_id, band, shift, hour, local.weekday(),
                          local.hour, local.date()))
    return out


ALL_TEAMS = -1  # team_id of the tenant-level grains (every team of the tenant summed)


def cube_keys(tenant_id: int, team_id: int, band: str, day: date, dow: int, hour: int
              ) -> tuple[tuple[Any, ...], ...]:
    """The cube rows (grain, period, tenant, team, band, weekday, hour) one hourly cell feeds:
    per team (b, d, m) and, for the heat-map of a whole subsidiary, per tenant (D, M)."""
    month = day.replace(day=1)
    return (("b", day, tenant_id, team_id, band, -1, -1),
            ("d", day, tenant_id, team_id, "*", dow, hour),
            ("m", month, tenant_id, team_id, "*", dow, hour),
            ("D", day, tenant_id, ALL_TEAMS, "*", dow, hour),
            ("M", month, tenant_id, ALL_TEAMS, "*", dow, hour))


CUBE_KEY = ("grain", "period", "tenant_id", "team_id", "tenure_band", "local_dow", "local_hour")


HOURLY_KEY = ("tenant_id", "team_id", "tenure_band", "shift_id", "hour")


def upsert_statement(dialect: str, model: Any = RollupHourly,
                     key: tuple[str, ...] = HOURLY_KEY) -> Any:
    table: Any = model.__table__
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(table)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table)
    return stmt.on_conflict_do_update(
        index_elements=list(key), set_={c: table.c[c] + stmt.excluded[c] for c in COUNTERS})


_STATEMENTS: dict[str, Any] = {}
# SQLite: (SQL, [(row position, bind processor)]) of the two upserts, compiled once.
_SQLITE_PLANS: list[tuple[str, list[tuple[int, Any]]]] = []


def _sqlite_plan(dialect: Any, model: Any, key: tuple[str, ...], cols: tuple[str, ...]
                 ) -> tuple[str, list[tuple[int, Any]]]:
    """The upsert as SQLAlchemy compiles it for this dialect (qmark parameters) and, per
    parameter, its position in a row tuple ordered as `cols` and its bind processor
    (UTCDateTime and Date are stored exactly as the ORM stores them, so the primary keys
    match the rows written or read through SQLAlchemy)."""
    compiled: Any = upsert_statement("sqlite", model, key).compile(dialect=dialect)
    table = model.__table__
    return str(compiled), [
        (cols.index(n), table.c[n].type.dialect_impl(dialect).bind_processor(dialect))
        for n in compiled.positiontup]


def _upserts_on(con: sqlite3.Connection,
                work: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
    """The grouped upserts, one `executemany` each — on the connection's own thread (the
    chat writer's synchronous sqlite3 connection, or aiosqlite's driver thread)."""
    for sql, params in work:
        if len(params) == 1:
            con.execute(sql, params[0])
        else:
            con.executemany(sql, params)


async def _sqlite_upserts(session: AsyncSession, hourly: list[tuple[Any, ...]],
                          cube: list[tuple[Any, ...]]) -> None:
    """The two grouped upserts on SQLite, straight to the driver inside the session's
    transaction: on the chat writer's synchronous sqlite3 connection (`db.make_direct_engine`)
    called directly; on aiosqlite in ONE hop to its thread (both statements in one function;
    through SQLAlchemy's adapter a statement costs three thread hand-offs and ~0.2 ms of CPU,
    which with one-message batches doubled the hook's cost — benchmarks/analytics.py).

    Correctness of bypassing SQLAlchemy here: the statements run on the very connection and
    transaction of `session` (its `BEGIN` has been issued: `session.connection()`), so they
    commit or roll back with the batch's messages; `take_write_gate` queues for the SQLite
    write gate first unless the transaction has written already (then it holds the gate:
    the chat writer since its message insert) — needed when another caller records events;
    the parameters go through the same bind processors SQLAlchemy would use (identical
    stored keys); cursor-event listeners
    (statement counters, tracing) are told what ran; driver errors are raised as
    SQLAlchemy's exception classes, so callers see what they would see through the ORM."""
    from probity.db import WROTE, take_write_gate

    conn = await session.connection()
    if not _SQLITE_PLANS:
        _SQLITE_PLANS.extend((
            _sqlite_plan(conn.dialect, RollupHourly, HOURLY_KEY, HOURLY_COLS),
            _sqlite_plan(conn.dialect, RollupCube, CUBE_KEY, CUBE_COLS)))
    sync = conn.sync_connection
    if sync is None or not sync.info.get(WROTE):
        # (a transaction that has written holds the gate already: skip the gate's look-up,
        # which resolves the database path)
        await take_write_gate(conn)
    raw: Any = (await conn.get_raw_connection()).driver_connection
    work = [(sql, [tuple(r[i] if p is None else p(r[i]) for i, p in plan) for r in rows])
            for (sql, plan), rows in zip(_SQLITE_PLANS, (hourly, cube), strict=True)]
    try:
        if isinstance(raw, sqlite3.Connection):  # the chat writer's synchronous connection
            _upserts_on(raw, work)
        elif callable(getattr(raw, "_execute", None)) and isinstance(
                getattr(raw, "_conn", None), sqlite3.Connection):  # aiosqlite: one hop
            await raw._execute(_upserts_on, raw._conn, work)
        else:  # not aiosqlite's thread wrapper: one awaited executemany per statement
            for sql, params in work:
                await raw.executemany(sql, params)
    except sqlite3.Error as exc:
        raise driver_error(exc, "analytics rollup upsert") from exc
    tell_listeners(sync, work)


HOURLY_COLS = (*HOURLY_KEY, "local_dow", "local_hour", *COUNTERS)
CUBE_COLS = (*CUBE_KEY, *COUNTERS)
_NC = len(COUNTERS)


async def record_events(session: AsyncSession, events: Sequence[Event]) -> None:
    """Group the events per hourly key (counters as lists, in COUNTERS' order), derive the
    cube rows, and upsert both — rows as tuples in HOURLY_COLS / CUBE_COLS order."""
    if not events:
        return
    keys = await cohorts(session, events)
    groups: dict[tuple[int, int, str, int, datetime], list[int]] = {}
    where: dict[tuple[int, int, str, int, datetime], tuple[int, int, date]] = {}
    for e, k in zip(events, keys, strict=True):
        pk = (k.tenant_id, k.team_id, k.tenure_band, k.shift_id, k.hour)
        g = groups.get(pk)
        if g is None:
            g = groups[pk] = [0] * _NC
        where[pk] = (k.local_dow, k.local_hour, k.local_day)
        g[0] += 1  # messages
        agent = e.sender_role == "agent"
        if agent:
            g[1] += 1  # agent_messages
        if e.first:
            g[2] += 1  # conversations
        if e.decision in FLAGGED:
            g[3] += 1  # attempts
            if agent:
                g[4] += 1  # violations
            if "contact" in e.categories:
                g[6] += 1  # contact_attempts
        if e.decision == "block":
            g[5] += 1  # blocks
    hourly: list[tuple[Any, ...]] = []
    cube: dict[tuple[Any, ...], list[int]] = {}
    for pk in sorted(groups):
        g = groups[pk]
        dow, lhour, day = where[pk]
        hourly.append((*pk, dow, lhour, *g))
        for ck in cube_keys(pk[0], pk[1], pk[2], day, dow, lhour):
            acc = cube.get(ck)
            if acc is None:
                cube[ck] = list(g)
            else:
                for i in range(_NC):
                    acc[i] += g[i]
    rows = [(*ck, *cube[ck]) for ck in sorted(cube)]
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        await _sqlite_upserts(session, hourly, rows)
    else:
        stmt = _STATEMENTS.get(dialect)
        if stmt is None:
            stmt = _STATEMENTS[dialect] = upsert_statement(dialect)
            _STATEMENTS[dialect + ":cube"] = upsert_statement(dialect, RollupCube, CUBE_KEY)
        params = [dict(zip(HOURLY_COLS, r, strict=True)) for r in hourly]
        cube_params = [dict(zip(CUBE_COLS, r, strict=True)) for r in rows]
        await session.execute(stmt, params[0] if len(params) == 1 else params)
        await session.execute(_STATEMENTS[dialect + ":cube"],
                              cube_params[0] if len(cube_params) == 1 else cube_params)
    from probity.monitoring.enforce import on_batch

    await on_batch(session, events, keys)


async def record_batch(session: AsyncSession,
                       rows: Iterable[tuple[Any, int | None, int | None]]) -> None:
    """The chat writer's hook: `rows` are (stored message, conversation's team id,
    conversation's agent employee id) for every NEW message of the batch (not resends).
    Flush only; runs in the writer's transaction."""
    await record_events(session, events_of(rows))
