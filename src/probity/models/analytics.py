"""Risk analytics and adaptive monitoring: hourly rollups (maintained by the chat writer, one
grouped upsert per batch), monitoring rules acted on from findings, and the QA review queue."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from probity.models.base import Base, IdMixin, TimestampMixin, UTCDateTime

# Tenure bands (code → meaning); "none" = no agent on the conversation (e.g. still queued).
TENURE_BANDS = ("lt3m", "3to12m", "1to3y", "gt3y")


class RollupHourly(Base):
    """Counts per UTC hour × tenant × team × tenure band × shift, with the tenant's local
    weekday and hour at the time (for the weekday × hour heat-map). team_id / shift_id 0 = none.
    Only ever incremented (`analytics.rollup.record_batch`)."""

    __tablename__ = "analytics_rollup_hourly"
    __table_args__ = (
        Index("ix_analytics_rollup_tenant_hour", "tenant_id", "hour"),
    )

    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenure_band: Mapped[str] = mapped_column(String(8), primary_key=True)
    shift_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    local_dow: Mapped[int] = mapped_column(SmallInteger)  # 0 = Monday
    local_hour: Mapped[int] = mapped_column(SmallInteger)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    agent_messages: Mapped[int] = mapped_column(Integer, default=0)
    conversations: Mapped[int] = mapped_column(Integer, default=0)  # first messages
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # warn/block, any sender
    violations: Mapped[int] = mapped_column(Integer, default=0)  # warn/block sent by the agent
    blocks: Mapped[int] = mapped_column(Integer, default=0)
    contact_attempts: Mapped[int] = mapped_column(Integer, default=0)


class RollupCube(Base):
    """Coarser rollups for the dashboards, kept by the same hook (one more upsert per batch;
    the month grains only for sealed months, see `RollupMonth`),
    so that a year's dashboard reads tens of thousands of rows, not millions. `grain`:

    * ``b`` — local day × tenant × team × tenure band (`local_dow`/`local_hour` = -1): tenure
      bands, league table, trends, totals;
    * ``d`` — local day × hour (`tenure_band` = "*"): the heat-map's partial months;
    * ``m`` — local month (`period` = its first day) × weekday × hour: the heat-map's whole
      months, once the month is sealed (`RollupMonth`; before that it is read from ``d``);
    * ``D`` / ``M`` — ``d`` / ``m`` with every team of the tenant summed (`team_id` = -1): the
      heat-map of callers whose scope is whole subsidiaries and who filter no team — a tenth or
      less of the rows (migration 0027).
    """

    __tablename__ = "analytics_rollup_cube"

    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    period: Mapped[date] = mapped_column(Date, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenure_band: Mapped[str] = mapped_column(String(8), primary_key=True)
    local_dow: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    local_hour: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    agent_messages: Mapped[int] = mapped_column(Integer, default=0)
    conversations: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    violations: Mapped[int] = mapped_column(Integer, default=0)
    blocks: Mapped[int] = mapped_column(Integer, default=0)
    contact_attempts: Mapped[int] = mapped_column(Integer, default=0)


class RollupMonth(Base):
    """A local month whose month grains (``m``, ``M``) of `RollupCube` are complete: summed
    from its day grains by `analytics.months.seal_months` a few days after it ended, and from
    then on also incremented by the hook for the (late) events that still fall in it. The
    send path keeps only the day grains otherwise (`analytics.rollup`); a month not sealed
    is read from its day rows."""

    __tablename__ = "analytics_rollup_months"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # first day
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StaffingCube(Base):
    """Agents on shift, from the rota (`shift_assignments`): for each hour, the number of
    people whose shift overlaps it — summed over a cell it is agent-hours on shift, the
    denominator of the "per agent on shift" rates. Recomputed per local day from the rota
    (`analytics.staffing.refresh`), never incremented. Grains as in `RollupCube` without the
    tenure band: ``b`` local day per team (`local_dow` = `local_hour` = -1), ``d`` local day ×
    hour per team, ``m`` local month × weekday × hour per team, ``D`` / ``M`` the same with
    every team of the tenant summed (`team_id` = -1)."""

    __tablename__ = "analytics_staffing_cube"

    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    period: Mapped[date] = mapped_column(Date, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    local_dow: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    local_hour: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    agent_hours: Mapped[int] = mapped_column(Integer, default=0)


class MonitoringRule(IdMixin, TimestampMixin, Base):
    """A time-boxed measure for a window and/or cohort, usually acted on from a finding."""

    __tablename__ = "monitoring_rules"
    __table_args__ = (Index("ix_monitoring_rules_tenant_active", "tenant_id", "active"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    title: Mapped[str] = mapped_column(String(200))
    finding_key: Mapped[str | None] = mapped_column(String(120))
    # The cohort: {"team_ids": [...], "tenure_band": str|None, "days": [0..6]|None,
    # "start_hour": int|None, "end_hour": int|None} (local time of the tenant)
    cohort: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tighten: Mapped[bool] = mapped_column(Boolean, default=False)
    qa_sample_rate: Mapped[float] = mapped_column(Float, default=0.0)
    notify_duty: Mapped[bool] = mapped_column(Boolean, default=False)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    review_at: Mapped[datetime] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")


class QaReview(IdMixin, TimestampMixin, Base):
    """A conversation sampled by a monitoring rule for a team lead's QA review."""

    __tablename__ = "qa_reviews"
    __table_args__ = (Index("ix_qa_reviews_unit_status", "org_unit_id", "status"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    rule_id: Mapped[int] = mapped_column(ForeignKey("monitoring_rules.id"), index=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | done
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    outcome: Mapped[str | None] = mapped_column(String(16))  # ok | concern
    note: Mapped[str] = mapped_column(Text, default="")
    reviewer_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
