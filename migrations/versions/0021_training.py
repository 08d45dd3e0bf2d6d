"""training: courses, attachments, quiz questions, assignments, attempts, case studies

Revision ID: 0021
Revises: 0020
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from probity.db import drop_immutability_ddl, immutability_ddl

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id_created() -> list[sa.Column[object]]:
    return [sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)]


def _fk(table: str, col: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([col], [f"{target}.id"],
                                   name=op.f(f"fk_{table}_{col}_{target}"))


def upgrade() -> None:
    t = "training_courses"
    op.create_table(
        t,
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body_md", sa.Text(), nullable=False),
        sa.Column("pass_mark", sa.Integer(), nullable=False),
        sa.Column("mandatory", sa.Boolean(), nullable=False),
        sa.Column("status", sa.Enum("draft", "published", "retired", name="coursestatus",
                                     native_enum=False, length=16), nullable=False),
        sa.Column("due_days", sa.Integer(), nullable=False),
        sa.Column("auto_new_hires", sa.Boolean(), nullable=False),
        sa.Column("auto_substantiated", sa.Boolean(), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        *_id_created(),
        _fk(t, "tenant_id", "tenants"), _fk(t, "created_by_user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    op.create_index(op.f(f"ix_{t}_tenant_id"), t, ["tenant_id"])

    t = "training_attachments"
    op.create_table(
        t,
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("mime", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        *_id_created(),
        _fk(t, "course_id", "training_courses"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    op.create_index(op.f(f"ix_{t}_course_id"), t, ["course_id"])

    t = "training_questions"
    op.create_table(
        t,
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("sort", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("correct", sa.JSON(), nullable=False),
        *_id_created(),
        _fk(t, "course_id", "training_courses"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    op.create_index(op.f(f"ix_{t}_course_id"), t, ["course_id"])

    t = "training_assignments"
    op.create_table(
        t,
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("assigned_by_user_id", sa.Integer(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("best_score", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_notified_at", sa.DateTime(timezone=True), nullable=True),
        *_id_created(),
        _fk(t, "tenant_id", "tenants"), _fk(t, "course_id", "training_courses"),
        _fk(t, "employee_id", "employees"), _fk(t, "assigned_by_user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("course_id", "employee_id", name=op.f(f"uq_{t}_course_id")),
    )
    op.create_index(op.f(f"ix_{t}_tenant_id"), t, ["tenant_id"])
    op.create_index(op.f(f"ix_{t}_course_id"), t, ["course_id"])
    op.create_index(op.f(f"ix_{t}_employee_id"), t, ["employee_id"])
    op.create_index("ix_training_assignments_due", t, ["completed_at", "due_at"])

    t = "training_attempts"
    op.create_table(
        t,
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        *_id_created(),
        _fk(t, "assignment_id", "training_assignments"), _fk(t, "course_id", "training_courses"),
        _fk(t, "employee_id", "employees"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    op.create_index(op.f(f"ix_{t}_assignment_id"), t, ["assignment_id"])
    op.create_index(op.f(f"ix_{t}_course_id"), t, ["course_id"])
    op.create_index(op.f(f"ix_{t}_employee_id"), t, ["employee_id"])
    for ddl in immutability_ddl(t, op.get_bind().dialect.name):
        op.execute(ddl)

    t = "training_case_studies"
    op.create_table(
        t,
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body_md", sa.Text(), nullable=False),
        sa.Column("status", sa.Enum("draft", "published", "rejected", name="casestudystatus",
                                     native_enum=False, length=16), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_by_user_id", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        *_id_created(),
        _fk(t, "tenant_id", "tenants"), _fk(t, "case_id", "cases"),
        _fk(t, "created_by_user_id", "users"), _fk(t, "reviewed_by_user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("case_id", name=op.f(f"uq_{t}_case_id")),
    )
    op.create_index(op.f(f"ix_{t}_tenant_id"), t, ["tenant_id"])


def downgrade() -> None:
    for ddl in drop_immutability_ddl("training_attempts", op.get_bind().dialect.name):
        op.execute(ddl)
    for t in ("training_case_studies", "training_attempts", "training_assignments",
              "training_questions", "training_attachments", "training_courses"):
        op.drop_table(t)
