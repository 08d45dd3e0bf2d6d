"""API tests for the chat channel: routing, screening in the send path, recall, permanence."""

from __future__ import annotations

import io
from datetime import timedelta

import httpx
import pytest
from PIL import Image
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from tests.chat.helpers import active_conversation, an_order, go_available, team_agents

from probity.chat import conversations, routing
from probity.chat.screening import BLOCK_NOTICE, screen_text
from probity.models import (
    Alert,
    Conversation,
    ConversationStatus,
    Employee,
    Message,
    OrgUnit,
    Transfer,
    User,
)

BLOCKED_TEXT = "加我vx abc12345，私下聊"


async def _send(c: httpx.AsyncClient, conv_id: int, body: str, **kw: str) -> dict:  # type: ignore[type-arg]
    r = await c.post(f"/api/v1/chat/conversations/{conv_id}/messages", json={"text": body, **kw},
                     headers=kw.pop("headers", {}) if "headers" in kw else {})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_signed_in_customer_is_routed_to_available_agent(as_user) -> None:  # type: ignore[no-untyped-def]
    conv_id, _team = await active_conversation(as_user)
    c = await as_user("agent")
    mine = (await c.get("/api/v1/chat/conversations", params={"status": "active"})).json()
    assert conv_id in [m["id"] for m in mine]
    transfers = (await c.get(f"/api/v1/chat/conversations/{conv_id}/transfers")).json()
    assert [t["kind"] for t in transfers] == ["route"]


async def test_guest_identifies_by_order_and_phone_last4(client, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    order = await an_order(db)
    assert order.contact_phone
    bad = await client.post("/api/v1/chat/conversations",
                            json={"order_no": order.order_no, "phone_last4": "0000"
                                  if not order.contact_phone.endswith("0000") else "1111"})
    assert bad.status_code == 404
    r = await client.post("/api/v1/chat/conversations",
                          json={"order_no": order.order_no,
                                "phone_last4": order.contact_phone[-4:]})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["token"] and body["conversation"]["order_id"] == order.id
    cid = body["conversation"]["id"]
    # The token is the guest's only key: without it the conversation does not exist.
    assert (await client.get(f"/api/v1/chat/conversations/{cid}")).status_code == 404
    ok = await client.get(f"/api/v1/chat/conversations/{cid}",
                          headers={"X-Chat-Token": body["token"]})
    assert ok.status_code == 200
    sent = await client.post(f"/api/v1/chat/conversations/{cid}/messages",
                             json={"text": "你好，我的订单还没发货"},
                             headers={"X-Chat-Token": body["token"]})
    assert sent.status_code == 201 and sent.json()["seq"] == 1


async def test_routing_least_loaded_with_limit_then_queue(as_user, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    c = await go_available(as_user, "agent")
    team_id = (await c.put("/api/v1/chat/agent/availability", json={"available": True})
               ).json()["org_unit_id"]
    await db.execute(update(OrgUnit).where(OrgUnit.id == team_id).values(max_concurrent=1))
    # Start from a team with no open conversations (the demo group leaves some).
    await db.execute(update(Conversation).where(
        Conversation.org_unit_id == team_id, Conversation.status != ConversationStatus.closed)
        .values(status=ConversationStatus.closed))
    others = [u for u in await team_agents(db, team_id) if u != "agent"]
    assert others
    await go_available(as_user, others[0])
    c = await as_user("customer")
    got = []
    for _ in range(3):
        r = await c.post("/api/v1/chat/conversations", json={})
        assert r.status_code == 201
        got.append(r.json())
    agents = {g["conversation"]["agent_user_id"] for g in got[:2]}
    assert len(agents) == 2, "each agent takes one (least loaded, limit 1)"
    assert got[2]["conversation"]["status"] == "waiting" and got[2]["queue_position"] == 1
    # Closing one frees its agent, who takes the queued conversation.
    first = got[0]["conversation"]
    r = await c.post(f"/api/v1/chat/conversations/{first['id']}/close")
    assert r.status_code == 200
    queued = (await c.get(f"/api/v1/chat/conversations/{got[2]['conversation']['id']}")).json()
    assert queued["status"] == "active" and queued["agent_user_id"] == first["agent_user_id"]
    kinds = (await db.scalars(select(Transfer.kind).where(
        Transfer.conversation_id == queued["id"]))).all()
    assert list(kinds) == ["queue"]


async def test_blocked_message_not_delivered_notice_to_sender_evidence_for_compliance(
        as_user, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    conv_id, _ = await active_conversation(as_user)
    c = await as_user("customer")
    ack = await _send(c, conv_id, BLOCKED_TEXT)
    assert ack["decision"] == "block" and ack["notice"] == BLOCK_NOTICE
    assert ack["message"]["body"] == BLOCKED_TEXT  # the sender keeps their own text
    mine = (await c.get(f"/api/v1/chat/conversations/{conv_id}/messages")).json()
    assert mine[-1]["blocked"] and mine[-1]["notice"] == BLOCK_NOTICE
    assert mine[-1]["body"] == BLOCKED_TEXT
    # The agent (recipient) sees nothing of it.
    a = await as_user("agent")
    seen = (await a.get(f"/api/v1/chat/conversations/{conv_id}/messages")).json()
    assert all(m["seq"] != ack["seq"] for m in seen)
    # Stored as evidence; only compliance sees the content.
    row = await db.scalar(select(Message).where(Message.id == ack["id"]))
    assert row is not None and row.body == BLOCKED_TEXT and row.decision == "block"
    assert "contact" in row.categories and row.spans
    hr = await as_user("hr")
    hr_view = (await hr.get(f"/api/v1/chat/conversations/{conv_id}/messages",
                            params={"reason": "alert review"})).json()
    blocked = next(m for m in hr_view if m["seq"] == ack["seq"])
    assert blocked["blocked"] and "body" not in blocked
    comp = await as_user("compliance")
    comp_view = (await comp.get(f"/api/v1/chat/conversations/{conv_id}/messages",
                                params={"reason": "alert review"})).json()
    assert next(m for m in comp_view if m["seq"] == ack["seq"])["body"] == BLOCKED_TEXT
    # An alert with who/where/category/severity and a masked snippet.
    alert = await db.scalar(select(Alert).where(Alert.message_id == ack["id"]))
    assert alert is not None and alert.decision == "block" and alert.category == "contact"
    assert alert.conversation_id == conv_id and alert.severity >= 1
    assert "abc12345" not in alert.snippet
    listed = (await hr.get("/api/v1/alerts")).json()
    assert alert.id in [x["id"] for x in listed]
    assert (await hr.get(f"/api/v1/alerts/{alert.id}")).status_code == 200


async def test_warn_is_delivered_with_reminder_and_spans_for_hr(as_user, db: AsyncSession
                                                                 ) -> None:  # type: ignore[no-untyped-def]
    # The tenant's policy decides what warns: compliance adds a medium-severity term (the
    # default thresholds warn at 2), and the send path screens with it from the next message.
    from probity.models import Tenant

    text_ = "下次给你带点土特产"
    ecom = await db.scalar(select(Tenant.id).where(Tenant.code == "ECOM"))
    compliance = await as_user("compliance")
    r = await compliance.put(f"/api/v1/policies/{ecom}", json={
        "lexicon": [{"term": "土特产", "category": "bribe", "severity": 2}],
        "override_reason": "test: publish without a replay"})
    assert r.status_code == 201, r.text
    conv_id, _ = await active_conversation(as_user)
    c = await as_user("customer")
    ack = await _send(c, conv_id, text_)
    assert ack["decision"] == "warn" and ack["message"]["body"] == text_
    assert "decision" not in ack["message"]  # the customer is not shown screening details
    a = await as_user("agent")
    seen = {m["seq"]: m for m in (await a.get(
        f"/api/v1/chat/conversations/{conv_id}/messages")).json()}
    assert seen[ack["seq"]]["reminder"] and seen[ack["seq"]]["decision"] == "warn"
    hr = await as_user("hr")
    hr_seen = {m["seq"]: m for m in (await hr.get(
        f"/api/v1/chat/conversations/{conv_id}/messages",
        params={"reason": "alert review"})).json()}
    assert hr_seen[ack["seq"]]["spans"]
    assert await db.scalar(select(Alert).where(Alert.message_id == ack["id"])) is not None


async def test_agent_refusal_is_delivered_and_counted(as_user, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    refusal = "感谢您的好意，按规定我们不能收红包"
    assert "refusal" in screen_text(refusal, "agent").categories
    conv_id, _ = await active_conversation(as_user)
    a = await as_user("agent")
    ack = await _send(a, conv_id, refusal)
    assert ack["decision"] == "allow"
    row = await db.get(Message, ack["id"])
    assert row is not None and "refusal" in row.categories and row.sender_employee_id


async def test_idempotent_resend_returns_the_stored_message(as_user) -> None:  # type: ignore[no-untyped-def]
    conv_id, _ = await active_conversation(as_user)
    c = await as_user("customer")
    one = await _send(c, conv_id, "你好", client_id="c-1")
    two = await _send(c, conv_id, "你好", client_id="c-1")
    assert two["duplicate"] and two["seq"] == one["seq"] and two["id"] == one["id"]


async def test_recall_within_two_minutes_keeps_original(as_user, db: AsyncSession,
                                                        monkeypatch) -> None:  # type: ignore[no-untyped-def]
    conv_id, _ = await active_conversation(as_user)
    a = await as_user("agent")
    ack = await _send(a, conv_id, "这条发错了")
    r = await a.post(f"/api/v1/chat/conversations/{conv_id}/messages/{ack['seq']}/recall")
    assert r.status_code == 200, r.text
    again = await a.post(f"/api/v1/chat/conversations/{conv_id}/messages/{ack['seq']}/recall")
    assert again.status_code == 409
    c = await as_user("customer")
    seen = {m["seq"]: m for m in (await c.get(
        f"/api/v1/chat/conversations/{conv_id}/messages")).json()}
    assert seen[ack["seq"]]["recalled"] and "body" not in seen[ack["seq"]]
    row = await db.get(Message, ack["id"])
    assert row is not None and row.body == "这条发错了" and row.recalled_at is not None
    # The customer cannot recall; and past the window the agent cannot either.
    cust = await _send(c, conv_id, "好的")
    assert (await c.post(f"/api/v1/chat/conversations/{conv_id}/messages/{cust['seq']}/recall")
            ).status_code == 403
    a = await as_user("agent")
    late = await _send(a, conv_id, "稍后")
    monkeypatch.setattr(conversations, "RECALL_WINDOW", timedelta(seconds=-1))
    r = await a.post(f"/api/v1/chat/conversations/{conv_id}/messages/{late['seq']}/recall")
    assert r.status_code == 409 and r.json()["code"] == "recall_window"


async def test_messages_are_append_only_in_the_database(as_user, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    conv_id, _ = await active_conversation(as_user)
    a = await as_user("agent")
    ack = await _send(a, conv_id, "原文")
    for stmt in ("UPDATE messages SET body = 'edited' WHERE id = :id",
                 "DELETE FROM messages WHERE id = :id",
                 "UPDATE messages SET recalled_at = NULL WHERE id = :id"):
        nested = await db.begin_nested()
        with pytest.raises((DBAPIError, IntegrityError)):
            await db.execute(text(stmt), {"id": ack["id"]})
        await nested.rollback()
    nested = await db.begin_nested()
    await db.execute(text("UPDATE messages SET recalled_at = created_at WHERE id = :id"),
                     {"id": ack["id"]})  # the one sanctioned change: recall, once
    with pytest.raises((DBAPIError, IntegrityError)):
        await db.execute(text("UPDATE messages SET recalled_at = created_at WHERE id = :id"),
                         {"id": ack["id"]})
    await nested.rollback()


async def test_agents_see_only_their_own_conversations(as_user, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    conv_id, team_id = await active_conversation(as_user)
    other = next(u for u in await team_agents(db, team_id) if u != "agent")
    o = await as_user(other)
    assert (await o.get(f"/api/v1/chat/conversations/{conv_id}")).status_code == 404
    assert (await o.get(f"/api/v1/chat/conversations/{conv_id}/messages")).status_code == 404
    assert (await o.get(f"/api/v1/chat/conversations/{conv_id}/customer")).status_code == 404
    assert conv_id not in [c["id"] for c in (await o.get("/api/v1/chat/conversations")).json()]
    r = await o.post(f"/api/v1/chat/conversations/{conv_id}/messages", json={"text": "hi"})
    assert r.status_code == 404


async def test_lead_reassigns_and_transfer_is_recorded(as_user, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    conv_id, team_id = await active_conversation(as_user)
    other = next(u for u in await team_agents(db, team_id) if u != "agent")
    o = await as_user(other)
    other_id = (await o.get("/api/v1/me")).json()["user_id"]
    a = await as_user("agent")
    r = await a.post(f"/api/v1/chat/conversations/{conv_id}/reassign",
                     json={"to_user_id": other_id})
    assert r.status_code in (403, 404)
    lead = await as_user("lead")
    r = await lead.post(f"/api/v1/chat/conversations/{conv_id}/reassign",
                        json={"to_user_id": other_id, "reason": "专业问题转交"})
    assert r.status_code == 200, r.text
    kinds = [t["kind"] for t in (await lead.get(
        f"/api/v1/chat/conversations/{conv_id}/transfers")).json()]
    assert kinds == ["route", "reassign"]
    a = await as_user("agent")
    assert (await a.get(f"/api/v1/chat/conversations/{conv_id}")).status_code == 404


async def test_agent_sees_customer_orders_payments_refunds(as_user) -> None:  # type: ignore[no-untyped-def]
    conv_id, _ = await active_conversation(as_user)
    a = await as_user("agent")
    panel = (await a.get(f"/api/v1/chat/conversations/{conv_id}/customer")).json()
    assert panel["orders"] and set(panel) == {"customer", "orders", "payments", "refunds"}
    assert "*" in (panel["customer"]["phone"] or "*")
    assert (await a.get("/api/v1/chat/canned-replies")).json()


async def test_close_then_csat_once(as_user) -> None:  # type: ignore[no-untyped-def]
    conv_id, _ = await active_conversation(as_user)
    c = await as_user("customer")
    early = await c.post(f"/api/v1/chat/conversations/{conv_id}/csat", json={"score": 5})
    assert early.status_code == 409
    a = await as_user("agent")
    closed = await a.post(f"/api/v1/chat/conversations/{conv_id}/close")
    assert closed.json()["status"] == "closed"
    assert (await a.post(f"/api/v1/chat/conversations/{conv_id}/csat", json={"score": 1})
            ).status_code == 403
    c = await as_user("customer")
    r = await c.post(f"/api/v1/chat/conversations/{conv_id}/csat", json={"score": 5})
    assert r.status_code == 200 and r.json()["csat_score"] == 5
    assert (await c.post(f"/api/v1/chat/conversations/{conv_id}/csat", json={"score": 4})
            ).status_code == 409
    r = await c.post(f"/api/v1/chat/conversations/{conv_id}/messages", json={"text": "还在吗"})
    assert r.status_code == 409


def _png(size: int = 8) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


async def test_image_attachment_by_content_address_with_checks(as_user, settings) -> None:  # type: ignore[no-untyped-def]
    import hashlib

    conv_id, _ = await active_conversation(as_user)
    c = await as_user("customer")
    url = f"/api/v1/chat/conversations/{conv_id}/attachments"
    png = _png()
    r = await c.post(url, files={"file": ("a.png", png, "image/png")}, data={"kind": "image"})
    assert r.status_code == 201, r.text
    digest = hashlib.sha256(png).hexdigest()
    assert r.json()["message"]["attachment"] == digest
    assert (settings.attachments_dir / digest[:2] / digest[2:4] / digest).read_bytes() == png
    got = await c.get(f"{url}/{digest}")
    assert got.status_code == 200 and got.content == png
    fake = await c.post(url, files={"file": ("x.png", b"MZ\x90\x00 not an image", "image/png")},
                        data={"kind": "image"})
    assert fake.status_code == 422 and fake.json()["code"] == "not_an_image"
    big = await c.post(url, files={"file": ("b.png", b"\x89PNG\r\n\x1a\n" + b"0" * 1_600_000,
                                            "image/png")}, data={"kind": "image"})
    assert big.status_code == 413
    voice = await c.post(url, files={"file": ("v.ogg", b"OggS" + b"\x00" * 200, "audio/ogg")},
                         data={"kind": "voice"})
    assert voice.status_code == 201 and voice.json()["message"]["screening"] == "unscreened"


async def test_alerts_are_scoped(as_user, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    conv_id, _ = await active_conversation(as_user)
    c = await as_user("customer")
    ack = await _send(c, conv_id, BLOCKED_TEXT)
    alert = await db.scalar(select(Alert).where(Alert.message_id == ack["id"]))
    assert alert is not None
    a = await as_user("agent")
    assert (await a.get("/api/v1/alerts")).status_code == 403
    fin = await as_user("finance")
    assert (await fin.get("/api/v1/alerts")).status_code == 403
    comp = await as_user("compliance")
    assert alert.id in [x["id"] for x in (await comp.get("/api/v1/alerts")).json()]


async def test_screening_alerts_open_and_join_a_case(as_user, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    from probity.models import Case, CaseAlert

    conv_id, _ = await active_conversation(as_user)
    c = await as_user("customer")
    first = await _send(c, conv_id, "加我vx聊，给你发个红包")
    second = await _send(c, conv_id, "我的微信号是 abc12345")
    assert first["decision"] == second["decision"] == "block"
    alerts = (await db.scalars(select(Alert).where(Alert.conversation_id == conv_id))).all()
    assert len(alerts) == 2
    case_ids = {cid for cid in (await db.scalars(select(CaseAlert.case_id).where(
        CaseAlert.alert_id.in_([a.id for a in alerts]))))}
    assert len(case_ids) == 1  # same agent and customer within the window: one case
    case = await db.get(Case, case_ids.pop())
    assert case is not None and case.status.value == "new"


async def test_guest_guessing_is_limited(client, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    from probity.chat.router import GUEST_LIMITER

    order = await an_order(db)
    assert order.contact_phone
    wrong = "0000" if order.contact_phone[-4:] != "0000" else "1111"
    for _ in range(GUEST_LIMITER.max_attempts):
        r = await client.post("/api/v1/chat/conversations",
                              json={"order_no": order.order_no, "phone_last4": wrong})
        assert r.status_code == 404
    # Now even the right digits wait: the order is being guessed.
    r = await client.post("/api/v1/chat/conversations",
                          json={"order_no": order.order_no,
                                "phone_last4": order.contact_phone[-4:]})
    assert r.status_code == 429 and r.json()["code"] == "too_many_attempts"
    assert r.headers["retry-after"]


async def test_agent_is_named_by_employee_name_else_display_name_never_username(
        db: AsyncSession) -> None:
    """What the customer's "客服 <name> 已接入" line shows."""
    agent = await db.scalar(select(User).where(User.username == "agent"))
    staff = await db.scalar(select(User).where(User.username == "admin"))
    assert agent is not None and agent.employee_id is not None and staff is not None
    employee = await db.get(Employee, agent.employee_id)
    assert employee is not None
    with_employee = Conversation(id=-1, agent_user_id=agent.id, agent_employee_id=employee.id)
    # An account without an employee record (a contractor's, say): its display name.
    without = Conversation(id=-2, agent_user_id=staff.id, agent_employee_id=None)
    unstaffed = Conversation(id=-3, agent_user_id=None, agent_employee_id=None)
    names = await routing.agent_names(db, [with_employee, without, unstaffed])
    assert names == {-1: employee.name, -2: staff.display_name}
    assert employee.name != agent.username and staff.display_name != staff.username
