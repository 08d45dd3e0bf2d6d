"""policy: versioned screening overlays per tenant (append-only)

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from probity.db import drop_immutability_ddl, immutability_ddl

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenant_policies",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("overlay", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_user_id"], ["users.id"],
                                name=op.f("fk_tenant_policies_created_by_user_id_users")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_tenant_policies_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_policies")),
        sa.UniqueConstraint("tenant_id", "version", name=op.f("uq_tenant_policies_tenant_id")),
    )
    op.create_index(op.f("ix_tenant_policies_tenant_id"), "tenant_policies", ["tenant_id"])
    for ddl in immutability_ddl("tenant_policies", op.get_bind().dialect.name):
        op.execute(ddl)


def downgrade() -> None:
    for ddl in drop_immutability_ddl("tenant_policies", op.get_bind().dialect.name):
        op.execute(ddl)
    op.drop_index(op.f("ix_tenant_policies_tenant_id"), table_name="tenant_policies")
    op.drop_table("tenant_policies")
