"""Quality on the labelled corpus: recall >= 0.97, false-positive rate <= 0.02."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from probity.screening import CompiledPolicy, screen_message

CORPUS = Path(__file__).with_name("corpus.jsonl")
FLAGGED = {"contact", "bribe", "payment"}


def load() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CORPUS.read_text("utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def scored(policy: CompiledPolicy) -> list[tuple[dict[str, Any], Any]]:
    return [(row, screen_message(row["text"], row["role"], policy)) for row in load()]


def test_corpus_is_large_and_varied() -> None:
    rows = load()
    assert len(rows) >= 600
    tags = Counter(r["tag"] for r in rows)
    for disguise in ["slang", "homophone", "lookalike", "pinyin", "mixed", "spaces", "punct",
                     "emoji", "symbols", "zero-width", "fullwidth", "traditional", "case",
                     "cn-numerals", "yao", "capital-numerals", "circled", "split", "plus86",
                     "spread", "mixed-width", "v-separators", "v-homophone"]:
        assert tags[disguise] > 0, disguise
    for context in ["order-number", "tracking", "date", "amount", "model", "hotline",
                    "official-payment", "coupon", "refund", "verify", "report", "warning",
                    "phone-product", "refusal"]:
        assert tags[context] > 0, context
    roles = Counter(r["role"] for r in rows)
    assert roles["customer"] > 100 and roles["agent"] > 100
    english = [r for r in rows if r["text"].isascii()]
    assert len(english) > 60


def test_recall_and_false_positive_rate(scored: list[tuple[dict[str, Any], Any]]) -> None:
    tp = fn = fp = tn = 0
    misses: list[str] = []
    for row, res in scored:
        positive = bool(FLAGGED & set(row["label"]))
        flagged = res.decision != "allow"
        if positive:
            tp += flagged
            fn += not flagged
            if not flagged:
                misses.append(f"missed [{row['tag']}] {row['text']}")
        else:
            fp += flagged
            tn += not flagged
            if flagged:
                misses.append(f"false positive [{row['tag']}] {row['text']} {res.categories}")
    recall = tp / (tp + fn)
    fpr = fp / (fp + tn)
    assert recall >= 0.97, (recall, misses)
    assert fpr <= 0.02, (fpr, misses)


def test_flagged_categories_match_labels(scored: list[tuple[dict[str, Any], Any]]) -> None:
    right = total = 0
    for row, res in scored:
        expected = FLAGGED & set(row["label"])
        if expected and res.decision != "allow":
            total += 1
            right += bool(expected & set(res.categories))
    assert right / total >= 0.95


def test_refusals_are_recognised_and_allowed(scored: list[tuple[dict[str, Any], Any]]) -> None:
    refusals = [(row, res) for row, res in scored if row["label"] == ["refusal"]]
    assert refusals
    assert all(res.decision == "allow" for _row, res in refusals)
    found = sum("refusal" in res.categories for _row, res in refusals)
    assert found / len(refusals) >= 0.9


def test_batch_matches_single_calls_on_corpus(
    policy: CompiledPolicy, scored: list[tuple[dict[str, Any], Any]]
) -> None:
    from probity.screening.engine import screen_batch

    batch = screen_batch([(row["text"], row["role"]) for row, _res in scored], policy)
    assert batch == [res for _row, res in scored]
