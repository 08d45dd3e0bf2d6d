"""Split tests/screening/corpus.jsonl by a hash of each line's text: half for training the intent
layer (written to training/screening/corpus_train_half.jsonl), half kept for evaluation only
(benchmarks/screening_eval.py --corpus-half eval). Deterministic; re-run after the corpus changes.

    .venv/bin/python training/screening/split_corpus.py
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "screening" / "corpus.jsonl"
OUT = Path(__file__).with_name("corpus_train_half.jsonl")


def half(text: str) -> str:
    """"train" or "eval" for a corpus line (by SHA-256 of its text)."""
    return "train" if hashlib.sha256(text.encode("utf-8")).digest()[0] % 2 == 0 else "eval"


def main() -> None:
    lines = [ln for ln in CORPUS.read_text("utf-8").splitlines() if ln.strip()]
    keep = [ln for ln in lines if half(json.loads(ln)["text"]) == "train"]
    OUT.write_text("".join(ln + "\n" for ln in keep), "utf-8")
    print(f"{len(keep)} of {len(lines)} corpus lines -> {OUT}")


if __name__ == "__main__":
    main()
