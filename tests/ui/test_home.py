"""Issue 15.7: the HQ admin's and HR's home pages say what needs them — cases near their SLA,
new alerts, and what waits for their approval (payroll runs, Compliance Star nominations)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import Award, AwardStatus, PayrollRun, RunStatus, User


async def test_hq_admin_home_lists_what_waits_for_approval(as_user: Any, db: AsyncSession
                                                           ) -> None:
    client: httpx.AsyncClient = await as_user("admin")
    admin = await db.scalar(select(User.id).where(User.username == "admin"))
    runs = await db.scalar(select(func.count()).select_from(PayrollRun).where(
        PayrollRun.status == RunStatus.draft,
        or_(PayrollRun.prepared_by_user_id.is_(None), PayrollRun.prepared_by_user_id != admin)))
    nominations = await db.scalar(select(func.count()).select_from(Award).where(
        Award.status == AwardStatus.nominated))
    assert runs and nominations, "the demo has a payroll run and nominations waiting"
    home = (await client.get("/")).text
    assert 'data-testid="attention"' in home
    assert f"待审批的薪资核算：{runs} 个" in home
    assert f"待确认的合规标兵提名：{nominations} 人" in home
    assert "近 24 小时新预警" in home


async def test_an_agent_has_nothing_to_approve(as_user: Any) -> None:
    client: httpx.AsyncClient = await as_user("agent")
    home = (await client.get("/")).text
    assert "待审批" not in home and "待确认" not in home
