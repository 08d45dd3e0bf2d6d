"""governance: versioned settings sections per tenant (append-only)

Revision ID: 0007
Revises: 0006
"""
from __future__ import annotations

from collections.abc import Sequence

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
    for ddl in immutability_ddl("settings_versions", op.get_bind().dialect.name):
        op.execute(ddl)


def downgrade() -> None:
    for ddl in drop_immutability_ddl("settings_versions", op.get_bind().dialect.name):
        op.execute(ddl)
    op.drop_index("ix_settings_versions_section_tenant", table_name="settings_versions")
    op.drop_table("settings_versions")
