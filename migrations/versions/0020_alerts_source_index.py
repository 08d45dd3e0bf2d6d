"""alerts: index by source and time (the outcome dashboard's finance and complaint lookups)

Revision ID: 0020
Revises: 0019
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_alerts_source_created", "alerts", ["source", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_alerts_source_created", table_name="alerts")
