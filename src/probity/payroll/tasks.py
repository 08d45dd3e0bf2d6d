"""Payroll in the background: a run's payslips are computed by a job (progress on its page)."""

from __future__ import annotations

from typing import Any

from probity.auth.permissions import Perm
from probity.jobs import JobContext, task

__all__ = ["compute"]


@task("payroll.compute", perm=Perm.payroll_read, max_retries=2)
async def compute(ctx: JobContext, *, run_id: int) -> dict[str, Any]:
    """Idempotent: a run that is no longer computing is left alone."""
    from probity.payroll.runs import compute_run

    return await compute_run(ctx.db, run_id, ctx)
