"""Monitoring rules in force, applied where it is cheap.

* **Tighter screening** (`policy_for_sender`): the chat send path asks, after choosing the
  tenant's compiled policy, whether a rule with ``tighten`` covers this sender now (tenant,
  local weekday/hour in the tenant's zone; for agents also their team and tenure band). If so it
  screens with a copy of the compiled policy whose warnings are blocks (``block_at = warn_at``,
  per-role caps ``warn`` → ``block``); the copy shares every table with the original and is made
  once per compiled policy. Rules are read at most every `RULES_TTL_S` seconds per process; with
  no rule in force the check is two dict lookups.
* **QA sampling and alerts to HR on duty** (`on_batch`): called by the rollup hook with the
  writer's batch. A conversation in a QA rule's cohort is sampled deterministically (a hash of the
  conversation and the rule below the sample rate) into `qa_reviews`. A warn/block in a
  ``notify_duty`` rule's cohort is an alert that the duty roster already routes to whoever is
  on HR duty (`duty.service.route_alert`, same transaction): the rule marks those messages so
  that the one duty notification names it (`duty.service.mark_rule_messages`) — HR on duty is
  told once, not twice. With nobody on duty, the rule tells the tenant's HR accounts in-app
  (`notify_hr_accounts`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from probity.i18n import deferred
from probity.models import MonitoringRule, QaReview, RoleAssignment, Tenant
from probity.models.base import utcnow
from probity.notify.text import Deferred, in_app

if TYPE_CHECKING:
    from probity.analytics.rollup import Cohort, Event
    from probity.screening import CompiledPolicy

RULES_TTL_S = 5.0


@dataclass(frozen=True)
class RuleView:
    id: int
    tenant_ids: frozenset[int]
    team_ids: frozenset[int]
    tenure_band: str | None
    days: frozenset[int] | None
    start_hour: int | None
    end_hour: int | None
    tighten: bool
    qa_sample_rate: float
    notify_duty: bool
    starts_at: datetime
    expires_at: datetime
    title: str

    @property
    def agent_only(self) -> bool:
        return bool(self.team_ids) or self.tenure_band is not None

    def in_window(self, dow: int, hour: int) -> bool:
        if self.days is not None and dow not in self.days:
            return False
        if self.start_hour is None or self.end_hour is None:
            return True
        if self.start_hour <= self.end_hour:
            return self.start_hour <= hour < self.end_hour
        return hour >= self.start_hour or hour < self.end_hour  # across midnight

    def covers(self, tenant_id: int, team_id: int, band: str, dow: int, hour: int) -> bool:
        return (tenant_id in self.tenant_ids
                and (not self.team_ids or team_id in self.team_ids)
                and (self.tenure_band is None or band == self.tenure_band)
                and self.in_window(dow, hour))

    def live(self, at: datetime) -> bool:
        return self.starts_at <= at < self.expires_at


def view_of(rule: MonitoringRule) -> RuleView:
    c = rule.cohort or {}
    days = c.get("days")
    return RuleView(
        id=rule.id, tenant_ids=frozenset(int(t) for t in c.get("tenant_ids") or [rule.tenant_id]),
        team_ids=frozenset(int(t) for t in c.get("team_ids") or []),
        tenure_band=c.get("tenure_band"),
        days=frozenset(int(d) for d in days) if days is not None else None,
        start_hour=c.get("start_hour"), end_hour=c.get("end_hour"), tighten=rule.tighten,
        qa_sample_rate=float(rule.qa_sample_rate or 0), notify_duty=rule.notify_duty,
        starts_at=rule.starts_at, expires_at=rule.expires_at, title=rule.title)


_rules: tuple[float, list[RuleView]] | None = None
_by_tenant: dict[int, list[RuleView]] = {}
_tight: dict[int, tuple[Any, Any]] = {}
_sampled: set[tuple[int, int]] = set()


def reset() -> None:
    """Forget the cached rules (tests; called after a rule changes in this process)."""
    global _rules, _generation
    _rules = None
    _generation += 1
    _by_tenant.clear()
    _sampled.clear()


def _fresh() -> bool:
    return _rules is not None and time.monotonic() - _rules[0] < RULES_TTL_S


_generation = 0  # reset() calls so far
_refreshing: asyncio.Future[None] | None = None


async def _refresh_rules(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """One read of the rules at a time for callers without a session (the WebSocket send
    path): every message that arrived while the cache was due read them again on the event
    loop before (177 reads in a 15 s profile window at 200 msg/s). A read that a change
    (`reset`) overtook is not kept."""
    global _refreshing
    task = _refreshing
    if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
        async def read() -> None:
            global _rules
            generation = _generation
            async with sessionmaker() as session:
                await load_rules(session)
            if generation != _generation:
                _rules = None

        task = _refreshing = asyncio.ensure_future(read())
    await asyncio.shield(task)


def quiet_for(tenant_ids: set[int]) -> bool:
    """True when the cached rules are fresh and none is in force for these tenants: then
    `on_batch` would do nothing (the chat writer's direct path asks, to skip its session)."""
    return _fresh() and not any(_by_tenant.get(t) for t in tenant_ids)


def rules_cached() -> bool:
    """Whether the last rules read found any (fresh or not): the chat writer then leaves its
    batches to the session path instead of trying its direct path first. (`_rules` is
    replaced whole, so this holds while another thread refills `_by_tenant`.)"""
    rules = _rules
    return bool(_by_tenant) or (rules is not None and bool(rules[1]))


async def load_rules(session: AsyncSession) -> list[RuleView]:
    global _rules
    if _rules is not None and _fresh():
        return _rules[1]
    now = utcnow()
    rows = (await session.scalars(select(MonitoringRule).where(
        MonitoringRule.active.is_(True), MonitoringRule.expires_at > now))).all()
    views = [view_of(r) for r in rows]
    _rules = (time.monotonic(), views)
    _by_tenant.clear()
    for v in views:
        for t in v.tenant_ids:
            _by_tenant.setdefault(t, []).append(v)
    return views


def tightened(policy: CompiledPolicy) -> CompiledPolicy:
    """The policy with its warnings turned into blocks (shares every compiled table)."""
    cached = _tight.get(id(policy))
    if cached is not None and cached[0] is policy:
        return cached[1]  # type: ignore[no-any-return]
    tight = dataclasses.replace(
        policy, block_at=min(policy.block_at, policy.warn_at),
        actions={role: {cat: ("block" if act == "warn" else act) for cat, act in acts.items()}
                 for role, acts in policy.actions.items()})
    _tight[id(policy)] = (policy, tight)
    return tight


async def policy_for_sender(policy: CompiledPolicy, tenant_id: int, role: str,
                            employee_id: int | None, *,
                            session: AsyncSession | None = None,
                            sessionmaker: async_sessionmaker[AsyncSession] | None = None,
                            at: datetime | None = None) -> CompiledPolicy:
    """The compiled policy to screen this sender's message with now: `policy`, or its
    tightened copy when a ``tighten`` rule covers the sender (see the module docstring)."""
    if _fresh() and not any(r.tighten for r in _by_tenant.get(tenant_id, ())):
        return policy  # the steady state without a rule: no database, no work
    if session is None:
        if sessionmaker is None:
            return policy
        if not _fresh():
            await _refresh_rules(sessionmaker)
            if _fresh() and not any(r.tighten for r in _by_tenant.get(tenant_id, ())):
                return policy
        async with sessionmaker() as s:
            return await policy_for_sender(policy, tenant_id, role, employee_id, session=s,
                                           at=at)
    await load_rules(session)
    rules = [r for r in _by_tenant.get(tenant_id, ()) if r.tighten]
    if not rules:
        return policy
    from probity.analytics.rollup import employees, tenure_band, zones

    at = at or utcnow()
    zone = (await zones(session, [tenant_id]))[tenant_id]
    local = at.astimezone(zone)
    team, band = 0, "none"
    if role == "agent" and employee_id:
        hired, unit = (await employees(session, [employee_id]))[employee_id]
        team, band = int(unit or 0), tenure_band(hired, local.date())
    for r in rules:
        if not r.live(at) or (r.agent_only and role != "agent"):
            continue
        if r.covers(tenant_id, team, band, local.weekday(), local.hour):
            return tightened(policy)
    return policy


def sampled(conversation_id: int, rule_id: int, rate: float) -> bool:
    digest = hashlib.sha256(f"{rule_id}:{conversation_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < rate


async def notify_hr_accounts(session: AsyncSession, tenant_id: int, *, title: Deferred,
                             body: Deferred) -> list[int]:
    """A ``notify_duty`` rule's alert when nobody of HR is on duty (`probity.duty`): the HR
    accounts holding the role over the tenant are told in-app instead, so the rule's alert is
    never dropped. Returns the user ids told."""
    users = await hr_accounts(session, tenant_id)
    for uid in users:
        session.add(in_app(tenant_id=tenant_id, user_id=uid, event="monitoring.alert",
                           title=title, body=body))
    return users


async def hr_accounts(session: AsyncSession, tenant_id: int) -> list[int]:
    """User ids holding the HR role over the tenant (its own or an ancestor's grant)."""
    path = await session.scalar(select(Tenant.path).where(Tenant.id == tenant_id)) or ""
    ancestors = [int(p) for p in path.strip("/").split("/") if p]
    rows = await session.scalars(select(RoleAssignment.user_id).where(
        RoleAssignment.role == "hr", RoleAssignment.tenant_id.in_(ancestors or [tenant_id])))
    return sorted(set(rows))


async def on_batch(session: AsyncSession, events: Sequence[Event],
                   keys: Sequence[Cohort]) -> None:
    """QA sampling and duty alerts for the writer's batch (flush only)."""
    rules = await load_rules(session)
    if not rules:
        return
    now = utcnow()
    reviews: list[dict[str, Any]] = []
    notify: dict[tuple[int, int], list[Event]] = {}
    for e, k in zip(events, keys, strict=True):
        for r in _by_tenant.get(e.tenant_id, ()):
            if not r.live(e.at):
                continue
            if not r.covers(k.tenant_id, k.team_id, k.tenure_band, k.local_dow, k.local_hour):
                continue
            if r.qa_sample_rate > 0 and (r.id, e.conversation_id) not in _sampled:
                if len(_sampled) > 200_000:  # only saves statements; the insert is idempotent
                    _sampled.clear()
                _sampled.add((r.id, e.conversation_id))
                if sampled(e.conversation_id, r.id, r.qa_sample_rate):
                    reviews.append({"tenant_id": e.tenant_id, "org_unit_id": e.team_id or None,
                                    "rule_id": r.id, "conversation_id": e.conversation_id,
                                    "status": "open", "answers": {}, "note": "",
                                    "created_at": now})
            if r.notify_duty and e.decision in ("warn", "block"):
                notify.setdefault((r.id, e.tenant_id), []).append(e)
    if reviews:
        await _insert_reviews(session, reviews)
    titles = {r.id: r.title for r in rules}
    covered: dict[int, bool] = {}
    told = False
    for (rule_id, tenant_id), evs in notify.items():
        # Every warn/block of the chat writer is an alert that the duty roster routes to
        # whoever is on HR duty (in-app and robots) in this same transaction. Then the rule
        # only names itself in that notification; a second one would tell them twice. It
        # tells the tenant's HR accounts itself only when nobody is on duty.
        if tenant_id not in covered:
            covered[tenant_id] = await _duty_covers(session, tenant_id, evs[0].at)
        if covered[tenant_id] and all(e.message_id for e in evs):
            from probity.duty.service import mark_rule_messages

            mark_rule_messages(session, [e.message_id for e in evs], titles[rule_id])
            continue
        blocks = sum(1 for e in evs if e.decision == "block")
        title = deferred("Monitoring rule alert: {rule}", rule=titles[rule_id])
        body = deferred("{n} attempted violations ({blocks} blocked), conversations {ids}",
                        n=len(evs), blocks=blocks,
                        ids=", ".join(str(e.conversation_id) for e in evs[:10]))
        await notify_hr_accounts(session, tenant_id, title=title, body=body)
        told = True
    if told:
        await session.flush()


async def _duty_covers(session: AsyncSession, tenant_id: int, at: datetime) -> bool:
    """Someone of HR with an account is on duty for the tenant at `at` (probity.duty)."""
    from probity.duty.service import on_duty_people

    return any(p.user_id is not None for p in await on_duty_people(session, tenant_id, at))


async def _insert_reviews(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    table: Any = QaReview.__table__
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(table)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table)
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["conversation_id"]), rows)
