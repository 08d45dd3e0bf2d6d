"""Risk analytics on a schedule: agents on shift from the rota (`analytics.staffing`)."""

from __future__ import annotations

from typing import Any

from probity.jobs import JobContext, schedule, task

__all__ = ["staffing_refresh"]


@task("analytics.staffing")
async def staffing_refresh(ctx: JobContext) -> dict[str, Any]:
    """Idempotent: each run recomputes the last month's and tomorrow's staffing rows from the
    rota, in the job's transaction."""
    from probity.analytics.staffing import refresh_recent

    return await refresh_recent(ctx.db)


schedule("analytics.staffing", "analytics.staffing", cron="*/15 * * * *")
