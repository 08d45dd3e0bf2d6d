"""A chat socket's access, checked before each frame, is kept between frames only until an
event can have taken it away: a reassigned agent, a revoked token or ended session is refused
at once; without any event (a lost one), the time limit makes the socket look again."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.chat.conftest import (
    open_conversation,
    recv,
    recv_until,
    run_server,
    sign_in,
    ws_connect,
)
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect


def _send(ws: ClientConnection, text: str = "您好") -> dict[str, Any]:
    client_id = uuid.uuid4().hex
    ws.send(f'{{"type": "send", "client_id": "{client_id}", "text": "{text}"}}')
    frame, _ = recv_until(ws, "ack")
    assert frame["client_id"] == client_id
    return frame


def _refused(ws: ClientConnection) -> None:
    """The socket answers `session_ended` and closes with 4401."""
    err, _ = recv_until(ws, "error")
    assert err["code"] == "session_ended"
    with pytest.raises(ConnectionClosed) as info:
        for _ in range(20):
            recv(ws)
    assert info.value.rcvd is not None and info.value.rcvd.code == 4401


def _other_agent(db_url: str, conv_id: int) -> int:
    """Another agent of the conversation's team (not the demo agent who holds it)."""
    with sqlite3.connect(db_url.split("///", 1)[1]) as db:
        row = db.execute(
            "SELECT u.id FROM users u"
            " JOIN role_assignments r ON r.user_id = u.id AND r.role = 'agent'"
            " JOIN conversations c ON c.org_unit_id = r.org_unit_id"
            " WHERE c.id = ? AND u.id <> c.agent_user_id ORDER BY u.id LIMIT 1",
            (conv_id,)).fetchone()
    assert row is not None
    return int(row[0])


def _bearer(base: str, path: str, token: str) -> ClientConnection:
    return connect(base.replace("http://", "ws://") + path,
                   additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10)


def test_an_agent_reassigned_away_is_refused_at_the_next_frame(chat_server: str,
                                                                chat_db_url: str) -> None:
    conv_id, _customer, agent = open_conversation(chat_server)
    ws = ws_connect(chat_server, f"/ws/chat/{conv_id}", agent)
    try:
        recv_until(ws, "synced")
        assert _send(ws)["decision"] == "allow"  # access checked and kept
        assert _send(ws)["decision"] == "allow"
        lead = sign_in(chat_server, "lead")
        r = lead.post(f"/api/v1/chat/conversations/{conv_id}/reassign",
                      json={"to_user_id": _other_agent(chat_db_url, conv_id), "reason": "转交"})
        assert r.status_code == 200, r.text
        ws.send(f'{{"type": "send", "client_id": "{uuid.uuid4().hex}", "text": "还在吗"}}')
        _refused(ws)
    finally:
        ws.close()
    # The refused send was not stored.
    with sqlite3.connect(chat_db_url.split("///", 1)[1]) as db:
        assert db.execute("SELECT count(*) FROM messages WHERE conversation_id = ?"
                          " AND body = '还在吗'", (conv_id,)).fetchone() == (0,)


def test_a_revoked_token_closes_its_sockets_and_only_those(chat_server: str) -> None:
    lead = sign_in(chat_server, "lead")
    minted = lead.post("/api/v1/tokens", json={"name": "ws"}).json()
    customer = sign_in(chat_server, "customer")
    conv = customer.post("/api/v1/chat/conversations", json={}).json()["conversation"]
    by_token = _bearer(chat_server, f"/ws/chat/{conv['id']}", minted["token"])
    by_cookie = ws_connect(chat_server, f"/ws/chat/{conv['id']}", lead)
    try:
        for ws in (by_token, by_cookie):
            recv_until(ws, "synced")
            ws.send('{"type": "read", "seq": 0}')  # access checked and kept
            ws.send('{"type": "ping"}')
            recv_until(ws, "pong")
        assert lead.delete(f"/api/v1/tokens/{minted['id']}").status_code == 200
        _refused(by_token)  # closed by the event, without a frame of its own
        by_cookie.send('{"type": "read", "seq": 0}')
        by_cookie.send('{"type": "ping"}')
        assert recv_until(by_cookie, "pong")[0]["type"] == "pong"
    finally:
        by_token.close()
        by_cookie.close()


@pytest.fixture(scope="module")
def recheck_db_url(fresh_sqlite: Callable[[str], str]) -> str:
    return fresh_sqlite("chatrecheck")


@pytest.fixture(scope="module")
def recheck_server(recheck_db_url: str, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[str]:
    """A server that keeps no access decision between frames."""
    yield from run_server(recheck_db_url, tmp_path_factory.mktemp("chatrecheck-srv"),
                          PROBITY_CHAT_ACCESS_RECHECK_S="0")


def test_without_an_event_the_time_limit_looks_again(recheck_server: str,
                                                     recheck_db_url: str) -> None:
    """A change no event announces (here written to the database directly) is seen once the
    kept decision runs out: with a limit of 0, at the very next frame."""
    conv_id, _customer, agent = open_conversation(recheck_server)
    ws = ws_connect(recheck_server, f"/ws/chat/{conv_id}", agent)
    try:
        recv_until(ws, "synced")
        assert _send(ws)["decision"] == "allow"
        other = _other_agent(recheck_db_url, conv_id)
        with sqlite3.connect(recheck_db_url.split("///", 1)[1]) as db:
            db.execute("UPDATE conversations SET agent_user_id = ? WHERE id = ?",
                       (other, conv_id))
        ws.send('{"type": "read", "seq": 0}')
        _refused(ws)
    finally:
        ws.close()
