"""Durable background jobs on Dramatiq, with the application's own job record.

Public API (see docs/ARCHITECTURE.md, "Background jobs"):

* ``@task(name, perm=…)`` registers ``async def fn(ctx: JobContext, **params)``; ``schedule(…)``
  makes it recurring; list the module in ``registry.TASK_MODULES``.
* ``await enqueue(session, name, params=…, tenant_id=…, principal=…, key=…)`` creates the job
  row in the caller's transaction; the message goes to the workers after commit.
* ``await get_job(session, principal, job_id)`` (404 out of scope) and ``job_view(job)``.
"""

from probity.jobs.context import JobContext, SessionFactory
from probity.jobs.registry import TASK_MODULES, schedule, task
from probity.jobs.service import enqueue, get_job, job_view, list_jobs

__all__ = [
    "TASK_MODULES",
    "JobContext",
    "SessionFactory",
    "enqueue",
    "get_job",
    "job_view",
    "list_jobs",
    "schedule",
    "task",
]
