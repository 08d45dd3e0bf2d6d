"""screening: who did it (alerts and cases name their subject and the agent's part), refusals
for the KPI, reviewer labels for training (both append-only)

Revision ID: 0009
Revises: 0008
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from probity.db import drop_immutability_ddl, immutability_ddl

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("screening_refusals", "screening_labels")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    # alerts is append-only: its triggers are dropped around the ALTER and the one-time
    # backfill of the new columns, then re-created (as in 0005).
    for ddl in drop_immutability_ddl("alerts", dialect):
        op.execute(ddl)
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=16), server_default="agent",
                                      nullable=False))
        batch_op.add_column(sa.Column("agent_part", sa.String(length=16), nullable=True))
    op.execute("UPDATE alerts SET subject = 'customer', agent_part = 'recipient' "
               "WHERE source = 'screening' AND sender_role = 'customer'")
    op.execute("UPDATE alerts SET agent_part = 'initiator' "
               "WHERE source = 'screening' AND sender_role = 'agent'")
    for ddl in immutability_ddl("alerts", dialect):
        op.execute(ddl)
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=16), server_default="agent",
                                      nullable=False))
        batch_op.add_column(sa.Column("agent_part", sa.String(length=16), nullable=True))
    # A case whose alerts are all customers' attempts is about the customer.
    op.execute("UPDATE cases SET subject = 'customer', agent_part = 'recipient' WHERE EXISTS ("
               "SELECT 1 FROM case_alerts ca WHERE ca.case_id = cases.id) AND NOT EXISTS ("
               "SELECT 1 FROM case_alerts ca JOIN alerts a ON a.id = ca.alert_id "
               "WHERE ca.case_id = cases.id AND a.subject <> 'customer')")

    op.create_table(
        "screening_refusals",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("refuser_role", sa.String(length=16), nullable=False),
        sa.Column("refuser_employee_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("episode", sa.Integer(), nullable=False),
        sa.Column("offer_seq", sa.Integer(), nullable=True),
        sa.Column("declined", sa.JSON(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_screening_refusals_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["org_unit_id"], ["org_units.id"],
                                name=op.f("fk_screening_refusals_org_unit_id_org_units")),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"],
                                name=op.f("fk_screening_refusals_conversation_id_conversations")),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"],
                                name=op.f("fk_screening_refusals_message_id_messages")),
        sa.ForeignKeyConstraint(["refuser_employee_id"], ["employees.id"],
                                name=op.f("fk_screening_refusals_refuser_employee_id_employees")),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"],
                                name=op.f("fk_screening_refusals_customer_id_customers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_refusals")),
        sa.UniqueConstraint("message_id", name=op.f("uq_screening_refusals_message_id")),
    )
    op.create_index(op.f("ix_screening_refusals_tenant_id"), "screening_refusals", ["tenant_id"])
    op.create_index(op.f("ix_screening_refusals_conversation_id"), "screening_refusals",
                    ["conversation_id"])
    op.create_index("ix_screening_refusals_employee", "screening_refusals",
                    ["refuser_employee_id", "conversation_id", "episode"])
    op.create_table(
        "screening_labels",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("reviewer_user_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_screening_labels_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"],
                                name=op.f("fk_screening_labels_message_id_messages")),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"],
                                name=op.f("fk_screening_labels_alert_id_alerts")),
        sa.ForeignKeyConstraint(["reviewer_user_id"], ["users.id"],
                                name=op.f("fk_screening_labels_reviewer_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_labels")),
    )
    op.create_index(op.f("ix_screening_labels_tenant_id"), "screening_labels", ["tenant_id"])
    op.create_index(op.f("ix_screening_labels_message_id"), "screening_labels", ["message_id"])
    op.create_index(op.f("ix_screening_labels_alert_id"), "screening_labels", ["alert_id"])
    for table in APPEND_ONLY:
        for ddl in immutability_ddl(table, dialect):
            op.execute(ddl)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        for ddl in drop_immutability_ddl(table, dialect):
            op.execute(ddl)
    op.drop_table("screening_labels")
    op.drop_table("screening_refusals")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("agent_part")
        batch_op.drop_column("subject")
    for ddl in drop_immutability_ddl("alerts", dialect):
        op.execute(ddl)
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("agent_part")
        batch_op.drop_column("subject")
    for ddl in immutability_ddl("alerts", dialect):
        op.execute(ddl)
