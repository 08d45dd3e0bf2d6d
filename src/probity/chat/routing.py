"""Routing: a new conversation goes to the least-loaded available agent of its team, within the
team's per-agent limit (`OrgUnit.max_concurrent`); otherwise it waits in the team's queue, which
drains (oldest first) whenever an agent frees up or becomes available."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.effects import after_commit
from probity.models import (
    AgentStatus,
    Conversation,
    ConversationStatus,
    Employee,
    EmploymentStatus,
    OrgUnit,
    Transfer,
    User,
)
from probity.models.base import utcnow

Publish = Callable[[str, dict[str, Any]], Awaitable[None]]


async def agent_names(session: AsyncSession, convs: Iterable[Conversation]) -> dict[int, str]:
    """The name the customer is shown for each conversation's agent, by conversation id: the
    agent's employee name, or for an account without an employee record its display name —
    never the username, which is often an internal code (an employee number). Conversations
    without an agent (or without a usable name) are left out. Two queries at most."""
    staffed = [c for c in convs if c.agent_user_id is not None]
    emp_ids = {c.agent_employee_id for c in staffed if c.agent_employee_id is not None}
    user_ids = {c.agent_user_id for c in staffed}
    employees: dict[int, str] = {}
    if emp_ids:
        employees = {r.id: r.name for r in await session.execute(
            select(Employee.id, Employee.name).where(Employee.id.in_(emp_ids)))}
    users: dict[int, str] = {}
    if any(c.agent_employee_id not in employees for c in staffed):
        users = {r.id: r.display_name for r in await session.execute(
            select(User.id, User.display_name).where(User.id.in_(user_ids)))}
    names: dict[int, str] = {}
    for c in staffed:
        assert c.agent_user_id is not None
        name = (employees.get(c.agent_employee_id) if c.agent_employee_id is not None else None) \
            or users.get(c.agent_user_id)
        if name and name.strip():
            names[c.id] = name.strip()
    return names


def assigned_event(conv: Conversation, agent_name: str | None) -> dict[str, Any]:
    """The `assigned` event of a conversation (to the customer's and the agent's sockets)."""
    return {"type": "assigned", "conversation_id": conv.id, "agent_user_id": conv.agent_user_id,
            "agent_name": agent_name, "status": conv.status.value}


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


async def requeue_agent(session: AsyncSession, user_ids: list[int], publish: Publish | None,
                        *, actor_user_id: int | None, reason: str) -> list[Conversation]:
    """Take the agents out of routing and hand each of their open conversations to another
    agent of its team (or back to the team's queue), recording a transfer of kind "requeue".
    Used when an employee leaves: their customers must not wait on a dead account."""
    if not user_ids:
        return []
    statuses = (await session.scalars(
        select(AgentStatus).where(AgentStatus.user_id.in_(user_ids)))).all()
    for status in statuses:
        status.available = False
        status.updated_at = utcnow()
    convs = list((await session.scalars(
        select(Conversation)
        .where(Conversation.agent_user_id.in_(user_ids),
               Conversation.status != ConversationStatus.closed)
        .order_by(Conversation.id))).all())
    await session.flush()
    moved: list[tuple[Conversation, int | None]] = []
    for conv in convs:
        agent = await pick_agent(session, conv.org_unit_id, exclude_user_id=conv.agent_user_id)
        if agent is not None:
            t = assign(session, conv, agent, kind="requeue", actor_user_id=actor_user_id,
                       reason=reason)
        else:
            t = Transfer(conversation_id=conv.id, tenant_id=conv.tenant_id,
                         from_user_id=conv.agent_user_id, to_user_id=None, kind="requeue",
                         actor_user_id=actor_user_id, reason=reason)
            session.add(t)
            conv.agent_user_id = None
            conv.agent_employee_id = None
            conv.status = ConversationStatus.waiting
        await session.flush()
        moved.append((conv, t.to_user_id))
    if publish is not None and moved:
        names = await agent_names(session, [c for c, _to in moved])
        events = [(c.id, to, assigned_event(c, names.get(c.id))) for c, to in moved]
        from probity.chat.wire import agent_channel, conv_channel

        async def tell() -> None:
            for conv_id, to_user, event in events:
                await publish(conv_channel(conv_id), event)
                if to_user is not None:
                    await publish(agent_channel(to_user), event)

        after_commit(session, tell)
    return convs
