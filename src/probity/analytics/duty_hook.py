"""What the HR duty roster (`probity.duty.service.analytics_windows`) asks analytics: the
high-risk windows named by monitoring rules in force — each weekday/hour window of a rule, as
occurrences in [since, until) in the tenant's zone, clipped to the rule's life — so that a
window nobody of HR is on duty for is flagged."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import MonitoringRule
from probity.monitoring.enforce import view_of


async def high_risk_windows(session: AsyncSession, tenant_id: int, since: datetime,
                            until: datetime) -> list[tuple[str, datetime, datetime]]:
    from probity.governance.accessors import display_timezone

    rules = [view_of(r) for r in (await session.scalars(select(MonitoringRule).where(
        MonitoringRule.active.is_(True), MonitoringRule.expires_at > since,
        MonitoringRule.starts_at < until))).all()]
    rules = [r for r in rules if tenant_id in r.tenant_ids and r.start_hour is not None
             and r.end_hour is not None]
    if not rules:
        return []
    zone = ZoneInfo(await display_timezone(session, tenant_id))
    out: list[tuple[str, datetime, datetime]] = []
    day = since.astimezone(zone).date() - timedelta(days=1)
    last = until.astimezone(zone).date()
    while day <= last:
        for r in rules:
            if r.days is not None and day.weekday() not in r.days:
                continue
            assert r.start_hour is not None and r.end_hour is not None
            start = datetime.combine(day, time(r.start_hour), zone)
            end_day = day if r.end_hour > r.start_hour else day + timedelta(days=1)
            end = datetime.combine(end_day, time(0), zone) + timedelta(hours=r.end_hour)
            lo = max(start.astimezone(UTC), since, r.starts_at)
            hi = min(end.astimezone(UTC), until, r.expires_at)
            if lo < hi:
                out.append((r.title, lo, hi))
        day += timedelta(days=1)
    return sorted(out, key=lambda w: (w[1], w[0]))
