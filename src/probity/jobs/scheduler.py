"""Recurring jobs: APScheduler fires each registered schedule and enqueues its task.

Each firing enqueues with the key ``schedule:<name>@<slot>`` (the start of its period, UTC),
so two schedulers running by mistake — or a restart within a period — still make one job.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from probity.auth.deps import commit
from probity.config import Settings
from probity.jobs.context import SessionFactory
from probity.jobs.registry import SCHEDULES, Schedule, load_tasks
from probity.jobs.service import enqueue

__all__ = ["JobScheduler", "planned"]

log = logging.getLogger("probity.jobs.scheduler")


def planned(settings: Settings) -> list[tuple[Schedule, int | None]]:
    """Every schedule that is on, with its period in seconds (None: a cron expression)."""
    load_tasks(settings.task_modules)
    out: list[tuple[Schedule, int | None]] = []
    for entry in SCHEDULES.values():
        override = settings.schedules.get(entry.name)
        if override == 0:
            continue
        if override is not None:
            out.append((entry, int(override)))
        elif entry.every is not None:
            out.append((entry, int(entry.every.total_seconds())))
        else:
            out.append((entry, None))
    return out


def slot_of(now: datetime, period_s: int | None) -> str:
    if period_s:
        start = math.floor(now.timestamp() / period_s) * period_s
        return datetime.fromtimestamp(start, UTC).isoformat(timespec="seconds")
    return now.replace(second=0, microsecond=0).isoformat(timespec="minutes")


class JobScheduler:
    def __init__(self, settings: Settings, sessions: SessionFactory) -> None:
        self.settings = settings
        self.sessions = sessions
        self._scheduler: Any = None
        self.fired = 0

    async def fire(self, entry: Schedule, period_s: int | None) -> int:
        """Enqueue one run of ``entry`` (idempotent per period); returns the job id."""
        key = f"schedule:{entry.name}@{slot_of(datetime.now(UTC), period_s)}"
        async with self.sessions() as session:
            job = await enqueue(session, entry.task, params=dict(entry.params), key=key)
            job_id = job.id
            await commit(session)
        self.fired += 1
        log.info("schedule %s: job %s", entry.name, job_id)
        return job_id

    def start(self) -> None:
        scheduler = AsyncIOScheduler(timezone=UTC)
        now = datetime.now(UTC).timestamp()
        for entry, period in planned(self.settings):
            trigger: Any
            if period:
                first = datetime.fromtimestamp(math.ceil(now / period) * period, UTC)
                trigger = IntervalTrigger(seconds=period, start_date=first, timezone=UTC)
            else:
                trigger = CronTrigger.from_crontab(entry.cron, timezone=UTC)
            scheduler.add_job(self.fire, trigger, args=[entry, period], id=entry.name,
                              coalesce=True, max_instances=1, misfire_grace_time=60)
            log.info("schedule %s → %s (%s)", entry.name, entry.task,
                     f"every {period}s" if period else entry.cron)
        scheduler.start()
        self._scheduler = scheduler

    def shutdown(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
