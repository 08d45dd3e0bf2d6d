"""Demo data for webhooks: one HQ endpoint, subscribed to the events a group's SIEM or HR system
would want, **disabled** and pointing at a documentation address (example.com), so `/webhooks`
shows what a subscription looks like without the demo sending anything anywhere. An admin puts
their receiver's URL in and enables it (the URL is checked then, like any other)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import Tenant, User
from probity.models.base import utcnow
from probity.models.webhooks import WebhookEndpoint
from probity.webhooks.signing import generate_secret

DEMO_URL = "https://hooks.example.com/probity/events"
DEMO_EVENTS = ["alert.created", "case.decided", "payment.flagged", "training.overdue",
               "employee.left"]


async def seed_webhooks(session: AsyncSession) -> None:
    hq = await session.scalar(select(Tenant.id).where(Tenant.code == "HQ"))
    if hq is None:
        return
    admin = await session.scalar(select(User.id).where(User.username == "admin"))
    now = utcnow()
    session.add(WebhookEndpoint(
        tenant_id=hq, url=DEMO_URL, description="示例：集团 SIEM 接收端（演示数据，已停用）",
        events=DEMO_EVENTS, secret=generate_secret(), active=False, disabled_reason="manual",
        disabled_at=now, consecutive_failures=0, created_by_user_id=admin, created_at=now,
        updated_at=now))
