"""Who was there for a message: on shift in the conversation's team, and on HR duty.

Issue 13 asks that for any message or alert the system can tell who was on shift and who was on
HR duty. Alerts are answered by `duty.service.alert_people`; this answers the same for one chat
message. It reads the message's time and its conversation's team, never the message's text, and
the conversation must be in the caller's `chat.supervise` scope (404 otherwise, like a missing
message). Its schema lives here, not in `schemas.py`, because it nests the duty domain's row
(`duty.schemas` imports `attendance.schemas`).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.attendance import rota
from probity.attendance.schemas import OnShiftRead
from probity.auth.permissions import Perm, Principal
from probity.duty import service as duty
from probity.duty.schemas import OnDutyRow
from probity.errors import NotFound
from probity.models import Conversation, Message


class MessagePeopleRead(BaseModel):
    """Who was on shift in the conversation's team (with whether its agent was rostered) and
    who was on HR duty when the message was sent."""

    message_id: int
    conversation_id: int
    at: datetime
    tenant_id: int
    on_shift: OnShiftRead
    on_duty: list[OnDutyRow]


async def message_people(session: AsyncSession, principal: Principal, message_id: int
                         ) -> MessagePeopleRead:
    scope = principal.scope(Perm.chat_supervise)
    row = (await session.execute(
        select(Message.id, Message.created_at, Conversation.id, Conversation.tenant_id,
               Conversation.org_unit_id, Conversation.agent_employee_id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.id == message_id,
               scope.filter(Conversation.tenant_id, Conversation.org_unit_id)))).first()
    if row is None:
        raise NotFound("message not found")
    mid, at, conv_id, tenant_id, unit_id, agent_id = row
    shift = await rota.on_shift_read(session, principal, at, tenant_id=tenant_id,
                                     org_unit_id=unit_id, agent_employee_id=agent_id)
    people = await duty.on_duty_people(session, tenant_id, at)
    return MessagePeopleRead(message_id=mid, conversation_id=conv_id, at=at,
                             tenant_id=tenant_id, on_shift=shift,
                             on_duty=duty.on_duty_rows(people))
