"""Training on a schedule: the automatic assignment rules (new hires, substantiated cases)
and the due-date reminders / overdue notices, every morning (Beijing time)."""

from __future__ import annotations

from typing import Any

from probity.jobs import JobContext, schedule, task

__all__ = ["training_daily"]


@task("training.daily")
async def training_daily(ctx: JobContext) -> dict[str, Any]:
    """Idempotent: an assignment exists once per course and employee, and each reminder and
    overdue notice is sent once (`reminded_at`, `overdue_notified_at`), in the job's
    transaction."""
    from probity.training.service import run_rules, send_reminders

    assigned = await run_rules(ctx.db)
    sent = await send_reminders(ctx.db)
    return assigned | sent


# 00:30 UTC = 08:30 in Asia/Shanghai, before the office day.
schedule("training.daily", "training.daily", cron="30 0 * * *")
