from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from probity.jobs.runtime import InlineRuntime


@pytest.fixture
def shared_jobs(app: Any, db: AsyncSession) -> InlineRuntime:
    """Background jobs run on the test's session (its rolled-back transaction)."""

    @asynccontextmanager
    async def same_session() -> AsyncIterator[AsyncSession]:
        yield db

    runtime: InlineRuntime = app.state.jobs
    runtime.sessions = same_session
    return runtime
