"""exports stored in parts: a tenant export is written and served in 1 MiB parts (memory stays
bounded however large the tenant); sizes as 64-bit integers

Revision ID: 0029
Revises: 0028
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_export_parts",
        sa.Column("export_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["export_id"], ["data_exports.id"],
                                name=op.f("fk_data_export_parts_export_id_data_exports"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("export_id", "seq", name=op.f("pk_data_export_parts")),
    )
    with op.batch_alter_table("data_exports") as batch:
        batch.alter_column("size", existing_type=sa.Integer(), type_=sa.BigInteger(),
                           existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("data_exports") as batch:
        batch.alter_column("size", existing_type=sa.BigInteger(), type_=sa.Integer(),
                           existing_nullable=False)
    op.drop_table("data_export_parts")
