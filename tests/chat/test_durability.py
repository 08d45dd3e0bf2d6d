"""kill -9 in the middle of a stream of sends (issue 17 keeps the guarantee through the writer's
rewrite): every acknowledged message is stored, exactly once; nothing is stored twice across
the restart; resending every client_id afterwards answers the acknowledged ones as duplicates
with the same seq; seqs have no gaps and the ledger still verifies — on SQLite, and on
PostgreSQL (the writer's direct path there: `probity.chat.direct_pg`) when the run has it;
and behind `serve --workers 2` on SQLite, with the chat writer host (`probity.chat.host`)
killed alone, or with every process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, pool, text
from sqlalchemy.ext.asyncio import AsyncSession
from tests.browser.conftest import start_server
from tests.chat.conftest import open_conversation, recv, recv_until, sign_in, ws_connect
from tests.test_dispatch import start, stop
from websockets.sync.client import ClientConnection

from probity.db import make_engine, sync_url
from probity.ledger.service import verify_tenant

PER_SIDE = 120


def _sockets(base: str, conv_id: int, customer: Any, agent: Any
             ) -> dict[str, ClientConnection]:
    out = {"c": ws_connect(base, f"/ws/chat/{conv_id}", customer),
           "a": ws_connect(base, f"/ws/chat/{conv_id}", agent)}
    for ws in out.values():
        recv_until(ws, "synced", timeout=30)
    return out


def _send_all(socks: dict[str, ClientConnection]) -> None:
    for i in range(PER_SIDE):
        for side, ws in socks.items():
            ws.send(json.dumps({"type": "send", "client_id": f"{side}{i}",
                                "text": f"第{i}条消息，请问订单什么时候发货？"}))


def _send_paced(socks: dict[str, ClientConnection], stop: threading.Event) -> None:
    """The same stream as `_send_all`, one pair of sends every 2 ms until `stop` is set (the
    server is about to be killed): so that part of the stream is still to come, or in flight,
    when the kill lands, however fast the server commits (sent all at once, a fast server had
    acknowledged the whole stream before the test saw its 20th ack, and the test had nothing
    in flight to check)."""
    try:
        for i in range(PER_SIDE):
            if stop.is_set():
                return
            for side, ws in socks.items():
                ws.send(json.dumps({"type": "send", "client_id": f"{side}{i}",
                                    "text": f"第{i}条消息，请问订单什么时候发货？"}))
            time.sleep(0.002)
    except Exception:  # the server went away: the rest is sent after the restart
        pass


def _acks(ws: ClientConnection, timeout: float) -> list[dict[str, Any]]:
    """The ack frames received until the socket is quiet for `timeout` or closed."""
    out = []
    try:
        while True:
            frame = recv(ws, timeout)
            if frame.get("type") == "ack":
                out.append(frame)
    except Exception:  # quiet, or the server went away
        pass
    return out


def _stream_until_killed(base: str, kill: Callable[[], None]) -> tuple[int, dict[str, int]]:
    """A paced stream on a new conversation, `kill` called once 20 sends are acknowledged;
    returns the conversation and the acks received (client_id → seq)."""
    acked: dict[str, int] = {}
    conv_id, customer, agent = open_conversation(base)
    socks = _sockets(base, conv_id, customer, agent)
    stop = threading.Event()
    sender = threading.Thread(target=_send_paced, args=(socks, stop), daemon=True)
    sender.start()
    # Let part of the stream be committed and acknowledged, then kill while the rest is
    # still coming.
    first = recv_until(socks["c"], "ack", timeout=30)[0]
    acked[first["client_id"]] = first["seq"]
    while len(acked) < 20:
        frame = recv(socks["a"], 30)
        if frame.get("type") == "ack":
            acked[frame["client_id"]] = frame["seq"]
    stop.set()
    kill()
    sender.join(timeout=30)
    for ws in socks.values():  # acks already on the wire before the kill
        for frame in _acks(ws, 2):
            acked[frame["client_id"]] = frame["seq"]
        ws.close()
    assert 20 <= len(acked) < 2 * PER_SIDE, len(acked)
    return conv_id, acked


def _resend_all_and_check(base: str, url: str, conv_id: int, acked: dict[str, int]) -> None:
    """Every client_id sent again: what was acknowledged is answered as a duplicate with the
    same seq; every message is stored exactly once, with no gap, and the ledger verifies."""
    customer, agent = sign_in(base, "customer"), sign_in(base, "agent")
    socks = _sockets(base, conv_id, customer, agent)
    _send_all(socks)  # every message again, same client_ids
    again: dict[str, dict[str, Any]] = {}
    for ws in socks.values():
        while sum(1 for k in again if k[0] == ("c" if ws is socks["c"] else "a")) < PER_SIDE:
            frame = recv(ws, 60)
            if frame.get("type") == "ack":
                again[frame["client_id"]] = frame
        ws.close()
    # What was acknowledged before the kill is answered as a duplicate, with the same seq.
    for client_id, seq in acked.items():
        assert again[client_id]["duplicate"] is True and again[client_id]["seq"] == seq
    stored = create_engine(sync_url(url), poolclass=pool.NullPool)
    try:
        with stored.connect() as con:
            rows = con.execute(text(
                "SELECT seq, sender_role, client_id FROM messages "
                "WHERE conversation_id = :c ORDER BY seq"), {"c": conv_id}).all()
            last_seq, tenant_id = con.execute(text(
                "SELECT last_seq, tenant_id FROM conversations WHERE id = :c"),
                {"c": conv_id}).one()
    finally:
        stored.dispose()
    # Exactly once each, no gaps, and every ack (before or after) names the stored seq.
    assert len(rows) == 2 * PER_SIDE == last_seq
    assert [r[0] for r in rows] == list(range(1, 2 * PER_SIDE + 1))
    assert len({r[2] for r in rows}) == 2 * PER_SIDE
    assert {r[2]: r[0] for r in rows} == {k: v["seq"] for k, v in again.items()}

    async def verify() -> bool:
        engine = make_engine(url)
        try:
            async with AsyncSession(engine) as s:
                return (await verify_tenant(s, tenant_id)).ok
        finally:
            await engine.dispose()

    assert asyncio.run(verify())


def test_kill_9_mid_stream_loses_and_duplicates_nothing(writer_url: str,
                                                         tmp_path: Path) -> None:
    # As a server runs (env=test would leave it off): the GC policy freezes live objects.
    env = {"PROBITY_ATTACHMENTS_DIR": str(tmp_path / "att"), "PROBITY_GC_POLICY": "true"}
    proc, base = start_server(writer_url, extra_env=env,
                              log=tmp_path / f"server-{uuid.uuid4().hex[:6]}.log")

    def kill() -> None:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    try:
        conv_id, acked = _stream_until_killed(base, kill)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    proc, base = start_server(writer_url, extra_env=env,
                              log=tmp_path / f"server-{uuid.uuid4().hex[:6]}.log")
    try:
        _resend_all_and_check(base, writer_url, conv_id, acked)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_kill_9_of_the_chat_writer_host_mid_stream_loses_and_duplicates_nothing(
        chat_db_url: str, tmp_path: Path) -> None:
    """`serve --workers 2` on SQLite: the chat writer host (probity.chat.host) killed while
    it stores the stream. What it had in hand is answered `retry`, never acked unstored; the
    workers store on through their session path, the dispatcher starts a new host, and the
    resent stream is stored exactly once."""
    served = start(chat_db_url, tmp_path, 2, PROBITY_GC_POLICY="true")
    try:
        host = served.host()
        assert host is not None
        conv_id, acked = _stream_until_killed(base := served.base,
                                              lambda: os.kill(host, signal.SIGKILL))
        deadline = time.monotonic() + 60
        while served.host() in (None, host):
            assert time.monotonic() < deadline, "no new chat writer host"
            time.sleep(0.2)
        _resend_all_and_check(base, chat_db_url, conv_id, acked)
    finally:
        stop(served)
    log = served.log.read_text(errors="replace")
    assert log.count("started the chat writer host") == 2 and "Traceback" not in log
    assert "exited with code -9: starting it again" in log


def test_kill_9_of_every_process_mid_stream_loses_and_duplicates_nothing(
        chat_db_url: str, tmp_path: Path) -> None:
    """`serve --workers 2` on SQLite, the dispatcher, its workers and the chat writer host
    all killed at once mid-stream, then started again."""
    served = start(chat_db_url, tmp_path, 2, PROBITY_GC_POLICY="true")

    def kill() -> None:
        pids = [served.proc.pid, *served.children()]
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        served.proc.wait(timeout=30)

    try:
        conv_id, acked = _stream_until_killed(served.base, kill)
    finally:
        stop(served)
    served = start(chat_db_url, tmp_path, 2)
    try:
        _resend_all_and_check(served.base, chat_db_url, conv_id, acked)
    finally:
        stop(served)
