"""ledger record batches (format probity-record-batch/v1): one ledger entry per bulk import
batch commits to its payments through a Merkle root of salted leaves; the leaf hashes are kept
per batch (append-only), each payment names its batch entry, leaf index and salt (issue 17)

Revision ID: 0036
Revises: 0035
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from probity.db import drop_immutability_ddl, immutability_ddl

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_batch_leaves",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("leaves", sa.LargeBinary(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_ledger_batch_leaves_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_batch_leaves")),
        sa.UniqueConstraint("tenant_id", "seq", name="uq_ledger_batch_leaves_seq"),
    )
    for ddl in immutability_ddl("ledger_batch_leaves", op.get_bind().dialect.name):
        op.execute(ddl)
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("ledger_seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("ledger_index", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("ledger_salt", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("ledger_salt")
        batch.drop_column("ledger_index")
        batch.drop_column("ledger_seq")
    for ddl in drop_immutability_ddl("ledger_batch_leaves", op.get_bind().dialect.name):
        op.execute(ddl)
    op.drop_table("ledger_batch_leaves")
