"""HR duty: the roster (who of HR is on call for a tenant, from when to when), who is on duty
at an instant, routing alerts to them, and the high-risk windows nobody covers.

Stable API for other domains (analytics' monitoring rules call it):

* ``await on_duty(session, tenant_id, at)`` → employee ids of the HR people on duty for the
  tenant at ``at`` (its own roster; when nobody of it is on duty, the nearest ancestor's — HQ's
  duty covers the group). No access check.
* ``await notify_on_duty(session, tenant_id, at, event=, title=, body=, link=)`` → the user ids
  told in-app (rows in the caller's transaction; robots after commit).

Services flush, never commit; audit rows go in the caller's transaction.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.effects import after_commit
from probity.auth.permissions import Perm, Principal
from probity.auth.scoping import tenant_in_scope
from probity.duty import schemas
from probity.errors import Conflict, InvalidInput, NotFound
from probity.i18n import deferred, word
from probity.models import (
    Alert,
    Employee,
    EmploymentStatus,
    Notification,
    NotificationRule,
    Role,
    RoleAssignment,
    Tenant,
    User,
)
from probity.models.base import utcnow
from probity.models.duty import DutyShift
from probity.notify.text import Deferred, default_text, in_app

__all__ = ["DUTY_EVENT", "DutyRouter", "Gap", "add_duty", "duty_for_alert", "list_roster",
           "mark_rule_messages", "notify_on_duty", "on_duty", "on_duty_people", "remove_duty",
           "route_alert", "uncovered_windows"]

DUTY_EVENT = "duty.alert"
MAX_SHIFT = timedelta(days=7)
MAX_REPEAT_WEEKS = 26
MAX_RANGE = timedelta(days=92)
HR_ROLES = (Role.hr, Role.hq_admin)


def _aware(at: datetime, what: str = "time") -> datetime:
    if at.tzinfo is None:
        raise InvalidInput(f"give the {what} with its offset (e.g. 2026-12-05T19:00+08:00)",
                           code="naive_time",
                           template="Give the time with its offset (e.g. "
                                    "2026-12-05T19:00+08:00)")
    return at.astimezone(UTC)


async def _chain(session: AsyncSession, tenant_id: int) -> list[int]:
    """The tenant and its ancestors, nearest first."""
    return _chain_of(tenant_id, await session.scalar(
        select(Tenant.path).where(Tenant.id == tenant_id)))


def _chain_of(tenant_id: int, path: str | None) -> list[int]:
    """The tenant and its ancestors, nearest first, from its materialised path."""
    ids = [int(p) for p in reversed((path or "").strip("/").split("/")) if p.isdigit()]
    return ids or [tenant_id]


async def _robot_rules(session: AsyncSession, chain: list[int]) -> list[NotificationRule]:
    """The active robot notification rules of these tenants that list `duty.alert` and have a
    target, by id (any severity)."""
    from probity.notify.service import ROBOTS

    return [r for r in (await session.scalars(select(NotificationRule).where(
        NotificationRule.active.is_(True), NotificationRule.tenant_id.in_(chain),
        NotificationRule.channel.in_(ROBOTS)).order_by(NotificationRule.id))).all()
        if DUTY_EVENT in r.events.split(",") and r.target]


# ---------------------------------------------------------------- who is on duty


async def on_duty_shifts(session: AsyncSession, tenant_id: int, at: datetime
                         ) -> list[DutyShift]:
    """The duty shifts covering `at` for the tenant: its own, else the nearest ancestor's."""
    at = _aware(at)
    chain = await _chain(session, tenant_id)
    rows = (await session.scalars(select(DutyShift).where(
        DutyShift.tenant_id.in_(chain), DutyShift.starts_at <= at, DutyShift.ends_at > at)
        .order_by(DutyShift.starts_at, DutyShift.id))).all()
    for tid in chain:
        mine = [r for r in rows if r.tenant_id == tid]
        if mine:
            return mine
    return []


async def on_duty(session: AsyncSession, tenant_id: int, at: datetime) -> list[int]:
    """Employee ids of the HR people on duty for the tenant at `at` (no access check)."""
    seen: list[int] = []
    for shift in await on_duty_shifts(session, tenant_id, at):
        if shift.employee_id not in seen:
            seen.append(shift.employee_id)
    return seen


@dataclass(frozen=True)
class OnDutyPerson:
    employee_id: int
    name: str
    employee_no: str
    user_id: int | None
    tenant_id: int  # whose roster put them on duty
    starts_at: datetime
    ends_at: datetime


async def on_duty_people(session: AsyncSession, tenant_id: int, at: datetime
                         ) -> list[OnDutyPerson]:
    shifts = await on_duty_shifts(session, tenant_id, at)
    if not shifts:
        return []
    ids = [s.employee_id for s in shifts]
    rows = {e.id: (e, uid) for e, uid in (await session.execute(
        select(Employee, User.id).outerjoin(User, and_(User.employee_id == Employee.id,
                                                       User.is_active.is_(True)))
        .where(Employee.id.in_(ids)))).all()}
    out: list[OnDutyPerson] = []
    for s in shifts:
        emp, uid = rows[s.employee_id]
        if any(p.employee_id == emp.id for p in out):
            continue
        out.append(OnDutyPerson(emp.id, emp.name, emp.employee_no, uid, s.tenant_id,
                                s.starts_at, s.ends_at))
    return out


# ---------------------------------------------------------------- routing


async def notify_on_duty(session: AsyncSession, tenant_id: int, at: datetime, *, event: str,
                         title: str | Deferred, body: str = "", link: str = "",
                         severity: int = 1, case_id: int | None = None) -> list[int]:
    """Tell whoever is on HR duty for the tenant at `at`: an in-app notification each (in the
    caller's transaction) and, unless the tenant's `duty.robots` standard is off, the group
    robots whose notification rules (of the tenant or an ancestor) list `duty.alert` — sent
    after commit. Returns the user ids told in-app."""
    people = await on_duty_people(session, tenant_id, at)
    return await _notify_people(session, tenant_id, people, event=event, title=title,
                                body=body, link=link, severity=severity, case_id=case_id)


async def _notify_people(session: AsyncSession, tenant_id: int, people: list[OnDutyPerson],
                         *, event: str, title: str | Deferred, body: str, link: str,
                         severity: int, case_id: int | None,
                         router: DutyRouter | None = None) -> list[int]:
    """`notify_on_duty` once the people on duty are known; with a `router`, its reads are
    reused and nothing is flushed."""
    from probity.duty.settings import DutySettings
    from probity.governance import settings_values
    from probity.notify.service import Outgoing, mail_settings, send_all

    if not people:
        return []
    now = utcnow()
    told: list[int] = []
    # A title given as a msgid is shown in each reader's language (`probity.notify.text`).
    spec = None if isinstance(title, str) else title
    title = title if isinstance(title, str) else default_text(title)
    for p in people:
        if p.user_id is None:
            continue
        if spec is None:
            session.add(Notification(tenant_id=tenant_id, user_id=p.user_id, case_id=case_id,
                                     event=event, title=title[:200], body=link or body,
                                     created_at=now))
        else:
            session.add(in_app(tenant_id=tenant_id, user_id=p.user_id, case_id=case_id,
                               event=event, title=spec, body=link or body, created_at=now))
        told.append(p.user_id)
    rules: list[NotificationRule] | None
    if router is not None:
        rules = await router.robot_rules(session, tenant_id, severity)
    elif (await settings_values(session, tenant_id, DutySettings)).robots:
        rules = [r for r in await _robot_rules(session, await _chain(session, tenant_id))
                 if r.min_severity <= severity]
    else:
        rules = None
    if rules:
        on_duty = default_text(deferred("HR on duty: {names}",
                                        names=[p.name for p in people]))
        text = f"{title}\n{on_duty}\n{body}\n{link}".strip()
        outgoing = [Outgoing(r.channel, r.target or "", text, secret=r.secret) for r in rules]

        async def effect() -> None:
            await send_all(outgoing, mail_settings())

        after_commit(session, effect)
    if router is None:
        await session.flush()
    return told


# Monitoring rules that "send alerts to the HR person on duty" (probity.monitoring.enforce)
# mark the chat messages of their cohort here, in the writer's transaction, before the
# messages' alerts are routed: the one duty notification of such an alert names the rules
# instead of the rule sending a second one (session.info: message id -> rule titles).
RULE_MARKS = "duty.rule_marks"


def mark_rule_messages(session: AsyncSession, message_ids: Iterable[int], rule_title: str
                       ) -> None:
    """Say that a monitoring rule covers these messages: their alerts' duty notification
    names the rule (`route_alert`). In the caller's transaction; nothing is sent here."""
    marks: dict[int, list[str]] = session.info.setdefault(RULE_MARKS, {})
    for mid in message_ids:
        titles = marks.setdefault(mid, [])
        if rule_title not in titles:
            titles.append(rule_title)


def _rule_titles(session: AsyncSession, alert: Alert) -> list[str]:
    marks: dict[int, list[str]] | None = session.info.get(RULE_MARKS)
    if not marks or alert.message_id is None:
        return []
    return marks.pop(alert.message_id, [])


SEVERITY_KEYS = {1: "duty.severity.low", 2: "duty.severity.medium", 3: "duty.severity.high"}


def alert_message(alert: Alert, rules: Sequence[str] = ()) -> dict[str, Any]:
    """The duty notification's title as a msgid with its parameters: each reader sees it in
    their language (`probity.notify.text`), robots in the product's."""
    sev = word(SEVERITY_KEYS.get(alert.severity, "duty.severity.critical"))
    category = word(f"category.{alert.category}") if alert.category else "—"
    if rules:
        return deferred("Duty alert #{id} ({severity}): {category} · monitoring rule: {rule}",
                        id=alert.id, severity=sev, category=category, rule=list(rules))
    return deferred("Duty alert #{id} ({severity}): {category}", id=alert.id, severity=sev,
                    category=category)


def alert_title(alert: Alert, rules: Sequence[str] = ()) -> str:
    """The duty notification's title in the product's language."""
    return default_text(alert_message(alert, rules))[:200]


async def route_alert(session: AsyncSession, alert: Alert) -> list[int]:
    """An alert goes at once to whoever is on HR duty for its tenant when it was raised —
    once: a monitoring rule covering it is named in this notification (`mark_rule_messages`),
    never sent as a second one."""
    return await notify_on_duty(session, alert.tenant_id, alert.created_at, event=DUTY_EVENT,
                                title=alert_message(alert, _rule_titles(session, alert)),
                                body=alert.snippet or "",
                                link=f"/alerts?alert={alert.id}", severity=alert.severity)


class DutyRouter:
    """`route_alert` for the many alerts of one run in one transaction (an import's alerts
    grouped into cases): the tenants' ancestry, the duty shifts covering the run's alerts (one
    read per batch for every tenant's chain and the span of the alerts' times), the people on
    them, each tenant's duty standard and its robots' notification rules are read once instead
    of per alert. The same rows, after-commit sends and order as `route_alert`; it does not
    flush (the caller's next flush writes the notifications, in the order they were added).
    Use it only while no roster, rule, user or standard changes in the transaction."""

    def __init__(self) -> None:
        self._chains: dict[int, list[int]] = {}
        self._shifts: dict[int, list[DutyShift]] = {}  # by roster tenant, (starts_at, id)
        self._span: tuple[datetime, datetime] | None = None
        self._people: dict[int, tuple[Employee, int | None]] = {}
        self._robots: dict[int, bool] = {}
        self._rules: dict[int, list[NotificationRule]] = {}

    async def prepare(self, session: AsyncSession, alerts: Sequence[Alert]) -> None:
        """Read the chains, shifts and people for these alerts (several statements per
        batch, none per alert)."""
        if not alerts:
            return
        ats = [_aware(a.created_at) for a in alerts]
        lo, hi = min(ats), max(ats)
        missing = sorted({a.tenant_id for a in alerts} - self._chains.keys())
        if missing:
            paths = dict((await session.execute(select(Tenant.id, Tenant.path).where(
                Tenant.id.in_(missing)))).all())
            for tid in missing:
                self._chains[tid] = _chain_of(tid, paths.get(tid))
        covered = self._span is not None and self._span[0] <= lo and hi <= self._span[1]
        rosters = sorted({t for a in alerts for t in self._chains[a.tenant_id]})
        if covered and all(t in self._shifts for t in rosters):
            return
        if self._span is not None:
            lo, hi = min(lo, self._span[0]), max(hi, self._span[1])
            rosters = sorted(set(rosters) | self._shifts.keys())
        rows = (await session.scalars(select(DutyShift).where(
            DutyShift.tenant_id.in_(rosters), DutyShift.starts_at <= hi,
            DutyShift.ends_at > lo).order_by(DutyShift.starts_at, DutyShift.id))).all()
        self._span = (lo, hi)
        self._shifts = {t: [] for t in rosters}
        for r in rows:
            self._shifts[r.tenant_id].append(r)
        ids = sorted({r.employee_id for r in rows} - self._people.keys())
        if ids:
            for emp, uid in (await session.execute(
                    select(Employee, User.id).outerjoin(
                        User, and_(User.employee_id == Employee.id, User.is_active.is_(True)))
                    .where(Employee.id.in_(ids)))).all():
                self._people[emp.id] = (emp, uid)

    def people(self, tenant_id: int, at: datetime) -> list[OnDutyPerson]:
        """`on_duty_people` from what `prepare` read."""
        at = _aware(at)
        out: list[OnDutyPerson] = []
        for tid in self._chains[tenant_id]:
            mine = [s for s in self._shifts[tid] if s.starts_at <= at < s.ends_at]
            if not mine:
                continue
            for s in mine:
                emp, uid = self._people[s.employee_id]
                if any(p.employee_id == emp.id for p in out):
                    continue
                out.append(OnDutyPerson(emp.id, emp.name, emp.employee_no, uid, s.tenant_id,
                                        s.starts_at, s.ends_at))
            break
        return out

    async def robot_rules(self, session: AsyncSession, tenant_id: int, severity: int
                          ) -> list[NotificationRule] | None:
        """The robots' rules `notify_on_duty` sends to (None: the standard turns them off)."""
        from probity.duty.settings import DutySettings
        from probity.governance import settings_values

        if tenant_id not in self._robots:
            settings = await settings_values(session, tenant_id, DutySettings)
            self._robots[tenant_id] = bool(settings.robots)
            if settings.robots:
                self._rules[tenant_id] = await _robot_rules(session, self._chains[tenant_id])
        if not self._robots[tenant_id]:
            return None
        return [r for r in self._rules[tenant_id] if r.min_severity <= severity]

    async def route(self, session: AsyncSession, alert: Alert) -> list[int]:
        """`route_alert` for one alert of the batch (`prepare` first)."""
        if alert.tenant_id not in self._chains:
            await self.prepare(session, [alert])
        at = _aware(alert.created_at)
        if self._span is None or not self._span[0] <= at <= self._span[1]:
            await self.prepare(session, [alert])
        people = self.people(alert.tenant_id, at)
        return await _notify_people(
            session, alert.tenant_id, people, event=DUTY_EVENT,
            title=alert_message(alert, _rule_titles(session, alert)),
            body=alert.snippet or "", link=f"/alerts?alert={alert.id}",
            severity=alert.severity, case_id=None, router=self)


# ---------------------------------------------------------------- the roster


async def _tenant(session: AsyncSession, principal: Principal, perm: Perm, tenant_id: int, *,
                  body: bool) -> Tenant:
    return await tenant_in_scope(session, principal, perm, tenant_id, body=body)


async def _is_hr(session: AsyncSession, emp: Employee, tenant: Tenant) -> bool:
    """The person holds an HR role (HR or HQ admin) over the tenant (granted there or above)."""
    chain = await _chain(session, tenant.id)
    return bool(await session.scalar(
        select(RoleAssignment.id).join(User, User.id == RoleAssignment.user_id)
        .where(User.employee_id == emp.id, User.is_active.is_(True),
               RoleAssignment.role.in_(HR_ROLES), RoleAssignment.tenant_id.in_(chain),
               RoleAssignment.org_unit_id.is_(None)).limit(1)))


async def add_duty(session: AsyncSession, actor: Principal | None, *, tenant_id: int,
                   employee_id: int, starts_at: datetime, ends_at: datetime, note: str = "",
                   repeat_weeks: int = 1) -> list[DutyShift]:
    """Put an HR person on duty for a tenant over [starts_at, ends_at), repeated weekly
    `repeat_weeks` times. 422: an empty or reversed range, longer than 7 days, starting in the
    past (people only), someone out of scope or without an HR role there, an overlap with
    another duty shift of the same person (all or nothing)."""
    starts_at, ends_at = _aware(starts_at), _aware(ends_at)
    if actor is not None:
        tenant = await _tenant(session, actor, Perm.duty_manage, tenant_id, body=True)
        scope = actor.scope(Perm.duty_manage)
        emp = await session.scalar(select(Employee).where(
            Employee.id == employee_id, scope.filter(Employee.tenant_id, Employee.org_unit_id)))
    else:
        found = await session.get(Tenant, tenant_id)
        if found is None:
            raise InvalidInput(f"unknown tenant {tenant_id}", code="unknown_tenant")
        tenant = found
        emp = await session.get(Employee, employee_id)
    if emp is None or emp.status == EmploymentStatus.left:
        raise InvalidInput(f"unknown employee {employee_id}", code="unknown_employee",
                           template="Unknown employee {id}", params={"id": employee_id})
    if ends_at <= starts_at:
        raise InvalidInput("the duty ends before it starts", code="empty_range",
                           template="The duty must end after it starts")
    if ends_at - starts_at > MAX_SHIFT:
        raise InvalidInput("a duty shift is at most 7 days", code="shift_too_long",
                           template="A duty shift is at most 7 days")
    if not 1 <= repeat_weeks <= MAX_REPEAT_WEEKS:
        raise InvalidInput("repeat 1 to 26 weeks", code="invalid_repeat",
                           template="Repeat for 1 to {max} weeks",
                           params={"max": MAX_REPEAT_WEEKS})
    if actor is not None and ends_at <= utcnow():
        raise InvalidInput("the duty is over already", code="duty_in_past",
                           template="This duty is already over; the roster keeps history "
                                    "as it was")
    if not await _is_hr(session, emp, tenant):
        raise InvalidInput(f"{emp.name} holds no HR role over this subsidiary", code="not_hr",
                           template="{name} holds no HR role over this subsidiary",
                           params={"name": emp.name})
    spans = [(starts_at + timedelta(weeks=w), ends_at + timedelta(weeks=w))
             for w in range(repeat_weeks)]
    for s, e in spans:
        clash = await session.scalar(select(DutyShift).where(
            DutyShift.employee_id == emp.id, DutyShift.starts_at < e, DutyShift.ends_at > s)
            .limit(1))
        if clash is not None:
            from probity.governance.accessors import display_timezone

            zone = ZoneInfo(await display_timezone(session, tenant.id))
            when = clash.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            raise InvalidInput(f"{emp.name} is already on duty at {when}", code="duty_overlap",
                               template="{name} is already on duty then (from {when})",
                               params={"name": emp.name, "when": when},
                               shift_id=clash.id)
    shifts = [DutyShift(tenant_id=tenant.id, employee_id=emp.id, starts_at=s, ends_at=e,
                        note=note[:200], created_by_user_id=actor.user_id if actor else None)
              for s, e in spans]
    session.add_all(shifts)
    await session.flush()
    record_audit(session, actor, "duty.add", target_type="employee", target_id=emp.id,
                 tenant_id=tenant.id,
                 after={"starts_at": starts_at, "ends_at": ends_at, "weeks": repeat_weeks,
                        "shift_ids": [s.id for s in shifts]},
                 actor_name=None if actor else "system")
    return shifts


async def remove_duty(session: AsyncSession, actor: Principal, shift_id: int) -> DutyShift:
    """Take a duty shift off the roster — only before it starts (409 after: it is history)."""
    scope = actor.scope(Perm.duty_manage)
    shift = await session.scalar(select(DutyShift).where(
        DutyShift.id == shift_id, scope.filter(DutyShift.tenant_id)))
    if shift is None:
        raise NotFound("no such duty shift")
    if shift.starts_at <= utcnow():
        raise Conflict("this duty has started; the roster keeps it as it was",
                       code="duty_started",
                       template="This duty has started; the roster keeps it as it was")
    await session.delete(shift)
    record_audit(session, actor, "duty.remove", target_type="employee",
                 target_id=shift.employee_id, tenant_id=shift.tenant_id,
                 before={"starts_at": shift.starts_at, "ends_at": shift.ends_at})
    await session.flush()
    return shift


def _range(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    since, until = _aware(since, "start"), _aware(until, "end")
    if until <= since:
        raise InvalidInput("the range is empty or reversed", code="empty_range",
                           template="The date range is empty or reversed")
    if until - since > MAX_RANGE:
        raise InvalidInput("at most 92 days at a time", code="range_too_long",
                           template="At most {days} days at a time", params={"days": 92})
    return since, until


async def list_roster(session: AsyncSession, principal: Principal, tenant_id: int,
                      since: datetime, until: datetime
                      ) -> list[tuple[DutyShift, Employee]]:
    """The tenant's duty shifts overlapping [since, until) (duty.read over the tenant)."""
    since, until = _range(since, until)
    tenant = await _tenant(session, principal, Perm.duty_read, tenant_id, body=False)
    rows = await session.execute(
        select(DutyShift, Employee).join(Employee, Employee.id == DutyShift.employee_id)
        .where(DutyShift.tenant_id == tenant.id, DutyShift.starts_at < until,
               DutyShift.ends_at > since).order_by(DutyShift.starts_at, DutyShift.id))
    return [(s, e) for s, e in rows.all()]


# ---------------------------------------------------------------- uncovered high-risk windows


@dataclass(frozen=True)
class Gap:
    """A high-risk window (an occurrence, UTC) and the parts of it nobody of HR covers."""

    label: str
    source: str  # "standard" (the duty section) or "analytics" (a finding / monitoring rule)
    starts_at: datetime
    ends_at: datetime
    uncovered: list[tuple[datetime, datetime]]


def occurrences(specs: list[str], tz: str, since: datetime, until: datetime
                ) -> list[tuple[str, datetime, datetime]]:
    """Each weekly window's occurrences overlapping [since, until), as UTC instants."""
    from probity.duty.settings import parse_window

    zone = ZoneInfo(tz)
    first: date = since.astimezone(zone).date() - timedelta(days=1)
    last: date = until.astimezone(zone).date()
    out: list[tuple[str, datetime, datetime]] = []
    for spec in specs:
        w = parse_window(spec)
        day = first
        while day <= last:
            if day.weekday() in w.weekdays:
                s = datetime.combine(day, w.start, zone)
                e = datetime.combine(day + timedelta(days=1) if w.end <= w.start else day,
                                     w.end, zone)
                s_utc, e_utc = s.astimezone(UTC), e.astimezone(UTC)
                if s_utc < until and e_utc > since:
                    out.append((w.spec, s_utc, e_utc))
            day += timedelta(days=1)
    return sorted(out, key=lambda o: (o[1], o[0]))


def uncovered_parts(start: datetime, end: datetime, covers: list[tuple[datetime, datetime]]
                    ) -> list[tuple[datetime, datetime]]:
    """The parts of [start, end) that no interval of `covers` covers."""
    gaps: list[tuple[datetime, datetime]] = []
    cursor = start
    for s, e in sorted(covers):
        if e <= cursor or s >= end:
            continue
        if s > cursor:
            gaps.append((cursor, min(s, end)))
        cursor = max(cursor, e)
        if cursor >= end:
            break
    if cursor < end:
        gaps.append((cursor, end))
    return gaps


async def analytics_windows(session: AsyncSession, tenant_id: int, since: datetime,
                            until: datetime) -> list[tuple[str, datetime, datetime]]:
    """High-risk windows named by analytics (findings acted on, monitoring rules in force),
    when that domain offers them; none otherwise."""
    try:
        hook = importlib.import_module("probity.analytics.duty_hook")
    except ModuleNotFoundError:
        return []
    windows = getattr(hook, "high_risk_windows", None)
    if windows is None:
        return []
    found: list[tuple[str, datetime, datetime]] = await windows(session, tenant_id, since,
                                                                 until)
    return found


async def uncovered_windows(session: AsyncSession, principal: Principal | None, tenant_id: int,
                            since: datetime, until: datetime) -> list[Gap]:
    """Every high-risk window occurrence in [since, until) with a part that nobody of HR is on
    duty for (the tenant's own roster, else the nearest ancestor's, as alerts are routed)."""
    from probity.duty.settings import DutySettings
    from probity.governance import settings_values
    from probity.governance.accessors import display_timezone

    since, until = _range(since, until)
    if principal is not None:
        await _tenant(session, principal, Perm.duty_read, tenant_id, body=False)
    tz = await display_timezone(session, tenant_id)
    specs = (await settings_values(session, tenant_id, DutySettings)).high_risk_windows
    windows = [(label, s, e, "standard") for label, s, e in occurrences(specs, tz, since, until)]
    windows += [(label, s, e, "analytics")
                for label, s, e in await analytics_windows(session, tenant_id, since, until)]
    if not windows:
        return []
    chain = await _chain(session, tenant_id)
    lo = min(s for _l, s, _e, _src in windows)
    hi = max(e for _l, _s, e, _src in windows)
    shifts = (await session.scalars(select(DutyShift).where(
        DutyShift.tenant_id.in_(chain), DutyShift.starts_at < hi, DutyShift.ends_at > lo))).all()
    # Routing asks the tenant's own roster first and the ancestors only when it has nobody;
    # so a moment is covered when any roster of the chain has someone on duty then.
    covers = [(s.starts_at, s.ends_at) for s in shifts]
    out: list[Gap] = []
    for label, s, e, src in sorted(windows, key=lambda w: (w[1], w[0])):
        parts = uncovered_parts(s, e, covers)
        if parts:
            out.append(Gap(label, src, s, e, parts))
    return out


# ---------------------------------------------------------------- an alert's people


async def duty_for_alert(session: AsyncSession, principal: Principal, alert_id: int
                         ) -> tuple[Alert, list[OnDutyPerson]]:
    """The alert (in the caller's alerts scope, else 404) and who was on HR duty for its
    tenant when it was raised."""
    scope = principal.scope(Perm.alerts_read)
    alert = await session.scalar(select(Alert).where(
        Alert.id == alert_id, scope.filter(Alert.tenant_id, Alert.org_unit_id)))
    if alert is None:
        raise NotFound("alert not found")
    return alert, await on_duty_people(session, alert.tenant_id, alert.created_at)


async def alert_people(session: AsyncSession, principal: Principal, alert_id: int
                       ) -> schemas.AlertPeopleRead:
    """Issue 13: for any alert, who was on shift (its team's rota, when the caller may read
    rotas) and who was on HR duty."""
    from probity.attendance import rota

    alert, people = await duty_for_alert(session, principal, alert_id)
    shift = (await rota.on_shift_for_alert(session, principal, alert.id)
             if principal.can(Perm.attendance_read) else None)
    return schemas.AlertPeopleRead(alert_id=alert.id, at=alert.created_at,
                                   tenant_id=alert.tenant_id, on_duty=on_duty_rows(people),
                                   on_shift=shift)


def on_duty_rows(people: list[OnDutyPerson]) -> list[schemas.OnDutyRow]:
    return [schemas.OnDutyRow(employee_id=p.employee_id, employee_no=p.employee_no,
                              name=p.name, user_id=p.user_id, roster_tenant_id=p.tenant_id,
                              starts_at=p.starts_at, ends_at=p.ends_at) for p in people]
