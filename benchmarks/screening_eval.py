"""Screening quality per evaluation file: recall, false-positive rate, refusals recognised.

    .venv/bin/python benchmarks/screening_eval.py tests/screening/blind/round-B.jsonl
    .venv/bin/python benchmarks/screening_eval.py --corpus-half eval    # the corpus's eval half
    .venv/bin/python benchmarks/screening_eval.py --layers rules FILE   # rules | model | both

Lines: {"text", "role", "label": [categories], "class"?, "domain"?}. A line is positive when
its label has contact, bribe or payment; it is caught when the decision is not "allow". A
refusal line (label has "refusal") is recognised when it is allowed AND tagged refusal.
Prints figures only — never a message text — so blind rounds stay blind. Per class and per
domain it prints counts, not examples.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "training" / "screening"))

from probity.screening import compile_policy, default_policy_spec  # noqa: E402
from probity.screening.engine import screen_message  # noqa: E402
from probity.screening.policy import CompiledPolicy  # noqa: E402

FLAGGED = {"contact", "bribe", "payment"}


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in path.read_text("utf-8").splitlines() if ln.strip()]


def evaluate(rows: list[dict[str, Any]], layers: str,
             policy: CompiledPolicy | None = None) -> dict[str, Any]:
    if policy is None:
        spec = default_policy_spec()
        if layers == "rules":
            spec.model = {"enabled": False}
        policy = compile_policy(spec)
    elif layers == "rules":
        policy = dataclasses.replace(policy, model=None)
    tp = fn = fp = tn = 0
    ref_n = ref_ok = 0
    by_class: Counter[str] = Counter()
    by_class_hit: Counter[str] = Counter()
    fp_class: Counter[str] = Counter()
    for row in rows:
        role = row.get("role", "customer")
        if role not in ("customer", "agent"):
            role = "customer"
        label = set(row.get("label") or [])
        if layers == "model":
            assert policy.model is not None
            sc = policy.model.score(row["text"], role).scores
            flagged = any(sc[c] >= policy.model.thresholds[c] for c in FLAGGED)
            refusal = sc["refusal"] >= policy.model.thresholds["refusal"] and not flagged
        else:
            res = screen_message(row["text"], role, policy)
            flagged = res.decision != "allow"
            refusal = (not flagged) and "refusal" in res.categories
        cls = str(row.get("class") or row.get("tag") or "-")
        if label & FLAGGED:
            tp += flagged
            fn += not flagged
            by_class[cls] += 1
            by_class_hit[cls] += flagged
        else:
            fp += flagged
            tn += not flagged
            if flagged:
                fp_class[cls] += 1
        if "refusal" in label:
            ref_n += 1
            ref_ok += refusal
    return {
        "lines": len(rows), "positives": tp + fn, "negatives": fp + tn,
        "recall": tp / max(1, tp + fn), "fpr": fp / max(1, fp + tn),
        "missed": fn, "false_positives": fp, "refusals": ref_n, "refusals_recognised": ref_ok,
        "recall_by_class": {c: f"{by_class_hit[c]}/{n}" for c, n in sorted(by_class.items())},
        "false_positives_by_class": dict(sorted(fp_class.items())),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--layers", choices=("rules", "model", "both"), default="both")
    ap.add_argument("--corpus-half", choices=("train", "eval", "all"), default=None,
                    help="also evaluate tests/screening/corpus.jsonl (a half, or all of it)")
    ap.add_argument("--json", action="store_true", help="one JSON object per file")
    args = ap.parse_args()
    sets: list[tuple[str, list[dict[str, Any]]]] = []
    if args.corpus_half:
        from split_corpus import half

        rows = load(ROOT / "tests" / "screening" / "corpus.jsonl")
        if args.corpus_half != "all":
            rows = [r for r in rows if half(r["text"]) == args.corpus_half]
        sets.append((f"corpus ({args.corpus_half})", rows))
    for f in args.files:
        sets.append((f.name, load(f)))
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True, check=False).stdout.strip()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    for name, rows in sets:
        r = evaluate(rows, args.layers)
        r.update(file=name, layers=args.layers, commit=commit, at=stamp)
        if args.json:
            print(json.dumps(r, ensure_ascii=False))
            continue
        print(f"{name} [{args.layers}] {stamp} @ {commit}: {r['lines']} lines, "
              f"recall {r['recall']:.3f} ({r['positives'] - r['missed']}/{r['positives']}), "
              f"false-positive rate {r['fpr']:.3f} ({r['false_positives']}/{r['negatives']}), "
              f"refusals recognised {r['refusals_recognised']} of {r['refusals']}")
        print(f"  recall by class: {r['recall_by_class']}")
        print(f"  false positives by class: {r['false_positives_by_class']}")


if __name__ == "__main__":
    main()
