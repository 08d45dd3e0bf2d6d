"""payroll: special additional deductions declared by category on a salary assignment; the
year-end one-off bonus (全年一次性奖金) taxed on its own: a flag on an adjustment, the bonus and
its tax on the payslip

Revision ID: 0033
Revises: 0032
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN with a constant default: no table rebuild on SQLite, and no row is
    # rewritten through the closed-run triggers on either database.
    op.add_column("salary_assignments", sa.Column(
        "additional_items", sa.JSON(), nullable=False, server_default="[]"))
    op.add_column("payroll_adjustments", sa.Column(
        "annual_bonus", sa.Boolean(), nullable=False, server_default=sa.false()))
    for name in ("annual_bonus", "annual_bonus_tax"):
        op.add_column("payslips", sa.Column(
            name, sa.Numeric(12, 2), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("payslips") as batch:
        batch.drop_column("annual_bonus_tax")
        batch.drop_column("annual_bonus")
    with op.batch_alter_table("payroll_adjustments") as batch:
        batch.drop_column("annual_bonus")
    with op.batch_alter_table("salary_assignments") as batch:
        batch.drop_column("additional_items")
