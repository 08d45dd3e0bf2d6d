"""Authorisation in one place: which role may do what, and over which scope.

A principal holds role assignments. Each assignment grants its role's permissions over a scope:
a tenant subtree (materialised path prefix) or a single team (org unit). Endpoints declare the
permission they need with `require(...)`; services and repositories narrow every query with
`Scope.filter(...)`, so an object outside the caller's scope is simply not found (404).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from probity.models import Role, Tenant


class Perm(enum.StrEnum):
    org_read = "org.read"  # tenants, org units, positions, employees
    org_write = "org.write"  # create/update tenants, org units, positions, employees
    employee_lifecycle = "employee.lifecycle"  # onboarding → active → transferred → left
    user_admin = "user.admin"  # accounts and role assignments
    audit_read = "audit.read"  # the operations audit trail
    commerce_read = "commerce.read"  # customers, orders, payments
    chat_supervise = "chat.supervise"  # read conversations in scope (each read is audited)
    chat_reassign = "chat.reassign"  # move a conversation to another agent
    chat_evidence = "chat.evidence"  # see the content of blocked messages (evidence)
    alerts_read = "alerts.read"  # the screening alert feed
    case_read = "case.read"  # cases, their timeline, notes and SLA state
    case_manage = "case.manage"  # open, triage, decide, note, assign cases; rule settings
    case_approve = "case.approve"  # approve a proposed penalty (never one's own proposal)
    policy_read = "policy.read"  # a tenant's effective screening policy and its versions
    policy_manage = "policy.manage"  # change a tenant's screening overlay (stricter only)
    finance_import = "finance.import"  # import/feed orders, payments, refunds, payee accounts
    access_log_read = "access_log.read"  # who read which conversation/case/evidence, and why
    ledger_read = "ledger.read"  # ledger status, verification, proofs; retention rules, holds
    records_manage = "records.manage"  # retention rules, legal holds, purges
    evidence_export = "evidence.export"  # export a conversation's evidence pack
    settings_read = "settings.read"  # group standards: effective settings, origins, versions
    settings_manage = "settings.manage"  # change group standards and lock fields below
    performance_read = "performance.read"  # scorecards, cycles, bonus lists, dashboards in scope
    performance_manage = "performance.manage"  # cycles, KPI templates, penalties, awards, promotion
    performance_review = "performance.review"  # review a cycle's scores; enter manual scores
    performance_signoff = "performance.signoff"  # sign off (close) a reviewed cycle
    recruitment_read = "recruitment.read"  # requisitions, candidates (contacts masked), feedback
    recruitment_manage = "recruitment.manage"  # requisitions, candidates, stages, hiring
    recruitment_interview = "recruitment.interview"  # write interview feedback
    onboarding_read = "onboarding.read"  # new hires' checklists, pledge signatures, probation
    onboarding_manage = "onboarding.manage"  # checklists, pledge versions, complete onboarding
    attendance_self = "attendance.self"  # one's own schedule, clock-in/out, leave, swaps
    attendance_read = "attendance.read"  # rotas, punches, exceptions; who was on shift
    attendance_manage = "attendance.manage"  # shift templates, rotas, approvals
    payroll_read = "payroll.read"  # salary structures, city tables, runs, payslips in scope
    payroll_prepare = "payroll.prepare"  # structures, assignments, adjustments; prepare a run
    payroll_approve = "payroll.approve"  # approve (never one's own run) and close; bank files
    ledger_verify = "ledger.verify"  # start a ledger verification job (a write: it runs work)
    chat_answer = "chat.answer"  # take and answer conversations (the agent workspace)
    own_cases = "case.own"  # self-report an offer, see and appeal one's own cases
    own_accounts = "payee.own"  # declare one's own payee accounts and see them
    customer_report = "case.report"  # a customer reports an agent's misconduct
    customer_contact = "commerce.contact"  # customers' full phone numbers (others see masked)
    duty_read = "duty.read"  # the HR duty roster, who is on HR duty, uncovered high-risk windows
    duty_manage = "duty.manage"  # put HR people on duty, take future duty shifts off
    training_read = "training.read"  # courses, assignments, scores, case studies, the effect
    training_manage = "training.manage"  # courses, quizzes, assignments, case-study review
    training_self = "training.self"  # one's own assignments: read the course, take the quiz
    analytics_read = "analytics.read"  # risk dashboards, findings, outcome figures, exports
    monitoring_manage = "monitoring.manage"  # act on findings: monitoring rules, end/extend
    qa_review = "qa.review"  # work the QA review queue (sampled conversations, checklist)
    data_import = "data.import"  # the import framework (each kind also needs its own permission)
    data_export = "data.export"  # a full export of a tenant's data (PIPL portability)
    webhooks_read = "webhooks.read"  # webhook subscriptions and their delivery log
    webhooks_manage = "webhooks.manage"  # subscribe endpoints, rotate secrets, replay deliveries


ALL = frozenset(Perm)
READ_ALL = frozenset({Perm.org_read, Perm.audit_read, Perm.commerce_read, Perm.chat_supervise,
                      Perm.alerts_read, Perm.access_log_read, Perm.ledger_read,
                      Perm.evidence_export, Perm.case_read, Perm.policy_read,
                      Perm.settings_read, Perm.performance_read, Perm.recruitment_read,
                      Perm.onboarding_read, Perm.attendance_read, Perm.duty_read,
                      Perm.training_read, Perm.analytics_read, Perm.payroll_read})
# Every member of staff keeps their own schedule, clocks in and asks for leave, and takes the
# courses assigned to them.
SELF_SERVICE = frozenset({Perm.attendance_self, Perm.training_self})

# Routes declare permissions, never roles; these are what an employee does for themselves.
OWN = frozenset({Perm.own_accounts})

ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.customer: frozenset({Perm.customer_report}),
    Role.agent: SELF_SERVICE | OWN | {Perm.chat_answer, Perm.own_cases},
    Role.team_lead: SELF_SERVICE | OWN | {Perm.org_read, Perm.chat_supervise, Perm.chat_reassign,
                                          Perm.own_cases, Perm.performance_read,
                                          Perm.performance_review, Perm.recruitment_read,
                                          Perm.recruitment_interview, Perm.attendance_read,
                                          Perm.attendance_manage, Perm.training_read,
                                          Perm.qa_review},
    Role.hr: SELF_SERVICE | OWN | {Perm.org_read, Perm.org_write, Perm.employee_lifecycle,
                                   Perm.user_admin, Perm.chat_supervise, Perm.alerts_read,
                                   Perm.case_read, Perm.settings_read, Perm.performance_read,
                                   Perm.performance_manage, Perm.performance_signoff,
                                   Perm.recruitment_read, Perm.recruitment_manage,
                                   Perm.recruitment_interview, Perm.onboarding_read,
                                   Perm.onboarding_manage, Perm.attendance_read,
                                   Perm.attendance_manage, Perm.duty_read, Perm.duty_manage,
                                   Perm.training_read, Perm.training_manage,
                                   Perm.analytics_read, Perm.payroll_read,
                                   Perm.payroll_prepare, Perm.data_import},
    Role.finance: SELF_SERVICE | OWN | {Perm.org_read, Perm.commerce_read, Perm.finance_import,
                                        Perm.settings_read, Perm.customer_contact,
                                        Perm.payroll_read, Perm.payroll_approve,
                                        Perm.data_import},
    Role.compliance: SELF_SERVICE | OWN | {Perm.ledger_verify, Perm.customer_contact,
                                           Perm.org_read,
                                           Perm.commerce_read, Perm.chat_supervise,
                                           Perm.chat_evidence, Perm.alerts_read,
                                           Perm.ledger_read, Perm.records_manage,
                                           Perm.evidence_export, Perm.case_read,
                                           Perm.case_manage, Perm.case_approve,
                                           Perm.policy_read, Perm.policy_manage,
                                           Perm.settings_read, Perm.attendance_read,
                                           Perm.duty_read, Perm.training_read,
                                           Perm.analytics_read, Perm.monitoring_manage,
                                           Perm.qa_review, Perm.data_import},
    Role.auditor: READ_ALL | SELF_SERVICE | {Perm.webhooks_read},
    Role.hq_admin: ALL,
}

STAFF_ROLES = frozenset(Role) - {Role.customer}


@dataclass(frozen=True)
class Grant:
    role: Role
    tenant_id: int
    tenant_path: str
    org_unit_id: int | None = None


@dataclass
class Principal:
    user_id: int
    username: str
    display_name: str
    tenant_id: int
    employee_id: int | None
    customer_id: int | None
    grants: list[Grant] = field(default_factory=list)
    via_token: bool = False
    # What the credential was, so a long-lived connection can re-check it (`auth.sessions`).
    session_version: int | None = None
    token_id: int | None = None

    @property
    def roles(self) -> set[Role]:
        return {g.role for g in self.grants}

    def can(self, perm: Perm) -> bool:
        return any(perm in ROLE_PERMISSIONS[g.role] for g in self.grants)

    def scope(self, perm: Perm) -> Scope:
        grants = [g for g in self.grants if perm in ROLE_PERMISSIONS[g.role]]
        return Scope(
            tenant_paths=tuple(sorted({g.tenant_path for g in grants if g.org_unit_id is None})),
            org_unit_ids=tuple(
                sorted({g.org_unit_id for g in grants if g.org_unit_id is not None})
            ),
        )

    @property
    def is_group_wide(self) -> bool:
        return any(g.tenant_path.count("/") == 2 for g in self.grants if g.org_unit_id is None)


@dataclass(frozen=True)
class Scope:
    """What one permission reaches: whole tenant subtrees and/or single teams."""

    tenant_paths: tuple[str, ...] = ()
    org_unit_ids: tuple[int, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.tenant_paths and not self.org_unit_ids

    def tenant_ids_query(self) -> ColumnElement[bool]:
        """Tenants in any of the subtrees."""
        if not self.tenant_paths:
            return false()
        return or_(*(Tenant.path.startswith(p, autoescape=True) for p in self.tenant_paths))

    def filter(
        self,
        tenant_col: InstrumentedAttribute[int],
        org_unit_col: InstrumentedAttribute[int | None] | None = None,
    ) -> ColumnElement[bool]:
        """A WHERE clause keeping rows inside the scope."""
        clauses: list[ColumnElement[bool]] = []
        if self.tenant_paths:
            clauses.append(tenant_col.in_(select(Tenant.id).where(self.tenant_ids_query())))
        if self.org_unit_ids and org_unit_col is not None:
            clauses.append(org_unit_col.in_(self.org_unit_ids))
        return or_(*clauses) if clauses else false()

    def covers_path(self, path: str) -> bool:
        return any(path.startswith(p) for p in self.tenant_paths)
