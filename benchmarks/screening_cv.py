"""Leave-one-round-out cross-validation of the two-layer pipeline (NOT first-sight figures).

    .venv/bin/python benchmarks/screening_cv.py            # every blind round in training
    .venv/bin/python benchmarks/screening_cv.py --rounds A C
    .venv/bin/python benchmarks/screening_cv.py --authors --cache /tmp/cv   # leave-one-AUTHOR-out

``--authors`` holds out, in turn, each of the sources written by the newest independent
authors (the training authors T1-T10 and the blind rounds N-W, ``AUTHORS``) and trains on
everything else, rounds A-M included: the estimate of first-sight generalisation, since none of
the earlier rounds' errors shaped anything about these authors. ``--hold STEM...`` names other
sources (file stems: ``round-N``, ``author-T1``). ``--grid CATEGORY=S1,S2...`` scores the held-out
models under every combination of the listed warn thresholds (no refit) and prints per-source
and pooled figures with the worst source's false-positive rate.

For each blind round that is already training data (listed in training/screening/sources.txt),
the intent layer is trained in memory on every training file *except* that round, and the
round is scored with the rules + that model. Every round named here was run once at first
sight before (docs/SCREENING.md), and the rules may have been tuned since with its classes in
mind, so these are held-out figures, never first-sight ones. Prints figures only, no text.
The held-out models use the shipped combination (train.CALIBRATED, VETO_BELOW, REFUSAL_VETO);
those were themselves chosen on these held-out predictions, so the figures are optimistic.
Models are cached by a hash of their training files (``--cache``): the weights do not depend on
the combination.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from screening_eval import evaluate, load  # noqa: E402

from probity.screening import compile_policy, default_policy_spec  # noqa: E402
from probity.screening.engine import screen_rules  # noqa: E402
from probity.screening.intent import dumps_model, parse_model  # noqa: E402
from probity.screening.policy import CompiledPolicy  # noqa: E402
from probity.screening.train import (  # noqa: E402
    ALLOWLIST_OVERRIDE,
    ASCII_SHARE,
    ASCII_THRESHOLD,
    CALIBRATED,
    REFUSAL_MARGIN,
    REFUSAL_OVERRIDE,
    REFUSAL_VETO,
    RULES_REFUSAL_ABOVE,
    RULES_REFUSAL_BELOW,
    SHORT_THRESHOLD,
    SUPPRESSED_OVERRIDE,
    VETO_BELOW,
    VETO_MIN_CHARS,
    fit,
    read_examples,
    sources_from,
)


def _dump(path: Path, letter: str, rows: list[dict[str, Any]], policy: CompiledPolicy) -> None:
    assert policy.model is not None
    with path.open("a", encoding="utf-8") as fh:
        for row in rows:
            role = row.get("role") if row.get("role") in ("customer", "agent") else "customer"
            res = screen_rules(row["text"], str(role), policy)
            fh.write(json.dumps({
                "round": letter, "text": row["text"], "role": role, "label": row.get("label"),
                "class": row.get("class"), "decision": res.decision,
                "categories": res.categories, "concrete": res.concrete,
                "suppressed": res.suppressed, "negated": res.negated,
                "rules": [sp.rule for sp in res.spans],
                "scores": policy.model.score(row["text"], str(role)).scores,
            }, ensure_ascii=False) + "\n")


AUTHORS = ("author-T1", "author-T2", "author-T3", "author-T4", "author-T5", "author-T6",
           "author-T7", "author-T8", "author-T9", "author-T10", "round-N", "round-O", "round-P",
           "round-Q", "round-R", "round-S", "round-U", "round-V", "round-W")


def _set_combination(model: Any, calibrated: dict[str, float], veto_below: float) -> None:
    model.thresholds.update(calibrated)
    model.veto_below = veto_below
    model.veto_min_chars = VETO_MIN_CHARS
    model.short_threshold = SHORT_THRESHOLD
    model.refusal_veto = REFUSAL_VETO
    model.rules_refusal_below = RULES_REFUSAL_BELOW
    model.refusal_override = REFUSAL_OVERRIDE
    model.refusal_margin = REFUSAL_MARGIN
    model.suppressed_override = SUPPRESSED_OVERRIDE
    model.allowlist_override = ALLOWLIST_OVERRIDE
    model.rules_refusal_above = RULES_REFUSAL_ABOVE
    model.ascii_threshold = ASCII_THRESHOLD
    model.ascii_share = ASCII_SHARE
    model._cache.clear()


def _grid(held: dict[str, tuple[Any, list[dict[str, Any]]]], base: CompiledPolicy,
          grid: list[str], calibrated: dict[str, float], veto_below: float) -> None:
    import itertools

    axes = []
    for spec in grid:
        k, _sep, vals = spec.partition("=")
        axes.append([(k, float(v)) for v in vals.split(",")])
    for combo in itertools.product(*axes):
        th = dict(calibrated)
        th.update(dict(combo))
        veto = th.pop("veto", veto_below)
        extra = {k: th.pop(k) for k in list(th) if k not in CALIBRATED}
        per: list[str] = []
        pos = miss = neg = fp = ref = ref_ok = 0
        worst = 0.0
        worst_rec = 1.0
        for name, (model, rows) in held.items():
            _set_combination(model, th, veto)
            if "margin_r" in extra or "margin_c" in extra:
                mr = REFUSAL_MARGIN or (0.5, 0.9)
                model.refusal_margin = (extra.get("margin_r", mr[0]), extra.get("margin_c", mr[1]))
            if "rveto_r" in extra or "rveto_c" in extra:
                rv = REFUSAL_VETO or (0.7, 0.9)
                model.refusal_veto = (extra.get("rveto_r", rv[0]), extra.get("rveto_c", rv[1]))
            if "ascii_share" in extra:
                model.ascii_share = extra["ascii_share"]
            if "ascii" in extra:
                model.ascii_threshold = extra["ascii"]
            if "short" in extra:
                model.short_threshold = extra["short"]
            r = evaluate(rows, "both", policy=dataclasses.replace(base, model=model))
            pos += r["positives"]
            miss += r["missed"]
            neg += r["negatives"]
            fp += r["false_positives"]
            ref += r["refusals"]
            ref_ok += r["refusals_recognised"]
            worst = max(worst, r["fpr"])
            worst_rec = min(worst_rec, r["recall"])
            per.append(f"{name.split('-')[-1]} {r['recall']:.3f}/{r['fpr']:.3f}")
        print(" ".join(f"{k}={v}" for k, v in combo) + f": pooled "
              f"{(pos - miss) / max(1, pos):.3f}/{fp / max(1, neg):.3f} ({fp} FP) worst recall "
              f"{worst_rec:.3f} worst FPR {worst:.3f} refusals {ref_ok}/{ref} | "
              + ", ".join(per), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", nargs="*", default=None, help="round letters (default: all "
                    "rounds listed in sources.txt)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--cache", type=Path, default=None, help="keep each held-out model here, "
                    "named by a hash of its training files (re-used when they are unchanged)")
    ap.add_argument("--dump", type=Path, default=None, help="write per-line rules results and "
                    "held-out model scores (JSON lines, with texts: only for rounds already "
                    "in training) to study combinations")
    ap.add_argument("--fit", nargs="*", default=[], metavar="KEY=VALUE",
                    help="training options to try (e.g. l2=1e-4 hi=4), passed to train.fit")
    ap.add_argument("--thresholds", nargs="*", default=[], metavar="CATEGORY=SCORE",
                    help="try other warn thresholds than train.CALIBRATED (e.g. contact=0.85)")
    ap.add_argument("--veto", type=float, default=None, help="try another veto_below")
    ap.add_argument("--authors", action="store_true", help="leave-one-author-out over the "
                    "newest authors' sources (AUTHORS)")
    ap.add_argument("--hold", nargs="*", default=None, metavar="STEM",
                    help="hold out these sources in turn (file stems)")
    ap.add_argument("--grid", nargs="*", default=[], metavar="CATEGORY=S1,S2",
                    help="score the held-out models under these warn thresholds (product)")
    ap.add_argument("--extra", nargs="*", default=[], type=Path,
                    help="more training files for every held-out model (e.g. a candidate "
                    "generated file), added to those in sources.txt")
    args = ap.parse_args()
    calibrated = dict(CALIBRATED)
    for kv in args.thresholds:
        k, _sep, v = kv.partition("=")
        calibrated[k] = float(v)
    veto_below = VETO_BELOW if args.veto is None else args.veto
    fit_kw: dict[str, Any] = {}
    for kv in args.fit:
        k, _sep, v = kv.partition("=")
        fit_kw[k] = float(v) if any(c in v for c in ".e") else int(v)
    sources = sources_from(ROOT / "training" / "screening" / "sources.txt") + list(args.extra)
    stems = args.hold or (list(AUTHORS) if args.authors else None)
    if stems is not None:
        by_stem = {p.stem: p for p in sources}
        rounds = {s: by_stem[s] for s in stems}
        chosen = list(stems)
    else:
        rounds = {p.stem.removeprefix("round-"): p for p in sources
                  if p.stem.startswith("round-")}
        chosen = args.rounds or sorted(rounds)
    held_models: dict[str, tuple[Any, list[dict[str, Any]]]] = {}
    base = compile_policy(default_policy_spec())
    totals: dict[str, list[int]] = {}
    for letter in chosen:
        held = rounds[letter]
        examples = [ex for p in sources if p != held for ex in read_examples(p)]
        digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources if p != held)
                                + repr(sorted(fit_kw.items())).encode()).hexdigest()[:16]
        cached = args.cache / f"held-out-{letter}-{digest}.json" if args.cache else None
        if cached is not None and cached.exists():
            model = parse_model(cached.read_bytes())
            seconds = 0.0
        else:
            result = fit(examples, **fit_kw)
            text = dumps_model(result.payload, 0)
            model = parse_model(text.encode())
            seconds = result.seconds
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.write_text(text, "utf-8")
        policy = dataclasses.replace(base, model=model)
        rows = load(held)
        # The combination as shipped (`probity screen train` sets the same): the weights do
        # not depend on it, so a cached model is re-used with it.
        _set_combination(model, calibrated, veto_below)
        held_models[letter] = (model, rows)
        policy = dataclasses.replace(base, model=model)
        if args.grid:
            continue
        if args.dump is not None:
            _dump(args.dump, letter, rows, policy)
        out = {"round": letter, "train_lines": len(examples), "seconds": round(seconds, 1)}
        r_both: dict[str, Any] = {}
        for layers in ("rules", "model", "both"):
            r = evaluate(rows, layers, policy=policy)
            out[layers] = {k: r[k] for k in ("recall", "fpr", "missed", "false_positives",
                                                "refusals", "refusals_recognised")}
            if layers == "both":
                r_both = r
                out["fp_classes"] = r["false_positives_by_class"]
                out["missed_classes"] = {c: v for c, v in r["recall_by_class"].items()
                                         if v.split("/")[0] != v.split("/")[1]}
        acc = totals.setdefault("both", [0, 0, 0, 0, 0, 0])
        for i, k in enumerate(("positives", "missed", "negatives", "false_positives",
                               "refusals", "refusals_recognised")):
            acc[i] += r_both[k]
        if args.json:
            print(json.dumps(out, ensure_ascii=False), flush=True)
            continue
        print(f"round {letter} held out (trained on {out['train_lines']} lines, "
              f"{out['seconds']} s):", flush=True)
        for layers in ("rules", "model", "both"):
            f = out[layers]
            print(f"  {layers:5} recall {f['recall']:.3f}  FPR {f['fpr']:.3f}  "
                  f"refusals {f['refusals_recognised']}/{f['refusals']}", flush=True)
        print(f"  FP classes {out['fp_classes']}; missed classes {out['missed_classes']}",
              flush=True)
    if args.grid:
        _grid(held_models, base, args.grid, calibrated, veto_below)
        return
    if "both" in totals and len(chosen) > 1:
        pos, miss, neg, fp, ref, ref_ok = totals["both"]
        line = {"pooled": "+".join(chosen), "recall": round((pos - miss) / max(1, pos), 3),
                "fpr": round(fp / max(1, neg), 3), "refusals": f"{ref_ok}/{ref}"}
        print(json.dumps(line) if args.json else
              f"pooled over {line['pooled']}: recall {line['recall']:.3f}  FPR "
              f"{line['fpr']:.3f}  refusals {line['refusals']}", flush=True)


if __name__ == "__main__":
    main()
