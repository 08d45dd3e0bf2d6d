"""Chat send→deliver latency over real WebSockets on loopback.

Starts one app process (uvicorn) on a fresh database (SQLite file, then PostgreSQL when
reachable), opens N WebSocket clients (N/2 conversations: a guest customer and a signed-in agent
each), and has them send `--rate` messages per second in total for `--seconds`. Measures, per
message, send → ack (durably stored) and send → delivered to the other side; reports p50/p99 and
the achieved rate. Stops by itself; loopback only.

    .venv/bin/python benchmarks/chat.py [--clients 500] [--rate 200] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets
from _report import write_section
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

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

PG_ADMIN = os.environ.get("PROBITY_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TEXTS = ["您好，请问订单什么时候发货？", "好的，我帮您查一下物流信息", "退款已经提交了吗",
         "预计 1-3 个工作日到账", "请问还有其他问题吗", "谢谢，没有了"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def start_server(url: str, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PROBITY_DATABASE_URL": url, "PROBITY_ENV": "test",
           "PROBITY_SECRET_KEY": "bench-secret-0123456789abcdef0123456789",
           "PROBITY_ATTACHMENTS_DIR": str(tmp / "att")}
    env.pop("PROBITY_REDIS_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "probity.app:create_app", "--factory", "--host",
         "127.0.0.1", "--port", str(port), "--log-level", "warning", "--ws-max-queue", "256"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(tmp / "server.log", "wb"))  # noqa: SIM115
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def login_all(base: str, usernames: list[str]) -> dict[str, str]:
    cookies: dict[str, str] = {}
    with httpx.Client(base_url=base, timeout=30) as c:
        for u in usernames:
            c.cookies.clear()
            r = c.post("/api/v1/auth/login", json={"username": u, "password": DEMO_PASSWORD})
            r.raise_for_status()
            cookies[u] = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
    return cookies


class Stats:
    def __init__(self) -> None:
        self.sent: dict[str, float] = {}
        self.ack: list[float] = []
        self.deliver: list[float] = []
        self.errors = 0
        self.measuring = False


async def client(url: str, headers: dict[str, str], role: str, stats: Stats,
                 ready: asyncio.Event, outq: asyncio.Queue[str], stop: asyncio.Event) -> None:
    async with websockets.connect(url, additional_headers=headers, max_queue=None,
                                  open_timeout=60) as ws:
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
        stopper = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                recv = asyncio.ensure_future(ws.recv())
                done, _ = await asyncio.wait({recv, stopper}, return_when=asyncio.FIRST_COMPLETED)
                if recv not in done:
                    recv.cancel()
                    break
                raw = recv.result()
                now = time.perf_counter()
                f = json.loads(raw)
                if f["type"] == "ack" and f["client_id"] in stats.sent:
                    if stats.measuring:
                        stats.ack.append(now - stats.sent[f["client_id"]])
                elif f["type"] == "message" and f["sender"] != role:
                    key = f.get("body", "").rsplit("#", 1)[-1]
                    t0 = stats.sent.get(key)
                    if t0 is not None and stats.measuring:
                        stats.deliver.append(now - t0)
                elif f["type"] == "error":
                    stats.errors += 1
        finally:
            task.cancel()
            stopper.cancel()


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] * 1000


async def drive(base: str, convs: list[tuple[int, str, str]], cookies: dict[str, str],
                rate: float, seconds: float) -> dict[str, Any]:
    stats = Stats()
    stop = asyncio.Event()
    ws_base = base.replace("http://", "ws://")
    queues: list[asyncio.Queue[str]] = []
    tasks = []
    readies = []
    for conv_id, token, agent in convs:
        for role, url, headers in (
            ("customer", f"{ws_base}/ws/chat/{conv_id}?token={token}", {}),
            ("agent", f"{ws_base}/ws/chat/{conv_id}", {"Cookie": cookies[agent]}),
        ):
            q: asyncio.Queue[str] = asyncio.Queue()
            ev = asyncio.Event()
            queues.append(q)
            readies.append(ev)
            tasks.append(asyncio.create_task(client(url, headers, role, stats, ev, q, stop)))
            await asyncio.sleep(0.002)
    t_connect = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in readies)), 120)
    connect_s = time.perf_counter() - t_connect
    n = 0
    interval = 1.0 / rate
    warmup = 3.0
    start = time.perf_counter()
    measured_sent = 0
    while True:
        now = time.perf_counter()
        elapsed = now - start
        if elapsed > warmup + seconds:
            break
        if elapsed > warmup and not stats.measuring:
            stats.measuring = True
            m_start = now
        target = int(elapsed / interval)
        while n < target:
            random.choice(queues).put_nowait(f"m{n}")
            n += 1
            if stats.measuring:
                measured_sent += 1
        await asyncio.sleep(interval / 2)
    m_end = time.perf_counter()
    await asyncio.sleep(1.5)  # let in-flight messages land
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "clients": len(tasks), "connect_s": connect_s,
        "sent": measured_sent, "delivered": len(stats.deliver),
        "rate": len(stats.deliver) / (m_end - m_start),
        "ack_p50": pct(stats.ack, 50), "ack_p99": pct(stats.ack, 99),
        "p50": pct(stats.deliver, 50), "p99": pct(stats.deliver, 99),
        "max": pct(stats.deliver, 100), "errors": stats.errors,
    }


def run_one(name: str, url: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    print(f"[{name}] migrate + seed …", flush=True)
    prepare(url)
    convs, agents = make_conversations(url, args.clients // 2, args.agents)
    proc, base = start_server(url, tmp)
    try:
        print(f"[{name}] logging in {len(agents)} agents …", flush=True)
        cookies = login_all(base, agents)
        print(f"[{name}] {args.clients} clients, {args.rate} msg/s for {args.seconds} s …",
              flush=True)
        res = asyncio.run(drive(base, convs, cookies, args.rate, args.seconds))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(f"[{name}] {res}", flush=True)
    return res


def pg_url() -> str | None:
    try:
        eng = create_engine(sync_url(PG_ADMIN), isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            c.execute(text("DROP DATABASE IF EXISTS probity_bench_chat"))
            c.execute(text("CREATE DATABASE probity_bench_chat"))
        eng.dispose()
    except Exception as exc:  # PostgreSQL not reachable: SQLite only
        print(f"PostgreSQL unavailable: {exc.__class__.__name__}")
        return None
    return PG_ADMIN.rsplit("/", 1)[0] + "/probity_bench_chat"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=500)
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--agents", type=int, default=60)
    ap.add_argument("--only", choices=["sqlite", "postgresql"])
    args = ap.parse_args()
    results: list[tuple[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.only != "postgresql":
            results.append(("SQLite", run_one("sqlite", f"sqlite+aiosqlite:///{tmp}/bench.db",
                                              args, tmp)))
        if args.only != "sqlite":
            url = pg_url()
            if url:
                results.append(("PostgreSQL", run_one("postgresql", url, args, tmp)))
    lines = [
        "## Chat (`benchmarks/chat.py`)", "",
        f"One app process (uvicorn), {args.clients} WebSocket clients on loopback "
        f"({args.clients // 2} conversations: guest customer + signed-in agent), "
        f"{args.rate:g} messages/s in total for {args.seconds:g} s after a 3 s warm-up. "
        "Every message is screened, stored (committed) and then fanned out; *ack* is send → "
        "acknowledgement (durably stored), *deliver* is send → received by the other side. "
        "The load generator runs on the same 2-core machine. Target: deliver p99 ≤ 100 ms.", "",
        "| database | clients | connect (s) | sent | delivered | msg/s | ack p50 / p99 (ms) "
        "| deliver p50 / p99 / max (ms) | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results:
        lines.append(
            f"| {name} | {r['clients']} | {r['connect_s']:.1f} | {r['sent']} | {r['delivered']} "
            f"| {r['rate']:.0f} | {r['ack_p50']:.1f} / {r['ack_p99']:.1f} "
            f"| {r['p50']:.1f} / {r['p99']:.1f} / {r['max']:.1f} | {r['errors']} |")
    write_section("chat", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
