"""Demo data for webhooks: one HQ endpoint, subscribed to the events a group's SIEM or HR system
would want, **disabled**, pointing at the local receiver `probity webhooks listen` (port 8099 on
this machine) — so `/webhooks` shows what a subscription looks like, the demo sends nothing by
itself, and it works air-gapped once enabled: run `probity webhooks listen --secret <the
endpoint's secret>`, allow loopback for webhooks (``PROBITY_WEBHOOK_ALLOWED_NETWORKS``, refused by
default), enable the endpoint; or put a real receiver's URL in (checked like any other)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import Tenant, User
from probity.models.base import utcnow
from probity.models.webhooks import WebhookEndpoint
from probity.webhooks.signing import generate_secret

DEMO_URL = "http://127.0.0.1:8099/probity/events"  # `probity webhooks listen`
DEMO_EVENTS = ["alert.created", "case.decided", "payment.flagged", "training.overdue",
               "employee.left"]
DEMO_DESCRIPTION = ("演示：本机接收端（已停用）。启用方法：运行 "
                    "probity webhooks listen --secret <签名密钥>，"
                    "设置 PROBITY_WEBHOOK_ALLOWED_NETWORKS='[\"127.0.0.1/32\"]' 后启用；"
                    "或改为贵司接收端的地址。")


async def seed_webhooks(session: AsyncSession) -> None:
    hq = await session.scalar(select(Tenant.id).where(Tenant.code == "HQ"))
    if hq is None:
        return
    admin = await session.scalar(select(User.id).where(User.username == "admin"))
    now = utcnow()
    session.add(WebhookEndpoint(
        tenant_id=hq, url=DEMO_URL, description=DEMO_DESCRIPTION,
        events=DEMO_EVENTS, secret=generate_secret(), active=False, disabled_reason="manual",
        disabled_at=now, consecutive_failures=0, created_by_user_id=admin, created_at=now,
        updated_at=now))
