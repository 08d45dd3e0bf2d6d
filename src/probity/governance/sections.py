"""The built-in sections: the group standards of the domains that existed before governance.

Domains added later declare theirs in `probity/<domain>/settings.py` (see `registry.py`). The
defaults here are today's built-in behaviour, so a tenant with no version behaves as before.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal
from zoneinfo import available_timezones

from pydantic import Field, field_validator

from probity.auth.permissions import Perm
from probity.chat.screening import BLOCK_NOTICE, WARN_REMINDER
from probity.governance.registry import SettingsSection, register_section

AttachmentKind = Literal["image", "voice"]
CaseGrouping = Literal["agent_customer", "agent", "customer"]
CaseEvent = Literal["case.opened", "case.decided", "case.sla_warning", "case.sla_breached"]
Robot = Literal["wecom", "dingtalk", "feishu"]
_ATTACHMENTS: tuple[AttachmentKind, ...] = ("image", "voice")
_EVENTS: tuple[CaseEvent, ...] = ("case.opened", "case.sla_breached")
_ROBOTS: tuple[Robot, ...] = ("wecom", "dingtalk", "feishu")



@cache
def _zones() -> frozenset[str]:
    """The IANA zone names, read from disk once (each read walks the whole tz database)."""
    return frozenset(available_timezones())

class NoticeSettings(SettingsSection):
    """What each side is told when screening intervenes, per category and sender role."""

    customer_contact: str = Field(
        default=BLOCK_NOTICE, min_length=1, max_length=500,
        title="Customer notice: off-platform contact")
    customer_bribe: str = Field(
        default=BLOCK_NOTICE, min_length=1, max_length=500,
        title="Customer notice: red envelope")
    customer_payment: str = Field(
        default=BLOCK_NOTICE, min_length=1, max_length=500,
        title="Customer notice: private payment")
    agent_contact: str = Field(
        default=WARN_REMINDER, min_length=1, max_length=500,
        title="Agent warning: off-platform contact")
    agent_bribe: str = Field(
        default=WARN_REMINDER, min_length=1, max_length=500,
        title="Agent warning: red envelope")
    agent_payment: str = Field(
        default=WARN_REMINDER, min_length=1, max_length=500,
        title="Agent warning: private payment")
    agent_customer_attempt: str = Field(
        default="客户试图转到平台外联系，请在官方渠道内继续服务。", min_length=1, max_length=500,
        title="Agent notice: the customer tried to move off-platform")


class ChatProcessSettings(SettingsSection):
    official_channel_reminder: bool = Field(
        True, title="Official-channel reminder when a conversation starts")
    reminder_text: str = Field(
        "温馨提示：请在官方渠道内沟通与付款，平台工作人员不会要求私下联系或转账。",
        min_length=1, max_length=500, title="Reminder text")
    allowed_attachments: list[AttachmentKind] = Field(
        default_factory=lambda: list(_ATTACHMENTS), title="Allowed attachment types")


class CaseStandardSettings(SettingsSection):
    group_by: CaseGrouping = Field("agent_customer", title="Group alerts into cases by")
    window_hours: int = Field(72, ge=1, le=720, title="Grouping window (hours)")
    triage_hours: int = Field(2, ge=1, le=72, title="Triage SLA (hours)")
    decision_working_days: int = Field(3, ge=1, le=30, title="Decision SLA (working days)")


class FinanceRuleSettings(SettingsSection):
    """Thresholds of the finance anomaly rules (`finance/rules.py`)."""

    payee_not_company_enabled: bool = Field(True, title="Payment to a non-company payee")
    offline_paid_no_receipt_enabled: bool = Field(True, title="Paid offline with no receipt")
    refund_outlier_enabled: bool = Field(True, title="Refund outlier against peers")
    refund_outlier_threshold: float = Field(3.5, ge=2.0, le=1000.0,
                                            title="Refund outlier: robust z-score threshold")
    refund_outlier_period_days: int = Field(30, ge=7, le=365,
                                            title="Refund outlier: period (days)")
    refund_outlier_min_peers: int = Field(5, ge=3, le=100, title="Refund outlier: minimum peers")
    refund_after_flag_enabled: bool = Field(True, title="Refund after a flagged conversation")
    refund_after_flag_window_hours: int = Field(72, ge=1, le=720,
                                                title="Refund after flag: window (hours)")
    rising_compensation_enabled: bool = Field(True, title="Rising compensation")
    rising_compensation_period_days: int = Field(90, ge=7, le=365,
                                                 title="Rising compensation: period (days)")
    rising_compensation_min_count: int = Field(3, ge=2, le=20,
                                               title="Rising compensation: minimum count")
    report_private_payment_enabled: bool = Field(True,
                                                 title="Customer report naming a private payment")
    payee_not_company_severity: int = Field(3, ge=1, le=4,
                                            title="Non-company payee: severity")
    payee_not_company_employee_account_severity: int = Field(
        4, ge=1, le=4, title="Non-company payee: severity when it is an employee's account")
    offline_paid_no_receipt_severity: int = Field(3, ge=1, le=4,
                                                  title="Paid offline: severity")
    refund_outlier_severity: int = Field(2, ge=1, le=4, title="Refund outlier: severity")
    refund_after_flag_severity: int = Field(3, ge=1, le=4, title="Refund after flag: severity")
    rising_compensation_severity: int = Field(3, ge=1, le=4,
                                              title="Rising compensation: severity")
    report_private_payment_severity: int = Field(3, ge=1, le=4,
                                                 title="Customer report: severity")


class RetentionSettings(SettingsSection):
    """Minimum retention per record type (days); a subsidiary may keep longer, never shorter,
    where HQ locks it."""

    chat_message_days: int = Field(1095, ge=30, le=3650, title="Chat messages (days)")
    alert_days: int = Field(1825, ge=30, le=3650, title="Alerts (days)")
    legal_hold_requires_reason: bool = Field(True, title="A legal hold needs a written reason")


class NotificationSettings(SettingsSection):
    compliance_events: list[CaseEvent] = Field(
        default_factory=lambda: list(_EVENTS),
        title="Events always notified in-app to compliance")
    min_severity: int = Field(1, ge=1, le=4, title="Minimum case severity notified")
    allowed_robots: list[Robot] = Field(default_factory=lambda: list(_ROBOTS),
                                        title="Group-chat robots allowed")


class DisplaySettings(SettingsSection):
    """None: each tenant's own zone (Structure page); a zone: the group's, usually locked."""

    timezone: str | None = Field(None, min_length=1, max_length=64, title="Display time zone")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None and value not in _zones():
            raise ValueError(f"unknown time zone {value!r} (an IANA name, e.g. Asia/Shanghai)")
        return value


class ScreeningPolicyParts(SettingsSection):
    """The parts of a screening overlay (policy/), for locks only: the values are the
    versioned overlays edited on the policy page, where "stricter only" also holds. A part HQ
    locks cannot be changed below it, and what a tenant below had added to it is ignored."""

    lexicon: list[Any] = Field(default_factory=list, title="Extra lexicon terms")
    allow_terms: list[Any] = Field(default_factory=list, title="Allow-listed terms")
    allow_numbers: list[Any] = Field(default_factory=list, title="Allow-listed numbers")
    allow_qr: list[Any] = Field(default_factory=list, title="Allow-listed QR merchant codes")
    allow_domains: list[Any] = Field(default_factory=list, title="Allow-listed domains")
    thresholds: dict[str, Any] | None = Field(None, title="Warn and block thresholds")
    actions: dict[str, Any] | None = Field(None, title="Actions per role and category")


register_section("screening", ScreeningPolicyParts, title="Screening policy",
                 read=Perm.policy_read, manage=Perm.policy_manage, locks_only=True,
                 page="/standards/{tenant_id}/screening")
register_section("notices", NoticeSettings, title="Notice texts", manage=Perm.policy_manage)
register_section("chat", ChatProcessSettings, title="Chat process rules",
                 manage=Perm.policy_manage)
register_section("cases", CaseStandardSettings, title="Case settings", manage=Perm.case_manage)
register_section("finance_rules", FinanceRuleSettings, title="Finance rule settings",
                 manage=Perm.case_manage)
register_section("retention", RetentionSettings, title="Retention and legal holds",
                 manage=Perm.records_manage)
register_section("notifications", NotificationSettings, title="Notification rules",
                 manage=Perm.case_manage)
register_section("display", DisplaySettings, title="Display")
