"""The rows of an inbox (the agent workspace, the team lead's live view): who the customer is,
the last message, how long the customer has been waiting, how many messages are unread.

Three queries whatever the number of conversations: the conversations with their customers,
the last visible message of each (a window function), and per-conversation figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import Conversation, Customer, Message, User
from probity.models.base import utcnow


@dataclass(frozen=True)
class InboxRow:
    conversation: Conversation
    customer_name: str
    agent_name: str | None
    last_text: str  # the last message the agent may see ("" when none or not text)
    last_kind: str | None  # text, image, voice
    last_sender: str | None
    last_at: datetime | None
    waiting_since: datetime | None  # the customer's oldest unanswered message
    unread: int
    attempts: int  # the customer's blocked attempts (off-platform contact, private payment, …)

    @property
    def waiting_minutes(self) -> int | None:
        if self.waiting_since is None:
            return None
        return max(0, int((utcnow() - self.waiting_since).total_seconds() // 60))


async def inbox_rows(session: AsyncSession, conversations: list[Conversation]) -> list[InboxRow]:
    if not conversations:
        return []
    ids = [c.id for c in conversations]
    customers = dict((await session.execute(select(Customer.id, Customer.name).where(
        Customer.id.in_({c.customer_id for c in conversations})))).all())
    agent_ids = {c.agent_user_id for c in conversations if c.agent_user_id}
    agents = dict((await session.execute(select(User.id, User.display_name).where(
        User.id.in_(agent_ids)))).all()) if agent_ids else {}

    visible = Message.decision != "block"
    ranked = select(Message.conversation_id, Message.body, Message.sender_role,
                    Message.created_at, Message.kind,
                    func.row_number().over(partition_by=Message.conversation_id,
                                           order_by=Message.seq.desc()).label("rn")
                    ).where(Message.conversation_id.in_(ids), visible,
                            Message.recalled_at.is_(None)).subquery()
    last = {row.conversation_id: row for row in (await session.execute(
        select(ranked).where(ranked.c.rn == 1))).all()}

    customer_msg = and_(Message.sender_role == "customer", visible)
    last_agent = (select(Message.conversation_id,
                         func.max(Message.seq).label("seq"))
                  .where(Message.conversation_id.in_(ids), Message.sender_role == "agent")
                  .group_by(Message.conversation_id)).subquery()
    unanswered = (select(Message.conversation_id,
                         func.min(Message.created_at).label("since"))
                  .outerjoin(last_agent, last_agent.c.conversation_id == Message.conversation_id)
                  .where(Message.conversation_id.in_(ids), customer_msg,
                         Message.seq > func.coalesce(last_agent.c.seq, 0))
                  .group_by(Message.conversation_id))
    waiting = dict((await session.execute(unanswered)).all())  # min() keeps the column's type
    unread = dict((await session.execute(
        select(Message.conversation_id, func.count())
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.conversation_id.in_(ids), customer_msg,
               Message.seq > Conversation.agent_read_seq)
        .group_by(Message.conversation_id))).all())
    attempts = dict((await session.execute(
        select(Message.conversation_id, func.count())
        .where(Message.conversation_id.in_(ids), Message.sender_role == "customer",
               Message.decision == "block")
        .group_by(Message.conversation_id))).all())

    rows = []
    for c in conversations:
        m = last.get(c.id)
        rows.append(InboxRow(
            conversation=c, customer_name=customers.get(c.customer_id, ""),
            agent_name=agents.get(c.agent_user_id) if c.agent_user_id else None,
            last_text=(m.body or "")[:80] if m else "",
            last_kind=str(getattr(m.kind, "value", m.kind)) if m else None,
            last_sender=m.sender_role if m else None,
            last_at=m.created_at if m else None,
            waiting_since=waiting.get(c.id) if c.status.value != "closed" else None,
            unread=int(unread.get(c.id, 0)), attempts=int(attempts.get(c.id, 0))))
    return rows
