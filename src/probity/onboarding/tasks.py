"""Onboarding on a schedule: probation-end reminders, every morning (Beijing time); each
hire's day is their tenant's."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from probity.jobs import JobContext, schedule, task

__all__ = ["probation_reminders"]


@task("onboarding.probation_reminders")
async def probation_reminders(ctx: JobContext, *, today: str | None = None,
                              within_days: int = 7) -> dict[str, Any]:
    """Idempotent: each new hire is reminded once (`probation_reminded_at`), in the job's
    transaction."""
    from probity.models.base import utcnow
    from probity.onboarding.service import send_probation_reminders

    # Without a given day, each hire's "today" is their tenant's (its display zone).
    day: date | datetime = date.fromisoformat(today) if today else utcnow()
    due = await send_probation_reminders(ctx.db, day, within_days)
    return {"reminded": due, "day": day.isoformat()}


# 01:00 UTC = 09:00 in Asia/Shanghai, the start of the office day.
schedule("onboarding.probation_reminders", "onboarding.probation_reminders", cron="0 1 * * *")
