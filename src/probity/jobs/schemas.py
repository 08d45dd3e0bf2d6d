"""Request and response schemas of the jobs API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class JobRead(BaseModel):
    id: int
    task: str
    tenant_id: int | None
    state: str
    stage: str | None
    done: int
    total: int | None
    detail: dict[str, Any]
    attempts: int
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
