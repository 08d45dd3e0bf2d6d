"""payroll: salary structures, city tables, assignments, adjustments, runs, payslips

Revision ID: 0019
Revises: 0018
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from probity.db import drop_immutability_ddl, immutability_ddl

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=12, scale=2)
RATE = sa.Numeric(precision=7, scale=5)


def _base(table: str) -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)]


def _fk(table: str, col: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([col], [f"{target}.id"], name=f"fk_{table}_{col}_{target}")


def upgrade() -> None:
    op.create_table(
        "salary_structures",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("grade", sa.String(length=16), nullable=False),
        sa.Column("base", MONEY, nullable=False),
        sa.Column("allowances", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        *_base("salary_structures"),
        _fk("salary_structures", "tenant_id", "tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_salary_structures"),
        sa.UniqueConstraint("tenant_id", "grade", name="uq_salary_structures_tenant_id"))
    op.create_index("ix_salary_structures_tenant_id", "salary_structures", ["tenant_id"])

    op.create_table(
        "payroll_cities",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("city", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("minimum_wage", MONEY, nullable=False),
        sa.Column("si_base_floor", MONEY, nullable=False),
        sa.Column("si_base_ceiling", MONEY, nullable=False),
        sa.Column("hf_base_floor", MONEY, nullable=False),
        sa.Column("hf_base_ceiling", MONEY, nullable=False),
        sa.Column("si_rates", sa.JSON(), nullable=False),
        sa.Column("hf_employee_rate", RATE, nullable=False),
        sa.Column("hf_employer_rate", RATE, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        *_base("payroll_cities"),
        _fk("payroll_cities", "tenant_id", "tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_payroll_cities"),
        sa.UniqueConstraint("tenant_id", "city", name="uq_payroll_cities_tenant_id"))
    op.create_index("ix_payroll_cities_tenant_id", "payroll_cities", ["tenant_id"])

    op.create_table(
        "salary_assignments",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("grade", sa.String(length=16), nullable=True),
        sa.Column("base", MONEY, nullable=False),
        sa.Column("allowances", sa.JSON(), nullable=False),
        sa.Column("allowances_total", MONEY, nullable=False),
        sa.Column("city", sa.String(length=32), nullable=False),
        sa.Column("additional_deduction", MONEY, nullable=False),
        sa.Column("bank_name", sa.String(length=100), nullable=True),
        sa.Column("bank_account", sa.String(length=40), nullable=True),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        *_base("salary_assignments"),
        _fk("salary_assignments", "tenant_id", "tenants"),
        _fk("salary_assignments", "employee_id", "employees"),
        _fk("salary_assignments", "created_by_user_id", "users"),
        sa.PrimaryKeyConstraint("id", name="pk_salary_assignments"),
        sa.UniqueConstraint("employee_id", "effective_from",
                            name="uq_salary_assignments_employee_id"))
    op.create_index("ix_salary_assignments_tenant", "salary_assignments",
                    ["tenant_id", "effective_from"])

    op.create_table(
        "payroll_adjustments",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("corrects_month", sa.Date(), nullable=True),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        *_base("payroll_adjustments"),
        _fk("payroll_adjustments", "tenant_id", "tenants"),
        _fk("payroll_adjustments", "employee_id", "employees"),
        _fk("payroll_adjustments", "created_by_user_id", "users"),
        sa.PrimaryKeyConstraint("id", name="pk_payroll_adjustments"))
    op.create_index("ix_payroll_adjustments_tenant_month", "payroll_adjustments",
                    ["tenant_id", "month"])
    op.create_index("ix_payroll_adjustments_employee_id", "payroll_adjustments",
                    ["employee_id"])

    op.create_table(
        "payroll_runs",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("status", sa.Enum("computing", "draft", "approved", "closed",
                                    name="runstatus", native_enum=False, length=16),
                  nullable=False),
        sa.Column("prepared_by_user_id", sa.Integer(), nullable=True),
        sa.Column("approved_by_user_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_user_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("employees", sa.Integer(), nullable=False),
        sa.Column("totals", sa.JSON(), nullable=False),
        sa.Column("cycle_ids", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=True),
        sa.Column("ledger_seq", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        *_base("payroll_runs"),
        _fk("payroll_runs", "tenant_id", "tenants"),
        _fk("payroll_runs", "prepared_by_user_id", "users"),
        _fk("payroll_runs", "approved_by_user_id", "users"),
        _fk("payroll_runs", "closed_by_user_id", "users"),
        sa.PrimaryKeyConstraint("id", name="pk_payroll_runs"),
        sa.UniqueConstraint("tenant_id", "month", name="uq_payroll_runs_tenant_id"))
    op.create_index("ix_payroll_runs_tenant_id", "payroll_runs", ["tenant_id"])

    money = ("base", "allowances", "bonus", "penalty", "attendance_deduction", "adjustments",
             "gross", "si_employee", "hf_employee", "si_employer", "hf_employer",
             "additional_deduction")
    op.create_table(
        "payslips",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=True),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("city", sa.String(length=32), nullable=False),
        *(sa.Column(name, MONEY, nullable=False) for name in money),
        sa.Column("tax_months", sa.Integer(), nullable=False),
        sa.Column("cumulative_taxable", MONEY, nullable=False),
        sa.Column("tax", MONEY, nullable=False),
        sa.Column("net", MONEY, nullable=False),
        sa.Column("bank_account", sa.String(length=40), nullable=True),
        sa.Column("lines", sa.JSON(), nullable=False),
        *_base("payslips"),
        _fk("payslips", "run_id", "payroll_runs"),
        _fk("payslips", "tenant_id", "tenants"),
        _fk("payslips", "org_unit_id", "org_units"),
        _fk("payslips", "employee_id", "employees"),
        sa.PrimaryKeyConstraint("id", name="pk_payslips"),
        sa.UniqueConstraint("run_id", "employee_id", name="uq_payslips_run_id"))
    op.create_index("ix_payslips_employee_month", "payslips", ["employee_id", "month"])
    op.create_index("ix_payslips_tenant_month", "payslips", ["tenant_id", "month"])

    dialect = op.get_bind().dialect.name
    for ddl in immutability_ddl("payroll_adjustments", dialect):
        op.execute(ddl)
    for ddl in closed_run_guard_ddl(dialect):
        op.execute(ddl)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for ddl in drop_closed_run_guard_ddl(dialect):
        op.execute(ddl)
    for ddl in drop_immutability_ddl("payroll_adjustments", dialect):
        op.execute(ddl)
    for table in ("payslips", "payroll_runs", "payroll_adjustments", "salary_assignments",
                  "payroll_cities", "salary_structures"):
        op.drop_table(table)


MSG_RUN = "a closed payroll run is immutable"
MSG_SLIP = "the payslips of a closed payroll run are immutable"


def closed_run_guard_ddl(dialect: str) -> list[str]:
    """A closed run refuses UPDATE and DELETE, and so do its payslips (and new ones)."""
    closed = "(SELECT status FROM payroll_runs WHERE id = {}.run_id) = 'closed'"
    if dialect == "sqlite":
        return [
            "CREATE TRIGGER payroll_runs_closed_no_update BEFORE UPDATE ON payroll_runs "
            f"WHEN OLD.status = 'closed' BEGIN SELECT RAISE(ABORT, '{MSG_RUN}'); END",
            "CREATE TRIGGER payroll_runs_closed_no_delete BEFORE DELETE ON payroll_runs "
            f"WHEN OLD.status = 'closed' BEGIN SELECT RAISE(ABORT, '{MSG_RUN}'); END",
            "CREATE TRIGGER payslips_closed_no_update BEFORE UPDATE ON payslips "
            f"WHEN {closed.format('OLD')} BEGIN SELECT RAISE(ABORT, '{MSG_SLIP}'); END",
            "CREATE TRIGGER payslips_closed_no_delete BEFORE DELETE ON payslips "
            f"WHEN {closed.format('OLD')} BEGIN SELECT RAISE(ABORT, '{MSG_SLIP}'); END",
            "CREATE TRIGGER payslips_closed_no_insert BEFORE INSERT ON payslips "
            f"WHEN {closed.format('NEW')} BEGIN SELECT RAISE(ABORT, '{MSG_SLIP}'); END",
        ]
    if dialect == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION probity_closed_run_guard() RETURNS trigger AS $$ "
            f"BEGIN IF OLD.status = 'closed' THEN RAISE EXCEPTION '{MSG_RUN}'; END IF; "
            "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql",
            "CREATE TRIGGER payroll_runs_closed_guard BEFORE UPDATE OR DELETE ON payroll_runs "
            "FOR EACH ROW EXECUTE FUNCTION probity_closed_run_guard()",
            "CREATE OR REPLACE FUNCTION probity_closed_payslip_guard() RETURNS trigger AS $$ "
            "DECLARE rid integer; BEGIN "
            "IF TG_OP = 'INSERT' THEN rid := NEW.run_id; ELSE rid := OLD.run_id; END IF; "
            "IF (SELECT status FROM payroll_runs WHERE id = rid) = 'closed' THEN "
            f"RAISE EXCEPTION '{MSG_SLIP}'; END IF; "
            "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql",
            "CREATE TRIGGER payslips_closed_guard BEFORE INSERT OR UPDATE OR DELETE ON payslips "
            "FOR EACH ROW EXECUTE FUNCTION probity_closed_payslip_guard()",
            "CREATE TRIGGER payslips_no_truncate BEFORE TRUNCATE ON payslips "
            "FOR EACH STATEMENT EXECUTE FUNCTION probity_refuse_change()",
        ]
    raise ValueError(f"no closed-run triggers for dialect {dialect!r}")


def drop_closed_run_guard_ddl(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {t}" for t in (
            "payroll_runs_closed_no_update", "payroll_runs_closed_no_delete",
            "payslips_closed_no_update", "payslips_closed_no_delete",
            "payslips_closed_no_insert")]
    return ["DROP TRIGGER IF EXISTS payroll_runs_closed_guard ON payroll_runs",
            "DROP TRIGGER IF EXISTS payslips_closed_guard ON payslips",
            "DROP TRIGGER IF EXISTS payslips_no_truncate ON payslips",
            "DROP FUNCTION IF EXISTS probity_closed_run_guard()",
            "DROP FUNCTION IF EXISTS probity_closed_payslip_guard()"]
