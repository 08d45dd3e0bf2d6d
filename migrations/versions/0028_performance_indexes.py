"""performance: indexes for one agent's live scorecard (self-reports by agent and time,
conversations by agent and assignment time)

The live scorecard reads one agent's self-reports back to the beginning (concealment needs the
first one per customer) and their conversations assigned in the cycle. Without these, SQLite and
PostgreSQL range over every self-report of the whole database (the source/time index) and over
all of the agent's conversations ever.

Revision ID: 0028
Revises: 0027
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_alerts_agent_source_created", "alerts",
                    ["agent_employee_id", "source", "created_at"])
    op.create_index("ix_conversations_agent_assigned", "conversations",
                    ["agent_employee_id", "assigned_at"])


def downgrade() -> None:
    op.drop_index("ix_conversations_agent_assigned", table_name="conversations")
    op.drop_index("ix_alerts_agent_source_created", table_name="alerts")
