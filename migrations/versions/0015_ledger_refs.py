"""ledger_refs: what each ledger entry is about (append-only index); audit rows ledgered

Revision ID: 0015
Revises: 0014
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from probity.db import drop_immutability_ddl, immutability_ddl

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_refs",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("ref_type", sa.String(length=24), nullable=False),
        sa.Column("ref_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_ledger_refs_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_refs")),
    )
    op.create_index("ix_ledger_refs_lookup", "ledger_refs", ["tenant_id", "ref_type", "ref_id"])
    op.create_index("ix_ledger_refs_tenant_seq", "ledger_refs", ["tenant_id", "seq"])
    bind = op.get_bind()
    for ddl in immutability_ddl("ledger_refs", bind.dialect.name):
        op.execute(ddl)
    from probity.ledger.backfill import backfill

    backfill(bind)


def downgrade() -> None:
    for ddl in drop_immutability_ddl("ledger_refs", op.get_bind().dialect.name):
        op.execute(ddl)
    op.drop_index("ix_ledger_refs_tenant_seq", table_name="ledger_refs")
    op.drop_index("ix_ledger_refs_lookup", table_name="ledger_refs")
    op.drop_table("ledger_refs")
