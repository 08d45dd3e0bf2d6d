"""SLA clocks: triage within hours, a decision within working days (Mon–Fri, tenant's zone).

Public holidays are not modelled yet: a working day is any Monday to Friday.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

# A clock warns when less than this fraction of its allowance is left.
WARN_FRACTION = 0.25


def add_working_days(start: datetime, days: int, tz: str) -> datetime:
    """`days` working days after `start`, at the same local time of day.

    A start on a Saturday or Sunday counts from the following Monday at 00:00 local time.
    """
    zone = ZoneInfo(tz)
    local = start.astimezone(zone)
    if local.weekday() >= 5:
        local = (local + timedelta(days=7 - local.weekday())).replace(
            hour=0, minute=0, second=0, microsecond=0)
    remaining = days
    while remaining > 0:
        local += timedelta(days=1)
        if local.weekday() < 5:
            remaining -= 1
    # Re-attach the zone: the wall-clock time stays the same across a DST change.
    naive = local.replace(tzinfo=None)
    return naive.replace(tzinfo=zone).astimezone(start.tzinfo or zone)


def clock_state(started: datetime, due: datetime, done: datetime | None, now: datetime) -> str:
    """ok | warning | breached while running; met | missed once stopped."""
    if done is not None:
        return "met" if done <= due else "missed"
    if now > due:
        return "breached"
    allowance = (due - started).total_seconds()
    if allowance <= 0 or (due - now).total_seconds() <= WARN_FRACTION * allowance:
        return "warning"
    return "ok"
