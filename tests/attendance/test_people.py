"""For any message, who was on shift in its team and who was on HR duty (issue 13, part 3)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.attendance import rota
from probity.auth.permissions import Grant, Principal
from probity.duty import service as duty
from probity.models import Conversation, Message, OrgUnit, Role, Tenant


async def test_who_was_there_for_a_message(as_user: Any, db: AsyncSession) -> None:
    lead_unit = await db.scalar(select(OrgUnit.id).where(OrgUnit.code == "ECOM-T1"))
    msg, conv = (await db.execute(
        select(Message, Conversation).join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.agent_employee_id.is_not(None),
               Conversation.org_unit_id == lead_unit).order_by(Message.id).limit(1))).one()
    tenant = await db.get(Tenant, conv.tenant_id)
    assert tenant is not None
    comp = await as_user("compliance")
    r = await comp.get(f"/api/v1/attendance/on-shift/messages/{msg.id}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["message_id"] == msg.id and body["conversation_id"] == conv.id
    assert "body" not in body and msg.body not in r.text  # the text is never read out
    hq_like = Principal(user_id=None, username="x", display_name="x",  # type: ignore[arg-type]
                        tenant_id=tenant.id, employee_id=None, customer_id=None,
                        grants=[Grant(Role.hq_admin, tenant.id, tenant.path)])
    expected = await rota.on_shift(db, hq_like, msg.created_at, tenant_id=conv.tenant_id,
                                   org_unit_id=conv.org_unit_id)
    assert [row["employee_id"] for row in body["on_shift"]["on_shift"]] == \
        [e.employee_id for e in expected]
    assert body["on_shift"]["agent_employee_id"] == conv.agent_employee_id
    assert body["on_shift"]["agent_on_shift"] == (
        conv.agent_employee_id in {e.employee_id for e in expected})
    on_duty = await duty.on_duty_people(db, conv.tenant_id, msg.created_at)
    assert [p["employee_id"] for p in body["on_duty"]] == [p.employee_id for p in on_duty]
    # Outside the caller's scope it is a missing message; agents may not ask at all.
    assert (await comp.get("/api/v1/attendance/on-shift/messages/999999")).status_code == 404
    lead = await as_user("lead")
    assert (await lead.get(f"/api/v1/attendance/on-shift/messages/{msg.id}")).status_code == 200
    other = await db.scalar(select(Message.id).join(
        Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.org_unit_id != lead_unit).limit(1))
    assert other is not None
    assert (await lead.get(f"/api/v1/attendance/on-shift/messages/{other}")).status_code == 404
    agent = await as_user("agent")
    assert (await agent.get(f"/api/v1/attendance/on-shift/messages/{msg.id}")).status_code == 403
