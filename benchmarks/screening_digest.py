"""Decision digest: proof that a speed change to screening changed no result.

    .venv/bin/python benchmarks/screening_digest.py [--only pinned,95/5,adv,long,random]
    PROBITY_SCREENING_PURE=1 .venv/bin/python benchmarks/screening_digest.py   (pure Python)

Every ``ScreeningResult`` field (floats by ``repr``, the types of the severity and the spans) of
``screen_message`` and ``screen_rules`` over three policies (the built-in one and the
benchmark's 1,000- and 5,000-term lexicons) and five text sets: the pinned corpora and blind
rounds (as ``tests/screening/test_screening_pinned_decisions.py`` reads them), the screening
benchmark's 95/5 and all-adversarial streams, 5,000 long texts and 3,000 random texts of up to
400 characters. Prints one JSON line: the compiled modules, the number of results, a digest of
everything and one per policy and set. Run it before and after a change, compiled and pure:
the digests must be equal. On main 4d455c0 (session 15):
341,058 results, total ``4e9c83ac97ee9f8d``, the same compiled and pure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "screening"))

from test_screening_pinned_decisions import _messages, _rows, _sources

from probity.screening import (
    ScreeningResult,
    compile_policy,
    compiled_modules,
    default_policy,
    screen_message,
)
from probity.screening.engine import screen_rules
from screening import long_messages, message_stream, spec_with_terms

ALPHABET = ("加我微信薇信v信VX号码电话扣扣企鹅私下转账红包现金不要谢谢您好订单退款不能收举报诈骗"
            "0123456789０１２３abcxyzWXQQ@.-_ 　，。！？:：/\n\t😀①㊀ⅷ𠮶嗰唔俾qq+wx.com163")


def record(r: ScreeningResult) -> list[Any]:
    scores = None if r.model_scores is None else sorted(
        (k, repr(v)) for k, v in r.model_scores.items())
    return [r.decision, r.categories, r.severity, [list(x) for x in r.spans], r.masked,
            r.policy_version, scores, [[g, repr(w)] for g, w in r.drivers], r.source,
            r.suppressed, r.negated, r.concrete, r.vetoed, type(r.severity).__name__,
            [type(x).__name__ for x in r.spans]]


def text_sets() -> dict[str, list[tuple[str, str]]]:
    pinned: list[tuple[str, str]] = []
    for path in _sources():
        pinned += list(_messages(_rows(path)))
    stream = message_stream(20_000)
    rng = random.Random(23)
    rand = []
    for _ in range(3000):
        n = rng.randint(0, rng.choice([12, 60, 400]))
        rand.append(("".join(rng.choice(ALPHABET) for _ in range(n)),
                     rng.choice(["customer", "agent"])))
    return {"pinned": pinned, "95/5": stream, "adv": message_stream(5000, share=1.0),
            "long": long_messages(stream, 5000), "random": rand}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated text sets (default: all)")
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None
    sets = text_sets()
    policies = {"default": default_policy(), "1k": compile_policy(spec_with_terms(1000)),
                "5k": compile_policy(spec_with_terms(5000))}
    total = hashlib.sha256()
    parts: dict[str, str] = {}
    n = 0
    t0 = time.time()
    for pname, policy in policies.items():
        for sname, items in sets.items():
            if only and sname not in only:
                continue
            h = hashlib.sha256()
            for text, role in items:
                pair = [record(screen_message(text, role, policy)),
                        record(screen_rules(text, role, policy))]
                h.update(json.dumps(pair, ensure_ascii=False).encode())
                n += 2
            parts[f"{pname}:{sname}"] = h.hexdigest()[:12]
            total.update(h.digest())
    print(json.dumps({"compiled": compiled_modules(), "results": n,
                      "total": total.hexdigest()[:16], "parts": parts,
                      "seconds": round(time.time() - t0)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
