"""Alerts raised by screening (warn/block). Append-only facts; case workflow comes later."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from probity.models.base import Base, IdMixin, TimestampMixin


class Alert(IdMixin, TimestampMixin, Base):
    __tablename__ = "alerts"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    # Screening alerts carry their conversation and message; finance alerts and reports do not.
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"),
                                                        index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), unique=True)
    # Who said it: the sender's role and account; the agent of the conversation, if any.
    sender_role: Mapped[str] = mapped_column(String(16))
    sender_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    agent_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), index=True)
    decision: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(16))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    severity: Mapped[int] = mapped_column(Integer)
    # The masked text (matched spans replaced), truncated: never the raw blocked content.
    snippet: Mapped[str] = mapped_column(String(200))
    spans: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Added by the finance/cases work (migration 0005): where the alert came from —
    # screening | finance | customer_report | self_report —, the anomaly rule that raised it,
    # the customer concerned, the evidence it references, and a key that de-duplicates re-runs.
    source: Mapped[str] = mapped_column(String(16), default="screening",
                                        server_default="screening")
    rule: Mapped[str | None] = mapped_column(String(40))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    # Who did it (migration 0009): the subject the alert is about — customer | agent — and the
    # agent's part in it: initiator (the agent's own message), recipient (the customer's
    # attempt, made to the agent: it never counts against them) or refuser (the agent declined).
    subject: Mapped[str] = mapped_column(String(16), default="agent", server_default="agent")
    agent_part: Mapped[str | None] = mapped_column(String(16))
