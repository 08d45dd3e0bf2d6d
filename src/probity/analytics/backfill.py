"""Carry the hourly rollups over into the cube (migration 0018), on a sync connection: each
hourly row's local day from its tenant's own zone (`tenants.timezone`; a group-standard zone
set later applies to new rows)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.engine import Connection

from probity.analytics.rollup import COUNTERS, cube_keys
from probity.config import DEFAULT_TIMEZONE


def backfill_cube(conn: Connection) -> int:
    zones = {tid: ZoneInfo(tz or DEFAULT_TIMEZONE) for tid, tz in conn.execute(
        text("SELECT id, timezone FROM tenants")).all()}
    cols = ", ".join(COUNTERS)
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0] * len(COUNTERS))
    for row in conn.execute(text(
            f"SELECT tenant_id, team_id, tenure_band, hour, local_dow, local_hour, {cols} "
            "FROM analytics_rollup_hourly")).all():
        tenant, team, band, hour, dow, lhour = row[:6]
        if isinstance(hour, str):
            hour = datetime.fromisoformat(hour)
        hour = hour.replace(tzinfo=UTC) if hour.tzinfo is None else hour
        day: date = hour.astimezone(zones.get(tenant, ZoneInfo(DEFAULT_TIMEZONE))).date()
        for key in cube_keys(tenant, team, band, day, dow, lhour):
            acc = groups[key]
            for i, v in enumerate(row[6:]):
                acc[i] += int(v or 0)
    if groups:
        names = ("grain", "period", "tenant_id", "team_id", "tenure_band", "local_dow",
                 "local_hour", *COUNTERS)
        conn.execute(text(
            f"INSERT INTO analytics_rollup_cube ({', '.join(names)}) VALUES "
            f"({', '.join(':' + n for n in names)})"),
            [dict(zip(names, (*k, *v), strict=True)) for k, v in groups.items()])
    return len(groups)
