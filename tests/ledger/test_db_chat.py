"""Chat messages and alerts land in the ledger in the same transaction as the message."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.chat.helpers import active_conversation

from probity.ledger.service import verify_tenant
from probity.models import Alert, LedgerEntry, Message


async def test_blocked_message_and_its_alert_are_ledgered(as_user: Any, db: AsyncSession) -> None:
    conv_id, _ = await active_conversation(as_user)
    c = await as_user("customer")
    r = await c.post(f"/api/v1/chat/conversations/{conv_id}/messages",
                     json={"text": "加我vx abc12345，私下聊"})
    assert r.status_code == 201, r.text
    msg = await db.scalar(select(Message).where(Message.id == r.json()["id"]))
    alert = await db.scalar(select(Alert).where(Alert.message_id == r.json()["id"]))
    assert msg is not None and alert is not None
    rows = (await db.scalars(select(LedgerEntry).where(
        LedgerEntry.tenant_id == msg.tenant_id, ~LedgerEntry.type.startswith("case."),
        LedgerEntry.type != "audit.entry")
        .order_by(LedgerEntry.seq.desc()).limit(2))).all()
    alert_row, msg_row = rows
    assert msg_row.type == "chat.message" and alert_row.type == "alert.raised"
    assert msg_row.payload is not None and alert_row.payload is not None
    recorded = json.loads(msg_row.payload)
    assert recorded["message_id"] == msg.id and recorded["decision"] == "block"
    assert recorded["body"] == msg.body and "_salt" in recorded
    assert json.loads(alert_row.payload)["alert_id"] == alert.id
    # The alert then opened a case, ledgered after it.
    latest = await db.scalar(select(LedgerEntry.type).where(
        LedgerEntry.tenant_id == msg.tenant_id, LedgerEntry.type != "audit.entry")
        .order_by(LedgerEntry.seq.desc()).limit(1))
    assert latest is not None and latest.startswith("case.")
    result = await verify_tenant(db, msg.tenant_id)
    assert result.ok, result.message
