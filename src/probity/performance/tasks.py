"""Performance on a schedule: cycle reminders (review due, sign-off due), every morning."""

from __future__ import annotations

from typing import Any

from probity.jobs import JobContext, schedule, task

__all__ = ["cycle_reminders"]


@task("performance.cycle_reminders")
async def cycle_reminders(ctx: JobContext) -> dict[str, Any]:
    """Idempotent: each person is reminded once per cycle and stage."""
    from probity.models.base import utcnow
    from probity.performance.reminders import send_cycle_reminders

    return {"reminded": await send_cycle_reminders(ctx.db, utcnow())}


# 01:00 UTC = 09:00 in Asia/Shanghai, the start of the office day.
schedule("performance.cycle_reminders", "performance.cycle_reminders", cron="0 1 * * *")
