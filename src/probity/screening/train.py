"""`probity screen train`: fit the intent layer from labelled JSON lines (no database).

Each line: ``{"text": "...", "role": "customer"|"agent", "label": ["contact", ...]}`` (an
empty list for an ordinary message; ``refusal`` for a decline); other keys are ignored. A
malformed or empty file is refused with the file and line (`TrainingDataError`).

The model: binary character n-grams of the normalised text (see intent.py) plus a role
feature, one logistic regression per category, fitted by full-batch Adam with L2 in numpy.
Thresholds are chosen on a held-out tenth of the training lines (never on an evaluation set):
the lowest probability at which the model alone reaches ``precision`` there, and never below
``min_threshold``. Weights under ``prune`` in every category are dropped (smaller file).
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from probity.screening.intent import CLASSES, dumps_model, ngrams, normalise

ROLES = ("customer", "agent")

# The combination, chosen on leave-one-round-out predictions over the blind rounds in training
# (benchmarks/screening_cv.py; docs/SCREENING.md; last: A–G, session 5): the model alone warns
# at these scores (the payment and bribe models are sharper than contact on unseen phrasings)
# and tags an allowed message refusal from CALIBRATED["refusal"]; a lexicon-only rules
# decision is overruled below VETO_BELOW (messages of VETO_MIN_CHARS or more), and one the
# model reads as a refusal (refusal score >= the first, every flagged category < the second)
# is allowed and tagged refusal. The pairs below are (score at least, other score below/at
# least) as described on IntentModel.
CALIBRATED: dict[str, float] = {"contact": 0.85, "bribe": 0.6, "payment": 0.6,
                                 "refusal": 0.5}
VETO_BELOW = 0.3
VETO_MIN_CHARS = 8  # shorter messages ("红包拿去", "🧧") give the model too little to overrule
SHORT_THRESHOLD = 0.9  # ...or to flag on its own ("给你500块"): at least this score below it
REFUSAL_VETO = (0.7, 0.9)
RULES_REFUSAL_BELOW = 0.3  # the rules saw a decline, the model nothing flagged: a refusal
REFUSAL_OVERRIDE = (0.95, 0.2)  # the rules' "decline" that the model reads as an offer
REFUSAL_MARGIN = (0.2, 0.9)  # the model alone, on a message it reads as a refusal (v9: 0.2)
SUPPRESSED_OVERRIDE = (0.99, 0.05)  # the model alone, where the rules dropped a hit (negation…)
ALLOWLIST_OVERRIDE: tuple[float, float] | None = (0.9, 0.05)  # …for an allow-list/coupon/code
RULES_REFUSAL_ABOVE = 0.7  # the rules saw a decline and the model reads a refusal: a refusal
ASCII_THRESHOLD = 0.8  # the model alone on an ASCII-only text (English, pinyin): v9
ASCII_SHARE = 1.0  # ...and on a mixed text whose letters are at least this share ASCII (v10)
HUMAN_WEIGHT = 2.0  # a line written by a person, against a generated line (v11: 2.0; was 1.0)
DEV_FRACTION = 0.1  # lines held out of the fit to choose the (uncalibrated) thresholds
# n-grams whose every weight is below this are dropped after the fit (v9: 0.06, was 0.02 —
# leave-one-author-out figures identical at 0.02, 0.04 and 0.06, the file ~30 % smaller).
PRUNE = 0.06


class TrainingDataError(ValueError):
    """A labelled file that cannot be trained on; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    role: str
    labels: frozenset[str]
    source: str  # "file:line"


def read_examples(path: Path) -> list[Example]:
    try:
        raw = path.read_text("utf-8")
    except OSError as exc:
        raise TrainingDataError(f"{path}: cannot read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise TrainingDataError(f"{path}: not UTF-8 text") from exc
    out: list[Example] = []
    for no, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{no}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TrainingDataError(f"{where}: not valid JSON ({exc.msg})") from exc
        if not isinstance(obj, dict):
            raise TrainingDataError(f"{where}: each line must be a JSON object")
        text, role, label = obj.get("text"), obj.get("role", "customer"), obj.get("label")
        if not isinstance(text, str) or not text.strip():
            raise TrainingDataError(f"{where}: \"text\" must be a non-empty string")
        if role not in ROLES:
            raise TrainingDataError(f"{where}: \"role\" must be customer or agent, not {role!r}")
        if not isinstance(label, list) or any(c not in CLASSES for c in label):
            raise TrainingDataError(
                f"{where}: \"label\" must be a list of {', '.join(CLASSES)} (or [])")
        out.append(Example(text, role, frozenset(label), where))
    if not out:
        raise TrainingDataError(f"{path}: no labelled lines")
    return out


def _generated(ex: Example) -> bool:
    return ex.source.rsplit(":", 1)[0].endswith("generated.jsonl")


def _features(ex: Example, lo: int, hi: int) -> list[str]:
    return [*ngrams(normalise(ex.text), lo, hi), "\x02" + ex.role]


@dataclass
class Fit:
    payload: dict[str, Any]
    seconds: float
    dev: dict[str, dict[str, float]]


def fit(examples: Sequence[Example], *, lo: int = 1, hi: int = 3, iterations: int = 300,
        l2: float = 2e-5, lr: float = 0.05, min_count: int = 2, prune: float = PRUNE,
        precision: float = 0.98, min_threshold: float = 0.9, veto_below: float = VETO_BELOW,
        thresholds: dict[str, float] | None = None, veto_min_chars: int = VETO_MIN_CHARS,
        short_threshold: float = SHORT_THRESHOLD,
        refusal_veto: tuple[float, float] | None = REFUSAL_VETO,
        rules_refusal_below: float = RULES_REFUSAL_BELOW,
        refusal_override: tuple[float, float] | None = REFUSAL_OVERRIDE,
        refusal_margin: tuple[float, float] | None = REFUSAL_MARGIN,
        suppressed_override: tuple[float, float] | None = SUPPRESSED_OVERRIDE,
        allowlist_override: tuple[float, float] | None = ALLOWLIST_OVERRIDE,
        rules_refusal_above: float = RULES_REFUSAL_ABOVE,
        ascii_threshold: float = ASCII_THRESHOLD, ascii_share: float = ASCII_SHARE,
        human_weight: float = HUMAN_WEIGHT, dev_fraction: float = DEV_FRACTION,
        seed: int = 7) -> Fit:
    import numpy as np

    started = time.perf_counter()
    rows = list(examples)
    random.Random(seed).shuffle(rows)
    n_dev = max(1, int(len(rows) * dev_fraction)) if len(rows) >= 20 and dev_fraction > 0 \
        else 0
    dev, train_rows = rows[:n_dev], rows[n_dev:]
    feats = [_features(ex, lo, hi) for ex in train_rows]
    counts = Counter(g for fs in feats for g in fs)
    vocab = {g: i for i, g in enumerate(sorted(g for g, c in counts.items() if c >= min_count))}
    n_f, n_c, n = len(vocab), len(CLASSES), len(train_rows)
    idx_rows: list[int] = []
    idx_feats: list[int] = []
    for r, fs in enumerate(feats):
        for g in fs:
            i = vocab.get(g)
            if i is not None:
                idx_rows.append(r)
                idx_feats.append(i)
    ri = np.asarray(idx_rows, dtype=np.int64)
    fi = np.asarray(idx_feats, dtype=np.int64)
    y = np.asarray([[1.0 if c in ex.labels else 0.0 for c in CLASSES] for ex in train_rows])
    prior = np.clip(y.mean(axis=0), 1e-3, 1 - 1e-3)
    b = np.log(prior / (1 - prior))
    w = np.zeros((n_f, n_c))
    m_w, v_w = np.zeros_like(w), np.zeros_like(w)
    m_b, v_b = np.zeros_like(b), np.zeros_like(b)
    pos = np.maximum(y.sum(axis=0), 1.0)
    cw = np.where(y > 0, (n - pos) / pos, 1.0) ** 0.5  # soften the class imbalance
    # Lines written by people (blind rounds, training authors, the corpus, feedback) weigh
    # human_weight times a generated line: the generator's templates repeat.
    sw = np.asarray([1.0 if _generated(ex) else human_weight for ex in train_rows])
    cw = cw * sw[:, None]
    # Rows are in order in `ri` (CSR): a row's sum is one add.reduceat over its slice, and a
    # feature's gradient one bincount per class (np.add.at was ~10x slower).
    has = np.zeros(n, dtype=bool)
    has[ri] = True
    starts = np.searchsorted(ri, np.nonzero(has)[0])  # first entry of each non-empty row
    for t in range(1, iterations + 1):
        z = np.zeros((n, n_c))
        if len(fi):
            z[has] = np.add.reduceat(w[fi], starts, axis=0)
        z += b
        p = 1.0 / (1.0 + np.exp(-z))
        g = (p - y) * cw / n
        gr = g[ri]
        gw = np.stack([np.bincount(fi, weights=gr[:, c], minlength=n_f) for c in range(n_c)],
                      axis=1) + l2 * w
        gb = g.sum(axis=0)
        for param, grad, m, v in ((w, gw, m_w, v_w), (b, gb, m_b, v_b)):
            m *= 0.9
            m += 0.1 * grad
            v *= 0.999
            v += 0.001 * grad * grad
            param -= lr * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    keep = np.abs(w).max(axis=1) >= prune
    inv = sorted(vocab, key=vocab.__getitem__)
    weights = {inv[i]: [round(float(x), 4) for x in w[i]] for i in np.nonzero(keep)[0]}
    role_bias = {r: weights.pop("\x02" + r, [0.0] * n_c) for r in ROLES}
    bias = [round(float(x), 4) for x in b]
    chosen, block, dev_report = _thresholds(dev, weights, bias, role_bias, lo, hi,
                                            precision, min_threshold)
    if thresholds:  # calibrated elsewhere (held-out rounds): these win over the dev choice
        chosen.update(thresholds)
        for cat, th in thresholds.items():
            block[cat] = max(0.97, th)
    payload = {
        "classes": list(CLASSES), "ngram": [lo, hi], "bias": bias, "role_bias": role_bias,
        "thresholds": chosen, "block_thresholds": block, "weights": weights,
        "veto_below": veto_below, "veto_min_chars": veto_min_chars,
        "short_threshold": short_threshold,
        "refusal_veto": list(refusal_veto) if refusal_veto else None,
        "rules_refusal_below": rules_refusal_below,
        "refusal_override": list(refusal_override) if refusal_override else None,
        "refusal_margin": list(refusal_margin) if refusal_margin else None,
        "suppressed_override": list(suppressed_override) if suppressed_override else None,
        "allowlist_override": list(allowlist_override) if allowlist_override else None,
        "rules_refusal_above": rules_refusal_above, "ascii_threshold": ascii_threshold,
        "ascii_share": ascii_share,
        "meta": {"examples": len(rows), "train": n, "dev": len(dev), "features": len(weights),
                 "iterations": iterations, "l2": l2, "human_weight": human_weight},
    }
    return Fit(payload, time.perf_counter() - started, dev_report)


def _thresholds(dev: list[Example], weights: dict[str, list[float]], bias: list[float],
                role_bias: dict[str, list[float]], lo: int, hi: int, precision: float,
                min_threshold: float
                ) -> tuple[dict[str, float], dict[str, float], dict[str, dict[str, float]]]:
    import math

    scored: list[tuple[Example, list[float]]] = []
    for ex in dev:
        tot = [b + r for b, r in zip(bias, role_bias[ex.role], strict=True)]
        for g in ngrams(normalise(ex.text), lo, hi):
            vec = weights.get(g)
            if vec is not None:
                tot = [a + x for a, x in zip(tot, vec, strict=True)]
        scored.append((ex, [1 / (1 + math.exp(-v)) for v in tot]))
    thresholds: dict[str, float] = {}
    block: dict[str, float] = {}
    report: dict[str, dict[str, float]] = {}
    for ci, cat in enumerate(CLASSES):
        cands = sorted({round(p[ci], 3) for _ex, p in scored if p[ci] >= min_threshold})
        chosen = 0.9
        for th in cands:
            tp = sum(1 for ex, p in scored if p[ci] >= th and cat in ex.labels)
            fp = sum(1 for ex, p in scored if p[ci] >= th and cat not in ex.labels)
            if tp and tp / (tp + fp) >= precision:
                chosen = th
                break
        thresholds[cat] = max(min_threshold, chosen)
        block[cat] = max(0.97, thresholds[cat])
        pos = [p[ci] for ex, p in scored if cat in ex.labels]
        neg = [p[ci] for ex, p in scored if cat not in ex.labels]
        report[cat] = {
            "threshold": thresholds[cat],
            "recall": sum(x >= thresholds[cat] for x in pos) / max(1, len(pos)),
            "fpr": sum(x >= thresholds[cat] for x in neg) / max(1, len(neg)),
        }
    return thresholds, block, report


def sources_from(manifest: Path) -> list[Path]:
    """The data files listed in a manifest (one path a line, relative to the manifest's
    repository root, # comments)."""
    try:
        lines = manifest.read_text("utf-8").splitlines()
    except OSError as exc:
        raise TrainingDataError(f"{manifest}: cannot read the list of training files "
                                f"({exc.strerror}); pass --data") from exc
    root = manifest.resolve().parents[2]
    out = [root / ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    if not out:
        raise TrainingDataError(f"{manifest}: lists no training files")
    return out


def _relative(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return Path(path).name


def train_files(paths: Iterable[Path], out: Path, version: int, **kw: Any) -> Fit:
    examples: list[Example] = []
    for p in paths:
        examples.extend(read_examples(p))
    result = fit(examples, **kw)
    result.payload["meta"]["sources"] = sorted({_relative(e.source.rsplit(":", 1)[0])
                                                for e in examples})
    result.payload["meta"]["seconds"] = round(result.seconds, 2)
    out.write_text(dumps_model(result.payload, version), "utf-8")
    return result
