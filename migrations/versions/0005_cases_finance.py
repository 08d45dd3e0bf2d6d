"""cases and finance: cases (append-only events and notes), payee registry, imports, rule
settings, notification rules and in-app notifications; alerts gain source/rule/customer/evidence/dedupe key and nullable message links;
refunds gain kind (refund|compensation) and approver

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 11:20:34.710689
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from probity.db import drop_immutability_ddl, immutability_ddl

# Append-only tables: the database itself refuses UPDATE and DELETE on them.
APPEND_ONLY = ("case_events", "case_notes")


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table('anomaly_rule_settings',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_anomaly_rule_settings_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_anomaly_rule_settings')),
    sa.UniqueConstraint('tenant_id', 'rule', name=op.f('uq_anomaly_rule_settings_tenant_id'))
    )
    with op.batch_alter_table('anomaly_rule_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_anomaly_rule_settings_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('case_settings',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('group_by', sa.String(length=20), nullable=False),
    sa.Column('window_hours', sa.Integer(), nullable=False),
    sa.Column('triage_hours', sa.Integer(), nullable=False),
    sa.Column('decision_working_days', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_case_settings_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_case_settings'))
    )
    op.create_table('payee_accounts',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('account_no', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.Enum('company', 'employee', name='payeekind', native_enum=False, length=16), nullable=False),
    sa.Column('account_type', sa.String(length=16), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=True),
    sa.Column('label', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_payee_accounts_employee_id_employees')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_payee_accounts_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payee_accounts')),
    sa.UniqueConstraint('tenant_id', 'account_no', name=op.f('uq_payee_accounts_tenant_id'))
    )
    with op.batch_alter_table('payee_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payee_accounts_employee_id'), ['employee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payee_accounts_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('cases',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=True),
    sa.Column('agent_employee_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('status', sa.Enum('new', 'triage', 'investigating', 'substantiated', 'unsubstantiated', 'false_positive', 'penalty_proposed', 'penalty_approved', 'closed', 'appealed', name='casestatus', native_enum=False, length=20), nullable=False),
    sa.Column('severity', sa.Integer(), nullable=False),
    sa.Column('assignee_user_id', sa.Integer(), nullable=True),
    sa.Column('last_alert_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('triage_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decision_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('triaged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_user_id', sa.Integer(), nullable=True),
    sa.Column('decision', sa.String(length=20), nullable=True),
    sa.Column('penalty', sa.String(length=500), nullable=True),
    sa.Column('penalty_proposed_by_user_id', sa.Integer(), nullable=True),
    sa.Column('penalty_approved_by_user_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('appeal_count', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_employee_id'], ['employees.id'], name=op.f('fk_cases_agent_employee_id_employees')),
    sa.ForeignKeyConstraint(['assignee_user_id'], ['users.id'], name=op.f('fk_cases_assignee_user_id_users')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_cases_customer_id_customers')),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['users.id'], name=op.f('fk_cases_decided_by_user_id_users')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_units.id'], name=op.f('fk_cases_org_unit_id_org_units')),
    sa.ForeignKeyConstraint(['penalty_approved_by_user_id'], ['users.id'], name=op.f('fk_cases_penalty_approved_by_user_id_users')),
    sa.ForeignKeyConstraint(['penalty_proposed_by_user_id'], ['users.id'], name=op.f('fk_cases_penalty_proposed_by_user_id_users')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_cases_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_agent_employee_id'), ['agent_employee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_cases_group', ['tenant_id', 'agent_employee_id', 'customer_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_org_unit_id'), ['org_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('finance_imports',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('inserted', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_finance_imports_actor_user_id_users')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_finance_imports_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finance_imports'))
    )
    with op.batch_alter_table('finance_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finance_imports_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('case_events',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=True),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_case_events_actor_user_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_events_case_id_cases')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_case_events_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_events'))
    )
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_events_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_events_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('case_notes',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('author_user_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_user_id'], ['users.id'], name=op.f('fk_case_notes_author_user_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_notes_case_id_cases')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_case_notes_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_notes'))
    )
    with op.batch_alter_table('case_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_notes_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_notes_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('case_alerts',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_case_alerts_alert_id_alerts')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_alerts_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_alerts')),
    sa.UniqueConstraint('alert_id', name=op.f('uq_case_alerts_alert_id'))
    )
    with op.batch_alter_table('case_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_alerts_case_id'), ['case_id'], unique=False)

    # alerts is append-only (0002): its triggers are dropped around the ALTER (SQLite rebuilds
    # the table) and re-created. No row is changed.
    for ddl in drop_immutability_ddl('alerts', dialect):
        op.execute(ddl)
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=16), server_default='screening', nullable=False))
        batch_op.add_column(sa.Column('rule', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('customer_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('evidence', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('dedupe_key', sa.String(length=160), nullable=True))
        batch_op.alter_column('conversation_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.alter_column('message_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_alerts_customer_id'), ['customer_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_alerts_dedupe_key'), ['dedupe_key'])
        batch_op.create_foreign_key(batch_op.f('fk_alerts_customer_id_customers'), 'customers', ['customer_id'], ['id'])
    for ddl in immutability_ddl('alerts', dialect):
        op.execute(ddl)

    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), server_default='refund', nullable=False))
        batch_op.add_column(sa.Column('approved_by_employee_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_refunds_approved_by_employee_id'), ['approved_by_employee_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_refunds_approved_by_employee_id_employees'), 'employees', ['approved_by_employee_id'], ['id'])

    # Notifications (rules per role/severity/channel; in-app inbox).
    op.create_table('notification_rules',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=True),
    sa.Column('min_severity', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('events', sa.String(length=200), nullable=False),
    sa.Column('target', sa.String(length=500), nullable=True),
    sa.Column('secret', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_notification_rules_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_rules'))
    )
    with op.batch_alter_table('notification_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_rules_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('notifications',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_notifications_case_id_cases')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_notifications_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_notifications_user_read', ['user_id', 'read_at'], unique=False)

    for table in APPEND_ONLY:
        for ddl in immutability_ddl(table, dialect):
            op.execute(ddl)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_read')
        batch_op.drop_index(batch_op.f('ix_notifications_tenant_id'))

    op.drop_table('notifications')
    with op.batch_alter_table('notification_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_rules_tenant_id'))

    op.drop_table('notification_rules')
    for table in APPEND_ONLY:
        for ddl in drop_immutability_ddl(table, dialect):
            op.execute(ddl)
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_refunds_approved_by_employee_id_employees'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_refunds_approved_by_employee_id'))
        batch_op.drop_column('approved_by_employee_id')
        batch_op.drop_column('kind')

    # Fails while finance alerts (no message) exist: they cannot be removed from an append-only
    # table, which is intended.
    for ddl in drop_immutability_ddl('alerts', dialect):
        op.execute(ddl)
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_alerts_customer_id_customers'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_alerts_dedupe_key'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_alerts_customer_id'))
        batch_op.alter_column('message_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.alter_column('conversation_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('dedupe_key')
        batch_op.drop_column('evidence')
        batch_op.drop_column('customer_id')
        batch_op.drop_column('rule')
        batch_op.drop_column('source')
    for ddl in immutability_ddl('alerts', dialect):
        op.execute(ddl)

    with op.batch_alter_table('case_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_alerts_case_id'))

    op.drop_table('case_alerts')
    with op.batch_alter_table('case_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_notes_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_case_notes_case_id'))

    op.drop_table('case_notes')
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_events_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_case_events_case_id'))

    op.drop_table('case_events')
    with op.batch_alter_table('finance_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finance_imports_tenant_id'))

    op.drop_table('finance_imports')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_cases_org_unit_id'))
        batch_op.drop_index('ix_cases_group')
        batch_op.drop_index(batch_op.f('ix_cases_customer_id'))
        batch_op.drop_index(batch_op.f('ix_cases_agent_employee_id'))

    op.drop_table('cases')
    with op.batch_alter_table('payee_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payee_accounts_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_payee_accounts_employee_id'))

    op.drop_table('payee_accounts')
    op.drop_table('case_settings')
    with op.batch_alter_table('anomaly_rule_settings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_anomaly_rule_settings_tenant_id'))

    op.drop_table('anomaly_rule_settings')
