"""Offboarding and sockets against a real server (issue 16, items 3, 6 and 7).

An employee moved to "left" loses everything at once — account, tokens, cookie, open sockets —
and their customers go back to the queue. A socket re-checks its principal before acting on a
frame; supervisors pass the same access gate as over HTTP; malformed frames get an error frame
and leave the socket open.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date

import httpx
import pytest
from tests.chat.conftest import recv, recv_until, run_server, sign_in, ws_connect
from websockets.exceptions import ConnectionClosed

from probity.demo import DEMO_PASSWORD


@pytest.fixture(scope="module")
def server(fresh_sqlite: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[str]:
    yield from run_server(fresh_sqlite("offboard"), tmp_path_factory.mktemp("offboard-srv"))


def _conversation(base: str, agent: httpx.Client) -> int:
    assert agent.put("/api/v1/chat/agent/availability", json={"available": True}
                     ).status_code == 200
    customer = sign_in(base, "customer")
    r = customer.post("/api/v1/chat/conversations", json={})
    assert r.status_code == 201, r.text
    conv = r.json()["conversation"]
    assert conv["agent_user_id"] == agent.get("/api/v1/me").json()["user_id"]
    return int(conv["id"])


def _closed_with(ws: object, code: int) -> None:
    with pytest.raises(ConnectionClosed) as info:
        for _ in range(20):
            recv(ws)  # type: ignore[arg-type]
    assert info.value.rcvd is not None and info.value.rcvd.code == code


def test_malformed_frames_get_an_error_frame_and_the_socket_stays(server: str) -> None:
    agent = sign_in(server, "agent")
    conv_id = _conversation(server, agent)
    ws = ws_connect(server, f"/ws/chat/{conv_id}", agent)
    try:
        recv_until(ws, "synced")
        cases = [
            (b"\x00\x01binary", "binary_frame"),
            ("not json", "invalid_json"),
            ("[1, 2]", "invalid_frame"),
            ("[" * 100_000 + "]" * 100_000, "frame_too_large"),
            ("[" * 30_000 + "]" * 30_000, "frame_too_deep"),
            (json.dumps({"type": "read", "seq": "abc"}), "invalid_seq"),
            (json.dumps({"type": "read", "seq": 1.5}), "invalid_seq"),
            (json.dumps({"type": "recall", "seq": 2**70}), "invalid_seq"),
            (json.dumps({"type": "send", "client_id": "x", "text": {"a": 1}}), "invalid_frame"),
        ]
        for frame, code in cases:
            ws.send(frame)
            err = recv_until(ws, "error")[0]
            assert err["code"] == code, (frame[:20], err)
        ws.send('{"type": "ping"}')
        assert recv_until(ws, "pong")[0]["type"] == "pong"
        ws.send('{"type": "send", "client_id": "ok1", "text": "您好，请问有什么可以帮您？"}')
        assert recv_until(ws, "ack")[0]["decision"] == "allow"
    finally:
        ws.close()


def test_supervisor_socket_needs_the_access_reason_and_is_logged(server: str) -> None:
    agent = sign_in(server, "agent")
    conv_id = _conversation(server, agent)
    compliance = sign_in(server, "compliance")
    ws = ws_connect(server, f"/ws/chat/{conv_id}", compliance)
    err = recv(ws)
    assert err["type"] == "error" and err["code"] == "reason_required"
    _closed_with(ws, 4422)
    ws = ws_connect(server, f"/ws/chat/{conv_id}?reason=case%20review", compliance)
    try:
        assert recv(ws)["role"] == "supervisor"
    finally:
        ws.close()
    auditor = sign_in(server, "auditor")
    rows = auditor.get("/api/v1/access-log",
                       params={"target_type": "conversation", "target_id": str(conv_id)}).json()
    assert any(r["actor_name"] == "compliance" and r["reason"] == "case review" for r in rows)


def test_leaving_ends_everything_at_once(server: str) -> None:
    agent = sign_in(server, "agent")
    me = agent.get("/api/v1/me").json()
    token = agent.post("/api/v1/tokens", json={"name": "cli"}).json()["token"]
    conv_id = _conversation(server, agent)
    chat = ws_connect(server, f"/ws/chat/{conv_id}", agent)
    inbox = ws_connect(server, "/ws/agent", agent)
    recv_until(chat, "synced")
    assert recv(inbox)["type"] == "ready"

    hr = sign_in(server, "hr")
    r = hr.post(f"/api/v1/employees/{me['employee_id']}/transitions",
                json={"to_status": "left", "effective_date": date.today().isoformat()})
    assert r.status_code == 201, r.text

    # Open sockets are closed at once, with a reason.
    for ws in (chat, inbox):
        err = recv_until(ws, "error")[0]
        assert err["code"] == "session_ended"
        _closed_with(ws, 4401)
    # The cookie, the token and the password no longer work.
    assert agent.get("/api/v1/me").status_code == 401
    with httpx.Client(base_url=server) as c:
        assert c.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}
                     ).status_code == 401
        assert c.post("/api/v1/auth/login", json={"username": "agent",
                                                  "password": DEMO_PASSWORD}).status_code == 401
    # The customers went back to the queue (no other agent of the team is available).
    lead = sign_in(server, "lead")
    conv = lead.get(f"/api/v1/chat/conversations/{conv_id}").json()
    assert conv["status"] == "waiting" and conv["agent_user_id"] is None
    kinds = [t["kind"] for t in lead.get(f"/api/v1/chat/conversations/{conv_id}/transfers").json()]
    assert kinds[-1] == "requeue"


def test_socket_ends_when_its_token_is_revoked(server: str) -> None:
    """Revoking a token closes the sockets opened with it (its `token_revoked` event); a socket
    that missed the event is refused by its re-check (tests/chat/test_access.py)."""
    lead = sign_in(server, "lead")
    minted = lead.post("/api/v1/tokens", json={"name": "ws"}).json()
    customer = sign_in(server, "customer")
    conv = customer.post("/api/v1/chat/conversations", json={}).json()["conversation"]
    ws = connect_with_token(server, f"/ws/chat/{conv['id']}", minted["token"])
    try:
        assert recv(ws)["role"] == "supervisor"
        recv_until(ws, "synced")
        ws.send('{"type": "read", "seq": 0}')
        ws.send('{"type": "ping"}')
        assert recv_until(ws, "pong")[0]["type"] == "pong"
        assert lead.delete(f"/api/v1/tokens/{minted['id']}").status_code == 200
        assert recv_until(ws, "error")[0]["code"] == "session_ended"
        _closed_with(ws, 4401)
    finally:
        ws.close()


def connect_with_token(base: str, path: str, token: str) -> object:
    from websockets.sync.client import connect

    return connect(base.replace("http://", "ws://") + path,
                   additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10)
