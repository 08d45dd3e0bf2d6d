"""Offboarding in the database (runs on SQLite and PostgreSQL): leaving deactivates the account,
revokes its tokens, moves its session version and re-queues its conversations, in the same
transaction as the lifecycle event, with an audit row."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import (
    ApiToken,
    AuditEntry,
    Conversation,
    ConversationStatus,
    Transfer,
    User,
)


async def test_leaving_shuts_the_account(as_user: Any, db: AsyncSession) -> None:
    c = await as_user("agent")
    assert (await c.post("/api/v1/tokens", json={"name": "cli"})).status_code == 201
    agent = await db.scalar(select(User).where(User.username == "agent"))
    assert agent is not None and agent.employee_id is not None
    version = agent.session_version
    open_convs = (await db.scalars(select(Conversation.id).where(
        Conversation.agent_user_id == agent.id,
        Conversation.status != ConversationStatus.closed))).all()
    assert open_convs, "the demo agent has open conversations"

    hr = await as_user("hr")
    r = await hr.post(f"/api/v1/employees/{agent.employee_id}/transitions",
                      json={"to_status": "left", "effective_date": date.today().isoformat()})
    assert r.status_code == 201, r.text

    await db.refresh(agent)
    assert not agent.is_active and agent.session_version == version + 1
    live = (await db.scalars(select(ApiToken).where(
        ApiToken.user_id == agent.id, ApiToken.revoked_at.is_(None)))).all()
    assert live == []
    for conv_id in open_convs:
        conv = await db.get(Conversation, conv_id)
        assert conv is not None and conv.agent_user_id != agent.id
        kinds = (await db.scalars(select(Transfer.kind).where(
            Transfer.conversation_id == conv_id).order_by(Transfer.id))).all()
        assert kinds[-1] == "requeue"
    audit = await db.scalar(select(AuditEntry).where(
        AuditEntry.action == "user.offboard", AuditEntry.target_id == str(agent.id)))
    assert audit is not None and audit.after is not None
    assert sorted(audit.after["conversations_requeued"]) == sorted(open_convs)
