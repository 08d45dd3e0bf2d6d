"""records: access log (append-only), retention rules, legal holds, ledger verifications

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 11:20:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from probity.db import drop_immutability_ddl, immutability_ddl

# Append-only tables: the database refuses UPDATE and DELETE (and TRUNCATE on PostgreSQL).
APPEND_ONLY = ("access_entries",)

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('access_entries',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=100), nullable=False),
    sa.Column('actor_roles', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('target_type', sa.String(length=32), nullable=False),
    sa.Column('target_id', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_access_entries_actor_user_id_users')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_access_entries_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_entries'))
    )
    with op.batch_alter_table('access_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_entries_actor_user_id'), ['actor_user_id'], unique=False)
        batch_op.create_index('ix_access_target', ['target_type', 'target_id'], unique=False)
        batch_op.create_index('ix_access_tenant_created', ['tenant_id', 'created_at'], unique=False)

    op.create_table('retention_rules',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('record_type', sa.String(length=64), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_by_user_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_retention_rules_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['updated_by_user_id'], ['users.id'], name=op.f('fk_retention_rules_updated_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_rules')),
    sa.UniqueConstraint('tenant_id', 'record_type', name='uq_retention_rules_tenant_type')
    )

    op.create_table('legal_holds',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('subject_type', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('set_by_user_id', sa.Integer(), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_by_user_id', sa.Integer(), nullable=True),
    sa.Column('release_reason', sa.String(length=500), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['released_by_user_id'], ['users.id'], name=op.f('fk_legal_holds_released_by_user_id_users')),
    sa.ForeignKeyConstraint(['set_by_user_id'], ['users.id'], name=op.f('fk_legal_holds_set_by_user_id_users')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_legal_holds_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_holds'))
    )
    with op.batch_alter_table('legal_holds', schema=None) as batch_op:
        batch_op.create_index('ix_legal_holds_subject', ['tenant_id', 'subject_type', 'subject_id'], unique=False)

    op.create_table('ledger_verifications',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('started_by_user_id', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('total_entries', sa.Integer(), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=True),
    sa.Column('entries_checked', sa.Integer(), nullable=False),
    sa.Column('first_bad_seq', sa.Integer(), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['started_by_user_id'], ['users.id'], name=op.f('fk_ledger_verifications_started_by_user_id_users')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ledger_verifications_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_verifications'))
    )
    with op.batch_alter_table('ledger_verifications', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_verifications_tenant', ['tenant_id', 'started_at'], unique=False)

    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        for ddl in immutability_ddl(table, dialect):
            op.execute(ddl)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        for ddl in drop_immutability_ddl(table, dialect):
            op.execute(ddl)
    with op.batch_alter_table('ledger_verifications', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_verifications_tenant')
    op.drop_table('ledger_verifications')
    with op.batch_alter_table('legal_holds', schema=None) as batch_op:
        batch_op.drop_index('ix_legal_holds_subject')
    op.drop_table('legal_holds')
    op.drop_table('retention_rules')
    with op.batch_alter_table('access_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_access_tenant_created')
        batch_op.drop_index('ix_access_target')
        batch_op.drop_index(batch_op.f('ix_access_entries_actor_user_id'))
    op.drop_table('access_entries')
