"""Hourly rollups maintained incrementally by the chat writer.

`record_batch(session, rows)` is the ONE call the writer makes per batch, inside its
transaction, after the batch's messages (and alerts) are inserted. It groups the batch in memory
by (tenant, team, tenure band, shift, UTC hour) and sends one grouped upsert
(``INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n``, keys in sorted order so concurrent
writers lock rows in one order). What it needs to know about each agent (hire date, team, the
rota around the message) and each tenant (display zone) is cached per process, so a batch costs
no extra round trip in the steady state; a cache miss costs one SELECT for all the batch's
misses. A second upsert keeps the coarser cube the dashboards read (`RollupCube`: local day ×
band, local day × hour — per team, and the latter also per tenant with every team summed, for
the heat-map), so a year's dashboard reads thousands of rows instead of the hourly table's
millions. Its month grains (month × weekday × hour) are summed from the day grains when the
month is sealed (`analytics.months`); the hook adds to them only for late events in a sealed
month (`_sealed_months`), so a batch upserts one hourly and three cube rows per cohort. Then
the monitoring rules in force get the batch (`probity.monitoring.enforce.on_batch`: QA sampling
and alerts to HR on duty) — nothing when no rule is active.

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

import math
import sqlite3
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from typing import Any, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Dialect as AnyDialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

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


class Event(NamedTuple):
    """One stored message as the rollups see it (a named tuple: one is made per message on
    the send path)."""

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
    _prepared.clear()


async def zones(session: AsyncSession, tenant_ids: Iterable[int], *, ahead: float = 0.0
                ) -> dict[int, ZoneInfo]:
    """Each tenant's display time zone (cached TZ_TTL_S; *ahead*: reload an entry that far
    before it goes stale)."""
    from probity.governance.accessors import display_timezone

    now = time.monotonic()
    out: dict[int, ZoneInfo] = {}
    for tid in tenant_ids:
        cached = _tz.get(tid)
        if cached is None or now - cached[1] > TZ_TTL_S - ahead:
            cached = (ZoneInfo(await display_timezone(session, tid)), now)
            _tz[tid] = cached
        out[tid] = cached[0]
    return out


async def employees(session: AsyncSession, ids: Iterable[int], *, ahead: float = 0.0
                    ) -> dict[int, tuple[date | None, int | None]]:
    """Hire date and team per employee (one SELECT for the misses; *ahead*: as `zones`)."""
    now = time.monotonic()
    want = set(ids)
    missing = [i for i in want
               if i not in _employees or now - _employees[i][2] > EMPLOYEE_TTL_S - ahead]
    if missing:
        found: dict[int, tuple[date | None, int | None, float]] = {
            eid: (hired, unit, now) for eid, hired, unit in (await session.execute(
                select(Employee.id, Employee.hire_date, Employee.org_unit_id)
                .where(Employee.id.in_(missing)))).all()}
        for eid in missing:  # (one gone since it was cached: none now, as a new miss)
            _employees[eid] = found.get(eid, (None, None, now))
    return {i: (_employees[i][0], _employees[i][1]) for i in want}


async def shifts(session: AsyncSession, wanted: Sequence[tuple[int, datetime]], *,
                 ahead: float = 0.0) -> dict[tuple[int, datetime], int]:
    """The shift template id of each (employee, instant) from the rota (0: off rota); one
    SELECT for the employees whose cached rota window does not cover their instants
    (*ahead*: as `zones`)."""
    now = time.monotonic()
    stale: dict[int, list[datetime]] = {}
    for eid, at in wanted:
        c = _rota.get(eid)
        if c is None or not (c[0] <= at < c[1]) or now - c[2] > ROTA_TTL_S - ahead:
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


class Cohort(NamedTuple):
    """Where one event falls: the rollup key and its local weekday/hour (a named tuple: one
    is made per message on the send path)."""

    tenant_id: int
    team_id: int
    tenure_band: str
    shift_id: int
    hour: datetime
    local_dow: int
    local_hour: int
    local_day: date


# (zone, UTC hour) -> that hour's local weekday, hour and date (a pure function: memoised)
_local: dict[tuple[ZoneInfo, datetime], tuple[int, int, date]] = {}


def _local_of(zone: ZoneInfo, hour: datetime) -> tuple[int, int, date]:
    got = _local.get((zone, hour))
    if got is None:
        if len(_local) > 20_000:
            _local.clear()
        local = hour.astimezone(zone)
        got = _local[(zone, hour)] = (local.weekday(), local.hour, local.date())
    return got


def _caches_fresh(events: Sequence[Event], now: float) -> bool:
    """Whether the per-process caches know every event's tenant zone, agent and rota."""
    for e in events:
        z = _tz.get(e.tenant_id)
        if z is None or now - z[1] > TZ_TTL_S:
            return False
        a = e.agent_employee_id
        if a:
            c = _employees.get(a)
            r = _rota.get(a)
            if (c is None or now - c[2] > EMPLOYEE_TTL_S or r is None
                    or not (r[0] <= e.at < r[1]) or now - r[2] > ROTA_TTL_S):
                return False
    return True


def _cohort_of(e: Event) -> Cohort | None:
    """The event's cohort from the caches (None: its rota window does not cover it)."""
    zone = _tz[e.tenant_id][0]
    hour = hour_floor(e.at)
    dow, lhour, lday = _local_of(zone, hour)
    a = e.agent_employee_id
    if a:
        band = tenure_band(_employees[a][0], e.at.astimezone(zone).date())
        shift = 0
        rc = _rota.get(a)
        if rc is None or not (rc[0] <= e.at < rc[1]):
            return None
        for start, end, t in rc[3]:
            if start <= e.at < end:
                shift = t
                break
    else:
        band, shift = "none", 0
    return Cohort(e.tenant_id, e.team_id, band, shift, hour, dow, lhour, lday)


async def refresh(session: AsyncSession, events: Sequence[Event]) -> None:
    """Load what `_direct_rows` needs for *events* and found missing or stale (the chat
    writer calls it outside its write transaction, then tries its direct path again): the
    events' tenant zones, agents and rota windows — and, in the same one SELECT per cache,
    every cached entry past half its time to live. Entries loaded at different times then
    go stale together, so a stream of batches does not meet one expiry after another (each a
    reload; before, each a batch on the session path)."""
    now = time.monotonic()
    tenants = {e.tenant_id for e in events}
    tenants.update(t for t, c in list(_tz.items()) if now - c[1] > TZ_TTL_S / 2)
    await zones(session, tenants, ahead=TZ_TTL_S / 2)
    agents = {e.agent_employee_id for e in events if e.agent_employee_id}
    agents.update(a for a, c in list(_employees.items()) if now - c[2] > EMPLOYEE_TTL_S / 2)
    if agents:
        await employees(session, agents, ahead=EMPLOYEE_TTL_S / 2)
    wanted = {(e.agent_employee_id, e.at) for e in events if e.agent_employee_id}
    if events:  # (the others' windows around the batch's time: a chat batch's is now)
        at = max(e.at for e in events)
        wanted.update((a, at) for a, r in list(_rota.items()) if now - r[2] > ROTA_TTL_S / 2)
    if wanted:
        await shifts(session, sorted(wanted), ahead=ROTA_TTL_S / 2)


async def cohorts(session: AsyncSession, events: Sequence[Event]) -> list[Cohort]:
    """Each event's cohort. One pass over the per-process caches first: the loaders (one
    SELECT each for their misses) run only when something is missing or stale."""
    if not _caches_fresh(events, time.monotonic()):
        await zones(session, {e.tenant_id for e in events})
        agents = {e.agent_employee_id for e in events if e.agent_employee_id}
        if agents:
            await employees(session, agents)
            await shifts(session, [(e.agent_employee_id, e.at) for e in events
                                   if e.agent_employee_id])
    out: list[Cohort] = []
    for e in events:
        k = _cohort_of(e)
        if k is None:  # outside even the fresh window (cannot happen; be exact anyway)
            zone = _tz[e.tenant_id][0]
            hour = hour_floor(e.at)
            dow, lhour, lday = _local_of(zone, hour)
            assert e.agent_employee_id is not None
            band = tenure_band(_employees[e.agent_employee_id][0], e.at.astimezone(zone).date())
            k = Cohort(e.tenant_id, e.team_id, band,
                       await _shift_at(session, e.agent_employee_id, e.at), hour, dow, lhour,
                       lday)
        out.append(k)
    return out


ALL_TEAMS = -1  # team_id of the tenant-level grains (every team of the tenant summed)


def live_keys(tenant_id: int, team_id: int, band: str, day: date, dow: int, hour: int
              ) -> tuple[tuple[Any, ...], ...]:
    """The day-grain cube rows (grain, period, tenant, team, band, weekday, hour) one hourly
    cell feeds, always: per team (b, d) and, for the heat-map of a whole subsidiary, per
    tenant (D)."""
    return (("b", day, tenant_id, team_id, band, -1, -1),
            ("d", day, tenant_id, team_id, "*", dow, hour),
            ("D", day, tenant_id, ALL_TEAMS, "*", dow, hour))


def month_keys(tenant_id: int, team_id: int, day: date, dow: int, hour: int
               ) -> tuple[tuple[Any, ...], ...]:
    """The month-grain cube rows (m per team, M per tenant) an hourly cell feeds once its
    month is sealed (`RollupMonth`)."""
    month = day.replace(day=1)
    return (("m", month, tenant_id, team_id, "*", dow, hour),
            ("M", month, tenant_id, ALL_TEAMS, "*", dow, hour))


def cube_keys(tenant_id: int, team_id: int, band: str, day: date, dow: int, hour: int
              ) -> tuple[tuple[Any, ...], ...]:
    """Every cube row one hourly cell feeds in a sealed month (day and month grains)."""
    return (*live_keys(tenant_id, team_id, band, day, dow, hour),
            *month_keys(tenant_id, team_id, day, dow, hour))


# An event is late when its local day is this many days or more before today (UTC): only
# late events can fall in a sealed month (`analytics.months.SEAL_AFTER_DAYS` is larger).
LATE_AFTER_DAYS = 3


def late_cutoff(now: datetime | None = None) -> date:
    """Events of this local day or earlier are late."""
    return (now or datetime.now(UTC)).date() - timedelta(days=LATE_AFTER_DAYS)


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


class _SqlitePlan(NamedTuple):
    """An upsert as SQLAlchemy compiles it for SQLite (qmark parameters, one per column of
    the row tuple, in its order; or PostgreSQL's ``%s``: `_pg_plans`) and each column's bind
    processor — UTCDateTime and Date are
    stored exactly as the ORM stores them, so the primary keys match the rows written or
    read through SQLAlchemy."""

    sql: str
    processors: tuple[Any, ...]  # per column: its bind processor or None

    def row(self, r: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(v if p is None else p(v) for v, p in zip(r, self.processors, strict=True))

    def key(self, k: Sequence[Any]) -> tuple[Any, ...]:
        """The row's leading columns (key, weekday, hour) as the driver gets them."""
        procs = self.processors[:len(k)]
        return tuple(v if p is None else p(v) for v, p in zip(k, procs, strict=True))


# SQLite: the plans of the hourly and the cube upsert, compiled once.
_SQLITE_PLANS: list[_SqlitePlan] = []


def _sqlite_plan(dialect: Any, model: Any, key: tuple[str, ...], cols: tuple[str, ...]
                 ) -> _SqlitePlan:
    compiled: Any = upsert_statement(dialect.name, model, key).compile(dialect=dialect)
    if tuple(compiled.positiontup) != cols:  # the row tuples are built in `cols` order
        raise RuntimeError(f"{model.__tablename__}: upsert parameters are not in row order")
    table = model.__table__
    procs = tuple(table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in cols)
    if any(p is not None for p in procs[len(cols) - _NC:]):  # counters are sent as they are
        raise RuntimeError(f"{model.__tablename__}: counters need a bind processor")
    return _SqlitePlan(str(compiled), procs)


def _sqlite_plans(dialect: Any) -> list[_SqlitePlan]:
    if not _SQLITE_PLANS:
        _SQLITE_PLANS.extend((_sqlite_plan(dialect, RollupHourly, HOURLY_KEY, HOURLY_COLS),
                              _sqlite_plan(dialect, RollupCube, CUBE_KEY, CUBE_COLS)))
    return _SQLITE_PLANS


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
    """The two upserts on SQLite for rows as the ORM holds them (HOURLY_COLS / CUBE_COLS
    order): through the bind processors, then `_sqlite_write`."""
    conn = await session.connection()
    plans = _sqlite_plans(conn.dialect)
    await _sqlite_write(conn, [plans[0].row(r) for r in hourly], [plans[1].row(r) for r in cube])


async def _sqlite_write(conn: AsyncConnection, hourly: list[tuple[Any, ...]],
                        cube: list[tuple[Any, ...]]) -> None:
    """The two grouped upserts on SQLite (parameters already bind-processed), straight to the
    driver inside the connection's transaction: on the chat writer's synchronous sqlite3
    connection (`db.make_direct_engine`) called directly; on aiosqlite in ONE hop to its thread
    (both statements in one function; through SQLAlchemy's adapter a statement costs three
    thread hand-offs and ~0.2 ms of CPU, which with one-message batches doubled the hook's
    cost — benchmarks/analytics.py).

    Correctness of bypassing SQLAlchemy here: the statements run on the very connection and
    transaction of the session (its `BEGIN` has been issued: `session.connection()`), so they
    commit or roll back with the batch's messages; `take_write_gate` queues for the SQLite
    write gate first unless the transaction has written already (then it holds the gate:
    the chat writer since its message insert) — needed when another caller records events;
    the parameters went through the bind processors SQLAlchemy would use (identical stored
    keys); cursor-event listeners (statement counters, tracing) are told what ran; driver
    errors are raised as SQLAlchemy's exception classes, so callers see what they would see
    through the ORM."""
    from probity.db import WROTE, take_write_gate

    plans = _sqlite_plans(conn.dialect)
    sync = conn.sync_connection
    if sync is None or not sync.info.get(WROTE):
        # (a transaction that has written holds the gate already: skip the gate's look-up,
        # which resolves the database path)
        await take_write_gate(conn)
    raw: Any = (sync.connection if sync is not None
                else await conn.get_raw_connection()).driver_connection
    work = [(sql, rows) for sql, rows in ((plans[0].sql, hourly), (plans[1].sql, cube)) if rows]
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

# dialect -> cohort -> (its hourly row's leading columns, its cube rows' keys), as the driver
# gets them (SQLite: bind-processed). A cohort's rows are the same all its hour: memoised.
_prepared: dict[str, dict[Cohort, tuple[tuple[Any, ...], tuple[tuple[Any, ...], ...]]]] = {}


def _prepare(dialect: AnyDialect, k: Cohort) -> tuple[tuple[Any, ...], tuple[tuple[Any, ...], ...]]:
    memo = _prepared.setdefault(dialect.name, {})
    got = memo.get(k)
    if got is None:
        if len(memo) > 20_000:
            memo.clear()
        hkey: tuple[Any, ...] = (k.tenant_id, k.team_id, k.tenure_band, k.shift_id, k.hour,
                                 k.local_dow, k.local_hour)
        ckeys = live_keys(k.tenant_id, k.team_id, k.tenure_band, k.local_day, k.local_dow,
                          k.local_hour)
        if dialect.name == "sqlite":
            hplan, cplan = _sqlite_plans(dialect)
            hkey, ckeys = hplan.key(hkey), tuple(cplan.key(c) for c in ckeys)
        got = memo[k] = (hkey, ckeys)
    return got


def _counts(events: Sequence[Event], keys: Sequence[Cohort]) -> dict[Cohort, list[int]]:
    """The events' counters (COUNTERS' order) per cohort."""
    groups: dict[Cohort, list[int]] = {}
    for e, k in zip(events, keys, strict=True):
        g = groups.get(k)
        if g is None:
            g = groups[k] = [0] * _NC
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
    return groups


def _rows_of(dialect: AnyDialect, groups: dict[Cohort, list[int]]
             ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The hourly rows and the cube rows of the counted cohorts (HOURLY_COLS / CUBE_COLS
    order, keys sorted; SQLite: bind-processed)."""
    hourly: list[tuple[Any, ...]] = []
    rows: list[tuple[Any, ...]]
    if len(groups) == 1:  # one cohort (most small batches): its cube rows are distinct
        ((k, g),) = groups.items()
        hkey, ckeys = _prepare(dialect, k)
        counts = tuple(g)
        hourly.append(hkey + counts)
        rows = [ck + counts for ck in ckeys]
    else:
        cube: dict[tuple[Any, ...], list[int]] = {}
        for k in sorted(groups):
            g = groups[k]
            hkey, ckeys = _prepare(dialect, k)
            hourly.append((*hkey, *g))
            for ck in ckeys:
                acc = cube.get(ck)
                if acc is None:
                    cube[ck] = list(g)
                else:
                    for i in range(_NC):
                        acc[i] += g[i]
        rows = [(*ck, *cube[ck]) for ck in sorted(cube)]
    return hourly, rows


async def record_events(session: AsyncSession, events: Sequence[Event],
                        conn: AsyncConnection | None = None) -> None:
    """Count the events per cohort (= hourly key), derive the cube rows, and upsert both —
    rows as tuples in HOURLY_COLS / CUBE_COLS order, keys in sorted order. `conn`: the
    session's connection when the caller has it at hand (the chat writer)."""
    if not events:
        return
    keys = await cohorts(session, events)
    groups = _counts(events, keys)
    if conn is None:
        conn = await session.connection()
    dialect = conn.dialect
    hourly, rows = _rows_of(dialect, groups)
    if dialect.name == "sqlite":
        await _sqlite_write(conn, hourly, rows)
    else:
        stmt = _STATEMENTS.get(dialect.name)
        if stmt is None:
            stmt = _STATEMENTS[dialect.name] = upsert_statement(dialect.name)
            _STATEMENTS[dialect.name + ":cube"] = upsert_statement(dialect.name, RollupCube,
                                                                   CUBE_KEY)
        params = [dict(zip(HOURLY_COLS, r, strict=True)) for r in hourly]
        cube_params = [dict(zip(CUBE_COLS, r, strict=True)) for r in rows]
        await conn.execute(stmt, params[0] if len(params) == 1 else params)
        await conn.execute(_STATEMENTS[dialect.name + ":cube"],
                           cube_params[0] if len(cube_params) == 1 else cube_params)
    late = _late_cutoff()
    if any(k.local_day <= late for k in groups):
        await _sealed_months(conn, {k: g for k, g in groups.items() if k.local_day <= late})
    from probity.monitoring.enforce import on_batch

    await on_batch(session, events, keys)


_cutoff: list[tuple[float, date]] = [(-math.inf, date.min)]  # (computed at, late cutoff)


def _late_cutoff() -> date:
    """`late_cutoff()`, recomputed at most once a minute (the sealing lag leaves days)."""
    now = time.monotonic()
    at, day = _cutoff[0]
    if now - at > 60:
        day = late_cutoff()
        _cutoff[0] = (now, day)
    return day


async def _sealed_months(conn: AsyncConnection, late: dict[Cohort, list[int]]) -> None:
    """Late events (rare on the send path: backfills, imports, tests) may fall in a sealed
    month: add them to its month grains too. Read AFTER the day rows were upserted: on
    PostgreSQL the upsert holds the cube's ROW EXCLUSIVE lock, which `seal_months`' SHARE ROW
    EXCLUSIVE waits for, so either the seal committed before this read (and is seen) or it
    sums these day rows after this transaction commits; on SQLite the transaction holds the
    write lock. Never cached."""
    from probity.models import RollupMonth

    months = {k.local_day.replace(day=1) for k in late}
    sealed = set((await conn.execute(select(RollupMonth.month).where(
        RollupMonth.month.in_(sorted(months))))).scalars())
    if not sealed:
        return
    cube: dict[tuple[Any, ...], list[int]] = {}
    for k in sorted(late):
        if k.local_day.replace(day=1) not in sealed:
            continue
        g = late[k]
        for ck in month_keys(k.tenant_id, k.team_id, k.local_day, k.local_dow, k.local_hour):
            acc = cube.setdefault(ck, [0] * _NC)
            for i in range(_NC):
                acc[i] += g[i]
    dialect = conn.dialect
    if dialect.name == "sqlite":
        cplan = _sqlite_plans(dialect)[1]
        await _sqlite_write(conn, [], [cplan.row((*ck, *v)) for ck, v in sorted(cube.items())])
    else:
        await conn.execute(upsert_statement(dialect.name, RollupCube, CUBE_KEY),
                           [dict(zip(CUBE_COLS, (*ck, *v), strict=True))
                            for ck, v in sorted(cube.items())])


async def record_batch(session: AsyncSession,
                       rows: Iterable[tuple[Any, int | None, int | None]],
                       conn: AsyncConnection | None = None) -> None:
    """The chat writer's hook: `rows` are (stored message, conversation's team id,
    conversation's agent employee id) for every NEW message of the batch (not resends);
    `conn` the session's connection if the caller has it. Flush only; runs in the writer's
    transaction."""
    await record_events(session, events_of(rows), conn)


# What `_cohort_of` reads of an event: tenant_id, team_id, agent_employee_id, at.
_COHORT_KEY = itemgetter(0, 1, 2, 8)


def _direct_rows(dialect: AnyDialect, events: Sequence[Event]
                 ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]] | None:
    """The hourly and cube rows of `record_events` for a caller without a session (the chat
    writer's direct paths): None when it needs one — an event's cohort is not in the
    per-process caches, an event is late (a sealed month), or a monitoring rule is in force
    for the batch's tenants."""
    if not events:
        return [], []
    # An event's cohort depends on its tenant, team, agent and time alone (`_COHORT_KEY`), and
    # a chat batch's events share their time and mostly their agent: one look-up per key.
    firsts: dict[tuple[Any, ...], Event] = {}
    for e in events:
        firsts.setdefault(_COHORT_KEY(e), e)
    if not _caches_fresh(list(firsts.values()), time.monotonic()):
        return None
    cohort: dict[tuple[Any, ...], Cohort] = {}
    for key, e in firsts.items():
        k = _cohort_of(e)
        if k is None:
            return None
        cohort[key] = k
    keys = list(map(cohort.__getitem__, map(_COHORT_KEY, events)))
    late = _late_cutoff()
    if any(k.local_day <= late for k in keys):
        return None
    from probity.monitoring.enforce import quiet_for

    if not quiet_for({e.tenant_id for e in events}):
        return None
    return _rows_of(dialect, _counts(events, keys))


def record_events_sqlite3(con: sqlite3.Connection, dialect: AnyDialect,
                          events: Sequence[Event]) -> list[tuple[str, Any]] | None:
    """`record_events` on a bare ``sqlite3`` connection in a write transaction that holds the
    process's write gate (the chat writer's direct path, `probity.chat.direct`, which builds
    `events` as `events_of` would, message id 0), when it needs no session (`_direct_rows`).
    Then the same two grouped upserts are sent (bind-processed by `dialect`, SQLite's) and
    returned as (sql, params) for statement counters; otherwise nothing is sent and None says:
    use `record_events`."""
    got = _direct_rows(dialect, events)
    if got is None:
        return None
    hourly, cube = got
    plans = _sqlite_plans(dialect)
    work = [(sql, params) for sql, params in ((plans[0].sql, hourly), (plans[1].sql, cube))
            if params]
    try:
        _upserts_on(con, work)
    except sqlite3.Error as exc:
        raise driver_error(exc, "analytics rollup upsert") from exc
    return work


# PostgreSQL (psycopg, ``%s`` parameters): the plans of the hourly and the cube upsert.
_PG_PLANS: list[_SqlitePlan] = []


def _pg_plans() -> list[_SqlitePlan]:
    if not _PG_PLANS:
        from sqlalchemy.dialects.postgresql.psycopg import dialect as pg_dialect

        positional = pg_dialect(paramstyle="format")  # type: ignore[no-untyped-call]
        _PG_PLANS.extend((_sqlite_plan(positional, RollupHourly, HOURLY_KEY, HOURLY_COLS),
                          _sqlite_plan(positional, RollupCube, CUBE_KEY, CUBE_COLS)))
    return _PG_PLANS


def events_upserts_psycopg(dialect: AnyDialect, events: Sequence[Event]
                           ) -> list[tuple[str, Any]] | None:
    """`record_events_sqlite3` for a bare ``psycopg`` connection (the chat writer's direct
    path on PostgreSQL): the same two grouped upserts as `record_events` sends there, as
    (sql in ``%s`` form, list of parameter tuples) for the caller to run (an executemany
    each, pipelined with its other statements); None: use `record_events`."""
    got = _direct_rows(dialect, events)
    if got is None:
        return None
    hourly, cube = got
    plans = _pg_plans()
    return [(plan.sql, [plan.row(r) for r in params])
            for plan, params in ((plans[0], hourly), (plans[1], cube)) if params]
