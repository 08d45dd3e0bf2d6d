"""The nightly check of the analytics rollups (issue 14's "analytics rollups"; the job is
`analytics.rollup` in `analytics.tasks`): verify, and repair, the rollups the chat writer keeps
incrementally.

The writer adds every batch to `analytics_rollup_hourly` and `analytics_rollup_cube` as it
stores it (`analytics.rollup.record_batch`), so there is nothing to compute on a schedule in the
steady state. What a schedule is for is what the send path cannot see: messages stored without
the hook (imported transcripts, a restore, a writer rewritten without the call), a lost or
doubled increment, a tenure band or rota corrected afterwards. Each night this job recomputes
yesterday's (UTC) hourly cells straight from the stored messages — with the rollup's own cohort
rules (`analytics.rollup.cohorts`: tenure band, shift, local weekday and hour) — compares them
with the stored cells, and where a cell differs adds the difference to it and to the five cube
rows it feeds, in one transaction with the job's ``done``. A second run finds nothing to repair
(idempotent); ``days`` widens the window (e.g. after importing a year of transcripts).

No dashboard reads change: they keep reading the cube, which is again exactly the hourly
rollups regrouped. The writer never writes a past hour, so the deltas cannot race it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.analytics import rollup
from probity.analytics.rollup import COUNTERS, CUBE_KEY, HOURLY_KEY, Event, cube_keys
from probity.models import Conversation, Message, RollupCube, RollupHourly

__all__ = ["reconcile_rollups"]

log = logging.getLogger("probity.analytics.reconcile")

BATCH = 5000  # messages turned into events (and cohorts) at a time
MAX_DAYS = 400
Key = tuple[int, int, str, int, datetime]  # HOURLY_KEY
Counts = list[int]  # in COUNTERS order


def _counts(e: Event) -> Counts:
    """What one message adds to its hourly cell (the writer's rule, `record_events`)."""
    agent = e.sender_role == "agent"
    flagged = e.decision in rollup.FLAGGED
    return [1, int(agent), int(e.first), int(flagged), int(flagged and agent),
            int(e.decision == "block"), int(flagged and "contact" in e.categories)]


def _local_day(hour: datetime, local_dow: int, local_hour: int) -> date:
    """The local day of a stored hourly cell, from the local weekday and hour stored with it
    (the zone in force when it was written; UTC offsets lie within -12 h … +14 h)."""
    for offset in range(-14, 15):
        t = hour + timedelta(hours=offset)
        if t.hour == local_hour and t.weekday() == local_dow:
            return t.date()
    return hour.date()


async def _direct(session: AsyncSession, start: datetime, end: datetime
                  ) -> tuple[dict[Key, Counts], dict[Key, tuple[int, int, date]], int]:
    """Hourly cells computed from the stored messages of [start, end): counts, and each
    cell's (local weekday, local hour, local day); plus the number of messages read."""
    counts: dict[Key, Counts] = {}
    local: dict[Key, tuple[int, int, date]] = {}
    seen = 0
    q = (select(Message.id, Message.tenant_id, Message.conversation_id, Message.sender_role,
                Message.decision, Message.categories, Message.seq, Message.created_at,
                Conversation.org_unit_id, Conversation.agent_employee_id)
         .join(Conversation, Conversation.id == Message.conversation_id)
         .where(Message.created_at >= start, Message.created_at < end)
         .order_by(Message.id).execution_options(yield_per=BATCH))
    result = await session.stream(q)
    async for part in result.partitions():
        events = [Event(int(m.tenant_id), int(m.org_unit_id or 0), m.agent_employee_id,
                        int(m.conversation_id),
                        str(getattr(m.sender_role, "value", m.sender_role)), str(m.decision),
                        tuple(m.categories or ()), int(m.seq) == 1, m.created_at, int(m.id))
                  for m in part]
        seen += len(events)
        for e, k in zip(events, await rollup.cohorts(session, events), strict=True):
            key = (k.tenant_id, k.team_id, k.tenure_band, k.shift_id, k.hour)
            acc = counts.setdefault(key, [0] * len(COUNTERS))
            for i, n in enumerate(_counts(e)):
                acc[i] += n
            local.setdefault(key, (k.local_dow, k.local_hour, k.local_day))
    return counts, local, seen


async def _stored(session: AsyncSession, start: datetime, end: datetime
                  ) -> tuple[dict[Key, Counts], dict[Key, tuple[int, int, date]]]:
    counts: dict[Key, Counts] = {}
    local: dict[Key, tuple[int, int, date]] = {}
    cols = [RollupHourly.__table__.c[c] for c in (*HOURLY_KEY, "local_dow", "local_hour",
                                                  *COUNTERS)]
    for r in (await session.execute(select(*cols).where(  # columns: no ORM objects to go stale
            RollupHourly.hour >= start, RollupHourly.hour < end))).all():
        key = (r.tenant_id, r.team_id, r.tenure_band, r.shift_id, r.hour)
        counts[key] = [int(getattr(r, c)) for c in COUNTERS]
        local[key] = (r.local_dow, r.local_hour, _local_day(r.hour, r.local_dow, r.local_hour))
    return counts, local


def _add(acc: dict[tuple[Any, ...], Counts], keys: Iterable[tuple[Any, ...]], counts: Counts,
         sign: int) -> None:
    for k in keys:
        row = acc.setdefault(k, [0] * len(COUNTERS))
        for i, n in enumerate(counts):
            row[i] += sign * n


async def reconcile_rollups(session: AsyncSession, start: datetime, end: datetime
                            ) -> dict[str, Any]:
    """Make the hourly rollups of [start, end) (whole UTC hours) equal a direct aggregate of
    the stored messages, and the cube follow; flush only. Returns what was found."""
    rollup.reset()  # hire dates and rotas as they are now, not as a cache remembers them
    direct, direct_local, read = await _direct(session, start, end)
    stored, stored_local = await _stored(session, start, end)
    zero = [0] * len(COUNTERS)
    hourly: list[dict[str, Any]] = []
    cube: dict[tuple[Any, ...], Counts] = {}
    for key in sorted(direct.keys() | stored.keys()):
        want, have = direct.get(key, zero), stored.get(key, zero)
        if want == have:
            continue
        delta = [w - h for w, h in zip(want, have, strict=True)]
        dow, hour, _day = direct_local.get(key) or stored_local[key]
        hourly.append({**dict(zip(HOURLY_KEY, key, strict=True)), "local_dow": dow,
                       "local_hour": hour, **dict(zip(COUNTERS, delta, strict=True))})
        tenant, team, band, _shift, _hour = key
        if key in stored:  # what the stored cell fed into the cube comes out …
            sdow, shour, sday = stored_local[key]
            _add(cube, cube_keys(tenant, team, band, sday, sdow, shour), have, -1)
        if key in direct:  # … and what the messages make goes in
            ddow, dhour, dday = direct_local[key]
            _add(cube, cube_keys(tenant, team, band, dday, ddow, dhour), want, +1)
    cube_rows = [{**dict(zip(CUBE_KEY, k, strict=True)), **dict(zip(COUNTERS, v, strict=True))}
                 for k, v in sorted(cube.items()) if any(v)]
    if hourly:
        dialect = session.get_bind().dialect.name
        await session.execute(rollup.upsert_statement(dialect), hourly)
        if cube_rows:
            await session.execute(rollup.upsert_statement(dialect, RollupCube, CUBE_KEY), cube_rows)
        await session.flush()
        log.warning("analytics rollups: %d hourly cell(s) repaired between %s and %s",
                    len(hourly), start.isoformat(), end.isoformat())
    return {"start": start.isoformat(), "end": end.isoformat(), "messages": read,
            "cells": len(direct.keys() | stored.keys()), "repaired": len(hourly),
            "cube_rows": len(cube_rows)}


def window(day: str | None, days: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    """[start, end) of ``days`` UTC days ending with ``day`` (default: yesterday, UTC)."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be 1 … {MAX_DAYS}")
    last = date.fromisoformat(day) if day else (now or datetime.now(UTC)).date() - timedelta(1)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    return end - timedelta(days=days), end
