"""recruitment (requisitions, candidates, feedback) and onboarding (checklists, pledge)

Revision ID: 0012
Revises: 0011
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from probity.db import drop_immutability_ddl, immutability_ddl

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Signatures, pledge versions, stage changes and interview feedback are records: append-only.
APPEND_ONLY = ("pledge_versions", "pledge_signatures", "candidate_events", "interview_feedback")


def upgrade() -> None:
    op.create_table("onboarding_checklist_items",
    sa.Column("tenant_id", sa.Integer(), nullable=False),
    sa.Column("position_id", sa.Integer(), nullable=True),
    sa.Column("category", sa.String(length=16), nullable=False),
    sa.Column("title", sa.String(length=200), nullable=False),
    sa.Column("sort", sa.Integer(), nullable=False),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["position_id"], ["positions.id"], name=op.f("fk_onboarding_checklist_items_position_id_positions")),
    sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_onboarding_checklist_items_tenant_id_tenants")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_onboarding_checklist_items"))
    )
    with op.batch_alter_table("onboarding_checklist_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_onboarding_checklist_items_position_id"), ["position_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_onboarding_checklist_items_tenant_id"), ["tenant_id"], unique=False)

    op.create_table("pledge_versions",
    sa.Column("tenant_id", sa.Integer(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("title", sa.String(length=200), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("text_sha256", sa.String(length=64), nullable=False),
    sa.Column("published_by_user_id", sa.Integer(), nullable=True),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["published_by_user_id"], ["users.id"], name=op.f("fk_pledge_versions_published_by_user_id_users")),
    sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_pledge_versions_tenant_id_tenants")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_pledge_versions")),
    sa.UniqueConstraint("tenant_id", "version", name=op.f("uq_pledge_versions_tenant_id"))
    )
    with op.batch_alter_table("pledge_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pledge_versions_tenant_id"), ["tenant_id"], unique=False)

    op.create_table("requisitions",
    sa.Column("tenant_id", sa.Integer(), nullable=False),
    sa.Column("position_id", sa.Integer(), nullable=False),
    sa.Column("org_unit_id", sa.Integer(), nullable=True),
    sa.Column("title", sa.String(length=200), nullable=False),
    sa.Column("headcount", sa.Integer(), nullable=False),
    sa.Column("hired", sa.Integer(), nullable=False),
    sa.Column("reason", sa.String(length=500), nullable=False),
    sa.Column("status", sa.Enum("open", "filled", "closed", name="requisitionstatus", native_enum=False, length=16), nullable=False),
    sa.Column("opened_by_user_id", sa.Integer(), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["opened_by_user_id"], ["users.id"], name=op.f("fk_requisitions_opened_by_user_id_users")),
    sa.ForeignKeyConstraint(["org_unit_id"], ["org_units.id"], name=op.f("fk_requisitions_org_unit_id_org_units")),
    sa.ForeignKeyConstraint(["position_id"], ["positions.id"], name=op.f("fk_requisitions_position_id_positions")),
    sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_requisitions_tenant_id_tenants")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_requisitions"))
    )
    with op.batch_alter_table("requisitions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_requisitions_org_unit_id"), ["org_unit_id"], unique=False)
        batch_op.create_index("ix_requisitions_tenant_status", ["tenant_id", "status"], unique=False)

    op.create_table("candidates",
    sa.Column("tenant_id", sa.Integer(), nullable=False),
    sa.Column("requisition_id", sa.Integer(), nullable=False),
    sa.Column("org_unit_id", sa.Integer(), nullable=True),
    sa.Column("name", sa.String(length=100), nullable=False),
    sa.Column("phone", sa.String(length=32), nullable=True),
    sa.Column("email", sa.String(length=200), nullable=True),
    sa.Column("phone_key", sa.String(length=32), nullable=True),
    sa.Column("email_key", sa.String(length=200), nullable=True),
    sa.Column("source", sa.String(length=64), nullable=False),
    sa.Column("stage", sa.Enum("applied", "screening", "interview", "offer", "hired", "rejected", name="candidatestage", native_enum=False, length=16), nullable=False),
    sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
    sa.Column("resume_sha256", sa.String(length=64), nullable=True),
    sa.Column("resume_name", sa.String(length=200), nullable=True),
    sa.Column("resume_mime", sa.String(length=100), nullable=True),
    sa.Column("resume_size", sa.Integer(), nullable=True),
    sa.Column("employee_id", sa.Integer(), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["duplicate_of_id"], ["candidates.id"], name=op.f("fk_candidates_duplicate_of_id_candidates")),
    sa.ForeignKeyConstraint(["employee_id"], ["employees.id"], name=op.f("fk_candidates_employee_id_employees")),
    sa.ForeignKeyConstraint(["org_unit_id"], ["org_units.id"], name=op.f("fk_candidates_org_unit_id_org_units")),
    sa.ForeignKeyConstraint(["requisition_id"], ["requisitions.id"], name=op.f("fk_candidates_requisition_id_requisitions")),
    sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_candidates_tenant_id_tenants")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_candidates"))
    )
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_candidates_requisition_id"), ["requisition_id"], unique=False)
        batch_op.create_index("ix_candidates_tenant_email", ["tenant_id", "email_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_candidates_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_candidates_tenant_phone", ["tenant_id", "phone_key"], unique=False)

    op.create_table("pledge_signatures",
    sa.Column("tenant_id", sa.Integer(), nullable=False),
    sa.Column("employee_id", sa.Integer(), nullable=False),
    sa.Column("pledge_version_id", sa.Integer(), nullable=False),
    sa.Column("user_id", sa.Integer(), nullable=True),
    sa.Column("typed_name", sa.String(length=100), nullable=False),
    sa.Column("text_sha256", sa.String(length=64), nullable=False),
    sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ledger_seq", sa.Integer(), nullable=False),
    sa.Column("ip", sa.String(length=64), nullable=True),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["employee_id"], ["employees.id"], name=op.f("fk_pledge_signatures_employee_id_employees")),
    sa.ForeignKeyConstraint(["pledge_version_id"], ["pledge_versions.id"], name=op.f("fk_pledge_signatures_pledge_version_id_pledge_versions")),
    sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_pledge_signatures_tenant_id_tenants")),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_pledge_signatures_user_id_users")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_pledge_signatures")),
    sa.UniqueConstraint("employee_id", "pledge_version_id", name=op.f("uq_pledge_signatures_employee_id"))
    )
    with op.batch_alter_table("pledge_signatures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pledge_signatures_employee_id"), ["employee_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pledge_signatures_tenant_id"), ["tenant_id"], unique=False)

    op.create_table("candidate_events",
    sa.Column("candidate_id", sa.Integer(), nullable=False),
    sa.Column("tenant_id", sa.Integer(), nullable=False),
    sa.Column("from_stage", sa.String(length=16), nullable=True),
    sa.Column("to_stage", sa.String(length=16), nullable=False),
    sa.Column("note", sa.String(length=1000), nullable=False),
    sa.Column("actor_user_id", sa.Integer(), nullable=True),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["actor_user_id"], ["users.id"], name=op.f("fk_candidate_events_actor_user_id_users")),
    sa.ForeignKeyConstraint(["candidate_id"], ["candidates.id"], name=op.f("fk_candidate_events_candidate_id_candidates")),
    sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_candidate_events_tenant_id_tenants")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_candidate_events"))
    )
    with op.batch_alter_table("candidate_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_candidate_events_candidate_id"), ["candidate_id"], unique=False)

    op.create_table("interview_feedback",
    sa.Column("candidate_id", sa.Integer(), nullable=False),
    sa.Column("tenant_id", sa.Integer(), nullable=False),
    sa.Column("interviewer_user_id", sa.Integer(), nullable=True),
    sa.Column("interviewer_name", sa.String(length=100), nullable=False),
    sa.Column("round", sa.Integer(), nullable=False),
    sa.Column("rating", sa.Integer(), nullable=False),
    sa.Column("recommendation", sa.String(length=16), nullable=False),
    sa.Column("notes", sa.Text(), nullable=False),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["candidate_id"], ["candidates.id"], name=op.f("fk_interview_feedback_candidate_id_candidates")),
    sa.ForeignKeyConstraint(["interviewer_user_id"], ["users.id"], name=op.f("fk_interview_feedback_interviewer_user_id_users")),
    sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_interview_feedback_tenant_id_tenants")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_interview_feedback"))
    )
    with op.batch_alter_table("interview_feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_interview_feedback_candidate_id"), ["candidate_id"], unique=False)

    op.create_table("onboardings",
    sa.Column("employee_id", sa.Integer(), nullable=False),
    sa.Column("tenant_id", sa.Integer(), nullable=False),
    sa.Column("candidate_id", sa.Integer(), nullable=True),
    sa.Column("probation_end", sa.Date(), nullable=False),
    sa.Column("probation_reminded_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["candidate_id"], ["candidates.id"], name=op.f("fk_onboardings_candidate_id_candidates")),
    sa.ForeignKeyConstraint(["employee_id"], ["employees.id"], name=op.f("fk_onboardings_employee_id_employees")),
    sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_onboardings_tenant_id_tenants")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_onboardings")),
    sa.UniqueConstraint("employee_id", name=op.f("uq_onboardings_employee_id"))
    )
    with op.batch_alter_table("onboardings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_onboardings_probation_end"), ["probation_end"], unique=False)
        batch_op.create_index(batch_op.f("ix_onboardings_tenant_id"), ["tenant_id"], unique=False)

    op.create_table("onboarding_tasks",
    sa.Column("onboarding_id", sa.Integer(), nullable=False),
    sa.Column("category", sa.String(length=16), nullable=False),
    sa.Column("title", sa.String(length=200), nullable=False),
    sa.Column("sort", sa.Integer(), nullable=False),
    sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("done_by_user_id", sa.Integer(), nullable=True),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["done_by_user_id"], ["users.id"], name=op.f("fk_onboarding_tasks_done_by_user_id_users")),
    sa.ForeignKeyConstraint(["onboarding_id"], ["onboardings.id"], name=op.f("fk_onboarding_tasks_onboarding_id_onboardings")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_onboarding_tasks"))
    )
    with op.batch_alter_table("onboarding_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_onboarding_tasks_onboarding_id"), ["onboarding_id"], unique=False)

    for table in APPEND_ONLY:
        for ddl in immutability_ddl(table, op.get_bind().dialect.name):
            op.execute(ddl)


def downgrade() -> None:
    for table in APPEND_ONLY:
        for ddl in drop_immutability_ddl(table, op.get_bind().dialect.name):
            op.execute(ddl)
    with op.batch_alter_table("onboarding_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_onboarding_tasks_onboarding_id"))

    op.drop_table("onboarding_tasks")
    with op.batch_alter_table("onboardings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_onboardings_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_onboardings_probation_end"))

    op.drop_table("onboardings")
    with op.batch_alter_table("interview_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interview_feedback_candidate_id"))

    op.drop_table("interview_feedback")
    with op.batch_alter_table("candidate_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_candidate_events_candidate_id"))

    op.drop_table("candidate_events")
    with op.batch_alter_table("pledge_signatures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pledge_signatures_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_pledge_signatures_employee_id"))

    op.drop_table("pledge_signatures")
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.drop_index("ix_candidates_tenant_phone")
        batch_op.drop_index(batch_op.f("ix_candidates_tenant_id"))
        batch_op.drop_index("ix_candidates_tenant_email")
        batch_op.drop_index(batch_op.f("ix_candidates_requisition_id"))

    op.drop_table("candidates")
    with op.batch_alter_table("requisitions", schema=None) as batch_op:
        batch_op.drop_index("ix_requisitions_tenant_status")
        batch_op.drop_index(batch_op.f("ix_requisitions_org_unit_id"))

    op.drop_table("requisitions")
    with op.batch_alter_table("pledge_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pledge_versions_tenant_id"))

    op.drop_table("pledge_versions")
    with op.batch_alter_table("onboarding_checklist_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_onboarding_checklist_items_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_onboarding_checklist_items_position_id"))

    op.drop_table("onboarding_checklist_items")
