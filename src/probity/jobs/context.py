"""What a running task gets: its job's identity, a session whose transaction commits together
with the job's ``done`` state, progress reporting, and a way to run CPU-bound work off the
event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Principal

__all__ = ["JobContext", "SessionFactory"]

SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]
T = TypeVar("T")


@dataclass
class JobContext:
    job_id: int
    task: str
    tenant_id: int | None
    user_id: int | None
    attempt: int
    sessions: SessionFactory
    session: AsyncSession | None = None
    done: int = 0
    total: int | None = None
    stage: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    version: int = 0  # bumped by progress(); the heartbeat writes only what changed

    def progress(self, done: int, total: int | None = None, stage: str | None = None,
                 **detail: Any) -> None:
        """Record progress (cheap, synchronous, callable from a worker thread): the job row
        is updated by the heartbeat about twice a second, so a page polling it sees it move."""
        self.done = done
        if total is not None:
            self.total = total
        if stage is not None:
            self.stage = stage
        self.detail.update(detail)
        self.version += 1

    @property
    def db(self) -> AsyncSession:
        """The job's session (its transaction commits with the job's ``done`` state)."""
        if self.session is None:
            raise RuntimeError("the job's session is open only while the task runs")
        return self.session

    async def principal(self) -> Principal | None:
        """The user who started the job, as a principal (for audit rows); None for system
        jobs or a user deactivated since."""
        from probity.auth.service import load_principal

        if self.user_id is None:
            return None
        return await load_principal(self.db, self.user_id)

    async def payload(self) -> bytes:
        """The file uploaded with the job (empty if none)."""
        from probity.models.jobs import Job

        data = await self.db.scalar(select(Job.payload).where(Job.id == self.job_id))
        return bytes(data or b"")

    async def run_cpu(self, fn: Callable[..., T], *args: Any) -> T:
        """Run CPU-heavy ``fn(*args)`` in a thread, never on the event loop."""
        return await asyncio.to_thread(fn, *args)
