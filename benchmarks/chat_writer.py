"""The chat writer alone: CPU per message of `MessageWriter` (screened messages in, committed
batches with their ledger entries and rollups out), in this process, without sockets.

    .venv/bin/python benchmarks/chat_writer.py DB_URL [--messages 3000] [--in-flight 50]
        [--rounds 3]

DB_URL is a migrated and seeded database (`probity migrate && probity demo seed`); the run adds
conversations to it. `in-flight` messages are submitted at once (as from that many sockets);
the figure is this process's CPU time (all threads: the writer's included) per message, and
messages per second of wall time, median of the rounds; with the load average, as the machine
is shared. Run it on two checkouts (PYTHONPATH=<checkout>/src) for a before/after on the same
database file copy.
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
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
if not os.environ.get("PYTHONPATH"):
    sys.path.insert(0, str(ROOT / "src"))

from probity.chat.conversations import Participant  # noqa: E402
from probity.chat.send import prepare_send  # noqa: E402
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


async def run(url: str, n: int, in_flight: int, rounds: int) -> dict[str, Any]:
    convs = conversations(url, in_flight)

    async def publish(_channel: str, _event: dict[str, Any]) -> None:
        return None

    writer = MessageWriter(url)
    counter = 0

    async def one(i: int) -> None:
        conv_id, customer, agent = convs[i % len(convs)]
        pending = await prepare_send(conv_id, customer if i % 2 else agent, publish,
                                     text=TEXTS[i % len(TEXTS)], client_id=f"b{i}")
        await writer.submit(pending)

    cpu: list[float] = []
    rate: list[float] = []
    try:
        await asyncio.gather(*(one(counter + i) for i in range(in_flight)))  # warm up
        counter += in_flight
        for _ in range(rounds):
            c0, t0 = time.process_time(), time.perf_counter()
            for start in range(0, n, in_flight):
                await asyncio.gather(*(one(counter + i)
                                       for i in range(min(in_flight, n - start))))
                counter += in_flight
            cpu.append(1000 * (time.process_time() - c0) / n)
            rate.append(n / (time.perf_counter() - t0))
    finally:
        await writer.close()
    return {"cpu_ms": statistics.median(cpu), "per_s": statistics.median(rate),
            "batches": writer.batches, "messages": writer.messages,
            "largest": writer.largest_batch}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--messages", type=int, default=3000)
    ap.add_argument("--in-flight", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    load = os.getloadavg()
    res = asyncio.run(run(args.url, args.messages, args.in_flight, args.rounds))
    print(f"cpu per message {res['cpu_ms']:.3f} ms, {res['per_s']:.0f} msg/s, "
          f"{res['messages']} messages in {res['batches']} batches (largest "
          f"{res['largest']}), load {load[0]:.1f} → {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
