"""analytics: tenant-level heat-map grains (D = day × hour, M = month × weekday × hour, every
team of the tenant summed, team_id = -1), carried over from the per-team d / m rows

Revision ID: 0027
Revises: 0026
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTERS = ("messages", "agent_messages", "conversations", "attempts", "violations", "blocks",
            "contact_attempts")


def upgrade() -> None:
    # 0018's backfill already writes D / M rows on a database migrated from scratch (it uses
    # the current cube_keys); start from the per-team rows either way.
    op.execute("DELETE FROM analytics_rollup_cube WHERE grain IN ('D', 'M')")
    sums = ", ".join(f"SUM({c})" for c in COUNTERS)
    for lower, upper in (("d", "D"), ("m", "M")):
        op.execute(sa.text(
            f"INSERT INTO analytics_rollup_cube (grain, period, tenant_id, team_id, tenure_band, "
            f"local_dow, local_hour, {', '.join(COUNTERS)}) "
            f"SELECT '{upper}', period, tenant_id, -1, '*', local_dow, local_hour, {sums} "
            f"FROM analytics_rollup_cube WHERE grain = '{lower}' "
            "GROUP BY period, tenant_id, local_dow, local_hour"))


def downgrade() -> None:
    op.execute("DELETE FROM analytics_rollup_cube WHERE grain IN ('D', 'M')")
