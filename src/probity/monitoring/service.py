"""Monitoring rules: acted on from a finding (or given a cohort), time-boxed (an expiry is
required, and a review date), audited, ended early by hand, and their effect measured — the rate
while the rule is on against the same length of time just before it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.analytics import findings, queries
from probity.analytics.stats import rate_ratio_test
from probity.audit.service import record_audit
from probity.auth.effects import after_commit
from probity.auth.permissions import Perm, Principal
from probity.errors import InvalidInput, NotFound
from probity.models import MonitoringRule, RollupHourly, Tenant
from probity.models.base import utcnow
from probity.monitoring import enforce

MAX_DAYS = 90
R = RollupHourly


@dataclass
class RuleInput:
    finding_key: str | None
    title: str
    start: str | None  # the finding's range (local days), for its cohort
    end: str | None
    tenant: int | None
    tighten: bool
    qa_sample_rate: float
    notify_duty: bool
    expires_on: str | None  # local day (inclusive)
    review_on: str | None
    note: str = ""


def _local_end(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)


def _day(value: str | None, name: str) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"'{name}' is not a date (YYYY-MM-DD)", code="invalid_date",
                           template="'{name}' is not a date (YYYY-MM-DD)",
                           params={"name": name}) from None


def payload(rule: MonitoringRule) -> dict[str, Any]:
    return {"title": rule.title, "finding_key": rule.finding_key, "cohort": rule.cohort,
            "tighten": rule.tighten, "qa_sample_rate": rule.qa_sample_rate,
            "notify_duty": rule.notify_duty, "starts_at": rule.starts_at.isoformat(),
            "expires_at": rule.expires_at.isoformat(), "review_at": rule.review_at.isoformat(),
            "active": rule.active}


async def create_rule(session: AsyncSession, principal: Principal, data: RuleInput
                      ) -> MonitoringRule:
    """Validate, store and audit a rule; it is in force in this process as soon as the
    transaction commits (other processes within `enforce.RULES_TTL_S`)."""
    if not data.finding_key:
        raise InvalidInput("a monitoring rule names the finding it acts on",
                           code="finding_required",
                           template="A monitoring rule names the finding it acts on")
    expires = _day(data.expires_on, "expires_on")
    if expires is None:
        raise InvalidInput("a monitoring rule needs an expiry date", code="expiry_required",
                           template="A monitoring rule needs an expiry date")
    if not (data.tighten or data.notify_duty or data.qa_sample_rate > 0):
        raise InvalidInput("choose at least one measure", code="no_measure",
                           template="Choose at least one measure")
    if not 0 <= data.qa_sample_rate <= 1:
        raise InvalidInput("the QA sample is a share between 0 and 1", code="invalid_sample",
                           template="The QA sample is a share between 0 and 1")
    f = await queries.filters(session, principal, start=data.start, end=data.end,
                              tenant=data.tenant)
    cohort = await findings.finding_cohort(session, principal, data.finding_key, f)
    # The rule belongs to a tenant the caller may manage rules for.
    manage = principal.scope(Perm.monitoring_manage)
    paths = dict((await session.execute(select(Tenant.id, Tenant.path).where(
        Tenant.id.in_(cohort.tenant_ids)))).all())
    tenant_ids = [t for t in cohort.tenant_ids if manage.covers_path(paths.get(t, "\x00"))]
    if cohort.tenant_id not in tenant_ids:
        raise InvalidInput("the finding is outside the tenants you manage", code="out_of_scope",
                           template="The finding is outside the tenants you manage")
    now = utcnow()
    today = now.astimezone(f.zone).date()
    if expires < today:
        raise InvalidInput("the expiry date is in the past", code="expiry_in_past",
                           template="The expiry date is in the past")
    if (expires - today).days > MAX_DAYS:
        raise InvalidInput(f"a monitoring rule runs at most {MAX_DAYS} days",
                           code="expiry_too_far",
                           template="A monitoring rule runs at most {days} days",
                           params={"days": MAX_DAYS})
    review = _day(data.review_on, "review_on") or min(expires, today + timedelta(days=7))
    if not today <= review <= expires:
        raise InvalidInput("the review date lies between today and the expiry",
                           code="invalid_review",
                           template="The review date lies between today and the expiry")
    rule_cohort = cohort.as_rule_cohort()
    rule_cohort["tenant_ids"] = tenant_ids
    rule = MonitoringRule(
        tenant_id=cohort.tenant_id, title=(data.title or data.finding_key)[:200],
        finding_key=data.finding_key[:120], cohort=rule_cohort, tighten=data.tighten,
        qa_sample_rate=float(data.qa_sample_rate), notify_duty=data.notify_duty,
        starts_at=now, expires_at=_local_end(expires, f.zone),
        review_at=datetime.combine(review, time(9), f.zone).astimezone(UTC), active=True,
        created_by_user_id=principal.user_id, note=(data.note or "")[:2000], created_at=now)
    session.add(rule)
    await session.flush()
    record_audit(session, principal, "monitoring.rule_created", target_type="monitoring_rule",
                 target_id=rule.id, tenant_id=rule.tenant_id, after=payload(rule))
    _refresh_after_commit(session)
    return rule


def _refresh_after_commit(session: AsyncSession) -> None:
    async def effect() -> None:
        enforce.reset()

    after_commit(session, effect)


def _readable(principal: Principal) -> ColumnElement[bool]:
    a = principal.scope(Perm.analytics_read)
    m = principal.scope(Perm.monitoring_manage)
    return or_(a.filter(MonitoringRule.tenant_id), m.filter(MonitoringRule.tenant_id))


async def list_rules(session: AsyncSession, principal: Principal) -> list[MonitoringRule]:
    return list((await session.scalars(select(MonitoringRule).where(_readable(principal))
                                       .order_by(MonitoringRule.id.desc()).limit(500))).all())


async def get_rule(session: AsyncSession, principal: Principal, rule_id: int) -> MonitoringRule:
    rule = await session.scalar(select(MonitoringRule).where(
        MonitoringRule.id == rule_id, _readable(principal))) if 0 < rule_id < 2**31 else None
    if rule is None:
        raise NotFound("no such monitoring rule", code="not_found")
    return rule


async def end_rule(session: AsyncSession, principal: Principal, rule_id: int) -> MonitoringRule:
    rule = await get_rule(session, principal, rule_id)
    path = await session.scalar(select(Tenant.path).where(Tenant.id == rule.tenant_id)) or ""
    if not principal.scope(Perm.monitoring_manage).covers_path(path):
        raise NotFound("no such monitoring rule", code="not_found")
    before = payload(rule)
    if rule.active:
        rule.active = False
        rule.ended_at = utcnow()
        await session.flush()
        record_audit(session, principal, "monitoring.rule_ended", target_type="monitoring_rule",
                     target_id=rule.id, tenant_id=rule.tenant_id, before=before,
                     after=payload(rule))
        _refresh_after_commit(session)
    return rule


def status(rule: MonitoringRule, now: datetime | None = None) -> str:
    now = now or utcnow()
    if not rule.active:
        return "ended"
    if now >= rule.expires_at:
        return "expired"
    if now >= rule.review_at:
        return "review_due"
    return "in_force"


def cohort_clause(cohort: dict[str, Any]) -> ColumnElement[bool]:
    clauses: list[ColumnElement[bool]] = [R.tenant_id.in_(cohort.get("tenant_ids") or [])]
    if cohort.get("team_ids"):
        clauses.append(R.team_id.in_(cohort["team_ids"]))
    if cohort.get("tenure_band"):
        clauses.append(R.tenure_band == cohort["tenure_band"])
    if cohort.get("days") is not None:
        clauses.append(R.local_dow.in_(cohort["days"]))
    lo, hi = cohort.get("start_hour"), cohort.get("end_hour")
    if lo is not None and hi is not None:
        clauses.append(and_(R.local_hour >= lo, R.local_hour < hi) if lo <= hi
                       else or_(R.local_hour >= lo, R.local_hour < hi))
    return and_(*clauses)


async def effect(session: AsyncSession, rule: MonitoringRule, now: datetime | None = None
                 ) -> dict[str, Any]:
    """The rate in the rule's cohort while it is on, against the same span just before."""
    now = now or utcnow()
    on_end = min(x for x in (now, rule.expires_at, rule.ended_at) if x is not None)
    span = max(on_end - rule.starts_at, timedelta(hours=1))
    before_start = rule.starts_at - span
    agent_cohort = bool(rule.cohort.get("team_ids") or rule.cohort.get("tenure_band"))
    x_col, n_col = ((R.violations, R.agent_messages) if agent_cohort
                    else (R.attempts, R.messages))

    async def tally(lo: datetime, hi: datetime) -> tuple[int, int]:
        row = (await session.execute(select(
            func.coalesce(func.sum(x_col), 0), func.coalesce(func.sum(n_col), 0)).where(
            cohort_clause(rule.cohort), R.hour >= lo.replace(minute=0, second=0, microsecond=0),
            R.hour < hi))).one()
        return int(row[0]), int(row[1])

    x_on, n_on = await tally(rule.starts_at, on_end)
    x_before, n_before = await tally(before_start, rule.starts_at)
    out: dict[str, Any] = {
        "metric": "violation_rate" if agent_cohort else "attempt_rate",
        "on": {"from": rule.starts_at.isoformat(), "to": on_end.isoformat(), "events": x_on,
               "exposure": n_on, "rate": round(x_on / n_on, 6) if n_on else None},
        "before": {"from": before_start.isoformat(), "to": rule.starts_at.isoformat(),
                   "events": x_before, "exposure": n_before,
                   "rate": round(x_before / n_before, 6) if n_before else None},
        "ratio": None, "ci_low": None, "ci_high": None}
    if n_on and n_before and (x_on or x_before):
        rr = rate_ratio_test(x_on, n_on, x_before, n_before)
        out.update(ratio=round(rr.ratio, 4) if rr.ratio != float("inf") else None,
                   ci_low=round(rr.low, 4),
                   ci_high=round(rr.high, 4) if rr.high != float("inf") else None)
    return out
