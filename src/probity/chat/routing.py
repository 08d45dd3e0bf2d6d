"""Routing: a new conversation goes to the least-loaded available agent of its team, within the
team's per-agent limit (`OrgUnit.max_concurrent`); otherwise it waits in the team's queue, which
drains (oldest first) whenever an agent frees up or becomes available."""

from __future__ import annotations

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import (
    AgentStatus,
    Conversation,
    ConversationStatus,
    Employee,
    EmploymentStatus,
    OrgUnit,
    Transfer,
)
from probity.models.base import utcnow


async def pick_agent(session: AsyncSession, org_unit_id: int,
                     exclude_user_id: int | None = None) -> AgentStatus | None:
    """The least-loaded available agent of the team with room for one more conversation."""
    limit = await session.scalar(select(OrgUnit.max_concurrent).where(OrgUnit.id == org_unit_id))
    load = func.count(Conversation.id)
    q = (
        select(AgentStatus, load)
        .outerjoin(Conversation, and_(Conversation.agent_user_id == AgentStatus.user_id,
                                      Conversation.status == ConversationStatus.active))
        .outerjoin(Employee, Employee.id == AgentStatus.employee_id)
        .where(AgentStatus.org_unit_id == org_unit_id, AgentStatus.available.is_(True))
        .where((Employee.id.is_(None)) | (Employee.status != EmploymentStatus.left))
        .group_by(AgentStatus.user_id)
        .having(load < (limit or 5))
        .order_by(load, AgentStatus.updated_at, AgentStatus.user_id)
        .limit(1)
    )
    if exclude_user_id is not None:
        q = q.where(AgentStatus.user_id != exclude_user_id)
    row = (await session.execute(q)).first()
    return row[0] if row else None


def assign(session: AsyncSession, conv: Conversation, agent: AgentStatus, *, kind: str,
           actor_user_id: int | None = None, reason: str | None = None) -> Transfer:
    transfer = Transfer(conversation_id=conv.id, tenant_id=conv.tenant_id,
                        from_user_id=conv.agent_user_id, to_user_id=agent.user_id, kind=kind,
                        actor_user_id=actor_user_id, reason=reason)
    conv.agent_user_id = agent.user_id
    conv.agent_employee_id = agent.employee_id
    conv.status = ConversationStatus.active
    conv.assigned_at = utcnow()
    session.add(transfer)
    return transfer


async def route(session: AsyncSession, conv: Conversation) -> AgentStatus | None:
    agent = await pick_agent(session, conv.org_unit_id)
    if agent is not None:
        assign(session, conv, agent, kind="route")
    await session.flush()
    return agent


async def drain_queue(session: AsyncSession, org_unit_id: int) -> list[Conversation]:
    """Assign waiting conversations of the team, oldest first, while agents have room."""
    assigned: list[Conversation] = []
    while True:
        conv = await session.scalar(
            select(Conversation)
            .where(Conversation.org_unit_id == org_unit_id,
                   Conversation.status == ConversationStatus.waiting)
            .order_by(Conversation.id).limit(1))
        if conv is None:
            break
        agent = await pick_agent(session, org_unit_id)
        if agent is None:
            break
        assign(session, conv, agent, kind="queue")
        await session.flush()
        assigned.append(conv)
    return assigned


async def queue_position(session: AsyncSession, conv: Conversation) -> int:
    if conv.status != ConversationStatus.waiting:
        return 0
    ahead = await session.scalar(
        select(func.count(Conversation.id)).where(
            Conversation.org_unit_id == conv.org_unit_id,
            Conversation.status == ConversationStatus.waiting, Conversation.id < conv.id))
    return int(ahead or 0) + 1
