"""hr_duty_shifts: the HR duty roster

Revision ID: 0016
Revises: 0015
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hr_duty_shifts",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_hr_duty_shifts_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["employee_id"], ["employees.id"],
                                name=op.f("fk_hr_duty_shifts_employee_id_employees")),
        sa.ForeignKeyConstraint(["created_by_user_id"], ["users.id"],
                                name=op.f("fk_hr_duty_shifts_created_by_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hr_duty_shifts")),
    )
    op.create_index("ix_hr_duty_shifts_window", "hr_duty_shifts",
                    ["tenant_id", "starts_at", "ends_at"])
    op.create_index("ix_hr_duty_shifts_employee", "hr_duty_shifts", ["employee_id", "starts_at"])


def downgrade() -> None:
    op.drop_index("ix_hr_duty_shifts_employee", table_name="hr_duty_shifts")
    op.drop_index("ix_hr_duty_shifts_window", table_name="hr_duty_shifts")
    op.drop_table("hr_duty_shifts")
