"""analytics_rollup_months: the local months whose month grains of the rollup cube are complete
(sealed by the nightly job); the chat writer's hook keeps only the day grains of open months
(issue 11: the hook's cost on the send path)

Revision ID: 0035
Revises: 0034
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_rollup_months",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("month"),
    )


def downgrade() -> None:
    op.drop_table("analytics_rollup_months")
