"""What two app processes spend on each other through Redis, per event and per message, in
this process (same-process A/B, alternating rounds; medians, with the load average).

* the bus: two `RedisEventBus` instances stand for two processes — A holds 100 conversations,
  B the even half (a conversation whose two sockets sit on different processes); A publishes
  one event per conversation per loop turn. Figures: this process's CPU per published event
  until every subscriber has it (both "processes" together), wall time, and the Redis server's
  CPU (other users of the same server count too); again with one event every 2.5 ms (each
  event its own batch, as at chat rates: the per-batch cost). With `--baseline PATH`, the
  same against another checkout's `events.py` (e.g.
  `git show <rev>:src/probity/events.py > /tmp/events.py`).
* the conversation context (`RedisContextStore.ascreen`, the socket's screening with the
  shared context): memory store, Redis with a read before each compare-and-set, and Redis
  keeping the state it last saw (as shipped); 100 conversations, one process.

    .venv/bin/python benchmarks/chat_bus.py [--redis redis://127.0.0.1:6379/14]
        [--baseline /tmp/events.py] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from probity import events  # noqa: E402
from probity.chat.screening import default_policy  # noqa: E402
from probity.screening.context import MemoryContextStore, RedisContextStore  # noqa: E402

TEXTS = ["您好，请问订单什么时候发货？", "好的，我帮您查一下物流信息", "退款已经提交了吗",
         "预计 1-3 个工作日到账", "请问还有其他问题吗", "谢谢，没有了"]


def redis_cpu() -> float:
    out = subprocess.run(["pgrep", "-x", "redis-server"], capture_output=True, text=True)
    pids = out.stdout.split()
    if not pids:
        return float("nan")
    fields = Path(f"/proc/{pids[0]}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def bus_round(mod: Any, url: str, batches: int = 200, per: int = 100,
                    gap_s: float = 0.0) -> tuple[float, float, float]:
    prefix = f"chatbus-{uuid.uuid4().hex[:8]}"
    a, b = mod.RedisEventBus(url, prefix), mod.RedisEventBus(url, prefix)
    count = 0
    done = asyncio.Event()
    try:
        async with contextlib.AsyncExitStack() as stack:
            subs = [await stack.enter_async_context(a.subscribe(f"conv:{i}"))
                    for i in range(per)]
            subs += [await stack.enter_async_context(b.subscribe(f"conv:{i}"))
                     for i in range(0, per, 2)]
            expected = batches * len(subs)

            async def drain(sub: Any) -> None:
                nonlocal count
                while True:
                    await sub.get()
                    count += 1
                    if count >= expected:
                        done.set()

            tasks = [asyncio.create_task(drain(s)) for s in subs]
            await asyncio.sleep(0.2)
            idle = 0.0
            if gap_s:  # the loop's own cost of sleeping that often, taken off below
                c0 = time.process_time()
                for _ in range(batches * per):
                    await asyncio.sleep(gap_s)
                idle = time.process_time() - c0
            c0, r0, t0 = time.process_time(), redis_cpu(), time.perf_counter()
            for k in range(batches):
                for i in range(per):
                    await a.publish(f"conv:{i}", {"type": "message", "message": {
                        "seq": k, "conversation_id": i, "body": TEXTS[k % len(TEXTS)]}})
                    if gap_s:  # one event at a time (a batch of one: chat at 200 msg/s)
                        await asyncio.sleep(gap_s)
                await asyncio.sleep(0)  # a loop turn between batches (the writer's hand-backs)
            await asyncio.wait_for(done.wait(), 120)
            cpu, rcpu = time.process_time() - c0 - idle, redis_cpu() - r0
            wall = time.perf_counter() - t0
            for task in tasks:
                task.cancel()
    finally:
        await a.close()
        await b.close()
    n = batches * per
    return 1e6 * cpu / n, 1e6 * rcpu / n, 1e6 * wall / n


async def context_round(store: Any, n: int = 1000) -> float:
    policy = default_policy()
    c0 = time.process_time()
    for i in range(n):
        await store.ascreen(i % 100, TEXTS[i % len(TEXTS)], "customer" if i % 2 else "agent",
                            policy)
    return 1e6 * (time.process_time() - c0) / n


def load_module(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("baseline_events", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--redis", default=os.environ.get("PROBITY_BENCH_REDIS",
                                                      "redis://127.0.0.1:6379/14"))
    ap.add_argument("--baseline", help="another checkout's events.py, to compare with")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    print(f"load average at the start: {os.getloadavg()}")
    buses: dict[str, Any] = {}
    if args.baseline:
        buses[f"baseline ({args.baseline})"] = load_module(args.baseline)
    buses["this checkout"] = events
    # Batched: 100 events per loop turn; one by one: an event every 2.5 ms (each its own
    # batch, as at chat rates), where the per-batch cost shows (wall is mostly the sleeps).
    modes = {"100 per loop turn": {}, "one every 2.5 ms": {"batches": 20, "gap_s": 0.0025}}
    got: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    for _ in range(args.rounds):
        for mode, kw in modes.items():
            for name, mod in buses.items():
                got.setdefault((name, mode), []).append(await bus_round(mod, args.redis, **kw))
    print("| bus | events | app CPU per event (µs) | Redis server CPU per event (µs) "
          "| wall per event (µs) |")
    print("|---|---|---|---|---|")
    for (name, mode), xs in got.items():
        med = [statistics.median(x[i] for x in xs) for i in range(3)]
        print(f"| {name} | {mode} | {med[0]:.1f} | {med[1]:.1f} | {med[2]:.1f} |")
    prefix = f"chatbus-ctx-{uuid.uuid4().hex[:8]}"
    stores: dict[str, Any] = {
        "memory": MemoryContextStore(),
        "Redis, read then compare-and-set": RedisContextStore(args.redis, prefix + "a"),
        "Redis, last seen state kept (shipped)": RedisContextStore(args.redis, prefix + "b")}
    stores["Redis, read then compare-and-set"].MAX_SEEN = 0
    ctx: dict[str, list[float]] = {k: [] for k in stores}
    for _ in range(args.rounds):
        for name, store in stores.items():
            ctx[name].append(await context_round(store))
    print("\n| conversation context | CPU per message (µs) |\n|---|---|")
    for name, xs in ctx.items():
        print(f"| {name} | {statistics.median(xs):.0f} |")
    for store in stores.values():
        store.forget()
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    asyncio.run(main())
