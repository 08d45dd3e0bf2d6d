"""Speed work must not change a decision: every line of the corpus and of every blind round,
screened with its own role and with the other role, alone and joined with its neighbours into
longer messages, gives exactly the result recorded in ``pinned_decisions.json``.

What is compared per message: the full pipeline's result (decision, categories, severity,
spans, masked text, source, model scores, drivers, vetoed rules, the suppressed and concrete
flags) and the lexicon layer's alone (``screen_rules``). Digests are kept per block of
``BLOCK`` messages, so a failure names the file and the lines to look at.

Re-record ONLY when a decision change was meant (a new model or lexicon landed on main), from
main's own state (a checkout of main, or PYTHONPATH=<main>/src), never from a speed change:

    PROBITY_RECORD_PINNED=1 .venv/bin/python -m pytest -n 0 -q \
        tests/screening/test_screening_pinned_decisions.py
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from probity.screening import CompiledPolicy, ScreeningResult, screen_message
from probity.screening.engine import screen_rules

HERE = Path(__file__).parent
PINNED = HERE / "pinned_decisions.json"
BLOCK = 25
JOIN = 5  # neighbours joined into one long message (up to a few hundred characters)


def _sources() -> list[Path]:
    return [HERE / "corpus.jsonl", *sorted((HERE / "blind").glob("round-*.jsonl"))]


def _rows(path: Path) -> list[tuple[str, str]]:
    rows = [json.loads(x) for x in path.read_text("utf-8").splitlines() if x.strip()]
    return [(r["text"], r["role"]) for r in rows]


def _messages(rows: list[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    other = {"customer": "agent", "agent": "customer"}
    for text, role in rows:
        yield text, role
        yield text, other[role]
    for i in range(0, len(rows), JOIN):
        group = rows[i : i + JOIN]
        yield " ".join(t for t, _r in group), group[0][1]


def _record(res: ScreeningResult) -> list[Any]:
    scores = None
    if res.model_scores is not None:
        scores = {k: round(v, 6) for k, v in sorted(res.model_scores.items())}
    return [res.decision, res.categories, res.severity, [list(s) for s in res.spans],
            res.masked, res.policy_version, res.source, scores,
            [[g, round(w, 6)] for g, w in res.drivers], res.vetoed, res.suppressed,
            res.concrete]


def _digests(path: Path, policy: CompiledPolicy) -> list[str]:
    out: list[str] = []
    h = hashlib.sha256()
    n = 0
    for text, role in _messages(_rows(path)):
        rec = [_record(screen_message(text, role, policy)), _record(screen_rules(text, role,
                                                                                 policy))]
        h.update(json.dumps(rec, ensure_ascii=False, sort_keys=True).encode())
        n += 1
        if n % BLOCK == 0:
            out.append(h.hexdigest()[:12])
            h = hashlib.sha256()
    if n % BLOCK:
        out.append(h.hexdigest()[:12])
    return out


def test_decisions_are_those_recorded(policy: CompiledPolicy) -> None:
    got = {p.name: _digests(p, policy) for p in _sources()}
    if os.environ.get("PROBITY_RECORD_PINNED") == "1":
        PINNED.write_text(json.dumps(got, indent=0) + "\n", encoding="utf-8")
    want = json.loads(PINNED.read_text("utf-8"))
    assert sorted(got) == sorted(want), "the set of corpus files changed: re-record from main"
    diffs: list[str] = []
    for name, blocks in got.items():
        for i, (a, b) in enumerate(zip(blocks, want[name], strict=False)):
            if a != b:
                diffs.append(f"{name}: messages {i * BLOCK}-{(i + 1) * BLOCK - 1} "
                             "(each line with its role, then the other role; then joined "
                             f"groups of {JOIN})")
        if len(blocks) != len(want[name]):
            diffs.append(f"{name}: {len(blocks)} blocks, {len(want[name])} recorded")
    assert not diffs, "screening results changed:\n" + "\n".join(diffs[:20])
