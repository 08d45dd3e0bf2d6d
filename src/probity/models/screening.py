"""Screening facts beyond alerts: refusals (for the KPI) and reviewer labels (for training).

Both tables are append-only (migration 0009): a refusal happened; a label was given. A later
label on the same alert or message supersedes an earlier one when training data is exported.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from probity.models.base import Base, IdMixin, TimestampMixin


class Refusal(IdMixin, TimestampMixin, Base):
    """A message in which its sender declined an offer or a request (screening tag ``refusal``).

    Count the KPI "one per offer episode in a conversation" as the number of distinct
    ``(conversation_id, episode)`` per ``refuser_employee_id`` (``refuser_role = 'agent'``):
    ``episode`` is the seq of the other party's latest flagged or offering message before the
    refusal (its own seq when none is known), so several refusals of one offer count once.
    """

    __tablename__ = "screening_refusals"
    __table_args__ = (Index("ix_screening_refusals_employee", "refuser_employee_id",
                            "conversation_id", "episode"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    seq: Mapped[int] = mapped_column(Integer)
    refuser_role: Mapped[str] = mapped_column(String(16))  # agent | customer
    refuser_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    episode: Mapped[int] = mapped_column(Integer)
    offer_seq: Mapped[int | None] = mapped_column(Integer)
    # The categories of what was declined, where the screener saw them (may be empty).
    declined: Mapped[list[str]] = mapped_column(JSON, default=list)


class ScreeningLabel(IdMixin, TimestampMixin, Base):
    """A reviewer's verdict: an alert confirmed / a false positive, or a message "missed".

    Stored with the policy version that screened the message; `probity screen labels` exports
    them (with the message text) as training lines for `probity screen train`."""

    __tablename__ = "screening_labels"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    verdict: Mapped[str] = mapped_column(String(16))  # confirmed | false_positive | missed
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    policy_version: Mapped[int] = mapped_column(Integer)
    reviewer_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(String(500))
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
