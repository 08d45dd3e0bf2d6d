"""Demo data for imports: saved column mappings for the old HR and chat systems' exports, so
`/imports` shows a template to apply (no import is run: the demo data is already there)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import ImportTemplate, Tenant
from probity.models.base import utcnow

TEMPLATES = [
    ("employees", "旧 HR 系统花名册", {"人员编号": "employee_no", "姓名": "name",
                                    "入职时间": "hire_date", "所属小组": "org_unit_code",
                                    "手机号码": "phone"}, ["备注"]),
    ("transcripts", "旧客服系统聊天记录", {"会话ID": "conversation_ref", "序号": "message_ref",
                                      "技能组": "team_code", "访客编号": "customer_no",
                                      "客服工号": "agent_employee_no", "时间": "sent_at",
                                      "角色": "sender_role", "消息": "body"}, []),
]


async def seed_imports(session: AsyncSession) -> None:
    tid = await session.scalar(select(Tenant.id).where(Tenant.code == "ECOM"))
    if tid is None:
        return
    now = utcnow()
    for kind, name, mapping, ignore in TEMPLATES:
        session.add(ImportTemplate(tenant_id=tid, kind=kind, name=name, mapping=mapping,
                                   ignore=ignore, created_at=now, updated_at=now))
