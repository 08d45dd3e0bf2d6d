"""The job system's own housekeeping: send again the jobs whose message was lost (the app died
between its commit and the send) or whose worker stopped beating without the broker noticing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from probity.jobs.context import JobContext
from probity.jobs.registry import schedule, task

__all__ = ["recover"]

STALLED_AFTER = timedelta(minutes=10)


@task("jobs.recover", max_retries=0)
async def recover(ctx: JobContext) -> dict[str, Any]:
    from probity.jobs.runtime import dispatch
    from probity.jobs.service import stalled_job_ids

    stalled = [(i, t) for i, t in await stalled_job_ids(ctx.db, STALLED_AFTER) if i != ctx.job_id]
    for job_id, name in stalled:
        await dispatch(job_id, name)
    return {"resent": len(stalled)}


schedule("jobs.recover", "jobs.recover", every=timedelta(minutes=5))
