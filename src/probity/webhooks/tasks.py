"""Webhook jobs: one delivery attempt per job; a sweep every minute re-sends the deliveries
whose backoff has elapsed (their schedule is in the database, so it survives restarts and
works the same with the embedded worker and with Redis)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from probity.auth.permissions import Perm
from probity.jobs import JobContext, enqueue, schedule, task
from probity.webhooks.delivery import attempt_delivery, due_deliveries

__all__ = ["deliver", "retry_due"]


# A crashed worker's delivery is re-run by the job system (max_retries); a receiver's failure is
# not an exception: it is logged and retried on the delivery's own backoff schedule.
@task("webhooks.deliver", perm=Perm.webhooks_read, max_retries=3, min_backoff_ms=5_000)
async def deliver(ctx: JobContext, *, delivery_id: int) -> dict[str, Any]:
    return await attempt_delivery(ctx.db, delivery_id)


@task("webhooks.retry_due", max_retries=0)
async def retry_due(ctx: JobContext) -> dict[str, Any]:
    due = await due_deliveries(ctx.db)
    for delivery_id, attempts, tenant_id in due:
        # The key makes the sweep idempotent: one job per delivery attempt.
        await enqueue(ctx.db, "webhooks.deliver", params={"delivery_id": delivery_id},
                      tenant_id=tenant_id, key=f"webhook:{delivery_id}:{attempts}")
    return {"sent": len(due)}


schedule("webhooks.retry_due", "webhooks.retry_due", every=timedelta(minutes=1))
