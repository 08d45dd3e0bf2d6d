"""performance: appraisal cycles, KPI templates, penalty standard, frozen scores and lines,
awards, promotion decisions

Revision ID: 0010
Revises: 0009
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from probity.db import drop_immutability_ddl, immutability_ddl

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table("penalty_standards",
    sa.Column("tenant_id", sa.Integer(), nullable=False),
    sa.Column("violation_type", sa.String(length=16), nullable=False),
    sa.Column("severity", sa.Integer(), nullable=True),
    sa.Column("points", sa.Integer(), nullable=False),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_penalty_standards_tenant_id_tenants")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_penalty_standards")),
    sa.UniqueConstraint("tenant_id", "violation_type", "severity", name=op.f("uq_penalty_standards_tenant_id"))
    )
    with op.batch_alter_table("penalty_standards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_penalty_standards_tenant_id"), ["tenant_id"], unique=False)

    op.create_table("kpi_templates",
    sa.Column("tenant_id", sa.Integer(), nullable=False),
    sa.Column("position_id", sa.Integer(), nullable=True),
    sa.Column("name", sa.String(length=100), nullable=False),
    sa.Column("indicators", sa.JSON(), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["position_id"], ["positions.id"], name=op.f("fk_kpi_templates_position_id_positions")),
    sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_kpi_templates_tenant_id_tenants")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_templates")),
    sa.UniqueConstraint("tenant_id", "position_id", name=op.f("uq_kpi_templates_tenant_id"))
    )
    with op.batch_alter_table("kpi_templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kpi_templates_tenant_id"), ["tenant_id"], unique=False)

    op.create_table("appraisal_cycles",
    sa.Column("tenant_id", sa.Integer(), nullable=False),
    sa.Column("name", sa.String(length=100), nullable=False),
    sa.Column("period", sa.String(length=16), nullable=False),
    sa.Column("starts_on", sa.Date(), nullable=False),
    sa.Column("ends_on", sa.Date(), nullable=False),
    sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.Enum("open", "review", "closed", name="cyclestatus", native_enum=False, length=16), nullable=False),
    sa.Column("created_by_user_id", sa.Integer(), nullable=True),
    sa.Column("reviewed_by_user_id", sa.Integer(), nullable=True),
    sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("signed_off_by_user_id", sa.Integer(), nullable=True),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("scores_digest", sa.String(length=64), nullable=True),
    sa.Column("ledger_seq", sa.Integer(), nullable=True),
    sa.Column("employees", sa.Integer(), nullable=False),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["created_by_user_id"], ["users.id"], name=op.f("fk_appraisal_cycles_created_by_user_id_users")),
    sa.ForeignKeyConstraint(["reviewed_by_user_id"], ["users.id"], name=op.f("fk_appraisal_cycles_reviewed_by_user_id_users")),
    sa.ForeignKeyConstraint(["signed_off_by_user_id"], ["users.id"], name=op.f("fk_appraisal_cycles_signed_off_by_user_id_users")),
    sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_appraisal_cycles_tenant_id_tenants")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_appraisal_cycles")),
    sa.UniqueConstraint("tenant_id", "starts_on", name=op.f("uq_appraisal_cycles_tenant_id"))
    )
    with op.batch_alter_table("appraisal_cycles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appraisal_cycles_tenant_id"), ["tenant_id"], unique=False)

    op.create_table("promotion_decisions",
    sa.Column("tenant_id", sa.Integer(), nullable=False),
    sa.Column("employee_id", sa.Integer(), nullable=False),
    sa.Column("decision", sa.String(length=16), nullable=False),
    sa.Column("note", sa.String(length=1000), nullable=False),
    sa.Column("record", sa.JSON(), nullable=False),
    sa.Column("decided_by_user_id", sa.Integer(), nullable=True),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["decided_by_user_id"], ["users.id"], name=op.f("fk_promotion_decisions_decided_by_user_id_users")),
    sa.ForeignKeyConstraint(["employee_id"], ["employees.id"], name=op.f("fk_promotion_decisions_employee_id_employees")),
    sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_promotion_decisions_tenant_id_tenants")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_promotion_decisions"))
    )
    with op.batch_alter_table("promotion_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_promotion_decisions_employee_id"), ["employee_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_promotion_decisions_tenant_id"), ["tenant_id"], unique=False)

    op.create_table("awards",
    sa.Column("tenant_id", sa.Integer(), nullable=False),
    sa.Column("cycle_id", sa.Integer(), nullable=False),
    sa.Column("employee_id", sa.Integer(), nullable=False),
    sa.Column("org_unit_id", sa.Integer(), nullable=True),
    sa.Column("kind", sa.String(length=32), nullable=False),
    sa.Column("status", sa.Enum("nominated", "confirmed", "declined", name="awardstatus", native_enum=False, length=16), nullable=False),
    sa.Column("facts", sa.JSON(), nullable=False),
    sa.Column("decided_by_user_id", sa.Integer(), nullable=True),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["cycle_id"], ["appraisal_cycles.id"], name=op.f("fk_awards_cycle_id_appraisal_cycles")),
    sa.ForeignKeyConstraint(["decided_by_user_id"], ["users.id"], name=op.f("fk_awards_decided_by_user_id_users")),
    sa.ForeignKeyConstraint(["employee_id"], ["employees.id"], name=op.f("fk_awards_employee_id_employees")),
    sa.ForeignKeyConstraint(["org_unit_id"], ["org_units.id"], name=op.f("fk_awards_org_unit_id_org_units")),
    sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_awards_tenant_id_tenants")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_awards")),
    sa.UniqueConstraint("cycle_id", "employee_id", "kind", name=op.f("uq_awards_cycle_id"))
    )
    with op.batch_alter_table("awards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_awards_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_awards_employee_id"), ["employee_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_awards_tenant_id"), ["tenant_id"], unique=False)

    op.create_table("manual_scores",
    sa.Column("cycle_id", sa.Integer(), nullable=False),
    sa.Column("employee_id", sa.Integer(), nullable=False),
    sa.Column("indicator", sa.String(length=40), nullable=False),
    sa.Column("score", sa.Integer(), nullable=False),
    sa.Column("comment", sa.String(length=500), nullable=False),
    sa.Column("entered_by_user_id", sa.Integer(), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["cycle_id"], ["appraisal_cycles.id"], name=op.f("fk_manual_scores_cycle_id_appraisal_cycles")),
    sa.ForeignKeyConstraint(["employee_id"], ["employees.id"], name=op.f("fk_manual_scores_employee_id_employees")),
    sa.ForeignKeyConstraint(["entered_by_user_id"], ["users.id"], name=op.f("fk_manual_scores_entered_by_user_id_users")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_manual_scores")),
    sa.UniqueConstraint("cycle_id", "employee_id", "indicator", name=op.f("uq_manual_scores_cycle_id"))
    )
    with op.batch_alter_table("manual_scores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_manual_scores_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_manual_scores_employee_id"), ["employee_id"], unique=False)

    op.create_table("performance_lines",
    sa.Column("cycle_id", sa.Integer(), nullable=False),
    sa.Column("employee_id", sa.Integer(), nullable=False),
    sa.Column("kind", sa.String(length=16), nullable=False),
    sa.Column("points", sa.Integer(), nullable=False),
    sa.Column("case_id", sa.Integer(), nullable=True),
    sa.Column("message_id", sa.Integer(), nullable=True),
    sa.Column("conversation_id", sa.Integer(), nullable=True),
    sa.Column("alert_id", sa.Integer(), nullable=True),
    sa.Column("ref_cycle_id", sa.Integer(), nullable=True),
    sa.Column("detail", sa.JSON(), nullable=False),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_performance_lines_case_id_cases")),
    sa.ForeignKeyConstraint(["cycle_id"], ["appraisal_cycles.id"], name=op.f("fk_performance_lines_cycle_id_appraisal_cycles")),
    sa.ForeignKeyConstraint(["employee_id"], ["employees.id"], name=op.f("fk_performance_lines_employee_id_employees")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_performance_lines"))
    )
    with op.batch_alter_table("performance_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_performance_lines_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_performance_lines_cycle_employee", ["cycle_id", "employee_id"], unique=False)

    op.create_table("performance_scores",
    sa.Column("cycle_id", sa.Integer(), nullable=False),
    sa.Column("tenant_id", sa.Integer(), nullable=False),
    sa.Column("org_unit_id", sa.Integer(), nullable=True),
    sa.Column("employee_id", sa.Integer(), nullable=False),
    sa.Column("grade", sa.String(length=16), nullable=True),
    sa.Column("compliance_score", sa.Integer(), nullable=False),
    sa.Column("total_score", sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column("indicators", sa.JSON(), nullable=False),
    sa.Column("violations", sa.Integer(), nullable=False),
    sa.Column("refusals", sa.Integer(), nullable=False),
    sa.Column("offers", sa.Integer(), nullable=False),
    sa.Column("rebuffed", sa.Integer(), nullable=False),
    sa.Column("self_reports", sa.Integer(), nullable=False),
    sa.Column("bonus_base", sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column("bonus_eligible", sa.Boolean(), nullable=False),
    sa.Column("bonus_amount", sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column("bonus_adjustment", sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column("bonus_reason", sa.String(length=500), nullable=False),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["cycle_id"], ["appraisal_cycles.id"], name=op.f("fk_performance_scores_cycle_id_appraisal_cycles")),
    sa.ForeignKeyConstraint(["employee_id"], ["employees.id"], name=op.f("fk_performance_scores_employee_id_employees")),
    sa.ForeignKeyConstraint(["org_unit_id"], ["org_units.id"], name=op.f("fk_performance_scores_org_unit_id_org_units")),
    sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_performance_scores_tenant_id_tenants")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_performance_scores")),
    sa.UniqueConstraint("cycle_id", "employee_id", name=op.f("uq_performance_scores_cycle_id"))
    )
    with op.batch_alter_table("performance_scores", schema=None) as batch_op:
        batch_op.create_index("ix_performance_scores_employee", ["employee_id", "cycle_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_performance_scores_org_unit_id"), ["org_unit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_performance_scores_tenant_id"), ["tenant_id"], unique=False)
    _create_triggers(op.get_bind().dialect.name)


def downgrade() -> None:
    _drop_triggers(op.get_bind().dialect.name)
    with op.batch_alter_table("performance_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_performance_scores_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_performance_scores_org_unit_id"))
        batch_op.drop_index("ix_performance_scores_employee")

    op.drop_table("performance_scores")
    with op.batch_alter_table("performance_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_performance_lines_cycle_employee")
        batch_op.drop_index(batch_op.f("ix_performance_lines_case_id"))

    op.drop_table("performance_lines")
    with op.batch_alter_table("manual_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_manual_scores_employee_id"))
        batch_op.drop_index(batch_op.f("ix_manual_scores_cycle_id"))

    op.drop_table("manual_scores")
    with op.batch_alter_table("awards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_awards_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_awards_employee_id"))
        batch_op.drop_index(batch_op.f("ix_awards_cycle_id"))

    op.drop_table("awards")
    with op.batch_alter_table("promotion_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_promotion_decisions_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_promotion_decisions_employee_id"))

    op.drop_table("promotion_decisions")
    with op.batch_alter_table("appraisal_cycles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appraisal_cycles_tenant_id"))

    op.drop_table("appraisal_cycles")
    with op.batch_alter_table("kpi_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kpi_templates_tenant_id"))

    op.drop_table("kpi_templates")
    with op.batch_alter_table("penalty_standards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_penalty_standards_tenant_id"))

    op.drop_table("penalty_standards")


APPEND_ONLY = ("performance_scores", "performance_lines", "promotion_decisions")


def closed_cycle_guard_ddl(dialect: str) -> list[str]:
    """A closed cycle refuses UPDATE and DELETE: its scores are frozen for good."""
    if dialect == "sqlite":
        return [
            "CREATE TRIGGER appraisal_cycles_closed_no_update BEFORE UPDATE ON appraisal_cycles "
            "WHEN OLD.status = 'closed' "
            "BEGIN SELECT RAISE(ABORT, 'a closed appraisal cycle is immutable'); END",
            "CREATE TRIGGER appraisal_cycles_closed_no_delete BEFORE DELETE ON appraisal_cycles "
            "WHEN OLD.status = 'closed' "
            "BEGIN SELECT RAISE(ABORT, 'a closed appraisal cycle is immutable'); END",
        ]
    return [
        "CREATE OR REPLACE FUNCTION probity_closed_cycle_guard() RETURNS trigger AS $$ "
        "BEGIN IF OLD.status = 'closed' THEN "
        "RAISE EXCEPTION 'a closed appraisal cycle is immutable'; END IF; "
        "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER appraisal_cycles_closed_guard BEFORE UPDATE OR DELETE ON appraisal_cycles "
        "FOR EACH ROW EXECUTE FUNCTION probity_closed_cycle_guard()",
    ]


def _create_triggers(dialect: str) -> None:
    for table in APPEND_ONLY:
        for ddl in immutability_ddl(table, dialect):
            op.execute(ddl)
    for ddl in closed_cycle_guard_ddl(dialect):
        op.execute(ddl)


def _drop_triggers(dialect: str) -> None:
    for table in APPEND_ONLY:
        for ddl in drop_immutability_ddl(table, dialect):
            op.execute(ddl)
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS appraisal_cycles_closed_no_update")
        op.execute("DROP TRIGGER IF EXISTS appraisal_cycles_closed_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS appraisal_cycles_closed_guard ON appraisal_cycles")
        op.execute("DROP FUNCTION IF EXISTS probity_closed_cycle_guard()")
