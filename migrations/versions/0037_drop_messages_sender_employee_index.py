"""messages: drop ix_messages_sender_employee_id — no query reads messages by sender employee
(performance facts, retention, evidence and exports find a message by conversation, tenant or
id; employees are never deleted, so no foreign-key check needs it either), and every chat
message paid its B-tree insert: about 1.8 of the chat writer's ~27 WAL pages per commit at 200
msg/s (issue 17)

Revision ID: 0037
Revises: 0036
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_messages_sender_employee_id", table_name="messages")


def downgrade() -> None:
    op.create_index("ix_messages_sender_employee_id", "messages", ["sender_employee_id"])
