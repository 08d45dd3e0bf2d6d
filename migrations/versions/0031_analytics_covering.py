"""analytics: covering indexes for the drill-down and the outcome dashboard

The drill-down pages through a heat-map cell's alerts (one short interval per week) newest
first by (created_at, id): `ix_alerts_source_created_cover` answers the range, the scope
(tenant, team) and the keyset without reading the table, and replaces the narrower
`ix_alerts_source_created` (its prefix). The outcome dashboard counts cases by decision,
status and assignee and takes the median time to decision from `ix_cases_outcome` alone.

Revision ID: 0031
Revises: 0030
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_alerts_source_created_cover", "alerts",
                    ["source", "created_at", "id", "tenant_id", "org_unit_id",
                     "agent_employee_id"])
    op.drop_index("ix_alerts_source_created", table_name="alerts")
    op.create_index("ix_cases_outcome", "cases",
                    ["tenant_id", "created_at", "org_unit_id", "decision", "status",
                     "assignee_user_id", "decided_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_outcome", table_name="cases")
    op.create_index("ix_alerts_source_created", "alerts", ["source", "created_at"])
    op.drop_index("ix_alerts_source_created_cover", table_name="alerts")
