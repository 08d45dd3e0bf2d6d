"""Agents on shift per hour, from the rota — the third volume the rates are normalised by.

`refresh(session, tenant_id, first, last)` recomputes the tenant's `StaffingCube` rows for
the local days `first`…`last` from `shift_assignments` (read only: the attendance domain owns
the rota): each assignment [starts_at, ends_at) puts its employee on shift in every UTC hour
it overlaps; an hour's count is the number of distinct employees on shift in it (two
overlapping entries of one person count once), filed under the local day, weekday and hour
of the tenant's display zone. The day rows (``b``, ``d``, ``D``) of those days are replaced,
then the month rows (``m``, ``M``) of the months they touch are summed again from the day
rows — so a refresh is idempotent and a rota edit is reflected exactly by refreshing its day.

Who counts: everyone on the rota of a team (the rota is the agents' schedule); people on a
rota without a team are filed under team 0.

When: the ``analytics.staffing`` job (every 15 minutes) refreshes yesterday−30 … tomorrow for
every tenant, so rota edits show within a quarter of an hour; older history is filled by
``refresh`` directly (the demo seed, the benchmark, a one-off for an imported rota).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, String, and_, delete, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.analytics.rollup import ALL_TEAMS, zones
from probity.models import ShiftAssignment, StaffingCube, Tenant

S = StaffingCube
HOUR = timedelta(hours=1)
JOB_DAYS_BACK = 31


def _month(d: date) -> date:
    return d.replace(day=1)


async def refresh(session: AsyncSession, tenant_id: int, first: date, last: date) -> int:
    """Recompute the tenant's staffing rows for local days `first`…`last` (inclusive); the
    number of day × hour cells with someone on shift. Flush only."""
    zone = (await zones(session, [tenant_id]))[tenant_id]
    lo = datetime.combine(first, time(), zone).astimezone(UTC)
    hi = datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)
    on: dict[tuple[int, datetime], set[int]] = defaultdict(set)
    for emp, unit, start, end in (await session.execute(
            select(ShiftAssignment.employee_id, ShiftAssignment.org_unit_id,
                   ShiftAssignment.starts_at, ShiftAssignment.ends_at)
            .where(ShiftAssignment.tenant_id == tenant_id, ShiftAssignment.starts_at < hi,
                   ShiftAssignment.ends_at > lo))).all():
        h = max(start, lo).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        stop = min(end, hi)
        while h < stop:
            on[(int(unit or 0), h)].add(int(emp))
            h += HOUR
    rows: dict[tuple[Any, ...], int] = defaultdict(int)
    for (team, h), people in on.items():
        local = h.astimezone(zone)
        day, n = local.date(), len(people)
        rows[("b", day, team, -1, -1)] += n
        rows[("d", day, team, local.weekday(), local.hour)] += n
        rows[("D", day, ALL_TEAMS, local.weekday(), local.hour)] += n
    await session.execute(delete(S).where(
        S.tenant_id == tenant_id, S.grain.in_(("b", "d", "D")), S.period >= first,
        S.period <= last))
    if rows:
        await session.execute(insert(S), [
            {"grain": g, "period": p, "tenant_id": tenant_id, "team_id": t, "local_dow": dow,
             "local_hour": hr, "agent_hours": n}
            for (g, p, t, dow, hr), n in sorted(rows.items())])
    months = sorted({_month(first), _month(last)} | {
        _month(first + timedelta(days=i)) for i in range(0, (last - first).days + 1, 28)})
    for m in months:
        after = (m + timedelta(days=32)).replace(day=1)
        for day_grain, month_grain in (("d", "m"), ("D", "M")):
            await session.execute(delete(S).where(
                S.tenant_id == tenant_id, S.grain == month_grain, S.period == m))
            await session.execute(insert(S).from_select(
                ["grain", "period", "tenant_id", "team_id", "local_dow", "local_hour",
                 "agent_hours"],
                select(literal(month_grain, String(1)), literal(m, Date),
                       S.tenant_id, S.team_id, S.local_dow, S.local_hour,
                       func.sum(S.agent_hours))
                .where(S.tenant_id == tenant_id, S.grain == day_grain, S.period >= m,
                       S.period < after)
                .group_by(S.tenant_id, S.team_id, S.local_dow, S.local_hour)))
    return sum(1 for k in rows if k[0] == "d")


async def refresh_recent(session: AsyncSession, today: date | None = None) -> dict[str, int]:
    """The job's work: every tenant with a rota, yesterday−30 … tomorrow (UTC dates)."""
    today = today or datetime.now(UTC).date()
    tenants = [int(t) for t in (await session.scalars(
        select(Tenant.id).where(Tenant.id.in_(
            select(ShiftAssignment.tenant_id).where(and_(
                ShiftAssignment.ends_at > datetime.combine(
                    today - timedelta(days=JOB_DAYS_BACK + 1), time(), UTC))).distinct()))
        .order_by(Tenant.id))).all()]
    cells = 0
    for tid in tenants:
        cells += await refresh(session, tid, today - timedelta(days=JOB_DAYS_BACK),
                               today + timedelta(days=1))
    return {"tenants": len(tenants), "cells": cells}
