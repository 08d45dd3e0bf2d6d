"""governance: versioned settings sections per tenant (append-only)

Revision ID: 0007
Revises: 0006
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from probity.db import drop_immutability_ddl, immutability_ddl

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "settings_versions",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("section", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("locks", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("rollback_of", sa.Integer(), nullable=True),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_by_name", sa.String(length=100), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_user_id"], ["users.id"],
                                name=op.f("fk_settings_versions_created_by_user_id_users")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_settings_versions_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settings_versions")),
        sa.UniqueConstraint("tenant_id", "section", "version",
                            name=op.f("uq_settings_versions_tenant_id")),
    )
    op.create_index("ix_settings_versions_section_tenant", "settings_versions",
                    ["section", "tenant_id"])
    _copy_legacy_settings()
    for ddl in immutability_ddl("settings_versions", op.get_bind().dialect.name):
        op.execute(ddl)


def _copy_legacy_settings() -> None:
    """case_settings and anomaly_rule_settings rows become version 1 of each tenant's `cases`
    and `finance_rules` sections (the tables stay, unused, for a later cleanup)."""
    bind = op.get_bind()
    now = datetime.now(UTC)
    table = sa.table("settings_versions", sa.column("tenant_id", sa.Integer),
                     sa.column("section", sa.String), sa.column("version", sa.Integer),
                     sa.column("values", sa.JSON), sa.column("locks", sa.JSON),
                     sa.column("reason", sa.String), sa.column("created_by_name", sa.String),
                     sa.column("created_at", sa.DateTime(timezone=True)))
    rows = []
    for tid, group_by, window, triage, days in bind.execute(sa.text(
            "SELECT tenant_id, group_by, window_hours, triage_hours, decision_working_days "
            "FROM case_settings")):
        rows.append({"tenant_id": tid, "section": "cases", "version": 1, "locks": [],
                     "values": {"group_by": group_by, "window_hours": window,
                                "triage_hours": triage, "decision_working_days": days}})
    finance: dict[int, dict[str, object]] = {}
    for tid, rule, enabled, params in bind.execute(sa.text(
            "SELECT tenant_id, rule, enabled, params FROM anomaly_rule_settings")):
        values = finance.setdefault(tid, {})
        values[f"{rule}_enabled"] = bool(enabled)
        loaded = json.loads(params) if isinstance(params, str) else (params or {})
        values.update({f"{rule}_{k}": v for k, v in loaded.items()})
    rows += [{"tenant_id": tid, "section": "finance_rules", "version": 1, "locks": [],
              "values": values} for tid, values in finance.items()]
    if rows:
        op.bulk_insert(table, [{**r, "reason": "migrated from the per-tenant settings table",
                                "created_by_name": "migration", "created_at": now}
                               for r in rows])


def downgrade() -> None:
    for ddl in drop_immutability_ddl("settings_versions", op.get_bind().dialect.name):
        op.execute(ddl)
    op.drop_index("ix_settings_versions_section_tenant", table_name="settings_versions")
    op.drop_table("settings_versions")
