"""Sealed months: the month grains of the rollup cube, summed from the day grains once a month
is over, so that the chat writer's hook upserts only the day grains (three cube rows a cohort
instead of five: `benchmarks/analytics.py`, the hook's cost on the send path).

* `seal_months(session)` (the nightly ``analytics.rollup`` job; ``probity analytics
  seal-months``) sums the ``m`` / ``M`` rows of every local month that ended at least
  `SEAL_AFTER_DAYS` days ago and is not sealed yet from its ``d`` / ``D`` rows (replacing any
  month rows it had) and records it in `RollupMonth` — idempotent and incremental: each month
  is summed once, from rows that are themselves incremental.
* After that, the hook adds the month grains for events that fall in a sealed month (only late
  events can: `rollup.LATE_AFTER_DAYS` < `SEAL_AFTER_DAYS`), so a sealed month's rows stay
  complete. The seal takes the cube's SHARE ROW EXCLUSIVE lock on PostgreSQL (SQLite: the
  write lock), so no hook transaction writes day rows it does not see.
* Readers (`sealed()`) use the month rows of sealed months and the day rows of the others —
  always complete either way; a sealed month read from its day rows is only slower, so the
  per-process list may lag (`SEALED_TTL_S`).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Date, String, delete, func, insert, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from probity.analytics.rollup import COUNTERS, LATE_AFTER_DAYS
from probity.models import RollupCube, RollupMonth

C = RollupCube
SEAL_AFTER_DAYS = LATE_AFTER_DAYS + 2
SEALED_TTL_S = 60.0
_sealed: list[tuple[float, frozenset[date]]] = [(-float("inf"), frozenset())]


def next_month(m: date) -> date:
    return (m.replace(day=1) + timedelta(days=32)).replace(day=1)


def sealable_before(today: date) -> date:
    """Months whose first day is before this may be sealed on `today` (UTC date): their last
    local day is at least SEAL_AFTER_DAYS ago."""
    return (today - timedelta(days=SEAL_AFTER_DAYS - 1)).replace(day=1)


async def seal_months(session: AsyncSession, today: date | None = None) -> list[date]:
    """Seal every month that can be (see the module); the months sealed. Flush only."""
    today = today or datetime.now(UTC).date()
    limit = sealable_before(today)
    if session.get_bind().dialect.name == "postgresql":
        # Waits for the transactions that have upserted cube rows, and holds off new ones
        # until this commits (self-exclusive: two seals do not sum one month twice).
        await session.execute(text("LOCK TABLE analytics_rollup_cube IN SHARE ROW EXCLUSIVE MODE"))
    done = set((await session.scalars(select(RollupMonth.month))).all())
    first = await session.scalar(select(func.min(C.period)).where(C.grain == "D"))
    if first is None:
        return []
    months: list[date] = []
    m = first.replace(day=1)
    while m < limit:
        if m not in done:
            months.append(m)
        m = next_month(m)
    if not months:
        return []
    cols = [C.tenant_id, C.team_id, C.tenure_band, C.local_dow, C.local_hour]
    for m in months:
        await session.execute(delete(C).where(C.grain.in_(("m", "M")), C.period == m))
        for day_grain, month_grain in (("d", "m"), ("D", "M")):
            await session.execute(insert(C).from_select(
                ["grain", "period", "tenant_id", "team_id", "tenure_band", "local_dow",
                 "local_hour", *COUNTERS],
                select(literal(month_grain, String(1)), literal(m, Date), *cols,
                       *(func.sum(getattr(C, c)) for c in COUNTERS))
                .where(C.grain == day_grain, C.period >= m, C.period < next_month(m))
                .group_by(*cols)))
        session.add(RollupMonth(month=m, sealed_at=datetime.now(UTC)))
    await session.flush()
    _sealed[0] = (-float("inf"), frozenset())
    return months


async def sealed(session: AsyncSession) -> frozenset[date]:
    """The sealed months (per process, refreshed at most every SEALED_TTL_S seconds)."""
    now = time.monotonic()
    at, months = _sealed[0]
    if now - at > SEALED_TTL_S:
        months = frozenset((await session.scalars(select(RollupMonth.month))).all())
        _sealed[0] = (now, months)
    return months
