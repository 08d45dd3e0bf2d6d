"""The chat writer alone: CPU per message of `MessageWriter` (screened messages in, committed
batches with their ledger entries and rollups out), in this process, without sockets.

    .venv/bin/python benchmarks/chat_writer.py DB_URL [--messages 1000] [--in-flight 1,50]
        [--rounds 3] [--no-receipts] [--rate R [--only WAY]] [--pages]

DB_URL is a migrated and seeded database (`probity migrate && probity demo seed`); the run adds
conversations to it. Same-process A/B, alternating rounds: the writer's session path (what
every batch took before the direct path) against its direct path (SQLite: the common batch
through the bare driver, `probity.chat.direct`). `in-flight` messages are submitted at once (as
from that many sockets; 1 = the one-message batches of a lightly loaded server), each followed
by a read receipt unless --no-receipts. Figures: this process's CPU time (all threads;
screening by `prepare_send` included, the same for both) and the writer thread's own CPU time,
per message (its receipt included), messages per batch, messages per second of wall time;
medians of the rounds, with the load average, as the machine is shared. For a before/after
across commits, run it on two checkouts (PYTHONPATH=<checkout>/src) on copies of one database.
--pages (SQLite): the WAL pages each commit of the direct writer writes, per table and index
(what a schema change to the tables a chat message touches saves).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
if not os.environ.get("PYTHONPATH"):
    sys.path.insert(0, str(ROOT / "src"))

from probity.chat.conversations import Participant  # noqa: E402
from probity.chat.send import prepare_send  # noqa: E402
from probity.chat.store import Receipt  # noqa: E402
from probity.chat.writer import MessageWriter  # noqa: E402
from probity.db import sync_url  # noqa: E402
from probity.models import (  # noqa: E402
    Conversation,
    ConversationStatus,
    Customer,
    RoleAssignment,
    User,
)
from probity.models import Role as R  # noqa: E402
from probity.models.base import utcnow  # noqa: E402

TEXTS = ["您好，请问订单什么时候发货？", "好的，我帮您查一下物流信息", "退款已经提交了吗",
         "预计 1-3 个工作日到账", "请问还有其他问题吗", "谢谢，没有了"]


def conversations(url: str, n: int) -> list[tuple[int, Participant, Participant]]:
    engine = create_engine(sync_url(url))
    out = []
    with Session(engine) as s:
        user, ra = s.execute(
            select(User, RoleAssignment).join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.role == R.agent, RoleAssignment.org_unit_id.is_not(None))
            .order_by(User.id).limit(1)).one()
        customer = s.scalars(select(Customer).where(Customer.tenant_id == ra.tenant_id)).first()
        assert customer is not None
        for _ in range(n):
            conv = Conversation(
                tenant_id=ra.tenant_id, org_unit_id=ra.org_unit_id, customer_id=customer.id,
                guest_token_hash=hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
                agent_user_id=user.id, agent_employee_id=user.employee_id,
                status=ConversationStatus.active, assigned_at=utcnow(), last_seq=0,
                customer_delivered_seq=0, customer_read_seq=0, agent_delivered_seq=0,
                agent_read_seq=0)
            s.add(conv)
            s.flush()
            out.append((conv.id, Participant("customer", None, None, None),
                        Participant("agent", user.id, user.employee_id, None)))
        s.commit()
    engine.dispose()
    return out


async def run(url: str, n: int, in_flight: int, rounds: int, receipts: bool
              ) -> dict[str, dict[str, Any]]:
    """Both ways of the writer in this process, alternating rounds on the same database: the
    session path (`MessageWriter(direct=False)`, what every batch took before) and the
    direct path (the default). Per round: `n` messages, `in_flight` at once (1: the batches
    of one of a lightly loaded server; 50: a busy one), each followed by a read receipt of
    the other side when `receipts` (as the customer's page sends). Process CPU (screening by
    `prepare_send` included, the same for both) and the writer thread's own CPU."""
    convs = conversations(url, max(in_flight, 8))

    async def publish(_channel: str, _event: dict[str, Any]) -> None:
        return None

    ways = {"session path": MessageWriter(url, direct=False), "direct path": MessageWriter(url)}
    counter = 0

    async def one(writer: MessageWriter, i: int) -> None:
        conv_id, customer, agent = convs[i % len(convs)]
        pending = await prepare_send(conv_id, customer if i % 2 else agent, publish,
                                     text=TEXTS[i % len(TEXTS)], client_id=f"b{i}")
        message, _dup = await writer.submit(pending)
        if receipts:  # as a socket sends them: not waited for (`receipt_soon`)
            writer.receipt_soon(Receipt(conv_id, "agent" if i % 2 else "customer", publish,
                                        read=message.seq))

    out: dict[str, dict[str, list[float]]] = {
        name: {"cpu": [], "thread": [], "rate": [], "batch": []} for name in ways}
    try:
        for writer in ways.values():  # warm up: threads, connections, caches
            await asyncio.gather(*(one(writer, counter + i) for i in range(in_flight)))
            counter += in_flight
        for _ in range(rounds):
            for name, writer in ways.items():
                assert writer._thread is not None and writer._thread.ident is not None
                clock = time.pthread_getcpuclockid(writer._thread.ident)
                b0 = writer.batches
                c0, w0, t0 = (time.process_time(), time.clock_gettime(clock),
                              time.perf_counter())
                for start in range(0, n, in_flight):
                    await asyncio.gather(*(one(writer, counter + i)
                                           for i in range(min(in_flight, n - start))))
                    counter += in_flight
                r = out[name]
                r["cpu"].append(1000 * (time.process_time() - c0) / n)
                r["thread"].append(1000 * (time.clock_gettime(clock) - w0) / n)
                r["rate"].append(n / (time.perf_counter() - t0))
                r["batch"].append(n / max(writer.batches - b0, 1))
    finally:
        for writer in ways.values():
            await writer.close()
    return {name: {k: statistics.median(v) for k, v in r.items()}
            | {"fallbacks": ways[name].fallbacks, "direct": ways[name].direct_batches}
            for name, r in out.items()}



async def open_loop(n: int, rate: float, send: Callable[[int], Awaitable[None]]) -> None:
    """`send(i)` for i in range(n), started evenly `1 / rate` apart whatever the earlier ones
    take (an open loop), then waits for all of them."""
    start = time.perf_counter()
    tasks = []
    for i in range(n):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(send(i)))
    await asyncio.gather(*tasks)

async def run_rate(url: str, n: int, rate: float, rounds: int, receipts: bool,
                   only: str = "") -> dict[str, dict[str, Any]]:
    """Open loop at `rate` messages/s (evenly spaced, as a server's sockets hand them over),
    each answered by a read receipt once acked: the session path, the direct path without
    coalescing, and the direct path coalescing for 2, 5, 10 and 20 ms; alternating rounds. Adds the
    ack latency (submit → committed) to the CPU figures."""
    convs = conversations(url, 64)

    async def publish(_channel: str, _event: dict[str, Any]) -> None:
        return None

    ways = {"session path, no coalescing": MessageWriter(url, direct=False, coalesce_s=0),
            "direct path, no coalescing": MessageWriter(url, coalesce_s=0),
            "direct path, coalescing 2 ms": MessageWriter(url, coalesce_s=0.002),
            "direct path, coalescing 5 ms": MessageWriter(url, coalesce_s=0.005),
            "direct path, coalescing 10 ms": MessageWriter(url, coalesce_s=0.010),
            "direct path, coalescing 20 ms": MessageWriter(url, coalesce_s=0.020)}
    if only:
        ways = {name: w for name, w in ways.items() if only in name}
    counter = 0
    acks: list[float] = []

    async def one(writer: MessageWriter, i: int) -> None:
        conv_id, customer, agent = convs[i % len(convs)]
        pending = await prepare_send(conv_id, customer if i % 2 else agent, publish,
                                     text=TEXTS[i % len(TEXTS)], client_id=f"r{i}")
        t = time.perf_counter()
        message, _dup = await writer.submit(pending)
        acks.append(time.perf_counter() - t)
        if receipts:  # as a socket sends them: not waited for (`receipt_soon`)
            writer.receipt_soon(Receipt(conv_id, "agent" if i % 2 else "customer", publish,
                                        read=message.seq))

    out: dict[str, dict[str, list[float]]] = {
        name: {"cpu": [], "thread": [], "batch": [], "p50": [], "p99": []} for name in ways}
    try:
        for writer in ways.values():
            await asyncio.gather(*(one(writer, counter + i) for i in range(8)))
            counter += 8
        for _ in range(rounds):
            for name, writer in ways.items():
                assert writer._thread is not None and writer._thread.ident is not None
                clock = time.pthread_getcpuclockid(writer._thread.ident)
                b0 = writer.batches
                acks.clear()
                c0, w0 = time.process_time(), time.clock_gettime(clock)
                await open_loop(n, rate, lambda i, w=writer, c=counter: one(w, c + i))
                counter += n
                r = out[name]
                r["cpu"].append(1000 * (time.process_time() - c0) / n)
                r["thread"].append(1000 * (time.clock_gettime(clock) - w0) / n)
                r["batch"].append(n / max(writer.batches - b0, 1))
                q = statistics.quantiles(acks, n=100)
                r["p50"].append(1000 * q[49])
                r["p99"].append(1000 * q[98])
    finally:
        for writer in ways.values():
            await writer.close()
    return {name: {k: statistics.median(v) for k, v in r.items()} for name, r in out.items()}


def wal_commits(wal: Path) -> list[list[int]]:
    """The page numbers of each committed transaction in a WAL file, in order (a frame's
    header: page number, then the database size after a commit frame, 0 in the others)."""
    data = wal.read_bytes()
    page = int.from_bytes(data[8:12], "big")
    commits: list[list[int]] = []
    pages: list[int] = []
    for offset in range(32, len(data) - 24 - page + 1, 24 + page):
        pages.append(int.from_bytes(data[offset:offset + 4], "big"))
        if int.from_bytes(data[offset + 4:offset + 8], "big"):
            commits.append(pages)
            pages = []
    return commits


async def run_pages(url: str, n: int, rate: float) -> tuple[dict[str, float], dict[str, Any]]:
    """SQLite: the WAL pages each of the direct writer's commits writes, by B-tree (table or
    index, from ``dbstat``), open loop at `rate` with read receipts, as `run_rate` sends them.
    The writer's WAL checkpointer is held off meanwhile (a checkpoint lets the next commit
    reset the WAL, overwriting the frames counted here)."""
    import sqlite3

    from probity.chat import writer as writer_module

    database = Path(sync_url(url).split("///", 1)[1])
    convs = conversations(url, 250)

    async def publish(_channel: str, _event: dict[str, Any]) -> None:
        return None

    writer = MessageWriter(url)
    held = writer_module.WAL_CHECKPOINT_S
    writer_module.WAL_CHECKPOINT_S = 1e9

    async def one(i: int) -> None:
        conv_id, customer, agent = convs[i % len(convs)]
        pending = await prepare_send(conv_id, customer if i % 2 else agent, publish,
                                     text=TEXTS[i % len(TEXTS)], client_id=f"w{i}")
        message, _dup = await writer.submit(pending)
        writer.receipt_soon(Receipt(conv_id, "agent" if i % 2 else "customer", publish,
                                    read=message.seq))

    con = sqlite3.connect(database, isolation_level=None)
    try:
        await asyncio.gather(*(one(i) for i in range(16)))  # warm: caches, statements
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the next commit starts the WAL anew
        t0, m0 = writer.transactions, writer.messages
        await open_loop(n, rate, lambda i: one(100 + i))
        commits = wal_commits(database.with_name(database.name + "-wal"))
        names = dict(con.execute("SELECT pageno, name FROM dbstat"))
        stats = {"transactions": writer.transactions - t0, "messages": writer.messages - m0,
                 "commits": len(commits), "frames": sum(map(len, commits))}
    finally:
        await writer.close()
        writer_module.WAL_CHECKPOINT_S = held
        con.close()
    per: dict[str, float] = {}
    for pages in commits:
        for p in pages:
            name = names.get(p, "?")
            per[name] = per.get(name, 0) + 1 / len(commits)
    return per, stats


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--in-flight", default="1,50",
                    help="comma-separated: messages in flight at once, one table row each")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-receipts", dest="receipts", action="store_false")
    ap.add_argument("--rate", type=float, default=0,
                    help="open loop at this many messages/s instead (coalescing A/B)")
    ap.add_argument("--only", default="",
                    help="with --rate: only the ways whose name contains this (e.g. '20 ms')")
    ap.add_argument("--pages", action="store_true",
                    help="SQLite: WAL pages per commit by table and index (open loop at "
                         "--rate, default 200 msg/s)")
    args = ap.parse_args()
    if args.pages:
        per, stats = asyncio.run(run_pages(args.url, args.messages, args.rate or 200))
        commits = max(stats["commits"], 1)
        print(f"Load average {os.getloadavg()[0]:.1f}; {stats['messages']} messages at "
              f"{args.rate or 200:g}/s with read receipts in {stats['transactions']} writer "
              f"transactions ({stats['commits']} commits in the WAL): "
              f"{stats['messages'] / commits:.2f} messages and "
              f"{stats['frames'] / commits:.1f} WAL pages per commit.\n")
        print("| table or index | pages per commit |")
        print("|---|---|")
        for name, count in sorted(per.items(), key=lambda kv: -kv[1]):
            print(f"| {name} | {count:.2f} |")
        return
    if args.rate:
        print(f"Machine at the start: load average {os.getloadavg()[0]:.1f}; open loop, "
              f"{args.rate:g} messages/s, {args.messages} per round"
              f"{', each answered by a read receipt' if args.receipts else ''}, median of "
              f"{args.rounds} alternating rounds.\n")
        print("| writer | process CPU per message (ms) | writer thread CPU per message (ms) "
              "| messages per batch | ack p50 / p99 (ms) |")
        print("|---|---|---|---|---|")
        res = asyncio.run(run_rate(args.url, args.messages, args.rate, args.rounds,
                                   args.receipts, args.only))
        for name, r in res.items():
            print(f"| {name} | {r['cpu']:.3f} | {r['thread']:.3f} | {r['batch']:.1f} | "
                  f"{r['p50']:.1f} / {r['p99']:.1f} |")
        print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}")
        return
    print(f"Machine at the start: load average {os.getloadavg()[0]:.1f}; {args.messages} "
          f"messages per round{', each with a read receipt' if args.receipts else ''}, "
          f"median of {args.rounds} alternating rounds.\n")
    print("| in flight | writer | process CPU per message (ms) | writer thread CPU per message "
          "(ms) | messages per batch | msg/s (wall) |")
    print("|---|---|---|---|---|---|")
    for level in (int(x) for x in args.in_flight.split(",")):
        res = asyncio.run(run(args.url, args.messages, level, args.rounds, args.receipts))
        for name, r in res.items():
            print(f"| {level} | {name} | {r['cpu']:.3f} | {r['thread']:.3f} | "
                  f"{r['batch']:.1f} | {r['rate']:.0f} |", flush=True)
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
