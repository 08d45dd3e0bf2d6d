"""Notice texts from group standards on the chat send path: the customer's official-channel
notice per category, and the agent told that the customer tried to move off-platform."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.chat.helpers import active_conversation

from probity.governance.notices import agent_warning, customer_notice, notice_texts
from probity.governance.sections import NoticeSettings
from probity.models import Tenant

BLOCKED = "加我vx abc12345，私下聊"


def test_texts_per_category_and_role() -> None:
    n = NoticeSettings(customer_bribe="请勿赠送红包", agent_payment="请勿私下收款！")
    assert customer_notice(n, ["bribe"]) == "请勿赠送红包"
    assert customer_notice(n, ["refusal", "contact"]) == n.customer_contact
    assert agent_warning(n, ["payment"]) == "请勿私下收款！"
    assert notice_texts(-1) == NoticeSettings()  # never loaded: the built-in texts


async def test_hq_notice_reaches_the_customer_of_a_subsidiary(as_user: Any, db: AsyncSession
                                                              ) -> None:
    hq = await db.scalar(select(Tenant.id).where(Tenant.code == "HQ"))
    admin = await as_user("admin")
    r = await admin.put(f"/api/v1/settings/{hq}/notices", json={
        "values": {"customer_contact": "请在官方渠道联系客服，谨防私下交易诈骗。"},
        "reason": "new group wording"})
    assert r.status_code == 201, r.text
    conv_id, _ = await active_conversation(as_user)
    c = await as_user("customer")
    r = await c.post(f"/api/v1/chat/conversations/{conv_id}/messages",
                     json={"text": BLOCKED, "client_id": "n1"})
    ack = r.json()
    wording = "请在官方渠道联系客服，谨防私下交易诈骗。"
    assert ack["decision"] == "block" and ack["notice"] == wording
    mine = (await c.get(f"/api/v1/chat/conversations/{conv_id}/messages")).json()
    assert mine[-1]["notice"] == wording


async def test_chat_process_rules_attachments_and_reminder(as_user: Any, db: AsyncSession
                                                           ) -> None:
    from probity.chat.conversations import official_reminder

    hq = await db.scalar(select(Tenant.id).where(Tenant.code == "HQ"))
    ecom = await db.scalar(select(Tenant.id).where(Tenant.code == "ECOM"))
    assert hq is not None and ecom is not None
    assert await official_reminder(db, ecom)  # on by default
    admin = await as_user("admin")
    r = await admin.put(f"/api/v1/settings/{hq}/chat", json={
        "values": {"allowed_attachments": ["image"], "official_channel_reminder": False},
        "locks": {"allowed_attachments": True}, "reason": "no voice notes in the group"})
    assert r.status_code == 201, r.text
    assert await official_reminder(db, ecom) is None
    conv_id, _ = await active_conversation(as_user)
    c = await as_user("customer")
    voice = await c.post(f"/api/v1/chat/conversations/{conv_id}/attachments",
                         files={"file": ("v.ogg", b"OggS" + b"\x00" * 200, "audio/ogg")},
                         data={"kind": "voice"})
    assert voice.status_code == 422 and voice.json()["code"] == "attachment_not_allowed"
    assert voice.json()["detail"] == "此处不允许发送语音附件"
