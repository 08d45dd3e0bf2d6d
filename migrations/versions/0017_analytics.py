"""analytics: hourly rollups, monitoring rules, QA reviews, reporting views (rpt_*)

Revision ID: 0017
Revises: 0016
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from probity.models.base import UTCDateTime

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The read-only reporting schema (docs/REPORTING.md): stable names and columns; change them only
# by adding columns or a new view.
VIEWS: dict[str, str] = {
    "rpt_activity_hourly": """
        SELECT r.tenant_id, t.name AS tenant_name, r.team_id, u.name AS team_name,
               r.tenure_band, r.shift_id, s.name AS shift_name, r.hour AS hour_utc,
               r.local_dow AS local_weekday, r.local_hour, r.messages, r.agent_messages,
               r.conversations, r.attempts, r.violations, r.blocks, r.contact_attempts
        FROM analytics_rollup_hourly r
        JOIN tenants t ON t.id = r.tenant_id
        LEFT JOIN org_units u ON u.id = r.team_id
        LEFT JOIN shift_templates s ON s.id = r.shift_id""",
    "rpt_alerts": """
        SELECT a.id AS alert_id, a.tenant_id, a.org_unit_id AS team_id, a.created_at,
               a.source, a.decision, a.category, a.severity, a.sender_role,
               a.agent_employee_id, a.conversation_id, ca.case_id
        FROM alerts a LEFT JOIN case_alerts ca ON ca.alert_id = a.id""",
    "rpt_cases": """
        SELECT c.id AS case_id, c.tenant_id, c.org_unit_id AS team_id, c.agent_employee_id,
               c.subject, c.status, c.severity, c.decision, c.created_at, c.triaged_at,
               c.decided_at, c.closed_at, c.appeal_count, c.assignee_user_id
        FROM cases c""",
    "rpt_monitoring_rules": """
        SELECT m.id AS rule_id, m.tenant_id, m.title, m.finding_key, m.tighten,
               m.qa_sample_rate, m.notify_duty, m.starts_at, m.expires_at, m.review_at,
               m.active, m.ended_at, m.created_at
        FROM monitoring_rules m""",
    "rpt_qa_reviews": """
        SELECT q.id AS review_id, q.tenant_id, q.org_unit_id AS team_id, q.rule_id,
               q.conversation_id, q.status, q.outcome, q.created_at, q.reviewed_at
        FROM qa_reviews q""",
}


def upgrade() -> None:
    op.create_table(
        "analytics_rollup_hourly",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("tenure_band", sa.String(length=8), nullable=False),
        sa.Column("shift_id", sa.Integer(), nullable=False),
        sa.Column("hour", UTCDateTime(), nullable=False),
        sa.Column("local_dow", sa.SmallInteger(), nullable=False),
        sa.Column("local_hour", sa.SmallInteger(), nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False, server_default="0") for c in (
            "messages", "agent_messages", "conversations", "attempts", "violations", "blocks",
            "contact_attempts")),
        sa.PrimaryKeyConstraint("tenant_id", "team_id", "tenure_band", "shift_id", "hour",
                                name=op.f("pk_analytics_rollup_hourly")),
    )
    op.create_index("ix_analytics_rollup_tenant_hour", "analytics_rollup_hourly",
                    ["tenant_id", "hour"])
    op.create_table(
        "monitoring_rules",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("finding_key", sa.String(length=120), nullable=True),
        sa.Column("cohort", sa.JSON(), nullable=False),
        sa.Column("tighten", sa.Boolean(), nullable=False),
        sa.Column("qa_sample_rate", sa.Float(), nullable=False),
        sa.Column("notify_duty", sa.Boolean(), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("review_at", UTCDateTime(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_monitoring_rules_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["created_by_user_id"], ["users.id"],
                                name=op.f("fk_monitoring_rules_created_by_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_rules")),
    )
    op.create_index("ix_monitoring_rules_tenant_active", "monitoring_rules",
                    ["tenant_id", "active"])
    op.create_table(
        "qa_reviews",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=True),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reviewer_user_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", UTCDateTime(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_qa_reviews_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["org_unit_id"], ["org_units.id"],
                                name=op.f("fk_qa_reviews_org_unit_id_org_units")),
        sa.ForeignKeyConstraint(["rule_id"], ["monitoring_rules.id"],
                                name=op.f("fk_qa_reviews_rule_id_monitoring_rules")),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"],
                                name=op.f("fk_qa_reviews_conversation_id_conversations")),
        sa.ForeignKeyConstraint(["reviewer_user_id"], ["users.id"],
                                name=op.f("fk_qa_reviews_reviewer_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_reviews")),
        sa.UniqueConstraint("conversation_id", name=op.f("uq_qa_reviews_conversation_id")),
    )
    op.create_index("ix_qa_reviews_tenant_id", "qa_reviews", ["tenant_id"])
    op.create_index("ix_qa_reviews_rule_id", "qa_reviews", ["rule_id"])
    op.create_index("ix_qa_reviews_unit_status", "qa_reviews", ["org_unit_id", "status"])
    # Drill-down from a dashboard cell to its alerts: by tenant and time.
    op.create_index("ix_alerts_tenant_created", "alerts", ["tenant_id", "created_at"])
    for name, body in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {body}")


def downgrade() -> None:
    for name in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {name}")
    op.drop_index("ix_alerts_tenant_created", table_name="alerts")
    op.drop_index("ix_qa_reviews_unit_status", table_name="qa_reviews")
    op.drop_index("ix_qa_reviews_rule_id", table_name="qa_reviews")
    op.drop_index("ix_qa_reviews_tenant_id", table_name="qa_reviews")
    op.drop_table("qa_reviews")
    op.drop_index("ix_monitoring_rules_tenant_active", table_name="monitoring_rules")
    op.drop_table("monitoring_rules")
    op.drop_index("ix_analytics_rollup_tenant_hour", table_name="analytics_rollup_hourly")
    op.drop_table("analytics_rollup_hourly")
