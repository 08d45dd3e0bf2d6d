"""Demo group standards: HQ sets and locks the group-wide ones, one subsidiary overrides one,
and a subsidiary administrator (`ecadmin`) sees the result with origins and locks."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.governance.service import change_settings
from probity.models import Role, RoleAssignment, Tenant, User


async def seed_governance(session: AsyncSession) -> None:
    tenants = {t.code: t for t in (await session.scalars(select(Tenant))).all()}
    hq, ecom, travel = tenants["HQ"], tenants["ECOM"], tenants["TRAVEL"]
    admin = await session.scalar(select(User).where(User.username == "admin"))
    assert admin is not None
    user = User(username="ecadmin", display_name="电商子公司管理员",
                password_hash=admin.password_hash, tenant_id=ecom.id)
    session.add(user)
    await session.flush()
    session.add(RoleAssignment(user_id=user.id, role=Role.hq_admin, tenant_id=ecom.id))
    await change_settings(
        session, None, hq.id, "notices",
        locks={"customer_contact": True, "customer_bribe": True, "customer_payment": True},
        reason="集团统一客户端官方渠道提示", actor_name="demo")
    await change_settings(
        session, None, hq.id, "cases", {"triage_hours": 2, "decision_working_days": 3},
        {"triage_hours": True, "decision_working_days": True},
        "集团统一案件时限：2 小时分诊、3 个工作日定性", actor_name="demo")
    await change_settings(
        session, None, hq.id, "retention", {"chat_message_days": 1095},
        {"chat_message_days": True}, "聊天记录至少保留三年（集团合规标准）", actor_name="demo")
    await change_settings(session, None, hq.id, "display", {"timezone": "Asia/Shanghai"},
                          {"timezone": True},
                          reason="集团统一以北京时间显示", actor_name="demo")
    await change_settings(
        session, None, travel.id, "cases", {"window_hours": 168},
        reason="旅行订单周期长，同一客服与客户的预警按 7 天归并", actor_name="demo")
