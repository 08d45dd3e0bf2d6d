"""Cycle reminders: an open cycle whose period has ended waits for its team leads' review, and a
reviewed cycle waits for HR's sign-off. Each person who can act is reminded in-app once per
cycle and stage (the job runs daily and is idempotent: a reminder already sent is not repeated).
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import ROLE_PERMISSIONS, Perm
from probity.i18n import DEFAULT_LOCALE, translator
from probity.models import AppraisalCycle, CycleStatus, Notification, RoleAssignment, Tenant, User

__all__ = ["REMINDER_EVENTS", "send_cycle_reminders"]

# stage → (who can act, notification event)
REMINDER_EVENTS: dict[CycleStatus, tuple[Perm, str]] = {
    CycleStatus.open: (Perm.performance_review, "performance.review_due"),
    CycleStatus.review: (Perm.performance_signoff, "performance.signoff_due"),
}


_LINK = re.compile(r"/performance/cycles/(\d+)")


def _cycle_of(body: str) -> int | None:
    found = _LINK.search(body)
    return int(found.group(1)) if found else None


def _ancestors(path: str) -> list[int]:
    return [int(part) for part in path.split("/") if part.isdigit()]


async def send_cycle_reminders(session: AsyncSession, now: datetime) -> int:
    """Remind, once, everyone who may review (open cycles past their end) or sign off
    (cycles in review). Returns the number of notifications written."""
    cycles = (await session.execute(
        select(AppraisalCycle, Tenant.path).join(Tenant, Tenant.id == AppraisalCycle.tenant_id)
        .where(AppraisalCycle.status.in_(list(REMINDER_EVENTS)),
               AppraisalCycle.ends_at <= now))).all()
    if not cycles:
        return 0
    roles = {stage: [role for role, perms in ROLE_PERMISSIONS.items() if perm in perms]
             for stage, (perm, _event) in REMINDER_EVENTS.items()}
    tenant_ids = sorted({t for _c, path in cycles for t in _ancestors(path)})
    grants = (await session.execute(
        select(RoleAssignment.user_id, RoleAssignment.role, RoleAssignment.tenant_id, User.locale)
        .join(User, User.id == RoleAssignment.user_id)
        .where(RoleAssignment.tenant_id.in_(tenant_ids), User.is_active.is_(True)))).all()
    events = [event for _perm, event in REMINDER_EVENTS.values()]
    sent = {(uid, event, _cycle_of(body)) for uid, event, body in (await session.execute(
        select(Notification.user_id, Notification.event, Notification.body)
        .where(Notification.event.in_(events),
               Notification.tenant_id.in_([c.tenant_id for c, _p in cycles])))).all()}
    written = 0
    for cycle, path in cycles:
        _perm, event = REMINDER_EVENTS[cycle.status]
        scope = set(_ancestors(path))
        users = {(uid, locale) for uid, role, tenant_id, locale in grants
                 if tenant_id in scope and role in roles[cycle.status]}
        link = f"/performance/cycles/{cycle.id}"
        for uid, locale in sorted(users, key=lambda u: u[0]):
            _ = translator(locale or DEFAULT_LOCALE)
            if cycle.status == CycleStatus.open:
                title = _("Cycle {name} has ended: please review the scores").format(
                    name=cycle.name)
            else:
                title = _("Cycle {name} was reviewed: please sign it off").format(
                    name=cycle.name)
            if (uid, event, cycle.id) in sent:
                continue
            session.add(Notification(tenant_id=cycle.tenant_id, user_id=uid, event=event,
                                     title=title[:200],
                                     body=_("Open the cycle: {link}").format(link=link)))
            sent.add((uid, event, cycle.id))
            written += 1
    await session.flush()
    return written
