"""Risk analytics on a schedule: agents on shift from the rota (`analytics.staffing`) and the
nightly check of the rollups against the stored messages, then the sealing of finished months
(`analytics.rollup`: `analytics.months.seal_months`)."""

from __future__ import annotations

from typing import Any

from probity.jobs import JobContext, schedule, task

__all__ = ["nightly_rollup_check", "staffing_refresh"]


@task("analytics.staffing")
async def staffing_refresh(ctx: JobContext) -> dict[str, Any]:
    """Idempotent: each run recomputes the last month's and tomorrow's staffing rows from the
    rota, in the job's transaction."""
    from probity.analytics.staffing import refresh_recent

    return await refresh_recent(ctx.db)


schedule("analytics.staffing", "analytics.staffing", cron="*/15 * * * *")


@task("analytics.rollup", max_retries=3)
async def nightly_rollup_check(ctx: JobContext, *, day: str | None = None, days: int = 1
                               ) -> dict[str, Any]:
    from probity.analytics.months import seal_months
    from probity.analytics.reconcile import reconcile_rollups, window

    start, end = window(day, days)
    ctx.progress(0, 2, stage="rollup_check")
    result = await reconcile_rollups(ctx.db, start, end)
    ctx.progress(1, 2, stage="seal_months")
    result["sealed"] = [m.isoformat() for m in await seal_months(ctx.db)]
    ctx.progress(2, 2, stage="seal_months")
    return result


# 02:15 Beijing time, after the day's last messages and before the dashboards' first readers.
schedule("analytics.rollup", "analytics.rollup", cron="15 18 * * *")
