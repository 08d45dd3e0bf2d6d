"""performance: partial indexes over flagged messages only (decision <> 'allow')

The scorecard and the cycle close read only flagged messages (an offer, a violation): nearly all
traffic is allowed. Without these, one agent's live scorecard read every message of every
conversation the agent ever had, and the close ranged over every message of the subsidiary.
With them, an agent's conversation costs one probe into a small index, and the close reads the
subsidiary's flagged messages of the cycle's dates.

Revision ID: 0030
Revises: 0029
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLAGGED = sa.text("decision <> 'allow'")


def upgrade() -> None:
    op.create_index("ix_messages_flagged_conversation", "messages", ["conversation_id", "seq"],
                    sqlite_where=FLAGGED, postgresql_where=FLAGGED)
    op.create_index("ix_messages_flagged_tenant", "messages", ["tenant_id", "created_at"],
                    sqlite_where=FLAGGED, postgresql_where=FLAGGED)


def downgrade() -> None:
    op.drop_index("ix_messages_flagged_tenant", table_name="messages")
    op.drop_index("ix_messages_flagged_conversation", table_name="messages")
