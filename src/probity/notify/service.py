"""Case notifications: in-app, e-mail over SMTP, and group-chat robots (WeCom, DingTalk, Feishu).

Who hears about what is a `NotificationRule` per tenant (applies to its subtree): a role (or a
robot webhook), a minimum severity and the events. In-app notifications are rows written in the
case's transaction; e-mails and robot messages are sent only after commit (`after_commit`), and a
failed send is logged, never raised — the case change has already happened.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import smtplib
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote_plus

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.deps import after_commit
from probity.auth.permissions import Principal
from probity.config import Settings, get_settings
from probity.errors import InvalidInput, NotFound
from probity.i18n import N_
from probity.models import (
    Case,
    Employee,
    Notification,
    NotificationRule,
    Role,
    RoleAssignment,
    Tenant,
    User,
)
from probity.models.base import utcnow
from probity.notify.text import in_app

log = logging.getLogger("probity.notify")

# duty.alert: an alert raised while someone of HR is on duty (probity.duty; robots only).
EVENTS = ("case.opened", "case.decided", "case.sla_warning", "case.sla_breached", "duty.alert")
CHANNELS = ("in_app", "email", "wecom", "dingtalk", "feishu")
ROBOTS = ("wecom", "dingtalk", "feishu")
SEVERITY_NAMES = {1: "low", 2: "medium", 3: "high", 4: "critical"}


# --- signing, per platform -------------------------------------------------------------------


def dingtalk_signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    """DingTalk: HMAC-SHA256 over "timestamp\\nsecret" keyed by the secret, base64, URL-encoded,
    as the `timestamp` and `sign` query parameters."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    sign = base64.b64encode(hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()).decode()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}timestamp={timestamp_ms}&sign={quote_plus(sign)}"


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu/Lark: HMAC-SHA256 keyed by "timestamp\\nsecret" over an empty message, base64."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def robot_request(channel: str, url: str, secret: str | None, text: str,
                  now: float | None = None) -> tuple[str, dict[str, Any]]:
    """(url, JSON body) for one group-chat robot message."""
    now = time.time() if now is None else now
    if channel == "wecom":  # the key is in the webhook URL; no signature
        return url, {"msgtype": "text", "text": {"content": text}}
    if channel == "dingtalk":
        signed = dingtalk_signed_url(url, secret, int(now * 1000)) if secret else url
        return signed, {"msgtype": "text", "text": {"content": text}}
    if channel == "feishu":
        body: dict[str, Any] = {"msg_type": "text", "content": {"text": text}}
        if secret:
            ts = int(now)
            body = {"timestamp": str(ts), "sign": feishu_sign(secret, ts), **body}
        return url, body
    raise ValueError(f"not a robot channel: {channel}")


# --- rules -----------------------------------------------------------------------------------


async def create_rule(session: AsyncSession, principal: Principal, data: dict[str, Any]
                      ) -> NotificationRule:
    from probity.audit.service import record_audit
    from probity.auth.permissions import Perm
    from probity.auth.scoping import tenant_in_scope

    await tenant_in_scope(session, principal, Perm.case_manage, data["tenant_id"])
    channel = data["channel"]
    events = [e.strip() for e in data.get("events", "case.opened").split(",") if e.strip()]
    if not events or any(e not in EVENTS for e in events):
        raise InvalidInput(f"events are a comma list of {', '.join(EVENTS)}")
    if channel in ROBOTS:
        allowed = (await _standard(session, data["tenant_id"])).allowed_robots
        if channel not in allowed:
            raise InvalidInput(f"the group standard does not allow {channel} robots",
                               code="robot_not_allowed", field="channel",
                               template="The group standard does not allow {channel} robots",
                               params={"channel": channel})
        target = data.get("target") or ""
        if not target.startswith(("https://", "http://")):
            raise InvalidInput("a robot needs its webhook URL as target", code="invalid_target")
    elif not data.get("role") and not data.get("target"):
        raise InvalidInput("an in-app or e-mail rule needs a role (or an e-mail target)")
    if data.get("role") and data["role"] not in {r.value for r in Role}:
        raise InvalidInput("unknown role", code="unknown_role")
    rule = NotificationRule(tenant_id=data["tenant_id"], role=data.get("role"),
                            min_severity=data.get("min_severity", 1), channel=channel,
                            events=",".join(events), target=data.get("target"),
                            secret=data.get("secret"), active=True)
    session.add(rule)
    await session.flush()
    record_audit(session, principal, "notify.rule.create", target_type="notification_rule",
                 target_id=rule.id, tenant_id=rule.tenant_id,
                 after={"role": rule.role, "channel": channel, "events": rule.events,
                        "min_severity": rule.min_severity, "target": rule.target})
    return rule


async def list_rules(session: AsyncSession, principal: Principal) -> list[NotificationRule]:
    from probity.auth.permissions import Perm

    scope = principal.scope(Perm.case_manage)
    return list((await session.scalars(select(NotificationRule).where(
        scope.filter(NotificationRule.tenant_id)).order_by(
        NotificationRule.id))).all())


async def deactivate_rule(session: AsyncSession, principal: Principal, rule_id: int
                          ) -> NotificationRule:
    from probity.audit.service import record_audit
    from probity.auth.permissions import Perm

    scope = principal.scope(Perm.case_manage)
    rule = await session.scalar(select(NotificationRule).where(
        NotificationRule.id == rule_id, scope.filter(NotificationRule.tenant_id)))
    if rule is None:
        raise NotFound("no such notification rule")
    rule.active = False
    record_audit(session, principal, "notify.rule.deactivate", target_type="notification_rule",
                 target_id=rule.id, tenant_id=rule.tenant_id)
    await session.flush()
    return rule


# --- dispatch --------------------------------------------------------------------------------


@dataclass
class Outgoing:
    channel: str
    target: str
    text: str
    subject: str = ""
    secret: str | None = None
    recipients: list[str] = field(default_factory=list)


def case_text(case: Case, event: str) -> tuple[str, str]:
    sev = SEVERITY_NAMES.get(case.severity, str(case.severity))
    what = {"case.opened": "opened", "case.decided": f"decided: {case.decision}",
            "case.sla_warning": "SLA warning", "case.sla_breached": "SLA breached"}[event]
    subject = f"[Probity] case #{case.id} {what} (severity {sev})"
    body = (f"Case #{case.id} — {case.title}\nStatus: {case.status.value}; severity: {sev}\n"
            f"Triage due: {case.triage_due_at:%Y-%m-%d %H:%M} UTC; decision due: "
            f"{case.decision_due_at:%Y-%m-%d %H:%M} UTC\n/cases/{case.id}")
    return subject, body


_INAPP_TITLES = {
    "case.opened": N_("Case #{id} opened (severity {severity})"),
    "case.decided": N_("Case #{id} decided (severity {severity})"),
    "case.sla_warning": N_("Case #{id}: SLA warning (severity {severity})"),
    "case.sla_breached": N_("Case #{id}: SLA breached (severity {severity})"),
}


def case_inapp_text(case: Case, event: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Title and body of an in-app notification as msgids, shown in each reader's language
    (`probity.notify.text`; robots and e-mail keep `case_text`)."""
    from probity.i18n import deferred

    title = deferred(_INAPP_TITLES[event], id=case.id, severity=case.severity)
    body = deferred("{title}\nOpen the case: /cases/{id}", title=case.title, id=case.id)
    return title, body


def _ancestor_ids(path: str, tenant_id: int) -> list[int]:
    """The tenant and its ancestors, from its materialised path "/1/4/9/"."""
    ids = {int(part) for part in path.split("/") if part.isdigit()}
    ids.add(tenant_id)
    return sorted(ids)


async def _role_rows(session: AsyncSession, roles: set[str], tenant_ids: list[int]
                     ) -> list[tuple[int, str | None, str, int | None]]:
    if not roles:
        return []
    rows = (await session.execute(
        select(User.id, Employee.email, RoleAssignment.role, RoleAssignment.org_unit_id)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .outerjoin(Employee, Employee.id == User.employee_id)
        .where(RoleAssignment.role.in_(sorted(roles)),
               RoleAssignment.tenant_id.in_(tenant_ids)))).all()
    return [(int(uid), email, str(getattr(role, "value", role)), unit)
            for uid, email, role, unit in rows]


async def _users_by_role(session: AsyncSession, roles: set[str], tenant_ids: list[int],
                         case: Case, rows: list[tuple[int, str | None, str, int | None]]
                         | None = None) -> dict[str, list[tuple[int, str | None]]]:
    """(user id, e-mail) of the users holding each role over the case's tenant (granted on the
    tenant or an ancestor) or over its team: one query for every role the rules name."""
    out: dict[str, dict[int, str | None]] = {role: {} for role in roles}
    if rows is None:
        rows = await _role_rows(session, roles, tenant_ids)
    for uid, email, role, unit in rows:
        if unit is None or unit == case.org_unit_id:
            out[role][uid] = email
    return {role: sorted(users.items()) for role, users in out.items()}


async def _standard(session: AsyncSession, tenant_id: int) -> Any:
    """The tenant's notification standard (governance section `notifications`)."""
    from probity.governance import effective_settings
    from probity.governance.sections import NotificationSettings

    return (await effective_settings(session, tenant_id, NotificationSettings)).values


class CaseNotifier:
    """``notify_case`` for the many cases of one run in one transaction (an import's alerts
    grouped into cases): each tenant's standard, ancestry and notification rules, and the
    holders of the roles they name, are read once instead of per case. The same rows and
    sends as ``notify_case``; use it only while no rule, role or standard changes in the
    transaction."""

    def __init__(self) -> None:
        self._tenants: dict[int, tuple[Any, list[int], list[NotificationRule]]] = {}
        self._roles: dict[tuple[int, frozenset[str]],
                          list[tuple[int, str | None, str, int | None]]] = {}

    async def tenant(self, session: AsyncSession, tenant_id: int
                     ) -> tuple[Any, list[int], list[NotificationRule]]:
        if tenant_id not in self._tenants:
            standard = await _standard(session, tenant_id)
            path = await session.scalar(select(Tenant.path).where(Tenant.id == tenant_id)) or ""
            tenant_ids = _ancestor_ids(path, tenant_id)
            rules = list((await session.scalars(select(NotificationRule).where(
                NotificationRule.active.is_(True), NotificationRule.tenant_id.in_(tenant_ids))
                .order_by(NotificationRule.id))).all())
            self._tenants[tenant_id] = (standard, tenant_ids, rules)
        return self._tenants[tenant_id]

    async def role_rows(self, session: AsyncSession, tenant_id: int, roles: set[str],
                        tenant_ids: list[int]) -> list[tuple[int, str | None, str, int | None]]:
        key = (tenant_id, frozenset(roles))
        if key not in self._roles:
            self._roles[key] = await _role_rows(session, roles, tenant_ids)
        return self._roles[key]

    async def notify(self, session: AsyncSession, case: Case, event: str) -> list[Outgoing]:
        return await notify_case(session, case, event, notifier=self)


async def notify_case(session: AsyncSession, case: Case, event: str, *,
                      notifier: CaseNotifier | None = None) -> list[Outgoing]:
    """Apply the rules of the case's tenant and its ancestors to one case event: in-app rows
    now, sends after commit. Two queries whatever the number of rules (it runs inside the
    chat writer's transaction when an alert opens a case): the rules, then their recipients;
    none with a ``CaseNotifier`` that has read them for the tenant already.

    The group standard (`notifications`) bounds the rules: none fires below its minimum
    severity, robots it does not allow stay silent, and its compliance events reach every
    compliance officer over the case in-app whatever the rules say."""
    if notifier is not None:
        standard, tenant_ids, active = await notifier.tenant(session, case.tenant_id)
        found: list[NotificationRule] = [r for r in active if r.min_severity <= case.severity]
    else:
        standard = await _standard(session, case.tenant_id)
        path = await session.scalar(select(Tenant.path).where(Tenant.id == case.tenant_id)) or ""
        tenant_ids = _ancestor_ids(path, case.tenant_id)
        found = list((await session.scalars(select(NotificationRule).where(
            NotificationRule.active.is_(True), NotificationRule.min_severity <= case.severity,
            NotificationRule.tenant_id.in_(tenant_ids)).order_by(NotificationRule.id))).all())
    rules = [rule for rule in found
             if event in rule.events.split(",") and case.severity >= standard.min_severity
             and (rule.channel not in ROBOTS or rule.channel in standard.allowed_robots)]
    subject, body = case_text(case, event)
    inapp_title, inapp_body = case_inapp_text(case, event)
    outgoing: list[Outgoing] = []
    roles = {rule.role for rule in rules if rule.role and not (
        rule.channel in ROBOTS and rule.target)}
    always = event in standard.compliance_events
    if always:
        roles.add(Role.compliance.value)
    rows = (await notifier.role_rows(session, case.tenant_id, roles, tenant_ids)
            if notifier is not None else None)
    recipients_of = await _users_by_role(session, roles, tenant_ids, case, rows)
    told: set[int] = set()
    for rule in rules:
        if rule.channel in ROBOTS and rule.target:
            outgoing.append(Outgoing(rule.channel, rule.target, f"{subject}\n{body}",
                                     secret=rule.secret))
            continue
        users = recipients_of.get(rule.role, []) if rule.role else []
        if rule.channel == "in_app":
            for uid, _email in users:
                if uid in told:
                    continue
                told.add(uid)
                session.add(in_app(tenant_id=case.tenant_id, user_id=uid, case_id=case.id,
                                   event=event, title=inapp_title, body=inapp_body))
        elif rule.channel == "email":
            recipients = [rule.target] if rule.target else [e for _u, e in users if e]
            if recipients:
                outgoing.append(Outgoing("email", "", body, subject=subject,
                                         recipients=recipients))
    if always:
        for uid, _email in recipients_of.get(Role.compliance.value, []):
            if uid not in told:
                told.add(uid)
                session.add(in_app(tenant_id=case.tenant_id, user_id=uid, case_id=case.id,
                                   event=event, title=inapp_title, body=inapp_body))
    if outgoing:
        async def effect() -> None:
            await send_all(outgoing, mail_settings())

        after_commit(session, effect)
    return outgoing


def mail_settings() -> Settings:
    """The SMTP settings (a seam for tests)."""
    return get_settings()


async def send_all(outgoing: list[Outgoing], settings: Settings) -> None:
    for item in outgoing:
        try:
            if item.channel == "email":
                await asyncio.to_thread(send_email, settings, item.recipients, item.subject,
                                        item.text)
            else:
                url, payload = robot_request(item.channel, item.target, item.secret, item.text)
                async with httpx.AsyncClient(timeout=5.0) as client:
                    r = await client.post(url, json=payload)
                    r.raise_for_status()
        except Exception as exc:  # after commit: log and carry on with the others
            log.warning("notification via %s failed: %s", item.channel, exc)


def send_email(settings: Settings, recipients: list[str], subject: str, text: str) -> None:
    if not settings.smtp_host:
        log.info("no SMTP host configured; e-mail to %s not sent", recipients)
        return
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg.set_content(text)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user and settings.smtp_password:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(msg)


# --- the in-app inbox ------------------------------------------------------------------------


async def my_notifications(session: AsyncSession, principal: Principal, *, unread: bool,
                           limit: int) -> list[Notification]:
    q = select(Notification).where(Notification.user_id == principal.user_id)
    if unread:
        q = q.where(Notification.read_at.is_(None))
    return list((await session.scalars(q.order_by(Notification.id.desc()).limit(limit))).all())


async def mark_read(session: AsyncSession, principal: Principal, notification_id: int
                    ) -> Notification:
    n = await session.scalar(select(Notification).where(
        Notification.id == notification_id, Notification.user_id == principal.user_id))
    if n is None:
        raise NotFound("no such notification")
    if n.read_at is None:
        n.read_at = utcnow()
        await session.flush()
    return n
