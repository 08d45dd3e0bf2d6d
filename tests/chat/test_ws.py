"""The WebSocket protocol against a real server: ack after commit, delivery, block, resume."""

from __future__ import annotations

import sqlite3
import uuid

import pytest
from tests.chat.conftest import open_conversation, recv, recv_until, sign_in, ws_connect

from probity.chat.screening import BLOCK_NOTICE
from probity.demo import DEMO_LOGINS

BLOCKED = "加我vx abc12345，私下聊"
# The demo agent's account is "客服 李娜 (售前一组)"; the customer is shown her name, "李娜".
AGENT_NAME = next(d for u, d, *_ in DEMO_LOGINS if u == "agent").split(" ")[1]


def test_chat_over_websocket_ack_block_resume_recall(chat_server: str) -> None:
    conv_id, customer, agent = open_conversation(chat_server)
    cws = ws_connect(chat_server, f"/ws/chat/{conv_id}", customer)  # type: ignore[arg-type]
    aws = ws_connect(chat_server, f"/ws/chat/{conv_id}", agent)  # type: ignore[arg-type]
    try:
        hello = recv(cws)
        assert hello["type"] == "hello" and hello["role"] == "customer"
        # The agent's name (the employee's), neither the username nor the account's label.
        assert hello["conversation"]["agent_name"] == AGENT_NAME
        assert recv_until(cws, "synced")[0]["seq"] == 0
        assert recv(aws)["role"] == "agent"
        recv_until(aws, "synced")

        # An allowed message: acked (after commit) with its seq, and delivered to the agent.
        cws.send('{"type": "send", "client_id": "c1", "text": "你好，请问订单什么时候发货？"}')
        ack, _ = recv_until(cws, "ack")
        assert ack["client_id"] == "c1" and ack["seq"] == 1 and ack["decision"] == "allow"
        got = recv(aws)
        assert got["type"] == "message" and got["seq"] == 1 and got["sender"] == "customer"

        # A blocked message: the sender gets the notice; the agent never gets the message,
        # only word that the customer tried to move off-platform (no text).
        cws.send(f'{{"type": "send", "client_id": "c2", "text": "{BLOCKED}"}}')
        ack, _ = recv_until(cws, "ack")
        assert ack["decision"] == "block" and ack["notice"] == BLOCK_NOTICE and ack["seq"] == 2
        attempt = recv(aws)
        assert attempt["type"] == "customer_attempt" and attempt["seq"] == 2
        assert attempt["notice"] and "body" not in attempt and "text" not in attempt
        aws.send('{"type": "ping"}')
        assert recv(aws)["type"] == "pong", "the blocked message must not reach the agent"

        # Resending the same client_id is idempotent.
        cws.send('{"type": "send", "client_id": "c1", "text": "你好，请问订单什么时候发货？"}')
        dup, _ = recv_until(cws, "ack")
        assert dup["duplicate"] and dup["seq"] == 1

        # The customer drops; the agent sends three; the customer resumes from seq 2.
        cws.close()
        for i in range(3):
            aws.send(f'{{"type": "send", "client_id": "a{i}", "text": "第{i}条回复"}}')
            assert recv_until(aws, "ack")[0]["seq"] == 3 + i
        cws = ws_connect(chat_server, f"/ws/chat/{conv_id}?after=2", customer)  # type: ignore[arg-type]
        assert recv(cws)["type"] == "hello"
        synced, backlog = recv_until(cws, "synced")
        assert [m["seq"] for m in backlog] == [3, 4, 5] and synced["seq"] == 5

        # Read receipts travel to the other side.
        cws.send('{"type": "read", "seq": 5}')
        receipt, _ = recv_until(aws, "receipt")
        assert receipt["by"] == "customer" and receipt["read"] == 5 and receipt["delivered"] == 5

        # Recall: the customer is told; history hides it from the customer only.
        aws.send('{"type": "recall", "seq": 5}')
        recalled, _ = recv_until(cws, "recalled")
        assert recalled["seq"] == 5
        hist = {m["seq"]: m for m in customer.get(  # type: ignore[attr-defined]
            f"/api/v1/chat/conversations/{conv_id}/messages").json()}
        assert hist[5].get("recalled") and "body" not in hist[5]
        assert hist[2]["body"] == BLOCKED and hist[2]["notice"] == BLOCK_NOTICE  # the sender's own
        ahist = {m["seq"]: m for m in agent.get(  # type: ignore[attr-defined]
            f"/api/v1/chat/conversations/{conv_id}/messages").json()}
        assert 2 not in ahist and ahist[5]["body"] == "第2条回复" and ahist[5]["recalled_at"]
    finally:
        cws.close()
        aws.close()


def test_strangers_cannot_open_the_socket(chat_server: str) -> None:
    conv_id, _customer, _agent = open_conversation(chat_server)
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    finance = sign_in(chat_server, "finance")
    with pytest.raises((ConnectionClosed, InvalidStatus)):
        ws = ws_connect(chat_server, f"/ws/chat/{conv_id}", finance)
        recv(ws)
    with pytest.raises((ConnectionClosed, InvalidStatus)):
        ws = ws_connect(chat_server, f"/ws/chat/{conv_id}?token={uuid.uuid4().hex}")
        recv(ws)


def test_alert_reaches_hr_feed_live(chat_server: str) -> None:
    conv_id, customer, _agent = open_conversation(chat_server)
    hr = sign_in(chat_server, "hr")
    feed = ws_connect(chat_server, "/ws/alerts", hr)
    try:
        assert recv(feed)["type"] == "ready"
        r = customer.post(f"/api/v1/chat/conversations/{conv_id}/messages",  # type: ignore[attr-defined]
                          json={"text": BLOCKED})
        assert r.json()["decision"] == "block"
        event = recv(feed)
        alert = event["alert"]
        assert event["type"] == "alert" and alert["conversation_id"] == conv_id
        assert alert["category"] == "contact" and alert["decision"] == "block"
        assert "abc12345" not in alert["snippet"]
    finally:
        feed.close()


def test_assigned_event_names_the_new_agent_never_a_username(chat_server: str,
                                                             chat_db_url: str) -> None:
    """A team lead hands the conversation to another agent: the customer's socket is told who
    joined by name. The other agents' usernames are employee numbers (internal codes)."""
    customer = sign_in(chat_server, "customer")
    r = customer.post("/api/v1/chat/conversations", json={})  # routed, or waiting: either
    assert r.status_code == 201, r.text
    conv_id = r.json()["conversation"]["id"]
    with sqlite3.connect(chat_db_url.split("///", 1)[1]) as db:
        user_id, username, name = db.execute(
            "SELECT u.id, u.username, e.name FROM users u"
            " JOIN employees e ON e.id = u.employee_id"
            " JOIN role_assignments r ON r.user_id = u.id AND r.role = 'agent'"
            " JOIN conversations c ON c.org_unit_id = r.org_unit_id"
            " WHERE c.id = ? AND u.username <> 'agent' ORDER BY u.id LIMIT 1",
            (conv_id,)).fetchone()
    assert username != name
    cws = ws_connect(chat_server, f"/ws/chat/{conv_id}", customer)
    try:
        recv_until(cws, "synced")
        lead = sign_in(chat_server, "lead")
        r = lead.post(f"/api/v1/chat/conversations/{conv_id}/reassign",
                      json={"to_user_id": user_id, "reason": "转交"})
        assert r.status_code == 200, r.text
        assigned, _ = recv_until(cws, "assigned")
        assert assigned["agent_user_id"] == user_id and assigned["status"] == "active"
        assert assigned["agent_name"] == name
    finally:
        cws.close()


def test_frames_sent_back_to_back_are_answered_in_order(chat_server: str) -> None:
    """A socket acts on its frames one after the other: each send is acked (after its commit)
    before the next frame is acted on, even though the ack is sent by the writer's hand-back
    and the socket's task reads the next frame meanwhile — a resend is then the first one's
    duplicate, and a ping after the sends is answered after their acks."""
    customer = sign_in(chat_server, "customer")  # assigned or waiting: either sends
    r = customer.post("/api/v1/chat/conversations", json={})
    assert r.status_code == 201, r.text
    conv_id = r.json()["conversation"]["id"]
    cws = ws_connect(chat_server, f"/ws/chat/{conv_id}", customer)  # type: ignore[arg-type]
    try:
        recv_until(cws, "synced")
        for frame in ('{"type": "send", "client_id": "b1", "text": "第一条"}',
                      '{"type": "send", "client_id": "b2", "text": "第二条"}',
                      '{"type": "send", "client_id": "b1", "text": "第一条"}',
                      '{"type": "ping"}',
                      '{"type": "send", "client_id": "b3", "text": "第三条"}'):
            cws.send(frame)
        got = [recv(cws) for _ in range(5)]
        assert [(f["type"], f.get("client_id"), f.get("seq"), f.get("duplicate"))
                for f in got] == [("ack", "b1", 1, False), ("ack", "b2", 2, False),
                                  ("ack", "b1", 1, True), ("pong", None, None, None),
                                  ("ack", "b3", 3, False)]
    finally:
        cws.close()
