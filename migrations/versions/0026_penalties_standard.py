"""penalty standard becomes the `penalties` group standard; drop penalty_standards

Each tenant's rows become version 1 of its `penalties` section (rules with no measures: the
section's default ladder applies until HR names one). Versioned, inherited and lockable like
every group standard from here on.

Revision ID: 0026
Revises: 0025
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    rules: dict[int, list[dict[str, object]]] = {}
    for tid, vtype, severity, points in bind.execute(sa.text(
            "SELECT tenant_id, violation_type, severity, points FROM penalty_standards "
            "ORDER BY tenant_id, violation_type, severity")):
        rules.setdefault(tid, []).append({"violation_type": vtype, "severity": severity,
                                          "points": points, "measures": []})
    if rules:
        table = sa.table("settings_versions", sa.column("tenant_id", sa.Integer),
                         sa.column("section", sa.String), sa.column("version", sa.Integer),
                         sa.column("values", sa.JSON), sa.column("locks", sa.JSON),
                         sa.column("reason", sa.String), sa.column("created_by_name", sa.String),
                         sa.column("created_at", sa.DateTime(timezone=True)))
        now = datetime.now(UTC)
        op.bulk_insert(table, [
            {"tenant_id": tid, "section": "penalties", "version": 1, "values": {"rules": r},
             "locks": [], "reason": "migrated from the penalty_standards table",
             "created_by_name": "migration", "created_at": now} for tid, r in rules.items()])
    with op.batch_alter_table("penalty_standards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_penalty_standards_tenant_id"))
    op.drop_table("penalty_standards")


def downgrade() -> None:
    # The table comes back empty: the standard lives on as `penalties` versions.
    op.create_table(
        "penalty_standards",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("violation_type", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=True),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_penalty_standards_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_penalty_standards")),
        sa.UniqueConstraint("tenant_id", "violation_type", "severity",
                            name=op.f("uq_penalty_standards_tenant_id")))
    with op.batch_alter_table("penalty_standards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_penalty_standards_tenant_id"), ["tenant_id"],
                              unique=False)
