"""A task for the process tests: slow (so a worker can be killed mid-job), with progress, and an
effect (an audit row) that must exist exactly once however often the job is delivered."""

from __future__ import annotations

import asyncio
from typing import Any

from probity.audit.service import record_audit
from probity.jobs import JobContext, task


@task("tests.slow", max_retries=3, min_backoff_ms=200, max_backoff_ms=1000)
async def slow(ctx: JobContext, *, steps: int, step_s: float, marker: str) -> dict[str, Any]:
    for i in range(steps):
        await asyncio.sleep(step_s)
        ctx.progress(i + 1, steps, stage="sleep")
    record_audit(ctx.db, None, "test.job_effect", target_type="job", target_id=ctx.job_id,
                 tenant_id=None, after={"marker": marker}, actor_name="system")
    return {"steps": steps, "attempt": ctx.attempt}


@task("tests.flaky", max_retries=3, min_backoff_ms=100, max_backoff_ms=400)
async def flaky(ctx: JobContext, *, fail_times: int) -> dict[str, Any]:
    """Fails its first ``fail_times`` attempts (retried with backoff), then succeeds."""
    if ctx.attempt <= fail_times:
        raise RuntimeError(f"attempt {ctx.attempt} fails on purpose")
    record_audit(ctx.db, None, "test.job_effect", target_type="job", target_id=ctx.job_id,
                 tenant_id=None, after={"marker": "flaky"}, actor_name="system")
    return {"attempt": ctx.attempt}
