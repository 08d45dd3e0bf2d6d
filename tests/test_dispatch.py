"""`probity serve --workers N`'s dispatcher (probity.dispatch), as real processes on real sockets:
every socket of a conversation lands in the worker that owns it, everything else is spread,
a silent client blocks nobody, SIGTERM leaves no process behind, a killed worker is replaced,
and chat goes through end to end (SQLite; PostgreSQL + Redis when the run has them).

Which worker holds a connection is read from /proc (the server side of the client's port:
its socket inode in /proc/net/tcp, then the worker whose descriptors include it), so the
product answers nothing about its processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy.engine import make_url
from tests.browser.conftest import free_port
from tests.chat.conftest import open_conversation, recv, recv_until, ws_connect
from tests.conftest import pg_admin
from websockets.sync.client import connect

from probity.chat.host import PROCESS_NAME
from probity.dispatch import OwnedConversations, WorkerServer, owner, route, undecided

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")

REDIS_URL = os.environ.get("PROBITY_TEST_REDIS_URL", "")


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    base: str
    port: int
    log: Path

    def children(self) -> list[int]:
        """The dispatcher's processes: its workers and its chat writer host."""
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                             text=True).stdout
        pids = []
        for pid in (int(x) for x in out.split()):
            with contextlib.suppress(OSError):
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    pids.append(pid)
        return sorted(pids)

    def workers(self) -> list[int]:
        return [pid for pid in self.children() if not _is_host(pid)]

    def host(self) -> int | None:
        """The chat writer host's pid (probity.chat.host), if it runs."""
        return next((pid for pid in self.children() if _is_host(pid)), None)


def _is_host(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == PROCESS_NAME
    except OSError:
        return False


def start(db_url: str, tmp: Path, workers: int = 2, *args: str, cli: bool = False,
          **env: str) -> Served:
    port = free_port()
    log = tmp / f"dispatch-{port}-{uuid.uuid4().hex[:6]}.log"
    full = {**os.environ, "PROBITY_DATABASE_URL": db_url, "PROBITY_ENV": "test",
            "PROBITY_SECRET_KEY": "dispatch-test-secret-0123456789abcdef",
            "PROBITY_ATTACHMENTS_DIR": str(tmp / "att"), **env}
    for key in ("PROBITY_REDIS_URL", "PROBITY_CHAT_AFFINITY"):
        if key not in env:
            full.pop(key, None)
    with open(log, "wb") as out:
        command = (["-m", "probity.cli", "serve"] if cli  # as an operator starts it
                   else ["-m", "probity.dispatch", "--log-level", "info"])
        proc = subprocess.Popen(
            [sys.executable, *command, "--workers", str(workers), "--host", "127.0.0.1",
             "--port", str(port), *args],
            env=full, stdout=out, stderr=subprocess.STDOUT)
    served = Served(proc, f"http://127.0.0.1:{port}", port, log)
    deadline = time.monotonic() + float(os.environ.get("PROBITY_TEST_SERVER_START_S", "120"))
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dispatcher exited with {proc.returncode}: "
                               f"{log.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{served.base}/api/v1/health", timeout=1).status_code == 200:
                return served
        time.sleep(0.2)
    stop(served)
    raise RuntimeError("the dispatcher's workers did not start")


def stop(served: Served) -> None:
    if served.proc.poll() is None:
        served.proc.terminate()
        try:
            served.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            served.proc.kill()
            served.proc.wait()


def holder(served: Served, client: socket.socket, timeout: float = 5) -> int:
    """The worker process holding the server side of `client`'s connection."""
    cport = client.getsockname()[1]
    want_local = f"0100007F:{served.port:04X}"
    want_remote = f"0100007F:{cport:04X}"
    deadline = time.monotonic() + timeout
    while True:
        inode = None
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            f = line.split()
            if f[1] == want_local and f[2] == want_remote:
                inode = f[9]
        if inode is not None:
            target = f"socket:[{inode}]"
            for pid in served.workers():
                fd_dir = Path(f"/proc/{pid}/fd")
                with contextlib.suppress(OSError):
                    for fd in fd_dir.iterdir():
                        with contextlib.suppress(OSError):
                            if os.readlink(fd) == target:
                                return pid
        if time.monotonic() > deadline:  # handed over but not yet opened: look again
            raise AssertionError(f"no worker holds the connection from port {cport}")
        time.sleep(0.05)


def half_request(served: Served, line: str) -> socket.socket:
    """A connection that sent a request line and one header, not the end of its headers (the
    worker keeps it open, waiting for the rest)."""
    s = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    s.sendall(f"{line}\r\nHost: x\r\n".encode())
    return s


@pytest.fixture(scope="module")
def served(fresh_sqlite: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Served]:
    s = start(fresh_sqlite("dispatch"), tmp_path_factory.mktemp("dispatch"), 2,
              "--peek-timeout", "1.5")
    try:
        yield s
    finally:
        stop(s)


def test_routing_rules() -> None:
    assert route(b"GET /ws/chat/17?token=abc HTTP/1.1\r\n") == 17
    assert route(b"GET /ws/chat/17 HTTP/1.1\r\n") == 17
    assert route(b"POST /api/v1/chat/conversations/9/messages HTTP/1.1\r\n") == 9
    assert route(b"GET http://example.com/ws/chat/17?a=1 HTTP/1.1\r\n") == 17
    assert route(b"GET /ws/chat/17x HTTP/1.1\r\n") is None
    assert route(b"GET /ws/alerts HTTP/1.1\r\n") is None
    assert route(b"GET /api/v1/health HTTP/1.1\r\n") is None
    assert undecided(b"GET /ws/ch") and undecided(b"GET /ws/chat/12")
    assert not undecided(b"GET /ws/chat/12 ") and not undecided(b"GET / HTTP/1.1\r\n")
    assert owner(17, 2) == 1 and owner(18, 2) == 0


def test_affinity_keeps_the_contexts_in_memory_even_with_redis() -> None:
    from probity.chat import screening
    from probity.config import Settings
    from probity.screening.context import MemoryContextStore, RedisContextStore

    try:
        store = screening.configure_context_store("redis://127.0.0.1:6379/5", "t")
        assert isinstance(store, RedisContextStore)
        store = screening.configure_context_store("redis://127.0.0.1:6379/5", "t", affinity=True)
        assert isinstance(store, MemoryContextStore)
    finally:
        screening.configure_context_store(None)
    assert Settings(chat_affinity="1/2").chat_affinity == "1/2"
    assert Settings().chat_affinity is None
    with pytest.raises(ValueError):
        Settings(chat_affinity="two")


def test_a_conversations_sockets_land_in_its_worker(served: Served) -> None:
    workers = served.workers()
    assert len(workers) == 2
    socks: list[tuple[int, socket.socket]] = []
    try:
        for conv in range(1, 41):  # the customer's (token) and the agent's (cookie) sockets
            socks.append((conv, half_request(served, f"GET /ws/chat/{conv}?after=0&token=t "
                                                     "HTTP/1.1")))
            socks.append((conv, half_request(served, f"GET /ws/chat/{conv} HTTP/1.1")))
            socks.append((conv, half_request(
                served, f"POST /api/v1/chat/conversations/{conv}/messages HTTP/1.1")))
        by_worker: dict[int, set[int]] = {}
        for conv, s in socks:
            by_worker.setdefault(conv % 2, set()).add(holder(served, s))
        assert all(len(pids) == 1 for pids in by_worker.values()), by_worker
        assert by_worker[0] != by_worker[1]
    finally:
        for _c, s in socks:
            s.close()


def test_other_requests_are_served_by_every_worker(served: Served) -> None:
    socks = [half_request(served, "GET /api/v1/health HTTP/1.1") for _ in range(8)]
    try:
        assert {holder(served, s) for s in socks} == set(served.workers())
    finally:
        for s in socks:
            s.close()
    with httpx.Client(base_url=served.base, timeout=5) as c:
        assert all(c.get("/api/v1/health").status_code == 200 for _ in range(4))


def test_a_silent_client_blocks_nobody_and_is_closed(served: Served) -> None:
    silent = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    trickle = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    trickle.sendall(b"GET /ws/ch")  # a request line that never ends
    try:
        t0 = time.monotonic()
        for _ in range(5):  # fresh connections each time
            assert httpx.get(f"{served.base}/api/v1/health", timeout=5).status_code == 200
        assert time.monotonic() - t0 < 3
        for s in (silent, trickle):  # closed by the dispatcher after --peek-timeout (1.5 s)
            s.settimeout(5)
            # (a reset when the client's bytes were still unread)
            with contextlib.suppress(ConnectionResetError):
                assert s.recv(1) == b""
    finally:
        silent.close()
        trickle.close()


def _response(s: socket.socket) -> tuple[bytes, bytes]:
    """One whole response on a keep-alive connection: (head, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return data, b""
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return head, body


def pinned(served: Served, conv: int) -> socket.socket:
    """A keep-alive connection that a first request for conversation `conv` placed in its
    worker (the request is answered: not signed in)."""
    s = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    s.sendall(f"GET /api/v1/chat/conversations/{conv}/messages HTTP/1.1\r\nHost: x\r\n\r\n"
              .encode())
    head, _ = _response(s)
    assert head.startswith(b"HTTP/1.1 4"), head
    return s


def test_a_request_on_another_workers_connection_is_handed_over(served: Served) -> None:
    """A keep-alive connection placed by its first request (conversation 1: worker 1) then used
    for conversation 2 (worker 0's): the connection moves to worker 0, which answers."""
    ref = half_request(served, "GET /ws/chat/2 HTTP/1.1")
    try:
        owner_2, owner_1 = holder(served, ref), None
    finally:
        ref.close()
    s = pinned(served, 1)
    try:
        owner_1 = holder(served, s)
        assert owner_1 != owner_2
        body = b'{"text": "hi"}'
        s.sendall(b"POST /api/v1/chat/conversations/2/messages HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nContent-Length: "
                  + str(len(body)).encode() + b"\r\n\r\n" + body)
        head, _ = _response(s)
        assert head.startswith(b"HTTP/1.1 4") and not head.startswith(b"HTTP/1.1 421"), head
        assert holder(served, s) == owner_2  # and it stays there, kept alive
        s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _response(s)[0].startswith(b"HTTP/1.1 200")
    finally:
        s.close()
    # A send too large to hand over is refused with 421 and the connection closed, told why
    # in the caller's language (zh-CN unless it asks for English), as the app's problems are.
    for language, detail in (("", "此会话由另一个工作进程处理：请在新的连接上重试。"),
                             ("Accept-Language: en\r\n", "Another worker serves this "
                              "conversation: retry on a new connection.")):
        s = pinned(served, 1)
        try:
            body = b'{"text": "' + b"x" * 70_000 + b'"}'
            s.sendall(b"POST /api/v1/chat/conversations/2/messages HTTP/1.1\r\nHost: x\r\n"
                      + language.encode() + b"Content-Type: application/json\r\n"
                      b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            head, answer = _response(s)
            assert head.startswith(b"HTTP/1.1 421"), head
            assert b"connection: close" in head.lower(), head
            assert b"application/problem+json" in head.lower(), head
            problem = json.loads(answer)
            assert (problem["status"], problem["code"], problem["title"], problem["detail"]) == (
                421, "misdirected", "Misdirected Request", detail)
        finally:
            s.close()


def _refused(scope: dict[str, Any]) -> list[MutableMapping[str, Any]]:
    """What worker 0 of 2 sends for `scope` (a foreign conversation's), the app not reached."""
    async def app(*_a: Any) -> None:
        raise AssertionError("a foreign conversation's request reached the app")

    async def receive() -> dict[str, Any]:
        return ({"type": "websocket.connect"} if scope["type"] == "websocket"
                else {"type": "http.request", "body": b"{}", "more_body": False})

    sent: list[MutableMapping[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    owned = OwnedConversations(app, cast(WorkerServer, SimpleNamespace(index=0, count=2)))
    asyncio.run(owned(scope, receive, send))
    return sent


@pytest.mark.parametrize(("headers", "reason", "detail"), [
    ([], "请重新连接：此会话由另一个工作进程处理。",
     "此会话由另一个工作进程处理：请在新的连接上重试。"),
    ([(b"accept-language", b"en-GB,en;q=0.8")],
     "Reconnect: another worker serves this conversation.",
     "Another worker serves this conversation: retry on a new connection."),
    ([(b"cookie", b"lang=en")], "Reconnect: another worker serves this conversation.",
     "Another worker serves this conversation: retry on a new connection.")])
def test_a_foreign_conversation_is_refused_in_the_callers_language(
        headers: list[tuple[bytes, bytes]], reason: str, detail: str) -> None:
    """Conversation 3 is worker 1's: on worker 0 its chat socket is closed with 1012 and its
    send (with no connection to hand over) answered 421, each saying why in the caller's
    language, negotiated as the app does (the `lang` cookie, Accept-Language, zh-CN)."""
    sent = _refused({"type": "websocket", "path": "/ws/chat/3", "headers": headers})
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.close"]
    assert sent[1]["code"] == 1012 and sent[1]["reason"] == reason
    assert len(reason.encode()) <= 123  # what a close frame can carry
    sent = _refused({"type": "http", "method": "POST", "headers": headers,
                     "path": "/api/v1/chat/conversations/3/messages"})
    assert sent[0]["status"] == 421
    assert (b"content-type", b"application/problem+json") in sent[0]["headers"]
    problem = json.loads(sent[1]["body"])
    assert (problem["code"], problem["title"], problem["detail"]) == (
        "misdirected", "Misdirected Request", detail)


def _chat_end_to_end(base: str, served: Served) -> None:
    conv, customer, agent = open_conversation(base)
    cws = ws_connect(base, f"/ws/chat/{conv}", customer)
    # The agent's socket opens on a keep-alive connection first placed in the other worker:
    # it is handed over, and ends up beside the customer's.
    sock = pinned(served, conv + 1)
    cookie = "; ".join(f"{k}={v}" for k, v in agent.cookies.items())
    aws = connect(base.replace("http://", "ws://") + f"/ws/chat/{conv}", sock=sock,
                  additional_headers={"Cookie": cookie}, open_timeout=10)
    try:
        for ws in (cws, aws):
            recv_until(ws, "synced", timeout=15)
        assert holder(served, cws.socket) == holder(served, aws.socket)
        cws.send(json.dumps({"type": "send", "client_id": "c1", "text": "您好，我想退货"}))
        ack, _ = recv_until(cws, "ack", timeout=15)
        got, _ = recv_until(aws, "message", timeout=15)
        assert got["seq"] == ack["seq"]
        aws.send(json.dumps({"type": "send", "client_id": "a1", "text": "好的，我来帮您处理"}))
        recv_until(aws, "ack", timeout=15)
        while True:
            reply, _ = recv_until(cws, "message", timeout=15)
            if reply["sender"] == "agent":
                break
        assert reply["body"].startswith("好的")
        cws.send(json.dumps({"type": "send", "client_id": "c2", "text": "加我vx abc12345"}))
        assert recv_until(cws, "ack", timeout=15)[0]["decision"] == "block"
        # A send over HTTP on a connection first placed in the other worker is handed over.
        with httpx.Client(base_url=base, cookies=customer.cookies, headers=customer.headers,
                          timeout=10) as other:
            assert other.get(f"/api/v1/chat/conversations/{conv + 1}/messages"
                             ).status_code < 500
            r = other.post(f"/api/v1/chat/conversations/{conv}/messages",
                           json={"text": "谢谢", "client_id": "c3"})
        assert r.status_code == 201, r.text
        while True:
            got, _ = recv_until(aws, "message", timeout=15)
            if got["seq"] == r.json()["seq"]:
                break
    finally:
        for ws in (cws, aws):
            ws.close()
        customer.close()
        agent.close()


def test_chat_end_to_end_on_sqlite(served: Served) -> None:
    _chat_end_to_end(served.base, served)


def _redis_up() -> bool:
    if not REDIS_URL:
        return False
    u = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.postgres
@pytest.mark.redis
def test_chat_end_to_end_on_postgresql_and_redis(
        fresh_postgres: Callable[[str], str], tmp_path: Path) -> None:
    if not _redis_up():
        pytest.skip("PostgreSQL + Redis only: PROBITY_TEST_REDIS_URL is unset or unreachable")
    url = fresh_postgres("dispatch")
    prefix = f"probity-dispatch-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    s = start(url, tmp_path, 2, PROBITY_REDIS_URL=REDIS_URL,
              PROBITY_REDIS_CHANNEL_PREFIX=prefix)
    try:
        _chat_end_to_end(s.base, s)
        # The alerts feed is on the bus (Redis): an alert raised in one worker reaches a feed
        # held by the other.
        from tests.chat.conftest import sign_in

        hr = sign_in(s.base, "hr")
        conv, customer, _agent = open_conversation(s.base)
        feeds = [ws_connect(s.base, "/ws/alerts", hr) for _ in range(4)]
        try:
            for f in feeds:
                assert recv(f)["type"] == "ready"
            feed_workers = {holder(s, f.socket) for f in feeds}
            cws = ws_connect(s.base, f"/ws/chat/{conv}", customer)
            recv_until(cws, "synced", timeout=15)
            other = [f for f in feeds if holder(s, f.socket) != holder(s, cws.socket)]
            assert len(feed_workers) == 2 and other
            cws.send(json.dumps({"type": "send", "client_id": "b1", "text": "加我vx abc12345"}))
            assert recv_until(cws, "ack", timeout=15)[0]["decision"] == "block"
            assert recv(other[0], 15)["alert"]["conversation_id"] == conv
            cws.close()
            # The screening contexts stayed in the workers' memory: none in Redis.
            import redis

            assert not list(redis.Redis.from_url(REDIS_URL).scan_iter(
                match=f"{prefix}:screening:ctx:*"))
        finally:
            for f in feeds:
                f.close()
    finally:
        stop(s)
        pg_admin(url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def test_a_killed_worker_is_replaced_and_sigterm_stops_all(
        fresh_sqlite: Callable[[str], str], tmp_path: Path) -> None:
    s = start(fresh_sqlite("dispatch-kill"), tmp_path, 2, cli=True)
    try:
        before = s.workers()
        conv0 = half_request(s, "GET /ws/chat/4 HTTP/1.1")
        victim = holder(s, conv0)
        conv0.close()
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            now = s.workers()
            if len(now) == 2 and victim not in now:
                break
            time.sleep(0.2)
        replacement = (set(s.workers()) - set(before)).pop()
        # Conversation 4's sockets go to the replacement (queued until it is ready).
        again = half_request(s, "GET /ws/chat/4 HTTP/1.1")
        try:
            assert holder(s, again, timeout=120) == replacement
        finally:
            again.close()
        assert httpx.get(f"{s.base}/api/v1/health", timeout=60).status_code == 200
        workers = s.workers()
        s.proc.send_signal(signal.SIGTERM)
        assert s.proc.wait(timeout=60) == 0
        deadline = time.monotonic() + 10
        while not all(_gone(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(_gone(p) for p in workers)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", s.port), timeout=2).close()
    finally:
        stop(s)


def test_workers_that_cannot_start_stop_the_parent(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PROBITY_DATABASE_URL": "nosuchdriver://x", "PROBITY_ENV": "test"}
    r = subprocess.run([sys.executable, "-m", "probity.cli", "serve", "--workers", "2",
                        "--port", str(port)], env=env, capture_output=True, text=True,
                       timeout=180)
    assert r.returncode != 0
    assert "before it was ready" in r.stderr and "could not be started" in r.stderr


def test_serve_refuses_zero_workers(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "probity.cli", "serve", "--workers", "0"],
                       env={**os.environ, "PROBITY_ENV": "test"}, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0 and "at least 1" in r.stderr
