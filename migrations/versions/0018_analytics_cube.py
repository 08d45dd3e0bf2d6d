"""analytics: coarser rollups (day × band, day × hour, month × weekday × hour) for dashboards

Revision ID: 0018
Revises: 0017
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTERS = ("messages", "agent_messages", "conversations", "attempts", "violations", "blocks",
            "contact_attempts")


def upgrade() -> None:
    op.create_table(
        "analytics_rollup_cube",
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("tenure_band", sa.String(length=8), nullable=False),
        sa.Column("local_dow", sa.SmallInteger(), nullable=False),
        sa.Column("local_hour", sa.SmallInteger(), nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False, server_default="0") for c in COUNTERS),
        sa.PrimaryKeyConstraint("grain", "period", "tenant_id", "team_id", "tenure_band",
                                "local_dow", "local_hour",
                                name=op.f("pk_analytics_rollup_cube")),
    )
    # Rows already in the hourly rollups (kept since 0017) are carried over, grouped in SQL
    # by the local day/hour stored with them.
    bind = op.get_bind()
    from probity.analytics.backfill import backfill_cube

    backfill_cube(bind)


def downgrade() -> None:
    op.drop_table("analytics_rollup_cube")
