"""Policy replay benchmark: writes the `replay` section of docs/BENCHMARKS.md.

Replay screens every message twice, with the tenant's current policy and the candidate, and
tallies what changes (`probity.governance.replay.replay_batch`, the part that runs in the
replay job's worker thread). Measured here: messages replayed per second of CPU time of one
thread (= per core), on a stream of 95 % ordinary traffic and 5 % labelled evasions and
look-alikes (the screening benchmark's stream), the candidate adding 20 lexicon terms. CPU time
(`time.process_time`), median of the repetitions, so other processes' load weighs little — but
the machine is shared today and its load average is printed with the figures.

Run:  .venv/bin/python benchmarks/replay.py  [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import write_section  # noqa: E402

from probity.governance.replay import ReplayItem, replay_batch  # noqa: E402
from probity.policy.schemas import PolicyOverlay  # noqa: E402
from probity.policy.service import apply_overlay  # noqa: E402
from probity.screening import compile_policy, default_policy_spec  # noqa: E402
from screening import message_stream  # noqa: E402

TARGET = 20_000  # messages per second per core (issue 10)
TERMS = ["龙井茶叶", "土特产", "老规矩", "小意思", "辛苦费", "茶水费", "好处费", "回扣",
         "私下转", "加个好友", "留个电话", "线下交易", "返现给你", "私人账户", "转我个人",
         "扫我码", "红包口令", "感谢费", "打点一下", "意思意思"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 20_000 if args.quick else 100_000
    repeat = 3 if args.quick else 5
    stream = message_stream(n)
    items = [ReplayItem(i, i // 20, 1, role, text) for i, (text, role) in enumerate(stream)]
    current = compile_policy(default_policy_spec())
    overlay = PolicyOverlay.model_validate(
        {"lexicon": [{"term": t, "category": "bribe", "severity": 3} for t in TERMS]})
    candidate = compile_policy(apply_overlay(default_policy_spec(), overlay))
    replay_batch(items[:2000], {1: current}, {1: candidate})  # warm-up
    rates, changed = [], 0
    for _ in range(repeat):
        start = time.process_time()
        tally = replay_batch(items, {1: current}, {1: candidate})
        rates.append(len(items) / (time.process_time() - start))
        changed = tally.changed
    same = []
    for _ in range(repeat):
        start = time.process_time()
        replay_batch(items, {1: current}, {1: current})
        same.append(len(items) / (time.process_time() - start))
    rate = statistics.median(rates)
    load = os.getloadavg()
    runs = ", ".join(f"{r:,.0f}" for r in rates)
    unchanged = statistics.median(same)
    verdict = "meets" if rate >= TARGET else "does NOT meet"
    body = f"""## Policy replay (`benchmarks/replay.py`)

Replay = each message screened with the current and the candidate policy (`replay_batch`, the
replay job's worker-thread core), {n:,} messages (95 % ordinary, 5 % labelled evasions and
look-alikes), candidate = built-in policy + {len(TERMS)} lexicon terms. CPU time of one thread,
median of {repeat} runs.

| | messages/s per core |
|---|---|
| replay (both policies screen each message) | **{rate:,.0f}** (runs: {runs}) |
| tenant whose candidate equals its current policy (not screened) | {unchanged:,.0f} |

Decisions that changed: {changed:,} of {n:,} messages. Target ≥ {TARGET:,}/s per core: {verdict}
it. Load average during this run {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on 2 cores (above 2,
other work was competing for the CPU); CPU time, not wall time, is measured, so the
figure is of this process's own work, but caches and frequency are shared.
"""
    write_section("replay", body)
    print(body)


if __name__ == "__main__":
    main()
