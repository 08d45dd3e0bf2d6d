"""drop the legacy per-tenant settings tables (case_settings, anomaly_rule_settings)

Their rows became version 1 of each tenant's `cases` and `finance` group standards in 0007;
nothing has read them since. Group standards (`governance`) are the one source of these values.

Revision ID: 0022
Revises: 0021
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("anomaly_rule_settings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_anomaly_rule_settings_tenant_id"))
    op.drop_table("anomaly_rule_settings")
    op.drop_table("case_settings")


def downgrade() -> None:
    # The tables come back empty: their values live on as group-standard versions.
    op.create_table(
        "case_settings",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("group_by", sa.String(length=20), nullable=False),
        sa.Column("window_hours", sa.Integer(), nullable=False),
        sa.Column("triage_hours", sa.Integer(), nullable=False),
        sa.Column("decision_working_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_case_settings_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_case_settings")))
    op.create_table(
        "anomaly_rule_settings",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_anomaly_rule_settings_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anomaly_rule_settings")),
        sa.UniqueConstraint("tenant_id", "rule", name=op.f("uq_anomaly_rule_settings_tenant_id")))
    with op.batch_alter_table("anomaly_rule_settings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_anomaly_rule_settings_tenant_id"), ["tenant_id"],
                              unique=False)
