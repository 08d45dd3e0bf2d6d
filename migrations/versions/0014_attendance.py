"""attendance: shift templates, rota, swaps, punches, exceptions, leave, overtime

Revision ID: 0014
Revises: 0013
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from probity.db import drop_immutability_ddl, immutability_ddl

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Punches and exceptions are records: append-only.
APPEND_ONLY = ("punches", "attendance_exceptions")


def upgrade() -> None:
    op.create_table("shift_templates",
    sa.Column("tenant_id", sa.Integer(), nullable=False),
    sa.Column("code", sa.String(length=32), nullable=False),
    sa.Column("name", sa.String(length=100), nullable=False),
    sa.Column("start_time", sa.Time(), nullable=False),
    sa.Column("end_time", sa.Time(), nullable=False),
    sa.Column("break_minutes", sa.Integer(), nullable=False),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_shift_templates_tenant_id_tenants")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_shift_templates")),
    sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_shift_templates_tenant_id"))
    )
    with op.batch_alter_table("shift_templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shift_templates_tenant_id"), ["tenant_id"], unique=False)

    op.create_table("leave_balances",
    sa.Column("tenant_id", sa.Integer(), nullable=False),
    sa.Column("employee_id", sa.Integer(), nullable=False),
    sa.Column("leave_type", sa.Enum("annual", "sick", "personal", name="leavetype", native_enum=False, length=16), nullable=False),
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("entitled_days", sa.Numeric(precision=5, scale=1), nullable=False),
    sa.Column("used_days", sa.Numeric(precision=5, scale=1), nullable=False),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["employee_id"], ["employees.id"], name=op.f("fk_leave_balances_employee_id_employees")),
    sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_leave_balances_tenant_id_tenants")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_leave_balances")),
    sa.UniqueConstraint("employee_id", "leave_type", "year", name=op.f("uq_leave_balances_employee_id"))
    )
    with op.batch_alter_table("leave_balances", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_leave_balances_tenant_id"), ["tenant_id"], unique=False)

    op.create_table("leave_requests",
    sa.Column("tenant_id", sa.Integer(), nullable=False),
    sa.Column("org_unit_id", sa.Integer(), nullable=True),
    sa.Column("employee_id", sa.Integer(), nullable=False),
    sa.Column("leave_type", sa.Enum("annual", "sick", "personal", name="leavetype", native_enum=False, length=16), nullable=False),
    sa.Column("start_date", sa.Date(), nullable=False),
    sa.Column("end_date", sa.Date(), nullable=False),
    sa.Column("days", sa.Numeric(precision=5, scale=1), nullable=False),
    sa.Column("reason", sa.String(length=500), nullable=False),
    sa.Column("status", sa.Enum("requested", "approved", "rejected", "cancelled", name="requeststatus", native_enum=False, length=16), nullable=False),
    sa.Column("decided_by_user_id", sa.Integer(), nullable=True),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["decided_by_user_id"], ["users.id"], name=op.f("fk_leave_requests_decided_by_user_id_users")),
    sa.ForeignKeyConstraint(["employee_id"], ["employees.id"], name=op.f("fk_leave_requests_employee_id_employees")),
    sa.ForeignKeyConstraint(["org_unit_id"], ["org_units.id"], name=op.f("fk_leave_requests_org_unit_id_org_units")),
    sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_leave_requests_tenant_id_tenants")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_leave_requests"))
    )
    with op.batch_alter_table("leave_requests", schema=None) as batch_op:
        batch_op.create_index("ix_leave_requests_employee_start", ["employee_id", "start_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_leave_requests_org_unit_id"), ["org_unit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_leave_requests_tenant_id"), ["tenant_id"], unique=False)

    op.create_table("overtime_requests",
    sa.Column("tenant_id", sa.Integer(), nullable=False),
    sa.Column("org_unit_id", sa.Integer(), nullable=True),
    sa.Column("employee_id", sa.Integer(), nullable=False),
    sa.Column("day", sa.Date(), nullable=False),
    sa.Column("minutes", sa.Integer(), nullable=False),
    sa.Column("reason", sa.String(length=500), nullable=False),
    sa.Column("status", sa.Enum("requested", "approved", "rejected", "cancelled", name="requeststatus", native_enum=False, length=16), nullable=False),
    sa.Column("decided_by_user_id", sa.Integer(), nullable=True),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["decided_by_user_id"], ["users.id"], name=op.f("fk_overtime_requests_decided_by_user_id_users")),
    sa.ForeignKeyConstraint(["employee_id"], ["employees.id"], name=op.f("fk_overtime_requests_employee_id_employees")),
    sa.ForeignKeyConstraint(["org_unit_id"], ["org_units.id"], name=op.f("fk_overtime_requests_org_unit_id_org_units")),
    sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_overtime_requests_tenant_id_tenants")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_overtime_requests"))
    )
    with op.batch_alter_table("overtime_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_overtime_requests_employee_id"), ["employee_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_overtime_requests_org_unit_id"), ["org_unit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_overtime_requests_tenant_id"), ["tenant_id"], unique=False)

    op.create_table("shift_assignments",
    sa.Column("tenant_id", sa.Integer(), nullable=False),
    sa.Column("org_unit_id", sa.Integer(), nullable=False),
    sa.Column("employee_id", sa.Integer(), nullable=False),
    sa.Column("template_id", sa.Integer(), nullable=False),
    sa.Column("day", sa.Date(), nullable=False),
    sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by_user_id", sa.Integer(), nullable=True),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["created_by_user_id"], ["users.id"], name=op.f("fk_shift_assignments_created_by_user_id_users")),
    sa.ForeignKeyConstraint(["employee_id"], ["employees.id"], name=op.f("fk_shift_assignments_employee_id_employees")),
    sa.ForeignKeyConstraint(["org_unit_id"], ["org_units.id"], name=op.f("fk_shift_assignments_org_unit_id_org_units")),
    sa.ForeignKeyConstraint(["template_id"], ["shift_templates.id"], name=op.f("fk_shift_assignments_template_id_shift_templates")),
    sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_shift_assignments_tenant_id_tenants")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_shift_assignments"))
    )
    with op.batch_alter_table("shift_assignments", schema=None) as batch_op:
        batch_op.create_index("ix_shift_assignments_employee_start", ["employee_id", "starts_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_shift_assignments_ends_at"), ["ends_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_shift_assignments_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_shift_assignments_unit_start", ["org_unit_id", "starts_at"], unique=False)

    op.create_table("punches",
    sa.Column("tenant_id", sa.Integer(), nullable=False),
    sa.Column("employee_id", sa.Integer(), nullable=False),
    sa.Column("assignment_id", sa.Integer(), nullable=True),
    sa.Column("kind", sa.String(length=8), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("source", sa.String(length=8), nullable=False),
    sa.Column("ip", sa.String(length=64), nullable=True),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["assignment_id"], ["shift_assignments.id"], name=op.f("fk_punches_assignment_id_shift_assignments")),
    sa.ForeignKeyConstraint(["employee_id"], ["employees.id"], name=op.f("fk_punches_employee_id_employees")),
    sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_punches_tenant_id_tenants")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_punches"))
    )
    with op.batch_alter_table("punches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_punches_assignment_id"), ["assignment_id"], unique=False)
        batch_op.create_index("ix_punches_employee_at", ["employee_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_punches_tenant_id"), ["tenant_id"], unique=False)

    op.create_table("shift_swaps",
    sa.Column("tenant_id", sa.Integer(), nullable=False),
    sa.Column("org_unit_id", sa.Integer(), nullable=False),
    sa.Column("requester_id", sa.Integer(), nullable=False),
    sa.Column("assignment_id", sa.Integer(), nullable=False),
    sa.Column("target_employee_id", sa.Integer(), nullable=False),
    sa.Column("target_assignment_id", sa.Integer(), nullable=True),
    sa.Column("reason", sa.String(length=500), nullable=False),
    sa.Column("status", sa.Enum("requested", "approved", "rejected", "cancelled", name="requeststatus", native_enum=False, length=16), nullable=False),
    sa.Column("decided_by_user_id", sa.Integer(), nullable=True),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["assignment_id"], ["shift_assignments.id"], name=op.f("fk_shift_swaps_assignment_id_shift_assignments")),
    sa.ForeignKeyConstraint(["decided_by_user_id"], ["users.id"], name=op.f("fk_shift_swaps_decided_by_user_id_users")),
    sa.ForeignKeyConstraint(["org_unit_id"], ["org_units.id"], name=op.f("fk_shift_swaps_org_unit_id_org_units")),
    sa.ForeignKeyConstraint(["requester_id"], ["employees.id"], name=op.f("fk_shift_swaps_requester_id_employees")),
    sa.ForeignKeyConstraint(["target_assignment_id"], ["shift_assignments.id"], name=op.f("fk_shift_swaps_target_assignment_id_shift_assignments")),
    sa.ForeignKeyConstraint(["target_employee_id"], ["employees.id"], name=op.f("fk_shift_swaps_target_employee_id_employees")),
    sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_shift_swaps_tenant_id_tenants")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_shift_swaps"))
    )
    with op.batch_alter_table("shift_swaps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shift_swaps_org_unit_id"), ["org_unit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_shift_swaps_tenant_id"), ["tenant_id"], unique=False)

    op.create_table("attendance_exceptions",
    sa.Column("tenant_id", sa.Integer(), nullable=False),
    sa.Column("org_unit_id", sa.Integer(), nullable=True),
    sa.Column("employee_id", sa.Integer(), nullable=False),
    sa.Column("assignment_id", sa.Integer(), nullable=True),
    sa.Column("punch_id", sa.Integer(), nullable=True),
    sa.Column("kind", sa.String(length=16), nullable=False),
    sa.Column("day", sa.Date(), nullable=False),
    sa.Column("minutes", sa.Integer(), nullable=False),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["assignment_id"], ["shift_assignments.id"], name=op.f("fk_attendance_exceptions_assignment_id_shift_assignments")),
    sa.ForeignKeyConstraint(["employee_id"], ["employees.id"], name=op.f("fk_attendance_exceptions_employee_id_employees")),
    sa.ForeignKeyConstraint(["org_unit_id"], ["org_units.id"], name=op.f("fk_attendance_exceptions_org_unit_id_org_units")),
    sa.ForeignKeyConstraint(["punch_id"], ["punches.id"], name=op.f("fk_attendance_exceptions_punch_id_punches")),
    sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_attendance_exceptions_tenant_id_tenants")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance_exceptions")),
    sa.UniqueConstraint("assignment_id", "kind", name=op.f("uq_attendance_exceptions_assignment_id"))
    )
    with op.batch_alter_table("attendance_exceptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attendance_exceptions_employee_id"), ["employee_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_attendance_exceptions_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_attendance_exceptions_unit_day", ["org_unit_id", "day"], unique=False)

    for table in APPEND_ONLY:
        for ddl in immutability_ddl(table, op.get_bind().dialect.name):
            op.execute(ddl)


def downgrade() -> None:
    for table in APPEND_ONLY:
        for ddl in drop_immutability_ddl(table, op.get_bind().dialect.name):
            op.execute(ddl)
    with op.batch_alter_table("attendance_exceptions", schema=None) as batch_op:
        batch_op.drop_index("ix_attendance_exceptions_unit_day")
        batch_op.drop_index(batch_op.f("ix_attendance_exceptions_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_attendance_exceptions_employee_id"))

    op.drop_table("attendance_exceptions")
    with op.batch_alter_table("shift_swaps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shift_swaps_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_shift_swaps_org_unit_id"))

    op.drop_table("shift_swaps")
    with op.batch_alter_table("punches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_punches_tenant_id"))
        batch_op.drop_index("ix_punches_employee_at")
        batch_op.drop_index(batch_op.f("ix_punches_assignment_id"))

    op.drop_table("punches")
    with op.batch_alter_table("shift_assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_shift_assignments_unit_start")
        batch_op.drop_index(batch_op.f("ix_shift_assignments_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_shift_assignments_ends_at"))
        batch_op.drop_index("ix_shift_assignments_employee_start")

    op.drop_table("shift_assignments")
    with op.batch_alter_table("overtime_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_overtime_requests_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_overtime_requests_org_unit_id"))
        batch_op.drop_index(batch_op.f("ix_overtime_requests_employee_id"))

    op.drop_table("overtime_requests")
    with op.batch_alter_table("leave_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leave_requests_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_leave_requests_org_unit_id"))
        batch_op.drop_index("ix_leave_requests_employee_start")

    op.drop_table("leave_requests")
    with op.batch_alter_table("leave_balances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leave_balances_tenant_id"))

    op.drop_table("leave_balances")
    with op.batch_alter_table("shift_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shift_templates_tenant_id"))

    op.drop_table("shift_templates")
