"""Dashboard data, read from the rollup cube (never from messages): weekday × hour heat-map
(whole months from the month grain, the rest from the day × hour grain), rates by tenure band
with 95% CIs, team and subsidiary league table, daily trends (day × band grain), and the alerts
behind a cell. Everything within the caller's `analytics.read` scope."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    and_,
    cast,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from probity.analytics import months
from probity.analytics.rollup import tenure_band, zones
from probity.analytics.stats import wilson
from probity.auth.permissions import Perm, Principal
from probity.auth.scoping import tenant_in_scope
from probity.errors import InvalidInput
from probity.models import (
    Alert,
    CaseAlert,
    Employee,
    OrgUnit,
    RollupCube,
    RollupHourly,
    StaffingCube,
    Tenant,
)
from probity.models.analytics import TENURE_BANDS

MAX_DAYS = 400
DEFAULT_DAYS = 90
R = RollupHourly
C = RollupCube
S = StaffingCube


@dataclass(frozen=True)
class Filters:
    start: date  # local, inclusive
    end: date  # local, inclusive
    zone: ZoneInfo
    tenant_id: int | None = None
    tenant_path: str | None = None
    team_id: int | None = None

    @property
    def utc_from(self) -> datetime:
        return datetime.combine(self.start, time(), self.zone).astimezone(UTC)

    @property
    def utc_to(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time(), self.zone).astimezone(UTC)

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        if self.tenant_id:
            out["tenant"] = self.tenant_id
        if self.team_id:
            out["team"] = self.team_id
        return out


def parse_day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        raise InvalidInput(f"the date range is empty: '{name}' has no date", code="empty_range",
                           template="The date range is empty: '{name}' has no date",
                           params={"name": name})
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"'{name}' is not a date (YYYY-MM-DD)", code="invalid_date",
                           template="'{name}' is not a date (YYYY-MM-DD)",
                           params={"name": name}) from None


async def filters(session: AsyncSession, principal: Principal, *, start: str | None,
                  end: str | None, tenant: int | None = None, team: int | None = None,
                  today: date | None = None) -> Filters:
    """Validate the dashboard filters: a date range (inclusive local days, 422 when empty,
    reversed or longer than MAX_DAYS), a tenant in scope (422 otherwise), a team. The tenant's
    display zone comes from the rollup hook's per-process cache (a minute at most behind a
    change of the group standard): every dashboard request starts here."""
    path = None
    if tenant is not None:
        t = await tenant_in_scope(session, principal, Perm.analytics_read, tenant, teams=True)
        path = t.path
    zone_of = tenant or principal.tenant_id
    zone = (await zones(session, [zone_of]))[zone_of]
    today = today or datetime.now(zone).date()
    d_end = parse_day(end, "to") or today
    d_start = parse_day(start, "from") or (d_end - timedelta(days=DEFAULT_DAYS - 1))
    if d_start > d_end:
        raise InvalidInput(f"the date range is reversed: {d_start} is after {d_end}",
                           code="reversed_range",
                           template="The date range is reversed: {start} is after {end}",
                           params={"start": d_start.isoformat(), "end": d_end.isoformat()})
    if (d_end - d_start).days + 1 > MAX_DAYS:
        raise InvalidInput(f"the date range is longer than {MAX_DAYS} days", code="range_too_long",
                           template="The date range is longer than {days} days",
                           params={"days": MAX_DAYS})
    if team is not None:
        unit = await session.get(OrgUnit, team) if 0 < team < 2**31 else None
        scope = principal.scope(Perm.analytics_read)
        unit_path = (await session.scalar(select(Tenant.path).where(
            Tenant.id == unit.tenant_id))) if unit is not None else None
        if unit is None or not (team in scope.org_unit_ids
                                or (unit_path and scope.covers_path(unit_path))):
            raise InvalidInput("unknown team", code="unknown_team", template="Unknown team")
    return Filters(d_start, d_end, zone, tenant, path, team)


def where(principal: Principal, f: Filters) -> ColumnElement[bool]:
    scope = principal.scope(Perm.analytics_read)
    clauses: list[ColumnElement[bool]] = [
        scope.filter(R.tenant_id, R.team_id),
        R.hour >= f.utc_from, R.hour < f.utc_to]
    if f.tenant_path:
        clauses.append(R.tenant_id.in_(select(Tenant.id).where(
            Tenant.path.startswith(f.tenant_path, autoescape=True))))
    if f.team_id:
        clauses.append(R.team_id == f.team_id)
    return and_(*clauses)


def cube_where(principal: Principal, f: Filters, grain: str,
               periods: ColumnElement[bool] | None = None, model: Any = None
               ) -> ColumnElement[bool]:
    """The rows of one grain of the rollup cube (or of the staffing cube, `model`) in the
    range and the caller's scope."""
    m: Any = model if model is not None else C
    scope = principal.scope(Perm.analytics_read)
    clauses: list[ColumnElement[bool]] = [
        m.grain == grain, scope.filter(m.tenant_id, m.team_id),
        periods if periods is not None else and_(m.period >= f.start, m.period <= f.end)]
    if f.tenant_path:
        clauses.append(m.tenant_id.in_(select(Tenant.id).where(
            Tenant.path.startswith(f.tenant_path, autoescape=True))))
    if f.team_id:
        clauses.append(m.team_id == f.team_id)
    return and_(*clauses)


def month_split(start: date, end: date, usable: frozenset[date] | None = None
                ) -> tuple[list[date], list[tuple[date, date]]]:
    """The whole months inside [start, end] (their first days) that have month rows (all of
    them with `usable` None; else those in it: the sealed months) and the day ranges left over
    (inclusive, adjacent ones merged), so a heat-map reads month rows where it can and day
    rows elsewhere."""
    months: list[date] = []
    edges: list[tuple[date, date]] = []
    first = start.replace(day=1)
    if first < start:
        first = (first + timedelta(days=32)).replace(day=1)
    m = first
    cursor = start  # the first day not yet covered
    while True:
        nxt = (m + timedelta(days=32)).replace(day=1)
        if nxt - timedelta(days=1) > end:
            break
        if usable is None or m in usable:
            if cursor < m:
                edges.append((cursor, m - timedelta(days=1)))
            months.append(m)
            cursor = nxt
        m = nxt
    if cursor <= end:
        edges.append((cursor, end))
    return months, edges


SUMS = ("messages", "agent_messages", "conversations", "attempts", "violations", "blocks",
        "contact_attempts")


def _sums(model: Any = C) -> list[Any]:
    return [func.coalesce(func.sum(getattr(model, c)), 0).label(c) for c in SUMS]


def rates(d: dict[str, Any]) -> dict[str, Any]:
    m, a = int(d.get("messages", 0)), int(d.get("agent_messages", 0))
    d["attempt_rate"] = round(d["attempts"] / m, 6) if m else None
    d["violation_rate"] = round(d["violations"] / a, 6) if a else None
    c = int(d.get("conversations", 0))
    d["attempts_per_conversation"] = round(d["attempts"] / c, 6) if c else None
    return d


async def _grouped(session: AsyncSession, stmt: Select[Any]) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in (await session.execute(stmt)).all()]


async def totals(session: AsyncSession, principal: Principal, f: Filters) -> dict[str, Any]:
    """The range's sums. With the tenant-level grains (no team filter, a tenant-wide scope)
    from whole sealed months (`M`) and the other days (`D`): a few thousand rows a year
    instead of the ~17,500 day × team × band rows (`b`)."""
    month_grain, day_grain = heat_grains(principal, f)
    if month_grain == "m":
        rows = await _grouped(session, select(*_sums()).where(cube_where(principal, f, "b")))
        return rates(rows[0] if rows else dict.fromkeys(SUMS, 0))
    parts = _heat_parts(principal, f, month_grain, day_grain, sealed=await months.sealed(session))
    rows = await _grouped(session, _over_parts(parts, [], C))
    return rates(rows[0] if rows else dict.fromkeys(SUMS, 0))


def _heat_parts(principal: Principal, f: Filters, month_grain: str, day_grain: str,
                model: Any = C, sealed: frozenset[date] | None = None
                ) -> list[ColumnElement[bool]]:
    """The WHERE clause of each part of the range: its whole months with month rows (the
    rollup cube's sealed months; every month of the staffing cube, `sealed` None) and the
    other days."""
    whole, edges = month_split(f.start, f.end, sealed)
    parts = []
    if whole:
        parts.append(cube_where(principal, f, month_grain, model.period.in_(whole), model))
    for lo, hi in edges:
        parts.append(cube_where(principal, f, day_grain,
                                and_(model.period >= lo, model.period <= hi), model))
    return parts


def _over_parts(parts: list[ColumnElement[bool]], by: list[str], model: Any,
                sums: tuple[str, ...] = SUMS) -> Select[Any]:
    """ONE statement for all parts: each part's rows through its own index range (UNION
    ALL), summed per `by` outside."""
    cols = [getattr(model, c) for c in (*by, *sums)]
    if len(parts) == 1:
        sub: Any = select(*cols).where(parts[0]).subquery()
    else:
        sub = union_all(*(select(*cols).where(p) for p in parts)).subquery()
    keys = [sub.c[c] for c in by]
    return select(*keys, *(func.coalesce(func.sum(sub.c[c]), 0).label(c) for c in sums)
                  ).group_by(*keys)


def per_agent_hour(d: dict[str, Any], agent_hours: int) -> dict[str, Any]:
    """Rates per agent-hour on shift (the rota's people on shift, summed over the hours):
    a busy hour with more staff on the rota is not riskier for having more attempts."""
    d["agent_hours"] = agent_hours
    d["attempts_per_agent_hour"] = round(d["attempts"] / agent_hours, 6) if agent_hours else None
    d["violations_per_agent_hour"] = (round(d["violations"] / agent_hours, 6)
                                      if agent_hours else None)
    return d


def heat_grains(principal: Principal, f: Filters) -> tuple[str, str]:
    """The cube grains a heat-map reads (month, day): the tenant-level ones (every team summed,
    a tenth or less of the rows) unless a team is filtered or the caller's scope names single
    teams, which need the per-team rows."""
    if f.team_id is None and not principal.scope(Perm.analytics_read).org_unit_ids:
        return "M", "D"
    return "m", "d"


async def heatmap(session: AsyncSession, principal: Principal, f: Filters, *,
                  staffing: bool = True) -> dict[str, Any]:
    """Weekday × hour: two statements (the rollup cube's and the staffing cube's parts, each
    one UNION ALL); `staffing` False leaves the agents on shift out (findings)."""
    month_grain, day_grain = heat_grains(principal, f)
    acc: dict[tuple[int, int], dict[str, Any]] = {}
    parts = _heat_parts(principal, f, month_grain, day_grain, sealed=await months.sealed(session))
    for r in await _grouped(session, _over_parts(parts, ["local_dow", "local_hour"], C)):
        acc[(int(r["local_dow"]), int(r["local_hour"]))] = {
            "local_dow": int(r["local_dow"]), "local_hour": int(r["local_hour"]),
            **{c: int(r[c]) for c in SUMS}}
    staff: dict[tuple[int, int], int] = {}
    for r in [] if not staffing else await _grouped(session, _over_parts(
            _heat_parts(principal, f, month_grain, day_grain, S), ["local_dow", "local_hour"],
            S, ("agent_hours",))):
        staff[(int(r["local_dow"]), int(r["local_hour"]))] = int(r["agent_hours"] or 0)
    for k in staff:
        acc.setdefault(k, {"local_dow": k[0], "local_hour": k[1], **dict.fromkeys(SUMS, 0)})
    cells = [per_agent_hour(rates(acc[k]), staff.get(k, 0)) for k in sorted(acc)]
    return {"cells": cells, "filters": f.params()}


async def cohort_sums(session: AsyncSession, principal: Principal, f: Filters
                      ) -> list[dict[str, Any]]:
    """The day × band grain summed per tenant, team and tenure band: what the tenure bands and
    the league table each sum one way (findings reads both from this one statement)."""
    return await _grouped(session, select(C.tenant_id, C.team_id, C.tenure_band, *_sums())
                          .where(cube_where(principal, f, "b"))
                          .group_by(C.tenant_id, C.team_id, C.tenure_band))


async def by_tenure(session: AsyncSession, principal: Principal, f: Filters) -> dict[str, Any]:
    rows = {r["tenure_band"]: r for r in await _grouped(
        session, select(C.tenure_band, *_sums()).where(cube_where(principal, f, "b"))
        .group_by(C.tenure_band))}
    bands = []
    for band in TENURE_BANDS:
        r = rates(rows.get(band) or {"tenure_band": band, **dict.fromkeys(SUMS, 0)})
        lo, hi = wilson(int(r["violations"]), int(r["agent_messages"]))
        r.update(tenure_band=band, ci_low=round(lo, 6), ci_high=round(hi, 6))
        bands.append(r)
    return {"bands": bands, "filters": f.params()}


async def league(session: AsyncSession, principal: Principal, f: Filters) -> dict[str, Any]:
    teams = await _grouped(session, select(C.team_id, C.tenant_id, *_sums())
                           .where(cube_where(principal, f, "b")).group_by(C.team_id, C.tenant_id))
    staff = {(int(t), int(u)): int(n or 0) for t, u, n in (await session.execute(
        select(S.tenant_id, S.team_id, func.sum(S.agent_hours))
        .where(cube_where(principal, f, "b", model=S)).group_by(S.tenant_id, S.team_id))).all()}
    seen = {(int(r["tenant_id"]), int(r["team_id"])) for r in teams}
    teams += [{"team_id": u, "tenant_id": t, **dict.fromkeys(SUMS, 0)}
              for t, u in staff if (t, u) not in seen]
    unit_names = dict((await session.execute(select(OrgUnit.id, OrgUnit.name))).all())
    tenants = {t.id: t for t in (await session.scalars(select(Tenant))).all()}
    per_sub: dict[int, dict[str, Any]] = {}
    team_rows = []
    for r in teams:
        per_agent_hour(rates(r), staff.get((int(r["tenant_id"]), int(r["team_id"])), 0))
        lo, hi = wilson(int(r["violations"]), int(r["agent_messages"]))
        t = tenants.get(r["tenant_id"])
        r.update(name=unit_names.get(r["team_id"], "—"), tenant_name=t.name if t else "—",
                 ci_low=round(lo, 6), ci_high=round(hi, 6))
        team_rows.append(r)
        parts = [int(p) for p in (t.path if t else "").strip("/").split("/") if p]
        sub = parts[1] if len(parts) > 1 else (parts[0] if parts else r["tenant_id"])
        acc = per_sub.setdefault(sub, {"tenant_id": sub, "staff": 0, **dict.fromkeys(SUMS, 0)})
        for c in SUMS:
            acc[c] += int(r[c])
        acc["staff"] += int(r["agent_hours"])
    subs = []
    for sub, acc in per_sub.items():
        per_agent_hour(rates(acc), int(acc.pop("staff")))
        lo, hi = wilson(int(acc["violations"]), int(acc["agent_messages"]))
        acc.update(name=tenants[sub].name if sub in tenants else "—", ci_low=round(lo, 6),
                   ci_high=round(hi, 6))
        subs.append(acc)
    key = lambda r: (-(r["violation_rate"] or 0), r["name"])  # noqa: E731
    return {"teams": sorted(team_rows, key=key), "subsidiaries": sorted(subs, key=key),
            "filters": f.params()}


async def trends(session: AsyncSession, principal: Principal, f: Filters) -> dict[str, Any]:
    rows = await _grouped(session, select(C.period, *_sums())
                          .where(cube_where(principal, f, "b")).group_by(C.period))
    days: dict[date, dict[str, Any]] = defaultdict(lambda: dict.fromkeys(SUMS, 0))
    for r in rows:
        acc = days[r["period"]]
        for c in SUMS:
            acc[c] += int(r[c])
    out = []
    d = f.start
    while d <= f.end:
        out.append(rates({"day": d.isoformat(), **days.get(d, dict.fromkeys(SUMS, 0))}))
        d += timedelta(days=1)
    return {"days": out, "filters": f.params()}


def _cell_ranges(f: Filters, dow: int | None, hour: int | None
                 ) -> list[tuple[datetime, datetime]] | None:
    """The UTC intervals of a weekday/hour cell inside the range (None: the whole range)."""
    if dow is None and hour is None:
        return None
    out = []
    d = f.start
    while d <= f.end:
        if dow is None or d.weekday() == dow:
            if hour is None:
                lo = datetime.combine(d, time(), f.zone)
                hi = datetime.combine(d + timedelta(days=1), time(), f.zone)
            else:
                lo = datetime.combine(d, time(hour), f.zone)
                hi = lo + timedelta(hours=1)
            out.append((lo.astimezone(UTC), hi.astimezone(UTC)))
        d += timedelta(days=1)
    return out


BAND_DAYS: dict[str, tuple[int | None, int | None]] = {
    "lt3m": (None, 91), "3to12m": (91, 365), "1to3y": (365, 1096), "gt3y": (1096, None)}


def _band_clause(dialect: str, f: Filters, band: str) -> ColumnElement[bool]:
    """An alert's agent in `band` on the alert's local day (as `tenure_band` computes it), in
    SQL. PostgreSQL converts each time in the filter's zone; SQLite has no zones, so its local
    day is UTC plus the zone's offset at the range's end (exact unless a daylight-saving change
    falls inside the range — not the case in the product's zones)."""
    if band == "none":
        return or_(Alert.agent_employee_id.is_(None), Employee.hire_date.is_(None))
    lo, hi = BAND_DAYS[band]
    if dialect == "postgresql":
        local = cast(func.timezone(f.zone.key, Alert.created_at), Date)

        def before(days: int) -> Any:
            return local.op("-")(literal(days, Integer))
    else:
        offset = datetime.combine(f.end, time(12), f.zone).utcoffset() or timedelta()
        minutes = f"{int(offset.total_seconds() // 60):+d} minutes"

        def before(days: int) -> Any:
            return func.date(Alert.created_at, minutes, f"-{days} days")
    # local day − hire date = d days: d < n  ⇔  hire date > local day − n days
    out: list[ColumnElement[bool]] = [Alert.agent_employee_id.is_not(None)]
    if hi is not None:
        out.append(Employee.hire_date > before(hi))
    if lo is not None:
        out.append(Employee.hire_date <= before(lo))
    return and_(*out)


def parse_cursor(value: str | None) -> tuple[datetime, int] | None:
    """A drill-down page's `before` cursor: '<ISO time>_<alert id>' of the last row shown."""
    if not value:
        return None
    at, _sep, aid = value.rpartition("_")
    try:
        when = datetime.fromisoformat(at)
        return (when if when.tzinfo else when.replace(tzinfo=UTC)), int(aid)
    except ValueError:
        raise InvalidInput("'before' is not a drill-down cursor", code="invalid_cursor",
                           template="'{name}' is not a drill-down cursor",
                           params={"name": "before"}) from None


def cursor_of(row: dict[str, Any]) -> str:
    return f"{row['at'].astimezone(UTC).isoformat()}_{row['id']}"


DRILL_CHUNK = 13  # weekly intervals per statement: a quarter


async def drill(session: AsyncSession, principal: Principal, f: Filters, *,
                dow: int | None = None, hour: int | None = None, band: str | None = None,
                team: int | None = None, limit: int = 100,
                before: tuple[datetime, int] | None = None) -> list[dict[str, Any]]:
    """The alerts behind a cell (weekday × hour, tenure band or team), newest first, one page
    of `limit` after the keyset cursor `before` (the last row's time and id).

    Two steps. The page's (time, id) keys come from the covering index
    `ix_alerts_source_created_cover` (source, created_at, id, tenant, team, agent; migration
    0031): a weekday/hour cell is one short interval per week, so each statement is a UNION
    ALL of a quarter's interval range scans, newest quarter first, until the page is full —
    no table rows are read to find them. Then the page's rows (with agent, team and case)
    are read by id."""
    if dow is not None and not 0 <= dow <= 6:
        raise InvalidInput("weekday is 0 (Monday) to 6", code="invalid_cell")
    if hour is not None and not 0 <= hour <= 23:
        raise InvalidInput("hour is 0 to 23", code="invalid_cell")
    if band is not None and band not in (*TENURE_BANDS, "none"):
        raise InvalidInput("unknown tenure band", code="invalid_cell")
    limit = max(1, min(limit, 500))
    scope = principal.scope(Perm.analytics_read)
    clauses: list[ColumnElement[bool]] = [
        Alert.source == "screening", scope.filter(Alert.tenant_id, Alert.org_unit_id)]
    if f.tenant_path:
        clauses.append(Alert.tenant_id.in_(select(Tenant.id).where(
            Tenant.path.startswith(f.tenant_path, autoescape=True))))
    for t in (f.team_id, team):
        if t:
            clauses.append(Alert.org_unit_id == t)
    if before is not None:
        clauses.append(or_(Alert.created_at < before[0],
                           and_(Alert.created_at == before[0], Alert.id < before[1])))
    if band is not None:
        clauses.append(_band_clause(session.get_bind().dialect.name, f, band))
    ranges = _cell_ranges(f, dow, hour) or [(f.utc_from, f.utc_to)]
    newest = [r for r in reversed(ranges) if before is None or r[0] <= before[0]]

    def keys(lo: datetime, hi: datetime) -> Any:
        stmt: Any = select(Alert.created_at.label("at"), Alert.id.label("id"))
        if band is not None:
            stmt = stmt.outerjoin(Employee, Employee.id == Alert.agent_employee_id)
        return stmt.where(*clauses, Alert.created_at >= lo, Alert.created_at < hi)

    ids: list[int] = []
    for i in range(0, len(newest), DRILL_CHUNK):
        parts = [keys(lo, hi) for lo, hi in newest[i:i + DRILL_CHUNK]]
        union: Any = parts[0] if len(parts) == 1 else union_all(*parts)
        sub = union.subquery() if len(parts) > 1 else None
        page: Any = (select(sub.c.id).order_by(sub.c.at.desc(), sub.c.id.desc())
                     if sub is not None else
                     parts[0].with_only_columns(Alert.id)
                     .order_by(Alert.created_at.desc(), Alert.id.desc()))
        ids += [int(x) for x in (await session.scalars(page.limit(limit - len(ids)))).all()]
        if len(ids) >= limit:
            break
    if not ids:
        return []
    units = dict((await session.execute(select(OrgUnit.id, OrgUnit.name).where(
        OrgUnit.id.in_(select(Alert.org_unit_id).where(Alert.id.in_(ids)))))).all())
    rows = (await session.execute(
        select(Alert.id, Alert.created_at, Alert.decision, Alert.category, Alert.severity,
               Alert.sender_role, Alert.org_unit_id, Alert.conversation_id,
               Alert.agent_employee_id, Employee.name, Employee.hire_date, CaseAlert.case_id)
        .outerjoin(Employee, Employee.id == Alert.agent_employee_id)
        .outerjoin(CaseAlert, CaseAlert.alert_id == Alert.id)
        .where(Alert.id.in_(ids))
        .order_by(Alert.created_at.desc(), Alert.id.desc()))).all()
    out: list[dict[str, Any]] = []
    for (aid, at, decision, category, severity, role, unit, conv, agent, name, hired,
         case_id) in rows:
        out.append({"id": aid, "at": at, "decision": decision, "category": category,
                    "severity": severity, "sender_role": role,
                    "team": units.get(unit, "—") if unit else "—",
                    "conversation_id": conv, "agent": name or "—",
                    "tenure_band": tenure_band(hired, at.astimezone(f.zone).date())
                    if agent else "none", "case_id": case_id})
    return out
