"""The menu, as data: each entry says where it goes, its (English msgid) label and who sees it.

Domains add their pages here, one line each, instead of editing the layout template; the layout
renders `menu_for(principal)` in this order. Visibility is decided by permissions (or by what the
principal is, such as an employee or a customer), never by role names alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from probity.auth.permissions import Perm, Principal


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str  # an English msgid, translated by the layout
    visible: Callable[[Principal], bool]
    section: str = "main"


def _perm(perm: Perm) -> Callable[[Principal], bool]:
    return lambda p: p.can(perm)


def _always(p: Principal) -> bool:
    return True


MENU: list[NavItem] = [
    NavItem("/org/chart", "Org chart", _perm(Perm.org_read)),
    NavItem("/org/employees", "Employees", _perm(Perm.org_read)),
    NavItem("/org/structure", "Structure", _perm(Perm.org_read)),
    NavItem("/audit", "Audit log", _perm(Perm.audit_read)),
    NavItem("/access-log", "Access log", _perm(Perm.access_log_read)),
    NavItem("/ledger", "Ledger", _perm(Perm.ledger_read)),
    NavItem("/alerts", "Alerts", _perm(Perm.alerts_read)),
    NavItem("/cases", "Cases", _perm(Perm.case_read)),
    NavItem("/finance/import", "Finance import", _perm(Perm.finance_import)),
    NavItem("/finance/flagged", "Flagged payments", _perm(Perm.finance_import)),
    NavItem("/finance/payees", "Payee accounts", _perm(Perm.finance_import)),
    NavItem("/imports", "Data import", _perm(Perm.data_import)),
    NavItem("/exports", "Data export", _perm(Perm.data_export)),
    NavItem("/standards", "Group standards", _perm(Perm.settings_read)),
    NavItem("/standards/compare", "Subsidiary comparison",
            lambda p: p.can(Perm.case_read) and p.is_group_wide),
    NavItem("/performance", "Performance", _perm(Perm.performance_read)),
    NavItem("/performance/me", "My performance", lambda p: p.employee_id is not None),
    NavItem("/performance/honour-roll", "Honour roll",
            lambda p: p.employee_id is not None or p.can(Perm.performance_read)),
    NavItem("/chat/workspace", "Agent workspace", lambda p: p.can(Perm.chat_answer)),
    NavItem("/team", "Team conversations", _perm(Perm.chat_reassign)),
    NavItem("/chat", "Customer service", lambda p: p.customer_id is not None),
    NavItem("/recruitment", "Recruitment", _perm(Perm.recruitment_read)),
    NavItem("/onboarding", "Onboarding", _perm(Perm.onboarding_read)),
    NavItem("/me", "Self-service",
            lambda p: p.employee_id is not None and p.can(Perm.attendance_self)),
    NavItem("/me/pledge", "Integrity pledge", lambda p: p.employee_id is not None),
    NavItem("/me/attendance", "My attendance",
            lambda p: p.employee_id is not None and p.can(Perm.attendance_self)),
    NavItem("/attendance", "Rota", _perm(Perm.attendance_read)),
    NavItem("/duty", "HR duty", _perm(Perm.duty_read)),
    NavItem("/analytics", "Risk analytics", _perm(Perm.analytics_read)),
    NavItem("/analytics/outcome", "Outcome dashboard", _perm(Perm.analytics_read)),
    NavItem("/monitoring", "Monitoring rules",
            lambda p: p.can(Perm.monitoring_manage) or p.can(Perm.analytics_read)),
    NavItem("/qa", "QA reviews", _perm(Perm.qa_review)),
    NavItem("/payroll", "Payroll", _perm(Perm.payroll_read)),
    NavItem("/payroll/structures", "Salary structures", _perm(Perm.payroll_prepare)),
    NavItem("/payroll/cities", "Social insurance by city", _perm(Perm.payroll_prepare)),
    NavItem("/payroll/assignments", "Salaries", _perm(Perm.payroll_prepare)),
    NavItem("/payroll/adjustments", "Pay adjustments", _perm(Perm.payroll_prepare)),
    NavItem("/me/payslips", "My payslips", lambda p: p.employee_id is not None),
    NavItem("/training", "Compliance training", _perm(Perm.training_read)),
    NavItem("/me/training", "My training",
            lambda p: p.employee_id is not None and p.can(Perm.training_self)),
    NavItem("/webhooks", "Webhooks", _perm(Perm.webhooks_read)),
    NavItem("/notifications", "Notifications", _always),
    NavItem("/account/tokens", "API tokens", lambda p: p.customer_id is None),
]


def menu_for(principal: Principal | None) -> list[NavItem]:
    if principal is None:
        return []
    return [item for item in MENU if item.visible(principal)]
