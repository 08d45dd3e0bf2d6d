"""Attendance on a schedule: absences and missing punches of ended shifts, every hour."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from probity.jobs import JobContext, schedule, task

__all__ = ["detect_exceptions"]


@task("attendance.detect_exceptions")
async def detect_exceptions(ctx: JobContext) -> dict[str, Any]:
    """Idempotent: each shift gets each exception once."""
    from probity.attendance.service import detect_exceptions as detect
    from probity.models.base import utcnow

    return {"exceptions": await detect(ctx.db, utcnow())}


schedule("attendance.detect_exceptions", "attendance.detect_exceptions",
         every=timedelta(hours=1))
