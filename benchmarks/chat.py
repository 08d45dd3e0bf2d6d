"""Chat send→deliver latency over real WebSockets on loopback.

For each configuration (database × app processes × fan-out) it starts the app (uvicorn, one or
two worker processes; with two, Redis pub/sub carries the events between them) on a fresh
database — a SQLite file, then a scratch PostgreSQL database `chatbench_<pid>_<random>`
(created, and dropped after) when PostgreSQL is reachable — opens N WebSocket clients (N/2
conversations: a guest customer and a signed-in agent each) from THIS process (the load
generator, a separate process from the server, on uvloop when available), and has them send
`--rate` messages per second in total for `--seconds`, at evenly spaced instants (an open loop:
a slow server does not slow the offered load). Measures, per message, send → ack (durably
stored) and send → delivered to the other side; reports p50/p99 and the achieved rate. Loopback
only; every run is bounded in time and stops by itself.

The baseline, in the same run and with the same clients and load: the bare relay
(`benchmarks/chat_relay.py`), the same WebSocket path and frames on Starlette with no
authentication, screening, database or bus. With `--receipts` (the default) the customer side
answers every message it receives with a `read` receipt, as the customer's page does.

    .venv/bin/python benchmarks/chat.py [--clients 500] [--rate 200] [--seconds 20]
        [--only sqlite|postgresql|relay] [--workers 1,2] [--no-receipts] [--no-report]
        [--client lean|websockets|websockets,lean,…] [--placement random|affine]
        [--saturate [--start-rate 200] [--factor 1.25] [--max-rate 20000] [--keep-going]]

The load generator's client (`--client`). The generator shares the machine's cores with the
servers it measures, so what it spends per message is taken from them. `lean` (the default,
`benchmarks/_wsclient.py`) is an asyncio Protocol per socket: one HTTP upgrade handshake
(Sec-WebSocket-Accept checked), then each frame written at once with its own random mask, and
read by a small frame parser in the protocol's callback: no task per socket, no sender task, and
frames other than ack/message/error (the agent's receipt per message) told apart by their leading
"type" and not parsed. `websockets` is the library's client, as before: a task per socket reading
frames and a sender task fed by a queue. Both measure the same things the same way: a message's
key is stamped when it is written (the old client stamped it when its sender task took it from
the queue, just before writing), send → ack is the `ack` frame for that client_id, send → deliver
the other side's `message` frame carrying the key, the customer answers each message with the
same `read` frame bytes, error frames are counted, and the send frames are byte for byte the
same (tests/test_bench_wsclient.py checks the frames against websockets' own codec). A comma list
runs each client in turn against the same server (fresh connections each time): same-minute
pairs. Every figure says which client it used; "× relay" and "× 1 process" compare figures taken
with the same client (a cheaper generator also raises the bare relay's ceiling).

Placement (`--placement`, 2+ app processes): `random` is uvicorn's `--workers N` (the kernel
spreads the connections over the workers, so a conversation's two sockets are often in different
processes and its events cross Redis); `affine` starts the dispatcher, `python -m probity.dispatch
--workers N` (each connection handed to the worker that owns its conversation), and needs a
checkout that has it. Its processes' CPU includes the dispatcher's. The default is `affine`,
what `probity serve --workers N` runs. The bare relay in several processes is always uvicorn's
`--workers`.

PROBITY_BENCH_PG (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres) is the
administrative connection used to create and drop the scratch database (named by
PROBITY_BENCH_PG_DB if set: two runs at once must not share one); PROBITY_BENCH_REDIS (default
redis://127.0.0.1:6379/14) is the Redis for the two-process configurations.
PROBITY_BENCH_PYSPY=<dir> records a py-spy flame graph of each server process (if installed).

Which screening modules ran compiled in the product's server is read from the server processes
themselves (the extension modules they mapped) and printed and recorded with the figures, as
`benchmarks/screening.py` does: a build older than its sources is not loaded, and screening then
runs its pure-Python sources silently (`make install` rebuilds).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import importlib.util
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _wsclient
import httpx
import websockets
from _report import write_section
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from probity.config import SOCKET_PROTOCOL  # noqa: E402
from probity.db import sync_url  # noqa: E402
from probity.demo import DEMO_PASSWORD  # noqa: E402
from probity.models import (  # noqa: E402
    Conversation,
    ConversationStatus,
    Customer,
    RoleAssignment,
    User,
)
from probity.models import Role as R  # noqa: E402
from probity.models.base import utcnow  # noqa: E402

PG_ADMIN = os.environ.get("PROBITY_BENCH_PG",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PROBITY_BENCH_REDIS", "redis://127.0.0.1:6379/14")
# As `probity serve` runs the app: no permessage-deflate (the relay gets the same).
SERVE_FLAGS = ["--ws-per-message-deflate", os.environ.get("PROBITY_BENCH_WS_DEFLATE", "false")]
WARMUP_S = 5.0  # first messages pay one-off costs (connections, caches): not measured
# A scratch database, dropped after each run (never the tests' database); a name of its own per
# run, so runs at the same time (A/B, other engineers) never drop each other's.
PG_DB = os.environ.get("PROBITY_BENCH_PG_DB") or f"chatbench_{os.getpid()}_{secrets.token_hex(3)}"
TEXTS = ["您好，请问订单什么时候发货？", "好的，我帮您查一下物流信息", "退款已经提交了吗",
         "预计 1-3 个工作日到账", "请问还有其他问题吗", "谢谢，没有了"]


def free_port() -> int:
    """A free port: from PROBITY_TEST_PORTS (``A-B``, a range given to this engineer on a shared
    machine) when set, else any the system hands out."""
    low, _, high = os.environ.get("PROBITY_TEST_PORTS", "").partition("-")
    candidates = list(range(int(low), int(high) + 1)) if low and high else [0]
    random.shuffle(candidates)
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise RuntimeError(f"no free port in PROBITY_TEST_PORTS={low}-{high}")


def prepare(url: str) -> None:
    env = {**os.environ, "PROBITY_DATABASE_URL": url}
    cli = [sys.executable, "-m", "probity.cli"]
    subprocess.run([*cli, "migrate"], env=env, check=True, capture_output=True, cwd=ROOT)
    subprocess.run([*cli, "demo", "seed"], env=env, check=True, capture_output=True, cwd=ROOT)


def make_conversations(url: str, pairs: int, agents: int) -> tuple[list[tuple[int, str, str]],
                                                                      list[str]]:
    """(conversation id, guest token, agent username) per pair, inserted directly."""
    engine = create_engine(sync_url(url))
    out: list[tuple[int, str, str]] = []
    with Session(engine) as s:
        rows = s.execute(
            select(User, RoleAssignment).join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.role == R.agent, RoleAssignment.org_unit_id.is_not(None))
            .order_by(User.id).limit(agents)).all()
        customers: dict[int, list[int]] = {}
        for c in s.scalars(select(Customer)):
            customers.setdefault(c.tenant_id, []).append(c.id)
        for i in range(pairs):
            user, ra = rows[i % len(rows)]
            token = secrets.token_urlsafe(16)
            conv = Conversation(
                tenant_id=ra.tenant_id, org_unit_id=ra.org_unit_id,
                customer_id=customers[ra.tenant_id][i % len(customers[ra.tenant_id])],
                guest_token_hash=hashlib.sha256(token.encode()).hexdigest(),
                agent_user_id=user.id, agent_employee_id=user.employee_id,
                status=ConversationStatus.active, assigned_at=utcnow(), last_seq=0,
                customer_delivered_seq=0, customer_read_seq=0, agent_delivered_seq=0,
                agent_read_seq=0)
            s.add(conv)
            s.flush()
            out.append((conv.id, token, user.username))
        s.commit()
        usernames = sorted({u for _c, _t, u in out})
    engine.dispose()
    return out, usernames


PLACEMENTS = ("random", "affine")  # --placement, for 2+ app processes
DISPATCH_MODULE = "probity.dispatch"


def dispatch_available() -> bool:
    """Whether this checkout has the dispatcher (conversation-affine placement)."""
    return importlib.util.find_spec(DISPATCH_MODULE) is not None


def start_server(url: str, tmp: Path, workers: int, redis_url: str | None, *,
                 relay: bool = False, placement: str = "random"
                 ) -> tuple[subprocess.Popen[bytes], str]:
    """The app (or the bare relay) on a free port. `placement` (app, 2+ processes):
    "random" is uvicorn's `--workers N` (every worker accepts on the shared socket, so the
    kernel spreads the connections, and a conversation's two sockets land in either process);
    "affine" is the dispatcher (`python -m probity.dispatch`, as `probity serve --workers N`
    runs it: it accepts each connection and hands it to the worker that owns its
    conversation)."""
    port = free_port()
    env = {**os.environ, "PROBITY_DATABASE_URL": url, "PROBITY_ENV": "test",
           "PROBITY_SECRET_KEY": "bench-secret-0123456789abcdef0123456789",
           "PROBITY_ATTACHMENTS_DIR": str(tmp / "att"),
           # PROBITY_ENV=test leaves it off; a server runs with it (probity.gcpolicy)
           "PROBITY_GC_POLICY": os.environ.get("PROBITY_BENCH_GC_POLICY", "true")}
    env.pop("PROBITY_REDIS_URL", None)
    env.pop("RELAY_REDIS_URL", None)
    if redis_url and relay:
        env["RELAY_REDIS_URL"] = redis_url
        env["RELAY_REDIS_PREFIX"] = f"chatbench-relay-{os.getpid()}-{port}"
    elif redis_url:
        env["PROBITY_REDIS_URL"] = redis_url
        # Pub/sub channels are server-wide: a run of its own must not cross-talk with another
        # run (or engineer) on the same Redis server.
        env["PROBITY_REDIS_CHANNEL_PREFIX"] = f"chatbench-{os.getpid()}-{port}"
    app = (["--app-dir", "benchmarks", "chat_relay:app"] if relay
           else ["probity.app:create_app", "--factory"])
    prof_dir = os.environ.get("PROBITY_BENCH_CPROFILE")
    runner = ["-m", "uvicorn"]
    if prof_dir and not relay:  # the event loops' threads (each worker's); written on SIGUSR1
        Path(prof_dir).mkdir(parents=True, exist_ok=True)
        runner = [str(ROOT / "benchmarks" / "_cprofile_server.py"),
                  f"{prof_dir}/server-{port}.prof"]
    stall_dir = os.environ.get("PROBITY_BENCH_STALLS")
    if stall_dir and workers == 1 and not relay:  # loop lag, GC, writer batches (see there)
        runner = [str(ROOT / "benchmarks" / "_stall_server.py"), stall_dir]
    if placement == "affine" and workers > 1 and not relay:
        if not dispatch_available():
            raise RuntimeError(f"--placement affine needs {DISPATCH_MODULE}, which this "
                               "checkout does not have")
        runner, app = ["-m", DISPATCH_MODULE], []
    proc = subprocess.Popen(
        [sys.executable, *runner, *app, "--host",
         "127.0.0.1", "--port", str(port), "--log-level", "warning", "--ws-max-queue", "256",
         "--workers", str(workers), *SERVE_FLAGS,
         *([] if relay else ["--ws", SOCKET_PROTOCOL])],  # the product's, as `probity serve`
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=open(tmp / f"server-{port}.log", "wb"))  # noqa: SIM115
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                time.sleep(0.5 * (workers - 1))  # let every worker come up
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def server_pids(proc: subprocess.Popen[bytes], placement: str = "random") -> list[int]:
    """The processes serving requests: uvicorn's worker processes, or uvicorn itself. Under
    the dispatcher ("affine") the dispatcher itself too, first: it accepts and hands over every
    connection, server-side work (uvicorn's supervisor only watches its workers)."""
    if placement == "affine":
        return [proc.pid, *(pid for pid in server_pids(proc) if pid != proc.pid)]
    out = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True)
    workers = []
    for pid in (int(x) for x in out.stdout.split()):
        with contextlib.suppress(OSError):
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                workers.append(pid)
    return workers or [proc.pid]


def cpu_seconds(pids: list[int], *, system_only: bool = False) -> float:
    """User + system CPU time of the processes so far (from /proc); or the system part."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            # utime, stime (fields 14, 15)
            total += int(fields[12]) if system_only else int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def loop_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes' main threads: the application's event loops
    (the chat writer and other worker threads excluded)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{pid}/task/{pid}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int, tid: int | None = None) -> float:
    """User + system CPU seconds of a process (or one of its threads), 0 when gone."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    try:
        fields = Path(path).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def redis_pid() -> int | None:
    """The local Redis server's pid (its CPU is shown beside the app's; other users of the
    same server count too)."""
    out = subprocess.run(["pgrep", "-x", "redis-server"], capture_output=True, text=True)
    pids = [int(x) for x in out.stdout.split()]
    return pids[0] if pids else None


def sockets_per_pid(pids: list[int], port: int) -> dict[int, int]:
    """Established connections to `port` held by each server process (how the kernel spread
    the clients over the workers)."""
    out = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True).stdout
    counts = dict.fromkeys(pids, 0)
    for pid in pids:
        counts[pid] = out.count(f"pid={pid},")
    return counts


def login_all(base: str, usernames: list[str]) -> dict[str, str]:
    cookies: dict[str, str] = {}
    with httpx.Client(base_url=base, timeout=30) as c:
        for u in usernames:
            c.cookies.clear()
            for _ in range(5):  # the per-IP login throttle (30 a minute): wait as told
                r = c.post("/api/v1/auth/login",
                           json={"username": u, "password": DEMO_PASSWORD})
                if r.status_code != 429:
                    break
                time.sleep(float(r.headers.get("Retry-After") or 5))
            r.raise_for_status()
            cookies[u] = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
    return cookies


class GcPauses:
    """The load generator's own garbage collections (a pause of its loop looks like a server
    stall): the longest, per step."""

    def __init__(self) -> None:
        self.t0 = 0.0
        self.pauses: list[tuple[int, float]] = []  # (generation, seconds)
        gc.callbacks.append(self._cb)

    def _cb(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.t0 = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self.t0))


GEN_GC = GcPauses()


class Stats:
    def __init__(self) -> None:
        self.sent: dict[str, float] = {}
        self.ack: list[float] = []
        self.deliver: list[float] = []
        self.timeline: list[tuple[float, float]] = []  # (sent at, deliver latency)
        self.errors = 0
        self.measuring = False
        self.m_start = 0.0  # only messages sent from here on are measured

    def reset(self) -> None:
        """A new step on the same connections: forget the previous step's figures."""
        self.sent.clear()
        self.ack, self.deliver, self.timeline = [], [], []
        self.errors = 0
        self.measuring = False
        self.m_start = 0.0


async def client(url: str, headers: dict[str, str], role: str, stats: Stats,
                 ready: asyncio.Event, outq: asyncio.Queue[str], stop: asyncio.Event,
                 receipts: bool = False) -> None:
    async with websockets.connect(url, additional_headers=headers, max_queue=None,
                                  open_timeout=120) as ws:
        while True:
            f = json.loads(await ws.recv())
            if f["type"] == "synced":
                break
        ready.set()

        async def sender() -> None:
            while not stop.is_set():
                key = await outq.get()
                stats.sent[key] = time.perf_counter()
                await ws.send(json.dumps({"type": "send", "client_id": key,
                                          "text": f"{random.choice(TEXTS)} #{key}"}))

        task = asyncio.create_task(sender())
        try:
            # One frame at a time, no helper task per frame: with 2,000 clients the load
            # generator's own loop is the first limit. The task is cancelled at the end.
            async for raw in ws:
                now = time.perf_counter()
                f = json.loads(raw)
                if f["type"] == "ack" and f["client_id"] in stats.sent:
                    t0 = stats.sent[f["client_id"]]
                    if stats.measuring and t0 >= stats.m_start:
                        stats.ack.append(now - t0)
                elif f["type"] == "message" and f["sender"] != role:
                    key = f.get("body", "").rsplit("#", 1)[-1]
                    t0 = stats.sent.get(key)
                    if t0 is not None and stats.measuring and t0 >= stats.m_start:
                        stats.deliver.append(now - t0)
                        stats.timeline.append((t0, now - t0))
                    if receipts and role == "customer":  # as the customer's page does
                        await ws.send(json.dumps({"type": "read", "seq": f["seq"]}))
                elif f["type"] == "error":
                    stats.errors += 1
        except websockets.ConnectionClosed:
            pass
        finally:
            task.cancel()


# The lean client's send frame: byte for byte what the `websockets` client above sends,
# `json.dumps({"type": "send", "client_id": key, "text": f"{text} #{key}"})` (ASCII-escaped
# text, ", " and ": " separators), for the generator's keys (ASCII letters and digits).
_TEXTS_JSON = [json.dumps(t)[1:-1] for t in TEXTS]
_WANTED = frozenset((b"ack", b"message", b"error"))

_loads: Callable[[bytes], Any]
try:
    from orjson import loads as _loads  # the product's own dependency; same values as json
except ImportError:  # pragma: no cover
    _loads = json.loads


def send_frame(key: str) -> bytes:
    """The `send` frame's JSON for `key`, as the `websockets` client's json.dumps writes it."""
    return (f'{{"type": "send", "client_id": "{key}", "text": '
            f'"{random.choice(_TEXTS_JSON)} #{key}"}}').encode()


def read_frame(seq: Any) -> bytes:
    """The customer's `read` receipt, as json.dumps({"type": "read", "seq": seq}) writes it."""
    if type(seq) is int:
        return b'{"type": "read", "seq": %d}' % seq
    return json.dumps({"type": "read", "seq": seq}).encode()


def frame_type(payload: bytes) -> bytes | None:
    """The `type` of a frame whose first key is "type" (orjson's and json.dumps' layouts),
    without parsing the rest; None when it cannot be told that cheaply (the frame is parsed)."""
    if payload.startswith(b'{"type":"'):
        i = 9
    elif payload.startswith(b'{"type": "'):
        i = 10
    else:
        return None
    j = payload.find(b'"', i)
    if j < 0:
        return None
    kind = payload[i:j]
    return None if b"\\" in kind else kind


class LeanClient:
    """One chat participant on a `_wsclient.LeanSocket`: the same frames and measurements as
    `client` above (send → ack for its client_id; send → the other side's `message` carrying
    the key; the customer's `read` receipt per received message; error frames counted), with
    no task of its own. `send_key` is called by the load's schedule and writes at once (the
    `websockets` client's sender task stamped a key when it took it from its queue: the same
    instant, less a task switch). Frames other than ack/message/error (receipts, typing…) are
    told by their leading "type" and not parsed."""

    __slots__ = ("backlog", "ready", "receipts", "role", "sock", "stats", "synced")

    def __init__(self, role: str, stats: Stats, receipts: bool) -> None:
        self.role, self.stats, self.receipts = role, stats, receipts
        self.ready = asyncio.Event()
        self.synced = False
        self.sock: _wsclient.LeanSocket | None = None
        # keys offered while the socket's write buffer is full: stamped and sent when it
        # drains (as the `websockets` client's sender waited in `send` with the rest queued)
        self.backlog: list[str] = []

    async def run(self, url: str, headers: dict[str, str]) -> None:
        self.sock = await _wsclient.connect(url, headers, self.on_message)
        self.sock.on_resume = self._resume

    def send_key(self, key: str) -> None:
        sock = self.sock
        if sock is None or sock.paused or self.backlog:
            self.backlog.append(key)
            if sock is not None and not sock.paused:
                self._resume()
            return
        self.stats.sent[key] = time.perf_counter()
        sock.write(_wsclient.text_frame(send_frame(key)))  # a no-op once the socket is closed

    def _resume(self) -> None:
        sock = self.sock
        while self.backlog and sock is not None and not sock.paused:
            key = self.backlog.pop(0)
            self.stats.sent[key] = time.perf_counter()
            sock.write(_wsclient.text_frame(send_frame(key)))

    def on_message(self, payload: bytes) -> None:
        now = time.perf_counter()
        if not self.synced:
            if _loads(payload)["type"] == "synced":
                self.synced = True
                self.ready.set()
            return
        kind = frame_type(payload)
        if kind is not None and kind not in _WANTED:
            return
        f = _loads(payload)
        stats = self.stats
        t = f["type"]
        if t == "ack" and f["client_id"] in stats.sent:
            t0 = stats.sent[f["client_id"]]
            if stats.measuring and t0 >= stats.m_start:
                stats.ack.append(now - t0)
        elif t == "message" and f["sender"] != self.role:
            key = f.get("body", "").rsplit("#", 1)[-1]
            t1 = stats.sent.get(key)
            if t1 is not None and stats.measuring and t1 >= stats.m_start:
                stats.deliver.append(now - t1)
                stats.timeline.append((t1, now - t1))
            if self.receipts and self.role == "customer":  # as the customer's page does
                assert self.sock is not None
                self.sock.write(_wsclient.text_frame(read_frame(f["seq"])))
        elif t == "error":
            stats.errors += 1

    async def close(self) -> None:
        if self.sock is not None:
            await self.sock.close()


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] * 1000


CLIENTS = ("lean", "websockets")  # the load generator's WebSocket client (--client)


class Load:
    """N WebSocket clients, connected once, that can offer several rates in turn (steps).
    `client`: "lean" (`LeanClient` on `_wsclient`, no task per socket) or "websockets" (the
    `websockets` library's client, `client` above: a task per socket and a sender task)."""

    def __init__(self, base: str, convs: list[tuple[int, str, str]], cookies: dict[str, str],
                 pids: list[int], receipts: bool, client_kind: str = "lean") -> None:
        if client_kind not in CLIENTS:
            raise ValueError(f"client {client_kind!r}: one of {', '.join(CLIENTS)}")
        self.base, self.convs, self.cookies = base, convs, cookies
        self.pids, self.receipts = pids, receipts
        self.client_kind = client_kind
        self.stats = Stats()
        self.stop = asyncio.Event()
        # one per client: offers a message (its key) on that client's socket
        self.senders: list[Callable[[str], None]] = []
        self.lean: list[LeanClient] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.connect_s = 0.0
        self.step = 0
        self.on_measure: Callable[[], None] | None = None

    async def connect(self, batch: int = 100) -> None:
        """Open the sockets `batch` at a time: each opening is several reads and a commit on
        the server, and thousands at once wait on each other (SQLite's single writer)."""
        ws_base = self.base.replace("http://", "ws://")
        readies: list[asyncio.Event] = []
        t_connect = time.perf_counter()
        for i, (conv_id, token, agent) in enumerate(self.convs):
            if i and i % (batch // 2) == 0:
                await asyncio.wait_for(asyncio.gather(*(e.wait() for e in readies)), 300)
            for role, url, headers in (
                ("customer", f"{ws_base}/ws/chat/{conv_id}?token={token}", {}),
                ("agent", f"{ws_base}/ws/chat/{conv_id}", {"Cookie": self.cookies[agent]}),
            ):
                if self.client_kind == "lean":
                    lean = LeanClient(role, self.stats, self.receipts)
                    self.lean.append(lean)
                    self.senders.append(lean.send_key)
                    readies.append(lean.ready)
                    self.tasks.append(asyncio.create_task(lean.run(url, headers)))
                else:
                    q: asyncio.Queue[str] = asyncio.Queue()
                    ev = asyncio.Event()
                    self.senders.append(q.put_nowait)
                    readies.append(ev)
                    self.tasks.append(asyncio.create_task(client(
                        url, headers, role, self.stats, ev, q, self.stop, self.receipts)))
                await asyncio.sleep(0.002)
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in readies)), 300)
        self.connect_s = time.perf_counter() - t_connect

    async def close(self) -> None:
        self.stop.set()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        # the lean sockets' closing handshakes (the `websockets` client's ran as its task ended)
        await asyncio.gather(*(c.close() for c in self.lean), return_exceptions=True)

    async def run(self, rate: float, seconds: float, warmup: float = WARMUP_S,
                  drain: float = 2.0) -> dict[str, Any]:
        """Offer `rate` messages/s (open loop, evenly spaced) for `warmup` + `seconds`; measure
        the last `seconds`, then wait `drain` seconds for messages in flight."""
        self.stats.reset()
        self.step += 1
        # The generator's own full collections (2,000 clients' objects: 0.3-0.8 s on this
        # machine) stalled its loop, which looked like a server stall: none during a step,
        # the garbage is collected between steps, and what is live now is never traversed.
        gc.collect()
        gc.freeze()
        gc.disable()
        try:
            return await self._run(rate, seconds, warmup, drain)
        finally:
            gc.enable()
            gc.collect()

    async def _run(self, rate: float, seconds: float, warmup: float, drain: float
                   ) -> dict[str, Any]:
        stats, pids = self.stats, self.pids
        prefix = f"s{self.step}m"
        n = 0
        interval = 1.0 / rate
        start = time.perf_counter()
        measured_sent = 0
        m_start = start
        cpu0 = loop0 = 0.0
        gen0 = gen_sys0 = sys0 = 0.0
        per0: list[tuple[float, float]] = [(0.0, 0.0)] * len(pids)
        rpid: int | None = None
        redis0 = 0.0
        lags: list[float] = []  # the load generator's own loop: how late its sleeps wake

        async def lag_probe() -> None:
            while True:
                t0 = time.perf_counter()
                await asyncio.sleep(0.005)
                if stats.measuring:
                    lags.append(time.perf_counter() - t0 - 0.005)

        probe = asyncio.create_task(lag_probe())
        while True:
            now = time.perf_counter()
            elapsed = now - start
            if elapsed > warmup + seconds:
                break
            if elapsed > warmup and not stats.measuring:
                stats.measuring = True
                m_start = stats.m_start = now
                if self.on_measure is not None:
                    self.on_measure()
                cpu0 = cpu_seconds(pids)
                sys0 = cpu_seconds(pids, system_only=True)
                per0 = [(proc_cpu(pid), proc_cpu(pid, pid)) for pid in pids]
                rpid = redis_pid()
                redis0 = proc_cpu(rpid) if rpid else 0.0
                loop0 = loop_cpu_seconds(pids)
                GEN_GC.pauses.clear()
                gen0 = time.process_time()
                gen_sys0 = os.times().system
            target = int(elapsed / interval)
            while n < target:
                random.choice(self.senders)(f"{prefix}{n}")
                n += 1
                if stats.measuring:
                    measured_sent += 1
            await asyncio.sleep(max(interval / 2, 0.002))
        m_end = time.perf_counter()
        server_cpu = cpu_seconds(pids) - cpu0
        server_sys = cpu_seconds(pids, system_only=True) - sys0
        per1 = [(proc_cpu(pid), proc_cpu(pid, pid)) for pid in pids]
        redis_cpu = (proc_cpu(rpid) - redis0) if rpid else float("nan")
        spread = sockets_per_pid(pids, int(self.base.rsplit(":", 1)[1]))
        per_proc = [
            {"pid": pid, "cpu_pct": 100 * (a1 - a0) / (m_end - m_start),
             "loop_pct": 100 * (l1 - l0) / (m_end - m_start), "sockets": spread[pid]}
            for pid, (a0, l0), (a1, l1) in zip(pids, per0, per1, strict=True)]
        loop_cpu = loop_cpu_seconds(pids) - loop0
        load = os.getloadavg()[0]  # other work on the machine shows here (1-minute average)
        gen_cpu = time.process_time() - gen0
        gen_sys = os.times().system - gen_sys0
        probe.cancel()
        gc_pauses = list(GEN_GC.pauses)
        await asyncio.sleep(drain)  # let in-flight messages land
        stats.measuring = False
        window = m_end - m_start
        if os.environ.get("PROBITY_BENCH_TIMELINE"):  # per-second p99, to tell transients apart
            print(f"  window from perf_counter {m_start:.3f}")
            for sec in range(int(window) + 1):
                xs = [lat for t0, lat in stats.timeline if sec <= t0 - m_start < sec + 1]
                print(f"  t={sec:2d}s n={len(xs):4d} p50={pct(xs, 50):8.1f} "
                      f"p99={pct(xs, 99):8.1f}")
        return {
            "clients": len(self.senders), "client": self.client_kind,
            "connect_s": self.connect_s, "offered": rate,
            "window": window,
            "sent": measured_sent, "delivered": len(stats.deliver),
            "rate": len(stats.deliver) / window,
            "ack_p50": pct(stats.ack, 50), "ack_p99": pct(stats.ack, 99),
            "p50": pct(stats.deliver, 50), "p99": pct(stats.deliver, 99),
            "max": pct(stats.deliver, 100), "errors": stats.errors,
            # CPU per stored message, server processes together; and the load generator's share.
            "server_cpu_ms": 1000 * server_cpu / max(1, measured_sent),
            "server_cpu_pct": 100 * server_cpu / window, "gen_cpu_pct": 100 * gen_cpu / window,
            # the servers' kernel share (their sockets' system calls, the peer's TCP input on
            # loopback, waking the generator when it sleeps)
            "server_sys_ms": 1000 * server_sys / max(1, measured_sent),
            "gen_cpu_ms": 1000 * gen_cpu / max(1, measured_sent),
            # of which in the kernel (its sockets' system calls: on loopback, sending runs the
            # receiving side's TCP input too) — a floor no client code removes
            "gen_sys_pct": 100 * gen_sys / window,
            # of which the event loops' threads (printed; issue 17's loop-side figure)
            "loop_cpu_ms": 1000 * loop_cpu / max(1, measured_sent),
            "load": load,
            # per server process: CPU (all threads) and its loop's share, % of a core, and the
            # clients the kernel gave it; the Redis server's CPU (whoever else uses it too)
            "per_proc": per_proc, "redis_cpu_pct": 100 * redis_cpu / window,
            # a stall of the generator's loop looks like a server stall: its lag is shown
            "gen_lag_p99": pct(lags, 99), "gen_lag_max": pct(lags, 100),
            "gen_gc_max": 1000 * max((p for _g, p in gc_pauses), default=0.0),
            "gen_gc2": sum(1 for g, _p in gc_pauses if g == 2),
        }


async def drive(base: str, convs: list[tuple[int, str, str]], cookies: dict[str, str],
                rate: float, seconds: float, pids: list[int],
                receipts: bool = False, on_measure: Callable[[], None] | None = None,
                client_kind: str = "lean") -> dict[str, Any]:
    """One rate, measured for `seconds` after the warm-up."""
    load = Load(base, convs, cookies, pids, receipts, client_kind)
    load.on_measure = on_measure
    if os.environ.get("PROBITY_BENCH_CPROFILE"):  # start the profile (each worker's)
        def start_profiles() -> None:
            for pid in pids:
                os.kill(pid, signal.SIGUSR2)
        load.on_measure = start_profiles
    try:
        await load.connect()
        return await load.run(rate, seconds)
    finally:
        await load.close()


# A rate is sustained when (nearly) every message sent in the window was delivered and the
# delivery p99 holds (issue 17: p99 ≤ 250 ms).
SUSTAINED_P99_MS = 250.0
SUSTAINED_SHARE = 0.99


def sustained(r: dict[str, Any]) -> bool:
    """Delivered nearly all, in time, without errors — and the load generator really offered
    the rate (otherwise the step measures the generator, not the server)."""
    return bool(r["sent"] and r["delivered"] >= SUSTAINED_SHARE * r["sent"]
                and r["p99"] <= SUSTAINED_P99_MS and not r["errors"]
                and r["sent"] >= 0.95 * r["offered"] * r["window"])


def rate_steps(start: float, top: float, factor: float) -> list[float]:
    steps = [start]
    while steps[-1] * factor <= top:
        steps.append(round(steps[-1] * factor))
    return steps


async def saturate(base: str, convs: list[tuple[int, str, str]], cookies: dict[str, str],
                   pids: list[int], args: argparse.Namespace, name: str,
                   client_kind: str = "lean"
                   ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Raise the offered rate step by step on the same connections until a step is not
    sustained; returns the highest sustained step (None if the first failed) and all steps."""
    load = Load(base, convs, cookies, pids, args.receipts, client_kind)
    steps: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    try:
        await load.connect()
        print(f"[{name}] {len(load.senders)} clients ({client_kind} client) connected in "
              f"{load.connect_s:.1f} s",
              flush=True)
        for i, rate in enumerate(rate_steps(args.start_rate, args.max_rate, args.factor)):
            # The first step also warms the server up (screener, caches): a longer warm-up.
            warmup = max(args.step_warmup, WARMUP_S) if i == 0 else args.step_warmup
            r = await load.run(rate, args.seconds, warmup=warmup, drain=2.0)
            ok = sustained(r)
            steps.append(r)
            print(f"[{name}] offered {rate:g}/s, sent {r['sent'] / r['window']:.0f}/s: "
                  f"delivered {r['rate']:.0f}/s "
                  f"({r['delivered']}/{r['sent']}), p99 {r['p99']:.0f} ms, "
                  f"server CPU {r['server_cpu_ms']:.2f} ms/msg (sys {r['server_sys_ms']:.2f}; "
                  f"{r['server_cpu_pct']:.0f} %), "
                  f"load gen {r['gen_cpu_pct']:.0f} % (sys {r['gen_sys_pct']:.0f} %) = "
                  f"{r['gen_cpu_ms']:.3f} ms/msg "
                  f"({client_kind} client; loop lag p99 {r['gen_lag_p99']:.0f} / "
                  f"max {r['gen_lag_max']:.0f} ms, GC max {r['gen_gc_max']:.0f} ms, "
                  f"{r['gen_gc2']} full), load {r['load']:.1f}: "
                  f"{'sustained' if ok else 'NOT sustained'}", flush=True)
            print(f"[{name}]   per process (CPU % / loop % / sockets): " + "; ".join(
                f"{p['cpu_pct']:.0f} / {p['loop_pct']:.0f} / {p['sockets']}"
                for p in r["per_proc"]) + f"; redis-server {r['redis_cpu_pct']:.0f} %",
                flush=True)
            if not ok:
                if args.keep_going:
                    continue
                break
            best = r
    finally:
        await load.close()
    return best, steps


def run_async(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def profile(pids: list[int], seconds: float, name: str) -> list[subprocess.Popen[bytes]]:
    out = os.environ.get("PROBITY_BENCH_PYSPY")
    spy = Path(sys.executable).parent / "py-spy"
    if not out or not spy.exists():
        return []
    Path(out).mkdir(parents=True, exist_ok=True)
    extra = os.environ.get("PROBITY_BENCH_PYSPY_ARGS", "").split()
    return [subprocess.Popen([str(spy), "record", "-p", str(pid), "-d", str(int(seconds)),
                              "-r", os.environ.get("PROBITY_BENCH_PYSPY_RATE", "50"), "-f", "raw",
                              "-o", f"{out}/{name}-{pid}.txt",
                              *([] if "--native" in extra else ["--nonblocking"]), *extra],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for pid in pids]


def placement_of(workers: int, placement: str) -> str:
    """The placement a configuration ran with: "one process", or "random"/"affine"."""
    return placement if workers > 1 else "one process"


def run_one(name: str, url: str, args: argparse.Namespace, tmp: Path, workers: int,
            redis_url: str | None) -> list[dict[str, Any]]:
    """One configuration at `--rate` (or, with `--saturate`, its saturation search: a
    result is then the highest sustained step, with "steps" holding all of them), once per
    `--client` entry in turn on the same server (fresh connections each time)."""
    placement = placement_of(workers, args.placement)
    name = f"{name} {placement}" if workers > 1 else name
    print(f"[{name}] migrate + seed …", flush=True)
    prepare(url)
    convs, agents = make_conversations(url, args.clients // 2, args.agents)
    proc, base = start_server(url, tmp, workers, redis_url, placement=args.placement)
    spies: list[subprocess.Popen[bytes]] = []
    results: list[dict[str, Any]] = []
    try:
        print(f"[{name}] logging in {len(agents)} agents …", flush=True)
        cookies = login_all(base, agents)
        pids = server_pids(proc, args.placement if workers > 1 else "random")
        for kind in args.client:
            label = f"{name} {kind}"
            if args.saturate:
                res = _saturation_result(run_async(saturate(base, convs, cookies, pids, args,
                                                            label, kind)))
            else:
                print(f"[{label}] {args.clients} clients ({kind} client), {args.rate:g} msg/s "
                      f"for {args.seconds:g} s, server pids {pids} …", flush=True)

                def measuring() -> None:  # the profile covers the measured window only
                    spies.extend(profile(pids, args.seconds, name))
                res = run_async(drive(base, convs, cookies, args.rate, args.seconds, pids,
                                      args.receipts, on_measure=measuring, client_kind=kind))
                if os.environ.get("PROBITY_BENCH_CPROFILE"):
                    for pid in pids:  # write the profiles now (with workers: OUT.<pid>)
                        os.kill(pid, signal.SIGUSR1)
                    time.sleep(5)
            res["client"], res["placement"] = kind, placement
            res["compiled"] = compiled_in(pids)
            print(f"[{label}] " + ", ".join(
                f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}"
                for k, v in res.items() if k != "steps"), flush=True)
            results.append(res)
    finally:
        stop_server(proc)
        if redis_url:
            redis_clean(redis_url, f"chatbench-{os.getpid()}-*")
        for spy in spies:
            try:
                spy.wait(timeout=30)
            except subprocess.TimeoutExpired:
                spy.kill()
    if results and not any(m.startswith("screening.") for m in results[0]["compiled"]):
        print(f"[{name}] WARNING: screening ran as pure Python in the server (no compiled "
              "screening module loaded: not built, or older than its sources; `make install`)",
              flush=True)
    return results


def compiled_in(pids: list[int]) -> list[str]:
    """The project's compiled modules loaded in the server processes, as they are after the run
    (the extension modules mapped into each process, /proc/<pid>/maps): which screening
    modules ran compiled, whatever the server's sys.path."""
    got: set[str] = set()
    for pid in pids:
        try:
            maps = Path(f"/proc/{pid}/maps").read_text()
        except OSError:
            continue
        for line in maps.splitlines():
            path = line.rsplit(" ", 1)[-1]
            if path.endswith(".so") and "/probity/" in path:
                got.add(path.rsplit("/probity/", 1)[1].split(".", 1)[0].replace("/", "."))
    return sorted(got)


def compiled_note(results: list[tuple[str, int, str, dict[str, Any]]]) -> str:
    """Which screening modules the product's server ran compiled; a warning when none did (a
    stale or missing build: `make install`)."""
    seen = [r["compiled"] for name, _w, _f, r in results
            if not name.startswith("bare") and "compiled" in r]
    if not seen:
        return ""
    mods = sorted(set().union(*seen))
    screening = [m.split(".", 1)[1] for m in mods if m.startswith("screening.")]
    others = ", ".join(m for m in mods if not m.startswith("screening.")) or "none"
    if not screening:
        return ("**Screening ran as pure Python in the server**: no compiled screening module "
                "was loaded (not built, or the build is older than its sources: `make "
                f"install`). Other compiled modules loaded: {others}.")
    return (f"Screening ran compiled in the server (Cython, setup.py): {', '.join(screening)}; "
            f"other compiled modules loaded: {others}.")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=60)  # under cProfile, the profile is written on the way out
    except subprocess.TimeoutExpired:
        proc.kill()


def _saturation_result(got: tuple[dict[str, Any] | None, list[dict[str, Any]]]
                       ) -> dict[str, Any]:
    best, steps = got
    res = dict(best) if best is not None else {"offered": 0.0, "rate": 0.0}
    res["steps"] = steps
    return res


async def _receipts(url: str, n: int, concurrency: int, rounds: int) -> dict[str, Any]:
    """Read receipts through the process's writer, both ways in the same process, alternating
    rounds: one transaction per receipt (`MessageWriter.run` with `mark`, the path before
    issue 17) and batched (`MessageWriter.receipt`, stored with whatever else is queued).
    `concurrency` receipts are in flight at once, as from that many sockets."""
    from probity.chat.conversations import Participant, mark
    from probity.chat.store import Receipt
    from probity.chat.writer import MessageWriter
    from probity.db import make_engine

    engine = make_engine(url)
    async with engine.begin() as conn:  # room for the seqs the receipts acknowledge
        await conn.execute(text("UPDATE conversations SET last_seq = 100000000"))
        ids = list((await conn.execute(text(
            "SELECT id FROM conversations WHERE guest_token_hash IS NOT NULL"))).scalars())
    await engine.dispose()
    customer = Participant("customer", None, None, None)
    seqs = iter(range(1, 10**8))

    async def publish(_channel: str, _event: dict[str, Any]) -> None:
        return None

    writer = MessageWriter(url)

    async def one_transaction(conv_id: int, seq: int) -> None:
        async def job(session: Any) -> None:
            conv = await session.get(Conversation, conv_id)
            await mark(session, conv, customer, publish, read=seq)
        await writer.run(job)

    async def batched(conv_id: int, seq: int) -> None:
        await writer.receipt(Receipt(conv_id, "customer", publish, read=seq))

    ways = {"one transaction per receipt": one_transaction, "batched": batched}
    got: dict[str, list[tuple[float, float]]] = {k: [] for k in ways}
    try:
        for _round in range(rounds):
            for name, way in ways.items():
                cpu0, t0 = time.process_time(), time.perf_counter()
                for i in range(0, n, concurrency):
                    await asyncio.gather(*(way(ids[j % len(ids)], next(seqs))
                                           for j in range(i, min(n, i + concurrency))))
                got[name].append((1000 * (time.process_time() - cpu0) / n,
                                  n / (time.perf_counter() - t0)))
    finally:
        await writer.close()

    def median(xs: list[float]) -> float:
        return sorted(xs)[len(xs) // 2]

    return {name: {"cpu_ms": median([c for c, _ in xs]), "per_s": median([r for _, r in xs])}
            for name, xs in got.items()}


def run_relay(args: argparse.Namespace, tmp: Path, workers: int = 1) -> list[dict[str, Any]]:
    """The baseline: the bare relay, same clients, load and measurement (in several processes:
    its frames through the product's event bus on Redis, see chat_relay.py; uvicorn's
    `--workers`, i.e. random placement, whatever `--placement` says). Once per `--client`
    entry, in turn on the same server."""
    convs = [(i + 1, f"t{i}", "a") for i in range(args.clients // 2)]
    proc, base = start_server("", tmp, workers, REDIS_URL if workers > 1 else None,
                              relay=True)
    placement = placement_of(workers, "random")
    results: list[dict[str, Any]] = []
    try:
        pids = server_pids(proc)
        for kind in args.client:
            label = f"relay-{workers}p {kind}"
            if args.saturate:
                res = _saturation_result(run_async(saturate(base, convs, {"a": ""}, pids, args,
                                                            label, kind)))
            else:
                print(f"[{label}] {args.clients} clients ({kind} client), {args.rate:g} msg/s "
                      f"for {args.seconds:g} s, server pids {pids} …", flush=True)
                res = run_async(drive(base, convs, {"a": ""}, args.rate, args.seconds, pids,
                                      args.receipts, client_kind=kind))
            res["client"], res["placement"] = kind, placement
            print(f"[{label}] " + ", ".join(
                f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}"
                for k, v in res.items() if k != "steps"), flush=True)
            results.append(res)
    finally:
        stop_server(proc)
        if workers > 1:
            redis_clean(REDIS_URL, f"chatbench-relay-{os.getpid()}-*")
    return results


def _pg_admin(sql: str) -> None:
    eng = create_engine(sync_url(PG_ADMIN), isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as c:
            c.execute(text(sql))
    finally:
        eng.dispose()


def pg_fresh() -> str | None:
    """A freshly created scratch database (`PG_DB`), or None when PostgreSQL is unreachable."""
    try:
        _pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        _pg_admin(f'CREATE DATABASE "{PG_DB}"')
    except Exception as exc:
        print(f"PostgreSQL unavailable: {exc.__class__.__name__}: {exc}")
        return None
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_DB}"


def pg_drop() -> None:
    with contextlib.suppress(Exception):
        _pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')


def redis_clean(url: str, prefix: str) -> int:
    """Delete the keys this benchmark's runs left in its Redis database under `prefix` (each
    server gets a prefix of its own, `chatbench-<pid>-<port>`: the conversation-screening
    context, which lives a day, and the event bus's registrations, which a killed server never
    removes): the next run, and anything else on that database, starts from none. The number
    deleted."""
    try:
        import redis

        r = redis.Redis.from_url(url, socket_timeout=5)
        keys = list(r.scan_iter(match=f"{prefix}:*", count=1000))
        for i in range(0, len(keys), 1000):
            r.delete(*keys[i:i + 1000])
        return len(keys)
    except Exception as exc:
        print(f"Redis clean-up of {prefix}:* failed: {exc.__class__.__name__}: {exc}")
        return 0


def redis_ok(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except Exception:
        return False


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=500)
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--agents", type=int, default=60)
    ap.add_argument("--only", choices=["sqlite", "postgresql", "relay"])
    ap.add_argument("--no-receipts", dest="receipts", action="store_false",
                    help="the customer side sends no read receipts")
    ap.add_argument("--receipt-rounds", type=int, default=3,
                    help="rounds of the receipts comparison on SQLite (0: skip)")
    ap.add_argument("--no-relay", dest="relay", action="store_false",
                    help="skip the bare-relay baseline")
    ap.add_argument("--workers", default="1,2",
                    help="app processes per configuration, e.g. 1 or 1,2 (2+ uses Redis)")
    ap.add_argument("--relay-workers", default="1",
                    help="relay processes, e.g. 1,2 (2+: its frames through the event bus on "
                    "Redis); the ratios are against the 1-process relay")
    ap.add_argument("--no-report", action="store_true", help="print only, leave the docs")
    ap.add_argument("--saturate", action="store_true",
                    help="find each configuration's sustained rate (deliver p99 <= 250 ms, "
                    ">= 99 %% delivered): raise the offered rate from --start-rate by --factor "
                    "per step of --seconds until a step is not sustained")
    ap.add_argument("--keep-going", action="store_true",
                    help="--saturate: run every step up to --max-rate, sustained or not "
                    "(to compare two servers rate by rate)")
    ap.add_argument("--start-rate", type=float, default=200)
    # High enough that the bare relay's ladder ends where it stops keeping up (11,066 msg/s in
    # session 17; at 6,000 it stopped at 5,685, below its limit, and "x relay" read high).
    ap.add_argument("--max-rate", type=float, default=20000)
    ap.add_argument("--factor", type=float, default=1.25)
    ap.add_argument("--step-warmup", type=float, default=2.0,
                    help="seconds offered before each step's measurement (--saturate)")
    ap.add_argument("--client", default="lean",
                    help="the load generator's WebSocket client: lean (asyncio protocols, "
                    "benchmarks/_wsclient.py) or websockets (the library's client); a comma "
                    "list (e.g. websockets,lean,websockets,lean) runs each in turn against the "
                    "same server, for same-minute pairs")
    ap.add_argument("--placement", choices=PLACEMENTS, default="affine",
                    help="2+ app processes: random = uvicorn --workers N (the kernel spreads "
                    "the connections); affine = the dispatcher (python -m probity.dispatch: "
                    "each conversation's sockets in the process that owns it)")
    args = ap.parse_args()
    args.client = [c.strip() for c in args.client.split(",") if c.strip()]
    bad = [c for c in args.client if c not in CLIENTS]
    if bad or not args.client:
        ap.error(f"--client: {', '.join(bad) or 'empty'}; choose from {', '.join(CLIENTS)}")
    worker_counts = [int(w) for w in args.workers.split(",")]
    if (args.placement == "affine" and any(w > 1 for w in worker_counts)
            and args.only != "relay" and not dispatch_available()):
        ap.error(f"--placement affine starts the dispatcher ({DISPATCH_MODULE}, `python -m "
                 f"{DISPATCH_MODULE} --workers N …`), which this checkout does not have yet; "
                 "use --placement random (uvicorn --workers N)")
    if args.saturate:
        args.receipt_rounds = 0
    have_redis = redis_ok(REDIS_URL)
    results: list[tuple[str, int, str, dict[str, Any]]] = []
    receipts_res: dict[str, Any] | None = None
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    relay: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.relay:
            for rw in [int(w) for w in args.relay_workers.split(",")]:
                if rw > 1 and not have_redis:
                    continue
                for got in run_relay(args, tmp, rw):
                    if rw == 1 and relay is None:
                        relay = got
                    results.append(("bare relay (baseline)", rw, "Redis" if rw > 1 else "—",
                                    got))
        for db in ("sqlite", "postgresql"):
            if args.only and args.only != db:
                continue
            for workers in worker_counts:
                if workers > 1 and not have_redis:
                    print(f"Redis unreachable at {REDIS_URL}: skipping {workers} processes")
                    continue
                fanout = "Redis" if workers > 1 else "in-process"
                label = f"{db}-{workers}p"
                if db == "sqlite":
                    url = f"sqlite+aiosqlite:///{tmp}/bench-{workers}.db"
                    results += [("SQLite", workers, fanout, res) for res in run_one(
                        label, url, args, tmp, workers, REDIS_URL if workers > 1 else None)]
                    if workers == 1 and args.receipt_rounds:
                        print("[receipts] one transaction each vs batched …", flush=True)
                        receipts_res = run_async(_receipts(url, 2000, 50, args.receipt_rounds))
                        print(f"[receipts] {receipts_res}", flush=True)
                else:
                    pg = pg_fresh()
                    if pg is None:
                        break
                    try:
                        got_pg = run_one(label, pg, args, tmp, workers,
                                         REDIS_URL if workers > 1 else None)
                    finally:
                        pg_drop()
                    results += [("PostgreSQL", workers, fanout, res) for res in got_pg]
    note = compiled_note(results)
    if args.saturate:
        text_ = saturation_report(args, results, uptime)
        if note:
            text_ += "\n\n" + note
        print(text_)
        if not args.no_report:
            write_section("chat_saturation", text_)
        return
    receipts = ("; the customer side answers each message with a `read` receipt, as the "
                "customer's page does" if args.receipts else "")
    lines = [
        f"{args.clients} WebSocket clients on loopback ({args.clients // 2} conversations: "
        f"guest customer + signed-in agent) offer {args.rate:g} messages/s in total (open loop, "
        f"evenly spaced) for {args.seconds:g} s after a {WARMUP_S:g} s warm-up{receipts}. "
        f"Machine at the start: `{uptime}` (shared with other work). Command: `{command()}`.",
        "",
        "| server | app processes (placement) | fan-out | load gen client | sent | delivered "
        "| msg/s | ack p50 / p99 (ms) | deliver p50 / p99 / max (ms) "
        "| server CPU (ms/msg (of which kernel), % of a core) | × relay "
        "| load gen CPU (% of a core (of which kernel), ms/msg) "
        "| load avg | errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, workers, fanout, r in results:
        base = relay_for(results, r) or relay
        ratio = (f"{r['server_cpu_ms'] / base['server_cpu_ms']:.1f}×"
                 if base and base['server_cpu_ms'] > 0 else "—")
        lines.append(
            f"| {name} | {workers} ({r['placement']}) | {fanout} | {r['client']} | {r['sent']} "
            f"| {r['delivered']} | {r['rate']:.0f} | {r['ack_p50']:.1f} / {r['ack_p99']:.1f} "
            f"| {r['p50']:.1f} / {r['p99']:.1f} / {r['max']:.1f} "
            f"| {r['server_cpu_ms']:.2f} (sys {r['server_sys_ms']:.2f}; "
            f"{r['server_cpu_pct']:.0f} %) | {ratio} "
            f"| {r['gen_cpu_pct']:.0f} % (sys {r['gen_sys_pct']:.0f} %), {r['gen_cpu_ms']:.3f} "
            f"| {r['load']:.1f} "
            f"| {r['errors']} |")
    if receipts_res:
        lines += [
            "", "Read receipts through the writer, SQLite, same process and run, 2,000 receipts "
            "with 50 in flight (as from 50 sockets), median of "
            f"{args.receipt_rounds} alternating rounds:", "",
            "| receipts | writer process CPU per receipt | receipts/s |", "|---|---|---|"]
        for name, r in receipts_res.items():
            lines.append(f"| {name} | {r['cpu_ms']:.3f} ms | {r['per_s']:.0f} |")
    if note:
        lines += ["", note]
    text_ = "\n".join(lines)
    print(text_)
    if not args.no_report:
        write_section("chat_run", text_)


def command() -> str:
    return " ".join([".venv/bin/python", "benchmarks/chat.py", *sys.argv[1:]])


def relay_for(results: list[tuple[str, int, str, dict[str, Any]]], r: dict[str, Any]
              ) -> dict[str, Any] | None:
    """The 1-process bare relay's figure measured with the same load generator client as
    `r` (a cheaper client raises the relay's ceiling too: like is compared with like)."""
    return next((x for n, w, _f, x in results if n.startswith("bare relay") and w == 1
                 and x.get("client") == r.get("client")), None)


def saturation_report(args: argparse.Namespace,
                      results: list[tuple[str, int, str, dict[str, Any]]], uptime: str) -> str:
    """The sustained rate of each configuration, against the relay's in the same run."""
    lines = [
        f"{args.clients} WebSocket clients ({args.clients // 2} conversations), connected once; "
        f"the offered rate rises from {args.start_rate:g} msg/s by ×{args.factor:g} per step "
        f"({args.step_warmup:g} s warm-up + {args.seconds:g} s measured + 2 s drain) until a "
        f"step is not sustained: *sustained* = the load generator sent ≥ 95 % of the offered rate, "
        f"≥ {SUSTAINED_SHARE:.0%} of the messages sent in the window were delivered, deliver "
        f"p99 ≤ {SUSTAINED_P99_MS:g} ms, no error frames. "
        f"Machine at the start: `{uptime}`. Command: `{command()}`.",
        "",
        "| server | app processes (placement) | fan-out | load gen client "
        "| sustained msg/s (offered) | deliver p50 / p99 (ms) at it "
        "| server CPU (ms/msg, % of a core) at it "
        "| load gen CPU (% of a core (of which kernel), ms/msg) at it "
        "| × relay rate | × 1 process | first rate not sustained (offered: sent, delivered, "
        "p99 ms) | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, workers, fanout, r in results:
        # ratios against the same kind of server in one process, with the same client
        relay = relay_for(results, r)
        ones = [(n, x) for n, w, _f, x in results if w == 1 and not n.startswith("bare")
                and x.get("client") == r.get("client")]
        one = next((x for n, x in ones if n == name), ones[0][1] if ones else None)
        steps = r.get("steps", [])
        failed = steps[-1] if steps and not sustained(steps[-1]) else None
        got = r.get("rate", 0.0)
        vs_relay = (f"{r['offered'] / relay['offered']:.2f}×"
                    if relay and relay.get("offered") else "—")
        first = relay if name.startswith("bare relay") else one  # same kind, one process
        vs_one = (f"{r['offered'] / first['offered']:.2f}×"
                  if first and first.get("offered") and workers > 1 else "—")
        at = (f"{r['p50']:.0f} / {r['p99']:.0f}" if "p99" in r else "—")
        cpu = (f"{r['server_cpu_ms']:.2f} ({r['server_cpu_pct']:.0f} %)"
               if "server_cpu_ms" in r else "—")
        gen = (f"{r['gen_cpu_pct']:.0f} % (sys {r['gen_sys_pct']:.0f} %), "
               f"{r['gen_cpu_ms']:.3f}" if "gen_cpu_pct" in r else "—")
        fail = (f"{failed['offered']:g}: sent {failed['sent'] / failed['window']:.0f}/s, "
                f"delivered {failed['rate']:.0f}/s, p99 {failed['p99']:.0f}"
                if failed else "none up to --max-rate")
        load = steps[-1]["load"] if steps else float("nan")
        lines.append(f"| {name} | {workers} ({r['placement']}) | {fanout} | {r['client']} "
                     f"| {got:.0f} ({r['offered']:g}) | {at} "
                     f"| {cpu} | {gen} | {vs_relay} | {vs_one} | {fail} | {load:.1f} |")
    return "\n".join(lines)

if __name__ == "__main__":
    main()
