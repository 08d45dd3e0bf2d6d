"""analytics: agents on shift per hour, from the rota (analytics_staffing_cube)

Revision ID: 0032
Revises: 0031
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_staffing_cube",
        sa.Column("grain", sa.String(1), primary_key=True),
        sa.Column("period", sa.Date(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.Integer(), primary_key=True),
        sa.Column("local_dow", sa.SmallInteger(), primary_key=True),
        sa.Column("local_hour", sa.SmallInteger(), primary_key=True),
        sa.Column("agent_hours", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("analytics_staffing_cube")
