"""`group_alerts` (the batch the finance rules use) against `group_alert` one alert at a time:
the same cases, case events, audit rows, ledger entries, webhook deliveries and notifications,
with the per-tenant reads (case policy, subscribers, notification rules) made once."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.cases.helpers import customers, make_alert, team_agents, tenant

from probity.cases import service
from probity.ledger.service import verify_tenant
from probity.models import (
    Alert,
    AuditEntry,
    Case,
    CaseAlert,
    CaseEvent,
    LedgerEntry,
    Notification,
    Tenant,
)
from probity.models.base import utcnow
from probity.models.webhooks import WebhookDelivery, WebhookEndpoint

VOLATILE = {"case_id", "event_id", "at", "created_at", "updated_at", "timestamp",
            "triage_due_at", "decision_due_at", "last_alert_at", "_salt", "audit_id"}


def _clean(value: Any, cases: dict[int, int]) -> Any:
    """A payload with case ids as their rank in the run and times left out."""
    if isinstance(value, dict):
        if value.get("target_type") == "case":  # an audit row's entry: its target is a case
            value = dict(value)
            value["case_id"] = int(value.pop("target_id"))
        return {k: (cases.get(v, v) if k == "case_id" else _clean(v, cases))
                for k, v in value.items() if k not in VOLATILE or k == "case_id"}
    if isinstance(value, list):
        return [_clean(v, cases) for v in value]
    return value


async def _snapshot(db: AsyncSession, since: dict[str, int], results: list[Case | None]
                    ) -> dict[str, Any]:
    await db.flush()
    new_cases = list((await db.scalars(select(Case).where(Case.id > since["case"])
                                       .order_by(Case.id))).all())
    rank = {c.id: i for i, c in enumerate(new_cases)}
    old = {c.id: -1 - i for i, c in enumerate((await db.scalars(
        select(Case).where(Case.id <= since["case"]).order_by(Case.id.desc()))).all())}
    ranks = {**old, **rank}
    events = (await db.execute(select(CaseEvent.case_id, CaseEvent.kind, CaseEvent.from_status,
                                      CaseEvent.to_status, CaseEvent.detail)
                               .where(CaseEvent.id > since["event"])
                               .order_by(CaseEvent.id))).all()
    ledger = (await db.execute(select(LedgerEntry.tenant_id, LedgerEntry.type,
                                      LedgerEntry.payload)
                               .where(LedgerEntry.id > since["ledger"])
                               .order_by(LedgerEntry.id))).all()
    audits = (await db.execute(select(AuditEntry.action, AuditEntry.target_id,
                                      AuditEntry.after)
                               .where(AuditEntry.id > since["audit"])
                               .order_by(AuditEntry.id))).all()
    deliveries = (await db.execute(select(WebhookDelivery.endpoint_id,
                                          WebhookDelivery.event_type, WebhookDelivery.body)
                                   .where(WebhookDelivery.id > since["delivery"])
                                   .order_by(WebhookDelivery.id))).all()
    notes = (await db.execute(select(Notification.user_id, Notification.event,
                                     Notification.case_id)
                              .where(Notification.id > since["notification"])
                              .order_by(Notification.id))).all()
    links = (await db.execute(select(CaseAlert.alert_id, CaseAlert.case_id)
                              .where(CaseAlert.id > since["link"])
                              .order_by(CaseAlert.id))).all()
    return {
        "results": [None if c is None else ranks[c.id] for c in results],
        "cases": [(c.tenant_id, c.agent_employee_id, c.customer_id, c.subject, c.status,
                   c.severity, c.title, c.last_alert_at) for c in new_cases],
        "links": [(a, ranks[c]) for a, c in links],
        "events": [(ranks[c], k, f, t, _clean(d, ranks)) for c, k, f, t, d in events],
        # Per tenant and type: the batch appends its case events together at the end, so they
        # no longer interleave with the audit rows' entries, which are appended per flush —
        # fewer flushes, and within one flush their order is the unit of work's: those are
        # compared as a set, the case events in order.
        "ledger": sorted([(t, ty, _clean(json.loads(p), ranks)) for t, ty, p in ledger],
                         key=lambda e: (e[0], e[1], json.dumps(e[2], sort_keys=True)
                                        if e[1] == "audit.entry" else "")),
        "audit": [(a, str(ranks.get(int(t), t)) if t else t, _clean(af, ranks))
                  for a, t, af in audits],
        "deliveries": [(e, ty, _clean(json.loads(b), ranks)) for e, ty, b in deliveries],
        "notifications": [(u, e, ranks.get(c, c)) for u, e, c in notes],
    }


async def _one_by_one(db: AsyncSession, alerts: list[Alert]) -> list[Case | None]:
    """The per-alert path the batch replaces, kept here as the reference: for each alert,
    whether it is in a case, its parties, the policy, `duty.route_alert` (the tenant's chain and
    shifts read, the notifications flushed), the webhook, then the case it joins (its open
    cases read) or a new one (`open_case`, flushed), the event's ledger entry appended at once."""
    from probity import webhooks
    from probity.duty.service import route_alert
    from probity.webhooks.events import alert_event

    out: list[Case | None] = []
    for alert in alerts:
        if await db.scalar(select(CaseAlert.id).where(CaseAlert.alert_id == alert.id)):
            out.append(None)
            continue
        agent_id, customer_id = await service._alert_parties(db, alert)
        policy = await service.case_policy(db, alert.tenant_id)
        await route_alert(db, alert)
        await webhooks.emit(db, alert.tenant_id, "alert.created", alert_event(alert))
        case = None
        if agent_id is not None or customer_id is not None:
            open_ = await service._open_cases(db, alert.tenant_id, policy,
                                              [(alert, agent_id, customer_id)])
            case = max((c for c in open_
                        if service._joins(c, alert, agent_id, customer_id, policy)),
                       key=lambda c: (c.last_alert_at, c.id), default=None)
        if case is None:
            case = await service.open_case(db, None, [alert], parties=(agent_id, customer_id))
        else:
            db.add(CaseAlert(case_id=case.id, alert_id=alert.id, created_at=utcnow()))
            before = service._case_payload(case)
            case.last_alert_at = max(case.last_alert_at, alert.created_at)
            case.severity = max(case.severity, service._severity_of([alert]))
            case.updated_at = utcnow()
            await service._record(db, case, None, "alert_added", before=before,
                                  detail={"alert_id": alert.id})
        out.append(case)
    return out


async def _marks(db: AsyncSession) -> dict[str, int]:
    async def top(col: Any) -> int:
        return int(await db.scalar(select(col).order_by(col.desc()).limit(1)) or 0)

    return {"case": await top(Case.id), "event": await top(CaseEvent.id),
            "ledger": await top(LedgerEntry.id), "audit": await top(AuditEntry.id),
            "delivery": await top(WebhookDelivery.id),
            "notification": await top(Notification.id), "link": await top(CaseAlert.id)}


async def _alerts(db: AsyncSession) -> list[Alert]:
    t = await tenant(db, "ECOM")
    a1, a2 = await team_agents(db, t.id)
    c1, c2 = await customers(db, t.id)
    now = utcnow()
    # An open case before the run, that the first alert joins.
    before = await make_alert(db, t, a1, c1, at=now - timedelta(hours=10))
    assert await service.group_alert(db, before) is not None
    alerts = [
        await make_alert(db, t, a1, c1, at=now - timedelta(hours=6)),   # joins that case
        await make_alert(db, t, a1, c2, at=now - timedelta(hours=5)),   # opens a case
        await make_alert(db, t, a1, c2, at=now - timedelta(hours=4), severity=4),  # joins it
        await make_alert(db, t, a2, None, at=now - timedelta(hours=3)),  # no customer
        await make_alert(db, t, None, None, at=now - timedelta(hours=3)),  # no party at all
        await make_alert(db, t, a2, c1, at=now - timedelta(hours=2), subject="customer",
                         agent_part="recipient"),  # the customer's attempt: its own case
        await make_alert(db, t, a2, c1, at=now - timedelta(hours=1)),   # the agent's: another
        await make_alert(db, t, a1, c1, at=now + timedelta(hours=90)),  # past the window
    ]
    hk = await tenant(db, "HQ")
    other = await db.scalar(select(Tenant).where(Tenant.id != t.id, Tenant.id != hk.id,
                                                 Tenant.parent_id.is_not(None)))
    assert other is not None
    (c3,) = await customers(db, other.id, 1)
    alerts.append(await make_alert(db, other, None, c3))  # another subsidiary
    alerts.append(alerts[2])  # the same alert twice: grouped once
    # Subscribers: the group hears everything, the subsidiary its cases.
    for tid, events in ((hk.id, ["*"]), (t.id, ["case.changed"])):
        db.add(WebhookEndpoint(tenant_id=tid, url="https://example.invalid/hook",
                               events=events, secret="whsec_test", active=True))
    await db.flush()
    return alerts


async def test_batch_grouping_matches_one_by_one(db: AsyncSession) -> None:
    alerts = await _alerts(db)
    marks = await _marks(db)
    one = await db.begin_nested()
    singly = await _one_by_one(db, alerts)
    expected = await _snapshot(db, marks, singly)
    await one.rollback()
    assert await _marks(db) == marks

    batch = await service.group_alerts(db, alerts)
    got = await _snapshot(db, marks, batch)
    for key, want in expected.items():
        assert len(got[key]) == len(want), key
        for g, w in zip(got[key], want, strict=True):
            assert g == w, key
    # What the run produced, in words: two joins, seven new cases, the dedupe.
    assert got["results"][0] == -1 and got["results"][-1] is None
    assert len(got["cases"]) == 7
    assert [e[1] for e in got["events"]].count("alert_added") == 2
    assert any(d[1] == "alert.created" for d in got["deliveries"])
    # Already grouped: a second run groups nothing.
    assert await service.group_alerts(db, alerts) == [None] * len(alerts)
    for tid in {a.tenant_id for a in alerts}:
        # The chain (the test alerts themselves are not ledgered: rows_too=False).
        result = await verify_tenant(db, tid, rows_too=False)
        assert result.ok, (result.message, result.first_bad_seq, result.problems[:3])


async def test_batch_reads_the_policy_once_per_tenant(db: AsyncSession,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-tenant reads do not grow with the alerts: a 100-alert run reads the tenant's
    governance settings (case policy, notification standard) as often as a 2-alert run."""
    from probity import governance

    t = await tenant(db, "ECOM")
    a1, a2 = await team_agents(db, t.id)
    cs = await customers(db, t.id, 2)
    reads: list[type] = []
    real = governance.effective_settings

    async def counted(session: AsyncSession, tenant_id: int, section: type) -> Any:
        reads.append(section)
        return await real(session, tenant_id, section)

    monkeypatch.setattr(governance, "effective_settings", counted)

    async def run(n: int, hours: int) -> int:
        at = utcnow() + timedelta(hours=hours)  # past the window of the runs before: new cases
        alerts = [await make_alert(db, t, (a1, a2)[i % 2], cs[i % 2], at=at)
                  for i in range(n)]
        reads.clear()
        cases = await service.group_alerts(db, alerts)
        assert len({c.id for c in cases if c is not None}) == 2
        return len(reads)

    small = await run(2, 200)
    assert small > 0
    assert await run(100, 400) == small


async def test_batch_routes_alerts_to_duty_as_one_by_one(
        db: AsyncSession, monkeypatch: pytest.MonkeyPatch) -> None:
    """The duty routing of a batch (chains, shifts, people, robot rules read once per batch;
    no flush per alert) against `group_alert` alert by alert: the same duty notifications
    (who, which alert, title, link), the same robot sends after commit, in the same order —
    over several subsidiaries, the subsidiary's own roster, the group's when it has nobody,
    shift edges, nobody on duty, and alerts that join a case as well as ones that open one."""
    from sqlalchemy import delete

    from probity.auth.effects import AFTER_COMMIT
    from probity.models import NotificationRule, User
    from probity.models.duty import DutyShift

    alerts = await _alerts(db)
    await db.execute(delete(DutyShift))
    t = await tenant(db, "ECOM")
    hq = await tenant(db, "HQ")
    people = list((await db.scalars(select(User).where(
        User.employee_id.is_not(None), User.is_active.is_(True)).order_by(User.id)
        .limit(3))).all())
    assert len(people) == 3
    now = utcnow()
    # ECOM's own roster from 6.5 h ago for 3 h (two people, one from 5 h ago); the group's
    # roster all along, which covers ECOM only when ECOM has nobody, and the other subsidiary.
    for emp, start, hours, tid in (
            (people[0], now - timedelta(hours=6, minutes=30), 3, t.id),
            (people[1], now - timedelta(hours=5), 4, t.id),
            (people[2], now - timedelta(hours=12), 200, hq.id)):
        db.add(DutyShift(tenant_id=tid, employee_id=emp.employee_id, starts_at=start,
                         ends_at=start + timedelta(hours=hours), note=""))
    robot = "https://robot.invalid/duty"
    db.add(NotificationRule(tenant_id=hq.id, role=None, min_severity=3, channel="wecom",
                            events="duty.alert", target=robot, secret=None, active=True))
    db.add(NotificationRule(tenant_id=t.id, role=None, min_severity=1, channel="wecom",
                            events="duty.alert,case.opened", target=robot + "/ecom",
                            secret=None, active=True))
    await db.flush()
    sent: list[Any] = []

    def plain(text: str) -> str:
        """A robot's text without what differs between runs: case ids, due times."""
        text = re.sub(r"(case #|/cases/)\d+", r"\1N", text, flags=re.IGNORECASE)
        return "\n".join(line for line in text.splitlines() if "due:" not in line)

    async def fake_send(outgoing: list[Any], _settings: Any) -> None:
        sent.append([(o.channel, o.target, plain(o.text) if o.target.startswith(robot) else "")
                     for o in outgoing])

    async def fake_dispatch(_job_id: int, task: str) -> None:
        sent.append(task)

    monkeypatch.setattr("probity.notify.service.send_all", fake_send)
    monkeypatch.setattr("probity.jobs.runtime.dispatch", fake_dispatch)

    async def effects() -> list[Any]:
        sent.clear()
        for effect in db.info.pop(AFTER_COMMIT, []):
            await effect()
        return list(sent)

    async def duty_notes(since: int) -> list[Any]:
        return [tuple(r) for r in (await db.execute(
            select(Notification.tenant_id, Notification.user_id, Notification.event,
                   Notification.title, Notification.body, Notification.case_id)
            .where(Notification.id > since, Notification.event == "duty.alert")
            .order_by(Notification.id))).all()]

    db.info.pop(AFTER_COMMIT, None)
    marks = await _marks(db)
    one = await db.begin_nested()
    singly = await _one_by_one(db, alerts)
    expected = await _snapshot(db, marks, singly)
    want_notes = await duty_notes(marks["notification"])
    want_sent = await effects()
    await one.rollback()

    batch = await service.group_alerts(db, alerts)
    got = await _snapshot(db, marks, batch)
    assert got == expected
    assert await duty_notes(marks["notification"]) == want_notes
    assert await effects() == want_sent
    # In words: each roster's people were told, the group's robot heard the severe alert.
    told = {n[1] for n in want_notes}
    assert told == {p.id for p in people}
    robots = [o for b in want_sent if isinstance(b, list) for o in b]
    assert any(target == robot for _c, target, _t in robots)
    assert sum(target == robot + "/ecom" for _c, target, _t in robots) >= 3


async def test_batch_reads_do_not_grow_with_the_alerts(db: AsyncSession) -> None:
    """A batch's reads are per round and tenant, not per alert: 60 alerts (new cases
    and joins, two subsidiaries, someone on duty) read as often as 6. (Its writes are
    one flush per round; SQLite still sends a statement per row where ids come back.)"""
    from sqlalchemy import event

    from probity.models import User
    from probity.models.duty import DutyShift

    t = await tenant(db, "ECOM")
    hk = await tenant(db, "HQ")
    other = await db.scalar(select(Tenant).where(Tenant.id != t.id, Tenant.id != hk.id,
                                                 Tenant.parent_id.is_not(None)))
    assert other is not None
    a1, a2 = await team_agents(db, t.id)
    cs = await customers(db, t.id, 2)
    (c3,) = await customers(db, other.id, 1)
    hr = await db.scalar(select(User).where(User.employee_id.is_not(None)).limit(1))
    assert hr is not None
    count = 0

    def counted(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        nonlocal count
        count += statement.lstrip().upper().startswith("SELECT")

    engine = db.bind.sync_engine  # type: ignore[union-attr]

    async def run(n: int, hours: int) -> int:
        nonlocal count
        at = utcnow() + timedelta(hours=hours)
        db.add(DutyShift(tenant_id=hk.id, employee_id=hr.employee_id, starts_at=at,
                         ends_at=at + timedelta(hours=1), note=""))
        alerts = []
        for i in range(n):
            alerts.append(await make_alert(db, t, (a1, a2)[i % 2], cs[i % 3 // 2],
                                           at=at + timedelta(seconds=i)))
            alerts.append(await make_alert(db, other, None, c3, at=at + timedelta(seconds=i)))
        await db.flush()
        count = 0
        event.listen(engine, "before_cursor_execute", counted)
        try:
            await service.group_alerts(db, alerts)
            await db.flush()
        finally:
            event.remove(engine, "before_cursor_execute", counted)
        return count

    await run(3, 300)  # the first run also reads what the transaction caches (ledger heads)
    small = await run(3, 600)
    assert small > 0
    assert await run(30, 900) == small
