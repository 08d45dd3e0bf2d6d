"""The application's record of a background job: who started it, for which tenant, its
progress and its outcome. The task library (Dramatiq) only carries `job_id`; this row is the
state a job page polls, and the guard that makes a re-delivered job take effect once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from probity.models.base import Base, IdMixin, UTCDateTime, utcnow

JOB_STATES = ("queued", "running", "done", "failed")
FINAL_STATES = ("done", "failed")


class Job(IdMixin, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_state", "state", "created_at"),
        Index("ix_jobs_started_by", "started_by_user_id", "created_at"),
        Index("ix_jobs_tenant", "tenant_id", "created_at"),
    )

    task: Mapped[str] = mapped_column(String(100))
    # Two requests (or two schedulers) asking for the same work get the same job.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"))
    started_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # An uploaded file the job works on (a finance import); in the database so that any worker
    # can read it, and cleared when the job ends.
    payload: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    stage: Mapped[str | None] = mapped_column(String(50))
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    # Task-specific counters shown with the progress (e.g. rows validated, rows written).
    progress_detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    worker: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Free text for operators (never shown to users verbatim): the last retried error.
    last_error: Mapped[str | None] = mapped_column(Text)
