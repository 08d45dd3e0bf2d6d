"""Demo performance management: HQ's group standards, a KPI template for agents, the penalty
standard, and three monthly cycles of ECOM — two closed, one open — whose figures come from
the demo's own activity (conversations screened by the real engine, decided cases)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.governance import change_settings
from probity.models import Tenant


async def seed_performance(session: AsyncSession) -> None:
    hq = await session.scalar(select(Tenant).where(Tenant.parent_id.is_(None)))
    if hq is None:
        return
    await change_settings(
        session, None, hq.id, "performance", {"compliance_weight": 20},
        {"compliance_weight": True}, "集团统一合规指标权重 20%", actor_name="demo")
