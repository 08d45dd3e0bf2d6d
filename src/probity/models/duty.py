"""HR duty roster: who of HR is on call for a tenant, from when to when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from probity.models.base import Base, IdMixin, TimestampMixin, UTCDateTime


class DutyShift(IdMixin, TimestampMixin, Base):
    """One HR person on duty for a tenant over [starts_at, ends_at) (UTC). Alerts raised in the
    window go to them at once. A shift that has started is history: it is never edited or
    removed, so "who was on HR duty at 19:00 on Saturday" keeps its answer."""

    __tablename__ = "hr_duty_shifts"
    __table_args__ = (Index("ix_hr_duty_shifts_window", "tenant_id", "starts_at", "ends_at"),
                      Index("ix_hr_duty_shifts_employee", "employee_id", "starts_at"))

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
