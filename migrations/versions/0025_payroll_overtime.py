"""payroll: overtime multipliers per salary structure; overtime pay and the waived part of
capped deductions on payslips

Revision ID: 0025
Revises: 0024
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MULTIPLIERS = (("overtime_weekday", "1.50"), ("overtime_rest_day", "2.00"),
               ("overtime_holiday", "3.00"))


def upgrade() -> None:
    # Plain ADD COLUMN with a constant default: no table rebuild on SQLite, and no row is
    # rewritten through the closed-run triggers on either database.
    for name, default in MULTIPLIERS:
        op.add_column("salary_structures", sa.Column(
            name, sa.Numeric(4, 2), nullable=False, server_default=default))
    for name in ("overtime", "deduction_waived"):
        op.add_column("payslips", sa.Column(
            name, sa.Numeric(12, 2), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("payslips") as batch:
        batch.drop_column("deduction_waived")
        batch.drop_column("overtime")
    with op.batch_alter_table("salary_structures") as batch:
        for name, _default in reversed(MULTIPLIERS):
            batch.drop_column(name)
