"""Same-process A/B of two intent-model files: the speed a new model costs, nothing else.

    .venv/bin/python benchmarks/screening_model_ab.py OLD_MODEL.json [NEW_MODEL.json]

Both models screen the same streams as ``benchmarks/screening.py`` (its 95/5 and ordinary
streams and its 1-500-character messages, one 5,000-term lexicon) with the same rules code in
one process; the two policies differ only in their model. Throughput: process CPU time,
the two interleaved (A B, B A, ...), median of the repetitions. Latency: CPU time of each
call, the two alternating message by message, p50/p99/max. NEW defaults to the shipped model.
The learned layer's score cache is cleared before every pass so both pay for their misses.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

from probity.screening import compile_policy, screen_message
from probity.screening.intent import load_model
from screening import (
    cpu_medians,
    long_messages,
    message_stream,
    percentile,
    spec_with_terms,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path, nargs="?", default=None)
    ap.add_argument("--stream", type=int, default=5_000)
    ap.add_argument("--long", type=int, default=1_000)
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    base = compile_policy(spec_with_terms(5_000))
    models = {"old": load_model(args.old), "new": load_model(args.new)}
    policies = {k: dataclasses.replace(base, model=m) for k, m in models.items()}
    for k, m in models.items():
        print(f"{k}: model v{m.version} sha256 {m.sha256[:12]}…, {len(m.weights):,} n-grams")
    streams = {"95/5": message_stream(args.stream),
               "ordinary": message_stream(args.stream, share=0.0)}

    def run(policy: object, items: list[tuple[str, str]]) -> None:
        assert policy.model is not None  # type: ignore[attr-defined]
        policy.model._cache.clear()  # type: ignore[attr-defined]
        for t, r in items:
            screen_message(t, r, policy)  # type: ignore[arg-type]

    for items in streams.values():
        for p in policies.values():
            run(p, items[:1000])  # warm up
    for label, items in streams.items():
        med = cpu_medians({k: (lambda p=p, it=items: run(p, it)) for k, p in policies.items()},
                          args.reps)
        print(f"{label} stream, {len(items):,} messages: old {med['old'] * 1e6 / len(items):.1f}"
              f" µs/msg, new {med['new'] * 1e6 / len(items):.1f} µs/msg "
              f"(new/old {med['new'] / med['old']:.3f})")
    longs = long_messages(streams["95/5"], args.long)
    lat: dict[str, list[float]] = {"old": [], "new": []}
    for i, (t, r) in enumerate(longs):
        order = ("old", "new") if i % 2 == 0 else ("new", "old")
        for k in order:
            c = time.thread_time_ns()
            screen_message(t, r, policies[k])
            lat[k].append((time.thread_time_ns() - c) / 1000)
    for k, v in lat.items():
        print(f"1-500 characters, {k}: p50 {percentile(v, 0.5):.0f} / p99 {percentile(v, 0.99):.0f}"
              f" / max {max(v):.0f} µs CPU")
    print(f"load average before: {load}; after: "
          + ", ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
