"""Case housekeeping on a schedule: group new screening alerts into cases and record SLA
warnings and breaches (the same work as `probity cases sweep`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from probity.jobs import JobContext, schedule, task

__all__ = ["sla_sweep"]


@task("cases.sla_sweep")
async def sla_sweep(ctx: JobContext) -> dict[str, Any]:
    """Idempotent: an alert joins one case once, and each SLA warning/breach is recorded once
    per clock; notifications go out after the job's transaction commits."""
    from probity.cases.service import group_pending_alerts
    from probity.cases.service import sla_sweep as sweep

    cases = await group_pending_alerts(ctx.db, None)
    events = await sweep(ctx.db, None)
    return {"cases": len(cases), "sla_events": len(events)}


schedule("cases.sla_sweep", "cases.sla_sweep", every=timedelta(minutes=5))
