"""Subsidiary comparison: each subsidiary against the group, drilling down to teams and cases.

Figures over a period, for the subsidiaries (each with its regions) in the viewer's case scope:

* violation rate: screening alerts about an agent's own messages (subject "agent"; real-time and
  retrospective) per 1,000 conversations;
* attempt rate: alerts about customers' attempts (subject "customer") per 1,000 conversations;
* substantiation rate: cases decided "substantiated" among cases decided in the period (%);
* median time from alert to decision: a decided case's first alert to its decision (hours).

The group figure pools every subsidiary shown (not a mean of means). A figure at least 1.5×
the group's is a high outlier, at most ⅔ of it a low one (shown only with ≥ 1 conversation and
a non-zero group figure).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Perm, Principal
from probity.errors import NotFound
from probity.models import Alert, Case, CaseAlert, Conversation, OrgUnit, Tenant

HIGH, LOW = 1.5, 2 / 3
ALERT_SOURCES = ("screening", "retro_screening")


@dataclass
class Figures:
    conversations: int = 0
    violations: int = 0
    attempts: int = 0
    decided: int = 0
    substantiated: int = 0
    hours: list[float] = field(default_factory=list)

    def add(self, other: Figures) -> None:
        self.conversations += other.conversations
        self.violations += other.violations
        self.attempts += other.attempts
        self.decided += other.decided
        self.substantiated += other.substantiated
        self.hours.extend(other.hours)

    @property
    def violation_rate(self) -> float | None:
        return self.violations * 1000 / self.conversations if self.conversations else None

    @property
    def attempt_rate(self) -> float | None:
        return self.attempts * 1000 / self.conversations if self.conversations else None

    @property
    def substantiation_rate(self) -> float | None:
        return self.substantiated * 100 / self.decided if self.decided else None

    @property
    def median_hours(self) -> float | None:
        return statistics.median(self.hours) if self.hours else None


METRICS = ("violation_rate", "attempt_rate", "substantiation_rate", "median_hours")


@dataclass(frozen=True)
class Row:
    key: int
    name: str
    figures: Figures
    outliers: dict[str, str]  # metric → "high" | "low"


@dataclass(frozen=True)
class Comparison:
    rows: list[Row]
    group: Figures


def _outliers(f: Figures, group: Figures) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in METRICS:
        v, g = getattr(f, m), getattr(group, m)
        if v is None or not g:
            continue
        if v >= HIGH * g:
            out[m] = "high"
        elif v <= LOW * g:
            out[m] = "low"
    return out


async def _collect(session: AsyncSession, actor: Principal, since: datetime, until: datetime,
                   key_of: Callable[[int, int | None], int | None]) -> dict[int, Figures]:
    """Figures per key; `key_of(tenant_id, org_unit_id)` says which row a fact counts for."""
    scope = actor.scope(Perm.case_read)
    out: dict[int, Figures] = defaultdict(Figures)
    convs = await session.execute(
        select(Conversation.tenant_id, Conversation.org_unit_id, func.count())
        .where(scope.filter(Conversation.tenant_id),
               Conversation.created_at >= since, Conversation.created_at < until)
        .group_by(Conversation.tenant_id, Conversation.org_unit_id))
    for c_tid, c_unit, c_n in convs:
        if (k := key_of(c_tid, c_unit)) is not None:
            out[k].conversations += c_n
    alerts = await session.execute(
        select(Alert.tenant_id, Alert.org_unit_id, Alert.subject, func.count())
        .where(scope.filter(Alert.tenant_id),
               Alert.source.in_(ALERT_SOURCES), Alert.created_at >= since,
               Alert.created_at < until)
        .group_by(Alert.tenant_id, Alert.org_unit_id, Alert.subject))
    for a_tid, a_unit, subject, a_n in alerts:
        if (k := key_of(a_tid, a_unit)) is not None:
            if subject == "customer":
                out[k].attempts += a_n
            else:
                out[k].violations += a_n
    first_alert = (select(CaseAlert.case_id, func.min(Alert.created_at).label("first"))
                   .join(Alert, Alert.id == CaseAlert.alert_id).group_by(CaseAlert.case_id)
                   .subquery())
    cases = await session.execute(
        select(Case.tenant_id, Case.org_unit_id, Case.decision, Case.decided_at,
               first_alert.c.first, Case.created_at)
        .outerjoin(first_alert, first_alert.c.case_id == Case.id)
        .where(scope.filter(Case.tenant_id),
               Case.decided_at.is_not(None), Case.decided_at >= since,
               Case.decided_at < until))
    for tid, unit, decision, decided_at, first, opened in cases:
        if (k := key_of(tid, unit)) is None:
            continue
        f = out[k]
        f.decided += 1
        f.substantiated += decision == "substantiated"
        start = first or opened
        if start is not None and decided_at is not None:
            if start.tzinfo is None or decided_at.tzinfo is None:  # SQLite aggregate: naive UTC
                start, decided_at = start.replace(tzinfo=None), decided_at.replace(tzinfo=None)
            f.hours.append(max((decided_at - start).total_seconds(), 0) / 3600)
    return out


async def compare_subsidiaries(session: AsyncSession, actor: Principal, since: datetime,
                               until: datetime) -> Comparison:
    tenants = (await session.scalars(select(Tenant).where(
        actor.scope(Perm.case_read).tenant_ids_query()))).all()
    top: dict[int, Tenant] = {}
    for t in tenants:
        parts = [int(p) for p in t.path.strip("/").split("/") if p]
        if len(parts) >= 2:
            top[t.id] = next((x for x in tenants if x.id == parts[1]), t)
    subs = {t.id: t for t in top.values()}
    figures = await _collect(session, actor, since, until,
                             lambda tid, _unit: top[tid].id if tid in top else None)
    return _table({k: subs[k].name for k in subs}, figures)


def _table(names: dict[int, str], figures: dict[int, Figures]) -> Comparison:
    group = Figures()
    for k in names:
        group.add(figures.get(k, Figures()))
    rows = [Row(k, names[k], figures.get(k, Figures()),
                _outliers(figures.get(k, Figures()), group))
            for k in sorted(names, key=lambda k: names[k])]
    return Comparison(rows, group)


async def compare_teams(session: AsyncSession, actor: Principal, subsidiary_id: int,
                        since: datetime, until: datetime) -> tuple[Tenant, Comparison]:
    """The teams of one subsidiary (its regions included), against the subsidiary."""
    sub = await session.get(Tenant, subsidiary_id)
    if sub is None or not actor.scope(Perm.case_read).covers_path(sub.path):
        raise NotFound("subsidiary not found")
    ids = set((await session.scalars(select(Tenant.id).where(
        Tenant.path.startswith(sub.path, autoescape=True)))).all())
    units = {u.id: u for u in (await session.scalars(select(OrgUnit).where(
        OrgUnit.tenant_id.in_(ids), OrgUnit.kind == "team"))).all()}
    figures = await _collect(session, actor, since, until,
                             lambda tid, unit: unit if tid in ids and unit in units else None)
    return sub, _table({k: u.name for k, u in units.items()}, figures)


async def team_cases(session: AsyncSession, actor: Principal, org_unit_id: int,
                     since: datetime, until: datetime) -> tuple[OrgUnit, list[Case]]:
    """The cases of one team opened or decided in the period (newest first)."""
    unit = await session.get(OrgUnit, org_unit_id)
    scope = actor.scope(Perm.case_read)
    tenant = await session.get(Tenant, unit.tenant_id) if unit else None
    if unit is None or tenant is None or not scope.covers_path(tenant.path):
        raise NotFound("team not found")
    q = select(Case).where(Case.org_unit_id == unit.id,
                           ((Case.created_at >= since) & (Case.created_at < until))
                           | ((Case.decided_at >= since) & (Case.decided_at < until)))
    return unit, list((await session.scalars(q.order_by(Case.id.desc()).limit(500))).all())
