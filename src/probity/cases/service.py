"""Case workflow: grouping alerts into cases, the state machine, SLA clocks, notes, timeline.

Every change writes a `CaseEvent` (append-only), an audit row and a ledger entry (`case.*`) in
the caller's transaction. Services flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity import webhooks
from probity.audit.service import record_audit
from probity.auth.permissions import ROLE_PERMISSIONS, Perm, Principal
from probity.auth.scoping import tenant_in_scope
from probity.bulk import in_values
from probity.cases.sla import add_working_days, clock_state
from probity.errors import Conflict, Forbidden, InvalidInput, NotFound
from probity.ledger.chain import format_time
from probity.ledger.service import append_entries, append_entry
from probity.models import (
    Alert,
    Case,
    CaseAlert,
    CaseEvent,
    CaseNote,
    CaseStatus,
    Conversation,
    Customer,
    Employee,
    Message,
    Order,
    Payment,
    Refund,
    RoleAssignment,
    Tenant,
    User,
)
from probity.models.base import utcnow
from probity.notify.service import CaseNotifier, notify_case
from probity.webhooks.events import alert_event

if TYPE_CHECKING:
    from probity.duty.service import DutyRouter

S = CaseStatus
DECISIONS = frozenset({S.substantiated, S.unsubstantiated, S.false_positive})
OPEN_FOR_GROUPING = frozenset({S.new, S.triage, S.investigating})
# The state machine. Appeals reopen a closed case: upheld → closed again, overturned →
# investigating (a new decision is due).
TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    S.new: frozenset({S.triage}),
    S.triage: frozenset({S.investigating, S.unsubstantiated, S.false_positive}),
    S.investigating: frozenset({S.substantiated, S.unsubstantiated, S.false_positive}),
    S.substantiated: frozenset({S.penalty_proposed}),
    S.penalty_proposed: frozenset({S.penalty_approved, S.substantiated}),
    S.penalty_approved: frozenset({S.closed}),
    S.unsubstantiated: frozenset({S.closed}),
    S.false_positive: frozenset({S.closed}),
    S.closed: frozenset({S.appealed}),
    S.appealed: frozenset({S.closed, S.investigating}),
}
GROUP_BY = ("agent_customer", "agent", "customer")
SEVERITY_MIN, SEVERITY_MAX = 1, 4
TIMELINE_KINDS = ("message", "alert", "order", "payment", "refund", "event", "note")
CASE_FIELDS = ("status", "severity", "assignee_user_id", "decision", "penalty")


# ---------------------------------------------------------------------------------------------
# settings


@dataclass
class Policy:
    """The effective case standards: values from governance (`CaseStandardSettings`, the one
    place their defaults and bounds are written) and the display zone."""

    group_by: str
    window_hours: int
    triage_hours: int
    decision_working_days: int
    timezone: str


async def case_policy(session: AsyncSession, tenant_id: int) -> Policy:
    """The tenant's effective case standards (group standards, section `cases`) and zone."""
    from probity.governance import effective_settings
    from probity.governance.accessors import display_timezone
    from probity.governance.sections import CaseStandardSettings

    s = (await effective_settings(session, tenant_id, CaseStandardSettings)).values
    return Policy(group_by=s.group_by, window_hours=s.window_hours, triage_hours=s.triage_hours,
                  decision_working_days=s.decision_working_days,
                  timezone=await display_timezone(session, tenant_id))


async def read_settings(session: AsyncSession, principal: Principal, tenant_id: int) -> Policy:
    """The case standards in force for a tenant in the reader's scope (404 otherwise)."""
    await tenant_in_scope(session, principal, Perm.case_read, tenant_id)
    return await case_policy(session, tenant_id)


async def update_settings(session: AsyncSession, principal: Principal, tenant_id: int,
                          changes: dict[str, Any]) -> Policy:
    """Change the tenant's case standards: a new version of its `cases` section (fields HQ
    locked → 403, audited and ledgered by governance)."""
    from probity.governance import change_settings

    await tenant_in_scope(session, principal, Perm.case_manage, tenant_id)
    reason = changes.pop("reason", None) or "case settings (cases API)"
    values = {k: v for k, v in changes.items() if v is not None}
    await change_settings(session, principal, tenant_id, "cases", values, reason=reason)
    return await case_policy(session, tenant_id)


# ---------------------------------------------------------------------------------------------
# queries


def scoped_cases(principal: Principal, perm: Perm = Perm.case_read) -> Select[Case]:
    scope = principal.scope(perm)
    return select(Case).where(scope.filter(Case.tenant_id, Case.org_unit_id))


async def get_case(session: AsyncSession, principal: Principal, case_id: int,
                   perm: Perm = Perm.case_read) -> Case:
    case = await session.scalar(scoped_cases(principal, perm).where(Case.id == case_id))
    if case is None:
        raise NotFound("no such case")
    return case


def sla_view(case: Case, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    triage = clock_state(case.created_at, case.triage_due_at, case.triaged_at, now)
    decision = clock_state(case.created_at, case.decision_due_at, case.decided_at, now)
    worst = "ok"
    for state in (triage, decision):
        if state == "breached":
            worst = "breached"
        elif state == "warning" and worst != "breached":
            worst = "warning"
    return {"triage": triage, "decision": decision, "state": worst,
            "triage_due_at": case.triage_due_at, "decision_due_at": case.decision_due_at}


async def list_cases(session: AsyncSession, principal: Principal, *, status: str | None = None,
                     agent_employee_id: int | None = None, customer_id: int | None = None,
                     sla: str | None = None, limit: int = 50, offset: int = 0) -> list[Case]:
    q = scoped_cases(principal)
    if status:
        q = q.where(Case.status == status)
    if agent_employee_id is not None:
        q = q.where(Case.agent_employee_id == agent_employee_id)
    if customer_id is not None:
        q = q.where(Case.customer_id == customer_id)
    if sla in ("warning", "breached"):
        # Only running clocks can warn or breach; the exact state is computed per row.
        q = q.where(or_(Case.triaged_at.is_(None), Case.decided_at.is_(None)))
        rows = list((await session.scalars(q.order_by(Case.id.desc()))).all())
        now = utcnow()
        rows = [c for c in rows if sla_view(c, now)["state"] == sla]
        return rows[offset:offset + limit]
    q = q.order_by(Case.id.desc()).limit(limit).offset(offset)
    return list((await session.scalars(q)).all())


async def case_alerts(session: AsyncSession, case_id: int) -> list[Alert]:
    return list((await session.scalars(
        select(Alert).join(CaseAlert, CaseAlert.alert_id == Alert.id)
        .where(CaseAlert.case_id == case_id).order_by(Alert.id))).all())


async def case_events(session: AsyncSession, case_id: int) -> list[CaseEvent]:
    return list((await session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))).all())


async def case_notes(session: AsyncSession, case_id: int) -> list[CaseNote]:
    return list((await session.scalars(
        select(CaseNote).where(CaseNote.case_id == case_id).order_by(CaseNote.id))).all())


# ---------------------------------------------------------------------------------------------
# recording


def _case_payload(case: Case) -> dict[str, Any]:
    return {
        "case_id": case.id, "status": case.status.value, "severity": case.severity,
        "agent_employee_id": case.agent_employee_id, "customer_id": case.customer_id,
        "subject": case.subject, "agent_part": case.agent_part,
        "assignee_user_id": case.assignee_user_id, "decision": case.decision,
        "penalty": case.penalty,
    }


async def _record(session: AsyncSession, case: Case, actor: Principal | None, kind: str, *,
                  from_status: str | None = None, to_status: str | None = None,
                  detail: dict[str, Any] | None = None,
                  before: dict[str, Any] | None = None,
                  run: Grouping | None = None) -> CaseEvent:
    """One case event: the event row, its audit row and its ledger entry, same transaction.
    Within a grouping run the ledger entry is appended with the run's others
    (`Grouping.finish`), and the webhook subscribers are read once per tenant."""
    detail = detail or {}
    event = CaseEvent(case_id=case.id, tenant_id=case.tenant_id, kind=kind,
                      from_status=from_status, to_status=to_status,
                      actor_user_id=actor.user_id if actor else None, detail=detail,
                      created_at=utcnow())
    session.add(event)
    after = _case_payload(case)
    record_audit(session, actor, f"case.{kind}", target_type="case", target_id=case.id,
                 tenant_id=case.tenant_id, before=before, after={**after, **detail},
                 actor_name=None if actor else "system")
    entry = {**after, "event_id": None, "kind": kind, "from_status": from_status,
             "to_status": to_status, "actor_user_id": event.actor_user_id,
             "at": format_time(event.created_at), "detail": _jsonable(detail)}
    if run is None:
        await session.flush()
        entry["event_id"] = event.id
        await append_entry(session, case.tenant_id, f"case.{kind}", entry)
    else:
        run.ledger.append((case.tenant_id, f"case.{kind}", entry, event))
    if kind != "note":  # notes are internal text; the rest is announced to subscribers
        emit = run.hooks.emit if run is not None else webhooks.emit
        await emit(session, case.tenant_id, "case.changed", {
            **after, "kind": kind, "from_status": from_status, "to_status": to_status,
            "at": event.created_at})
    return event


def _jsonable(value: Any) -> Any:
    from probity.audit.service import _jsonable as conv

    return conv(value)


# ---------------------------------------------------------------------------------------------
# grouping


async def _alert_parties(session: AsyncSession, alert: Alert) -> tuple[int | None, int | None]:
    customer_id = alert.customer_id
    if customer_id is None and alert.conversation_id is not None:
        customer_id = await session.scalar(
            select(Conversation.customer_id).where(Conversation.id == alert.conversation_id))
    return alert.agent_employee_id, customer_id


async def open_case(session: AsyncSession, actor: Principal | None, alerts: list[Alert], *,
                    title: str | None = None, run: Grouping | None = None,
                    parties: tuple[int | None, int | None] | None = None) -> Case:
    """A new case around the given alerts (all of one tenant, none in a case yet). Within a
    grouping run (`group_alerts`, which has checked the alerts and found their parties) the
    run's reads are reused."""
    case = await _new_case(session, alerts, title=title, run=run, parties=parties)
    await session.flush()
    await _opened(session, actor, case, alerts, run=run)
    return case


async def _new_case(session: AsyncSession, alerts: list[Alert], *, title: str | None = None,
                    run: Grouping | None = None,
                    parties: tuple[int | None, int | None] | None = None) -> Case:
    """`open_case`'s case row, added to the session (not flushed)."""
    if not alerts:
        raise InvalidInput("a case needs at least one alert", code="no_alerts")
    tenants = {a.tenant_id for a in alerts}
    if len(tenants) != 1:
        raise InvalidInput("the alerts belong to different subsidiaries", code="mixed_tenants")
    if run is None:
        taken = (await session.scalars(select(CaseAlert.alert_id).where(
            CaseAlert.alert_id.in_([a.id for a in alerts])))).all()
        if taken:
            raise Conflict(f"alert(s) {sorted(taken)} are already in a case",
                           code="alert_in_case")
    first = alerts[0]
    agent_id, customer_id = parties or await _alert_parties(session, first)
    org_unit_id = first.org_unit_id
    if org_unit_id is None and agent_id is not None:
        org_unit_id = (await run.org_unit(session, agent_id) if run is not None
                       else await session.scalar(
                           select(Employee.org_unit_id).where(Employee.id == agent_id)))
    policy = (await run.policy(session, first.tenant_id) if run is not None
              else await case_policy(session, first.tenant_id))
    now = utcnow()
    case = Case(
        tenant_id=first.tenant_id, org_unit_id=org_unit_id, agent_employee_id=agent_id,
        customer_id=customer_id, status=S.new, **case_subject(alerts),
        title=(title or _default_title(first))[:200],
        severity=_severity_of(alerts), last_alert_at=max(a.created_at for a in alerts),
        triage_due_at=now + timedelta(hours=policy.triage_hours),
        decision_due_at=add_working_days(now, policy.decision_working_days, policy.timezone),
        appeal_count=0, created_at=now,
    )
    session.add(case)
    return case


async def _opened(session: AsyncSession, actor: Principal | None, case: Case,
                  alerts: list[Alert], *, run: Grouping | None = None) -> None:
    """The rest of `open_case` once the case has its id: the links, the event, the notices."""
    now = case.created_at
    for a in alerts:
        session.add(CaseAlert(case_id=case.id, alert_id=a.id, created_at=now))
    await _record(session, case, actor, "opened", to_status=S.new.value,
                  detail={"alert_ids": [a.id for a in alerts]}, run=run)
    await notify_case(session, case, "case.opened",
                      notifier=run.notifier if run is not None else None)


def case_subject(alerts: list[Alert]) -> dict[str, Any]:
    """Who a case is about: the agent when any of its alerts is about the agent, else the
    customer (their attempts, with the agent as recipient). Never the agent by default."""
    if any(a.subject == "agent" for a in alerts):
        return {"subject": "agent", "agent_part": "initiator"}
    return {"subject": "customer", "agent_part": "recipient"}


def _default_title(alert: Alert) -> str:
    if alert.rule:
        return f"{alert.source}: {alert.rule}"
    return f"{alert.source}: {alert.category}"


def _severity_of(alerts: list[Alert]) -> int:
    top = max((a.severity for a in alerts), default=1)
    return max(SEVERITY_MIN, min(SEVERITY_MAX, top))


# Alerts grouped per round of `group_alerts` (bounds its look-ups' parameter lists).
GROUP_CHUNK = 500


class Grouping:
    """What one run of `group_alerts` reads once and reuses for all its alerts, in the
    caller's transaction: each tenant's case policy (`case_policy`: governance settings and the
    tenant tree), its webhook subscribers (`webhooks.Emitter`) and notification rules
    (`CaseNotifier`), agents' teams; and the case events' ledger entries, appended together at
    the end (`finish`), in the order of the events."""

    def __init__(self, hooks: webhooks.Emitter | None = None) -> None:
        self.hooks = hooks or webhooks.Emitter()
        self.notifier = CaseNotifier()
        self.ledger: list[tuple[int, str, dict[str, Any], CaseEvent]] = []
        self._policies: dict[int, Policy] = {}
        self._units: dict[int, int | None] = {}
        self.duty: DutyRouter | None = None  # who is on HR duty, read once per run

    async def policy(self, session: AsyncSession, tenant_id: int) -> Policy:
        if tenant_id not in self._policies:
            self._policies[tenant_id] = await case_policy(session, tenant_id)
        return self._policies[tenant_id]

    async def org_unit(self, session: AsyncSession, employee_id: int) -> int | None:
        if employee_id not in self._units:
            self._units[employee_id] = await session.scalar(
                select(Employee.org_unit_id).where(Employee.id == employee_id))
        return self._units[employee_id]

    async def finish(self, session: AsyncSession) -> None:
        """Append the run's case events to their tenants' ledgers (one bulk append each, the
        same entries and order as one append per event)."""
        if not self.ledger:
            return
        await session.flush()  # the events' ids
        by_tenant: dict[int, list[tuple[str, Any]]] = {}
        for tenant_id, type_, entry, event in self.ledger:
            entry["event_id"] = event.id
            by_tenant.setdefault(tenant_id, []).append((type_, entry))
        self.ledger = []
        for tenant_id, items in by_tenant.items():
            await append_entries(session, tenant_id, items)


async def group_alert(session: AsyncSession, alert: Alert,
                      actor: Principal | None = None) -> Case | None:
    """Put one alert into a case: the open case of the same parties whose newest alert is within
    the tenant's window, else a new case. None when the alert is already in a case (dedupe)."""
    (case,) = await group_alerts(session, [alert], actor)
    return case


def _party_filter(dialect: str, column: Any, values: set[int | None]) -> Any:
    known = {v for v in values if v is not None}
    match = in_values(dialect, column, sorted(known))
    return or_(match, column.is_(None)) if None in values else match


async def _open_cases(session: AsyncSession, tenant_id: int, policy: Policy,
                      wanted: list[tuple[Alert, int | None, int | None]]) -> list[Case]:
    """The tenant's open cases that any of *wanted* (alert, agent, customer) could join: one
    query (a superset; `_joins` decides per alert)."""
    window = timedelta(hours=policy.window_hours)
    dialect = session.get_bind().dialect.name
    q = select(Case).where(
        Case.tenant_id == tenant_id, Case.status.in_(list(OPEN_FOR_GROUPING)),
        Case.last_alert_at >= min(a.created_at for a, _, _ in wanted) - window,
        Case.subject.in_(sorted({a.subject or "agent" for a, _, _ in wanted})))
    if policy.group_by in ("agent_customer", "agent"):
        q = q.where(_party_filter(dialect, Case.agent_employee_id, {g for _, g, _ in wanted}))
    if policy.group_by in ("agent_customer", "customer"):
        q = q.where(_party_filter(dialect, Case.customer_id, {c for _, _, c in wanted}))
    return list((await session.scalars(q)).all())


def _joins(case: Case, alert: Alert, agent_id: int | None, customer_id: int | None,
           policy: Policy, last_alert_at: datetime | None = None) -> bool:
    """Whether *alert* may join the open *case* (the grouping rule of `group_alert`), the
    case's newest alert being at *last_alert_at* (default: as the row says)."""
    if case.status not in OPEN_FOR_GROUPING:
        return False
    last = case.last_alert_at if last_alert_at is None else last_alert_at
    if last < alert.created_at - timedelta(hours=policy.window_hours):
        return False
    if policy.group_by in ("agent_customer", "agent") and case.agent_employee_id != agent_id:
        return False
    if policy.group_by in ("agent_customer", "customer") and case.customer_id != customer_id:
        return False
    # A customer's attempts and an agent's own violations never share a case.
    return case.subject == (alert.subject or "agent")


async def group_alerts(session: AsyncSession, alerts: list[Alert],
                       actor: Principal | None = None, *,
                       hooks: webhooks.Emitter | None = None) -> list[Case | None]:
    """`group_alert` for each alert in order — the same cases, case events, audit rows, ledger
    entries, notifications and webhook deliveries — with the per-tenant reads made once per
    run instead of per alert (`Grouping`): which alerts are in a case already, the open
    cases they could join, the customers of their conversations and who is on HR duty
    (`duty.DutyRouter`: chains, shifts, people) are one query per round of `GROUP_CHUNK`
    alerts, the new cases one flush per round, the rest one flush at the end and the case
    events' ledger entries one bulk append. Returns each alert's case (None: already in
    one)."""
    run = Grouping(hooks)
    out: list[Case | None] = []
    for i in range(0, len(alerts), GROUP_CHUNK):
        out += await _group_round(session, alerts[i:i + GROUP_CHUNK], actor, run)
    await run.finish(session)
    return out


async def _group_round(session: AsyncSession, alerts: list[Alert], actor: Principal | None,
                       run: Grouping) -> list[Case | None]:
    """One round in two passes. The first decides, alert by alert in order, which case each
    joins or opens (on a copy of the candidates' newest alert time, so nothing is written) and
    adds the new cases, which one flush then writes together. The second does, alert by alert
    in the same order, what `group_alert` does after that decision: the duty notification,
    the webhook, the link, the case event with its audit row, the notices — without a flush
    (`Grouping.finish` writes them, each table's rows in the order they were added)."""
    dialect = session.get_bind().dialect.name
    taken = set((await session.scalars(select(CaseAlert.alert_id).where(
        in_values(dialect, CaseAlert.alert_id, [a.id for a in alerts])))).all())
    fresh: list[tuple[int, Alert]] = []  # each new alert's place in `alerts` (a repeat: None)
    for place, alert in enumerate(alerts):
        if alert.id in taken:
            continue
        taken.add(alert.id)
        fresh.append((place, alert))
    # The customers of alerts that name only a conversation: one query.
    convs = sorted({a.conversation_id for _, a in fresh
                    if a.customer_id is None and a.conversation_id is not None})
    conv_customer: dict[int, int | None] = {}
    if convs:
        conv_customer = dict((await session.execute(
            select(Conversation.id, Conversation.customer_id).where(
                in_values(dialect, Conversation.id, convs)))).all())
    todo: list[tuple[Alert, int | None, int | None]] = []
    places: list[int] = []
    for place, alert in fresh:
        customer_id = alert.customer_id
        if customer_id is None and alert.conversation_id is not None:
            customer_id = conv_customer.get(alert.conversation_id)
        todo.append((alert, alert.agent_employee_id, customer_id))
        places.append(place)
    # The open cases each tenant's alerts could join; the cases this round opens join them.
    candidates: dict[int, list[Case]] = {}
    for tenant_id in dict.fromkeys(a.tenant_id for a, _, _ in todo):
        wanted = [t for t in todo if t[0].tenant_id == tenant_id
                  and (t[1] is not None or t[2] is not None)]
        candidates[tenant_id] = (await _open_cases(
            session, tenant_id, await run.policy(session, tenant_id), wanted) if wanted else [])
    # Pass 1: the decisions. `last` stands for each candidate's newest alert time as the
    # alerts before have left it (the case rows change in pass 2, as `group_alert` does).
    last: dict[int, datetime] = {}
    # The new cases have no id yet: they rank after every older case, in the order opened.
    rank: dict[int, int] = {}
    decided: list[tuple[Case, bool]] = []  # (the case, opened by this alert)
    for alert, agent_id, customer_id in todo:
        policy = await run.policy(session, alert.tenant_id)
        case = None
        if agent_id is not None or customer_id is not None:  # else nothing to group on
            joinable = [c for c in candidates[alert.tenant_id]
                        if _joins(c, alert, agent_id, customer_id, policy,
                                  last.get(id(c), c.last_alert_at))]
            case = max(joinable, key=lambda c: (last.get(id(c), c.last_alert_at),
                                                c.id if c.id is not None else rank[id(c)]),
                       default=None)
        if case is None:
            case = await _new_case(session, [alert], run=run, parties=(agent_id, customer_id))
            candidates[alert.tenant_id].append(case)
            rank[id(case)] = (1 << 62) + len(rank)
            decided.append((case, True))
        else:
            last[id(case)] = max(last.get(id(case), case.last_alert_at), alert.created_at)
            decided.append((case, False))
    if any(opened for _, opened in decided):
        await session.flush()  # the new cases, together
    # Pass 2: the rest, alert by alert.
    from probity.duty.service import DutyRouter

    if run.duty is None:
        run.duty = DutyRouter()
    await run.duty.prepare(session, [a for a, _, _ in todo])
    out: list[Case | None] = [None] * len(alerts)
    for place, (alert, _agent, _customer), (case, opened) in zip(places, todo, decided,
                                                                 strict=True):
        # Every new alert reaches whoever is on HR duty for its tenant at once (probity.duty).
        await run.duty.route(session, alert)
        # Every new alert passes here once (chat, finance, reports, retro-screening).
        await run.hooks.emit(session, alert.tenant_id, "alert.created", alert_event(alert))
        if opened:
            await _opened(session, actor, case, [alert], run=run)
        else:
            session.add(CaseAlert(case_id=case.id, alert_id=alert.id, created_at=utcnow()))
            before = _case_payload(case)
            case.last_alert_at = max(case.last_alert_at, alert.created_at)
            case.severity = max(case.severity, _severity_of([alert]))
            case.updated_at = utcnow()
            await _record(session, case, actor, "alert_added", before=before,
                          detail={"alert_id": alert.id}, run=run)
        out[place] = case
    return out


async def group_pending_alerts(session: AsyncSession, principal: Principal | None,
                               tenant_ids: list[int] | None = None,
                               limit: int = 1000) -> list[Case]:
    """Group every alert not yet in a case (within the principal's scope), oldest first."""
    q = select(Alert).outerjoin(CaseAlert, CaseAlert.alert_id == Alert.id).where(
        CaseAlert.id.is_(None))
    if principal is not None:
        q = q.where(principal.scope(Perm.case_manage).filter(
            Alert.tenant_id, Alert.org_unit_id))
    if tenant_ids is not None:
        q = q.where(Alert.tenant_id.in_(tenant_ids))
    alerts = list((await session.scalars(q.order_by(Alert.created_at, Alert.id)
                                         .limit(limit))).all())
    touched: dict[int, Case] = {}
    for case in await group_alerts(session, alerts, principal):
        if case is not None:
            touched[case.id] = case
    return list(touched.values())


# ---------------------------------------------------------------------------------------------
# the state machine


async def transition(session: AsyncSession, principal: Principal, case_id: int, to: str, *,
                     reason: str | None = None, penalty: str | None = None) -> Case:
    case = await get_case(session, principal, case_id, Perm.case_manage)
    try:
        target = CaseStatus(to)
    except ValueError:
        raise InvalidInput(f"unknown status {to!r}", code="unknown_status") from None
    current = case.status
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none"
        raise Conflict(f"a case in {current.value} cannot move to {target.value} "
                       f"(allowed: {allowed})", code="invalid_transition")
    reason = (reason or "").strip() or None
    before = _case_payload(case)
    now = utcnow()
    detail: dict[str, Any] = {}
    if reason:
        detail["reason"] = reason[:1000]

    if (target in DECISIONS or target == S.appealed) and not reason:
        raise InvalidInput(f"moving to {target.value} needs a reason", code="reason_required")
    if current == S.new:
        case.triaged_at = now
    if target in DECISIONS and current in (S.triage, S.investigating):
        if case.triaged_at is None:
            case.triaged_at = now
        case.decision = target.value
        case.decided_at = now
        case.decided_by_user_id = principal.user_id
    if target == S.penalty_proposed and case.subject != "agent":
        raise Conflict("this case is about a customer's attempt: the agent was its recipient, "
                       "so no penalty can be proposed against them", code="subject_is_customer")
    if target == S.penalty_proposed:
        text = (penalty or "").strip()
        if not text:
            raise InvalidInput("a penalty proposal needs the penalty", code="penalty_required")
        case.penalty = text[:500]
        case.penalty_proposed_by_user_id = principal.user_id
        detail["penalty"] = case.penalty
    if current == S.penalty_proposed:
        # Four eyes: approving or rejecting a proposal is for someone other than the proposer.
        if not principal.can(Perm.case_approve):
            raise Forbidden(f"your roles do not grant {Perm.case_approve.value}")
        if case.penalty_proposed_by_user_id == principal.user_id:
            raise Forbidden("a penalty must be approved by someone other than its proposer",
                            code="four_eyes")
        if target == S.penalty_approved:
            case.penalty_approved_by_user_id = principal.user_id
        else:  # rejected: back to substantiated, a new proposal is needed
            case.penalty = None
            case.penalty_proposed_by_user_id = None
    if target == S.closed:
        case.closed_at = now
    if target == S.appealed:
        case.appeal_count += 1
        case.closed_at = None
    if current == S.appealed:
        if case.decided_by_user_id == principal.user_id:
            raise Forbidden("an appeal must be decided by someone other than the person who "
                            "made the decision", code="four_eyes")
        detail["appeal"] = "upheld" if target == S.closed else "overturned"
        if target == S.closed:
            case.closed_at = now
        else:  # overturned: decided afresh
            case.decision = None
            case.decided_at = None
            case.decided_by_user_id = None
            case.penalty = None
            case.penalty_proposed_by_user_id = None
            case.penalty_approved_by_user_id = None
            policy = await case_policy(session, case.tenant_id)
            case.decision_due_at = add_working_days(now, policy.decision_working_days,
                                                    policy.timezone)
    case.status = target
    case.updated_at = now
    await _record(session, case, principal, "transition", from_status=current.value,
                  to_status=target.value, detail=detail, before=before)
    if target in DECISIONS:
        await notify_case(session, case, "case.decided")
        await webhooks.emit(session, case.tenant_id, "case.decided", {
            **_case_payload(case), "decided_at": case.decided_at})
    if target == S.substantiated:
        from probity.performance.notify import notify_deduction  # the agent's score changes

        await notify_deduction(session, case, reason)
    return case


async def sla_sweep(session: AsyncSession, principal: Principal | None,
                    now: datetime | None = None) -> list[tuple[int, str, str]]:
    """Record (event, audit, ledger) and notify each SLA warning or breach once per clock.
    Run it every few minutes (POST /api/v1/cases/sla-sweep or a scheduled job)."""
    now = now or utcnow()
    q = select(Case).where(or_(Case.triaged_at.is_(None), Case.decided_at.is_(None)))
    if principal is not None:
        q = q.where(principal.scope(Perm.case_manage).filter(
            Case.tenant_id, Case.org_unit_id))
    done: list[tuple[int, str, str]] = []
    for case in (await session.scalars(q.order_by(Case.id))).all():
        view = sla_view(case, now)
        pending = [(clock, view[clock]) for clock in ("triage", "decision")
                   if view[clock] in ("warning", "breached")]
        if not pending:
            continue
        seen = {(e.kind, (e.detail or {}).get("clock")) for e in (await session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id,
                                    CaseEvent.kind.in_(["sla_warning", "sla_breached"])))).all()}
        for clock, state in pending:
            kind = f"sla_{state}"
            if (kind, clock) in seen:
                continue
            due = case.triage_due_at if clock == "triage" else case.decision_due_at
            await _record(session, case, principal, kind,
                          detail={"clock": clock, "due_at": format_time(due)})
            await notify_case(session, case, f"case.{kind}")
            done.append((case.id, clock, state))
    return done


async def assign(session: AsyncSession, principal: Principal, case_id: int,
                 user_id: int | None) -> Case:
    case = await get_case(session, principal, case_id, Perm.case_manage)
    if user_id is not None:
        await _check_assignee(session, case, user_id)
    before = _case_payload(case)
    case.assignee_user_id = user_id
    case.updated_at = utcnow()
    await _record(session, case, principal, "assigned", before=before,
                  detail={"assignee_user_id": user_id})
    return case


async def _check_assignee(session: AsyncSession, case: Case, user_id: int) -> None:
    """The assignee must hold case.manage over the case's subsidiary."""
    roles = [r for r, perms in ROLE_PERMISSIONS.items() if Perm.case_manage in perms]
    path = await session.scalar(select(Tenant.path).where(Tenant.id == case.tenant_id))
    rows = (await session.execute(
        select(Tenant.path).join(RoleAssignment, RoleAssignment.tenant_id == Tenant.id)
        .join(User, User.id == RoleAssignment.user_id)
        .where(RoleAssignment.user_id == user_id, RoleAssignment.role.in_(roles),
               RoleAssignment.org_unit_id.is_(None)))).scalars().all()
    if not path or not any(path.startswith(p) for p in rows):
        raise InvalidInput("the assignee cannot manage cases of this subsidiary",
                           code="unknown_assignee")


async def set_severity(session: AsyncSession, principal: Principal, case_id: int,
                       severity: int) -> Case:
    case = await get_case(session, principal, case_id, Perm.case_manage)
    if not SEVERITY_MIN <= severity <= SEVERITY_MAX:
        raise InvalidInput(f"severity is {SEVERITY_MIN}…{SEVERITY_MAX}")
    before = _case_payload(case)
    case.severity = severity
    case.updated_at = utcnow()
    await _record(session, case, principal, "severity", before=before,
                  detail={"severity": severity})
    return case


async def add_note(session: AsyncSession, principal: Principal, case_id: int,
                   body: str) -> CaseNote:
    case = await get_case(session, principal, case_id, Perm.case_manage)
    text = body.strip()
    if not text:
        raise InvalidInput("a note cannot be empty", code="empty_note")
    note = CaseNote(case_id=case.id, tenant_id=case.tenant_id, author_user_id=principal.user_id,
                    body=text, created_at=utcnow())
    session.add(note)
    await session.flush()
    await _record(session, case, principal, "note", detail={"note_id": note.id,
                                                           "chars": len(text)})
    return note


async def open_from_alerts(session: AsyncSession, principal: Principal, alert_ids: list[int],
                           title: str | None) -> Case:
    scope = principal.scope(Perm.case_manage)
    alerts = list((await session.scalars(select(Alert).where(
        Alert.id.in_(alert_ids), scope.filter(Alert.tenant_id, Alert.org_unit_id)
    ).order_by(Alert.id))).all())
    if len(alerts) != len(set(alert_ids)):
        raise InvalidInput("unknown or out-of-scope alert id", code="unknown_alert")
    return await open_case(session, principal, alerts, title=title)


async def report(session: AsyncSession, principal: Principal, *, tenant_id: int, source: str,
                 text: str, agent_employee_id: int | None, customer_id: int | None,
                 severity: int | None) -> tuple[Alert, Case | None]:
    """A customer report or an agent's self-report, recorded as an alert and grouped."""
    if source not in ("customer_report", "self_report"):
        raise InvalidInput("source is customer_report or self_report")
    if not text.strip():
        raise InvalidInput("the report text is empty", code="empty_report")
    await tenant_in_scope(session, principal, Perm.case_manage, tenant_id)
    org_unit_id = None
    if agent_employee_id is not None:
        emp = await session.scalar(select(Employee).where(
            Employee.id == agent_employee_id, Employee.tenant_id == tenant_id))
        if emp is None:
            raise InvalidInput("unknown agent", code="unknown_employee")
        org_unit_id = emp.org_unit_id
    if customer_id is not None and not await session.scalar(select(Customer.id).where(
            Customer.id == customer_id, Customer.tenant_id == tenant_id)):
        raise InvalidInput("unknown customer", code="unknown_customer")
    return await _raise_report(session, principal, tenant_id=tenant_id, source=source,
                               text=text, agent_employee_id=agent_employee_id,
                               customer_id=customer_id, org_unit_id=org_unit_id,
                               severity=severity)


async def _raise_report(session: AsyncSession, principal: Principal, *, tenant_id: int,
                        source: str, text: str, agent_employee_id: int | None,
                        customer_id: int | None, org_unit_id: int | None,
                        severity: int | None, conversation_id: int | None = None
                        ) -> tuple[Alert, Case | None]:
    from probity.finance.rules import screen_report

    categories, sev, masked = screen_report(text)
    names_payment = bool({"payment", "bribe"} & set(categories))
    alert = Alert(
        tenant_id=tenant_id, org_unit_id=org_unit_id, conversation_id=conversation_id,
        message_id=None, sender_role="customer" if source == "customer_report" else "agent",
        sender_user_id=principal.user_id, agent_employee_id=agent_employee_id,
        decision="warn", category=categories[0] if categories else "report",
        categories=categories, severity=severity or max(sev, 3 if names_payment else 1),
        snippet=masked[:200], spans=[], source=source,
        rule="report_private_payment" if names_payment and source == "customer_report" else None,
        customer_id=customer_id, evidence={"text": text[:2000], "categories": categories},
        created_at=utcnow(),
        # A self-report is about the customer who made the offer; the agent declined it.
        subject="customer" if source == "self_report" else "agent",
        agent_part="refuser" if source == "self_report" else "initiator",
    )
    session.add(alert)
    await session.flush()
    from probity.ledger.facts import ledger_alert

    await ledger_alert(session, alert)
    record_audit(session, principal, f"alert.{source}", target_type="alert", target_id=alert.id,
                 tenant_id=tenant_id, after={"categories": categories,
                                             "agent_employee_id": agent_employee_id,
                                             "customer_id": customer_id})
    case = await group_alert(session, alert, principal)
    return alert, case


async def self_report(session: AsyncSession, principal: Principal, text: str,
                      conversation_id: int | None) -> tuple[Alert, Case | None]:
    """An agent reports, in their own name, an offer of a red envelope or side payment."""
    if principal.employee_id is None:
        raise Forbidden("only an employee can self-report")
    emp = await session.get(Employee, principal.employee_id)
    if emp is None:
        raise Forbidden("only an employee can self-report")
    customer_id = None
    if conversation_id is not None:
        conv = await session.scalar(select(Conversation).where(
            Conversation.id == conversation_id,
            Conversation.agent_employee_id == principal.employee_id))
        if conv is None:
            raise InvalidInput("not one of your conversations", code="unknown_conversation")
        customer_id = conv.customer_id
    if not text.strip():
        raise InvalidInput("the report text is empty", code="empty_report")
    return await _raise_report(session, principal, tenant_id=emp.tenant_id, source="self_report",
                               text=text, agent_employee_id=emp.id, customer_id=customer_id,
                               org_unit_id=emp.org_unit_id, severity=None,
                               conversation_id=conversation_id)


async def customer_report(session: AsyncSession, principal: Principal, text: str,
                          conversation_id: int | None) -> tuple[Alert, Case | None]:
    """A signed-in customer's complaint: about one of their conversations, or in general."""
    if principal.customer_id is None:
        raise Forbidden("only a customer can file a customer report")
    customer = await session.get(Customer, principal.customer_id)
    if customer is None:
        raise Forbidden("only a customer can file a customer report")
    agent_id = org_unit_id = None
    if conversation_id is not None:
        conv = await session.scalar(select(Conversation).where(
            Conversation.id == conversation_id, Conversation.customer_id == customer.id))
        if conv is None:
            raise InvalidInput("not one of your conversations", code="unknown_conversation")
        agent_id, org_unit_id = conv.agent_employee_id, conv.org_unit_id
    if not text.strip():
        raise InvalidInput("the report text is empty", code="empty_report")
    return await _raise_report(session, principal, tenant_id=customer.tenant_id,
                               source="customer_report", text=text, agent_employee_id=agent_id,
                               customer_id=customer.id, org_unit_id=org_unit_id, severity=None,
                               conversation_id=conversation_id)


async def my_cases(session: AsyncSession, principal: Principal) -> list[Case]:
    """The decided cases about the signed-in employee (what they may appeal)."""
    if principal.employee_id is None:
        return []
    return list((await session.scalars(select(Case).where(
        Case.agent_employee_id == principal.employee_id, Case.subject == "agent",
        Case.decision.is_not(None))
        .order_by(Case.id.desc()))).all())


async def appeal_by_subject(session: AsyncSession, principal: Principal, case_id: int,
                            reason: str) -> Case:
    """The employee a closed case is about appeals its decision (closed → appealed)."""
    case = await session.scalar(select(Case).where(
        Case.id == case_id, Case.agent_employee_id == principal.employee_id,
        Case.agent_employee_id.is_not(None)))
    if case is None:
        raise NotFound("no such case")
    if case.status != S.closed:
        raise Conflict("only a closed case can be appealed", code="invalid_transition")
    text = reason.strip()
    if not text:
        raise InvalidInput("an appeal needs a reason", code="reason_required")
    before = _case_payload(case)
    case.status = S.appealed
    case.appeal_count += 1
    case.closed_at = None
    case.updated_at = utcnow()
    await _record(session, case, principal, "transition", from_status=S.closed.value,
                  to_status=S.appealed.value, detail={"reason": text[:1000],
                                                      "appeal": "filed by the employee"},
                  before=before)
    return case


# ---------------------------------------------------------------------------------------------
# the timeline


async def timeline(session: AsyncSession, principal: Principal, case: Case, *,
                   kinds: set[str] | None = None, limit: int = 500,
                   since: datetime | None = None, until: datetime | None = None
                   ) -> list[dict[str, Any]]:
    """Messages (with screened spans), alerts, orders, payments, refunds, events and notes around
    the case's agent and customer, oldest first."""
    kinds = kinds or set(TIMELINE_KINDS)
    items: list[dict[str, Any]] = []
    alerts = await case_alerts(session, case.id)
    conv_ids = {a.conversation_id for a in alerts if a.conversation_id is not None}
    if case.customer_id is not None:
        cq = select(Conversation.id).where(Conversation.customer_id == case.customer_id)
        if case.agent_employee_id is not None:
            cq = cq.where(Conversation.agent_employee_id == case.agent_employee_id)
        conv_ids |= set((await session.scalars(cq.limit(50))).all())
    if "message" in kinds and conv_ids:
        evidence = principal.can(Perm.chat_evidence)
        msgs = (await session.scalars(select(Message).where(
            Message.conversation_id.in_(conv_ids)).order_by(Message.id).limit(limit))).all()
        for m in msgs:
            hidden = m.decision == "block" and not evidence
            items.append({"at": m.created_at, "kind": "message", "id": m.id,
                          "title": f"{m.sender_role} · {m.decision}",
                          "text": "" if hidden else m.body,
                          "spans": [] if hidden else list(m.spans or []),
                          "hidden": hidden, "conversation_id": m.conversation_id,
                          "decision": m.decision, "sender_role": m.sender_role})
        # Reading conversations one takes no part in goes into the access log; the case is
        # the reason.
        from probity.ledger.access import record_access

        for cid in sorted(conv_ids):
            await record_access(session, principal, "conversation", cid, case.tenant_id,
                                f"case #{case.id}")
    if "alert" in kinds:
        for a in alerts:
            items.append({"at": a.created_at, "kind": "alert", "id": a.id,
                          "title": f"{a.source} · {a.rule or a.category} · sev {a.severity}",
                          "text": a.snippet, "evidence": a.evidence, "source": a.source,
                          "rule": a.rule, "category": a.category, "severity": a.severity})
    if case.customer_id is not None:
        if "order" in kinds:
            for o in (await session.scalars(select(Order).where(
                    Order.customer_id == case.customer_id).order_by(Order.id).limit(limit))):
                items.append({"at": o.placed_at, "kind": "order", "id": o.id,
                              "title": f"{o.order_no} · {o.status.value}",
                              "text": f"{o.item} · {o.amount} {o.currency}",
                              "ref": o.order_no, "code": o.status.value})
        if "payment" in kinds:
            for p in (await session.scalars(select(Payment).where(
                    Payment.customer_id == case.customer_id).order_by(Payment.id).limit(limit))):
                items.append({"at": p.paid_at, "kind": "payment", "id": p.id,
                              "title": f"{p.payment_no} · {p.method.value}",
                              "text": f"{p.amount} {p.currency} → {p.payee_account}",
                              "ref": p.payment_no, "code": p.method.value})
        if "refund" in kinds:
            for r in (await session.scalars(select(Refund).where(
                    Refund.customer_id == case.customer_id).order_by(Refund.id).limit(limit))):
                items.append({"at": r.refunded_at, "kind": "refund", "id": r.id,
                              "title": f"{r.refund_no} · {r.kind}",
                              "text": f"{r.amount} {r.currency} · {r.reason}",
                              "approved_by_employee_id": r.approved_by_employee_id,
                              "ref": r.refund_no, "code": r.kind})
    if "event" in kinds:
        for e in await case_events(session, case.id):
            items.append({"at": e.created_at, "kind": "event", "id": e.id,
                          "title": e.kind + (f" → {e.to_status}" if e.to_status else ""),
                          "text": str(e.detail.get("reason", "")) if e.detail else "",
                          "event": e.kind, "from_status": e.from_status,
                          "to_status": e.to_status, "actor_user_id": e.actor_user_id,
                          "detail": dict(e.detail or {})})
    if "note" in kinds:
        for n in await case_notes(session, case.id):
            items.append({"at": n.created_at, "kind": "note", "id": n.id, "title": "note",
                          "text": n.body, "author_user_id": n.author_user_id})
    if since is not None:
        items = [i for i in items if i["at"] >= since]
    if until is not None:
        items = [i for i in items if i["at"] < until]
    items.sort(key=lambda i: (i["at"], TIMELINE_KINDS.index(i["kind"]), i["id"]))
    return items


async def count_by_status(session: AsyncSession, principal: Principal) -> dict[str, int]:
    q = scoped_cases(principal).with_only_columns(Case.status, func.count()).group_by(Case.status)
    return {str(getattr(s, "value", s)): n for s, n in (await session.execute(q)).all()}
