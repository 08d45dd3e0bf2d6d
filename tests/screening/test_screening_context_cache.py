"""The learned layer's caches for long texts (issue 17: a chat message joined with its
sender's previous ones) change no decision: conversations of corpus and blind-round lines in
random sequences, both roles, numbers and bribes split across turns, refusals, screened with
the caches (shared, warm) and with them emptied before every screen, give the same verdicts,
categories, spans, masks, drivers and scores."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

import probity.screening.context as context_mod
from probity.screening import default_policy, screen_message
from probity.screening.context import ContextVerdict, ConversationContext
from probity.screening.intent import LONG
from probity.screening.policy import CompiledPolicy
from probity.screening.result import ScreeningResult

HERE = Path(__file__).parent
SUFFIXES = ["", " #{k}", "，订单{k}", "。好的", "！", " 谢谢。"]
SPLITS = [  # numbers, IDs and bribes handed out over several turns
    ["我的v是", "abc", "123456"], ["号码是138", "0013", "8000"], ["给你500", "帮我加急"],
    ["微信", "wx_", "zhang88"], ["加我", "Q", "Q 12345", "6789"],
    ["红包200", "私下给你", "别走平台"],
    ["不用了，谢谢", "我不加微信"], ["1 3 8", "0 0 1 3", "8 0 0 0"],
]


def _lines() -> list[tuple[str, str]]:
    out = []
    for path in [HERE / "corpus.jsonl", *sorted((HERE / "blind").glob("round-*.jsonl"))]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                d = json.loads(line)
                out.append((str(d["text"]), str(d.get("role", "customer"))))
    return out


def _conversations(seed: int, n: int) -> list[list[tuple[str, str]]]:
    rng = random.Random(seed)
    lines = _lines()
    convs = []
    for _ in range(n):
        conv: list[tuple[str, str]] = []
        while len(conv) < rng.randint(4, 12):
            r = rng.random()
            role = rng.choice(["customer", "agent"])
            if r < 0.2:
                conv.extend((t, role) for t in rng.choice(SPLITS))
            elif r < 0.5:
                text, _ = rng.choice(lines)
                conv.append((text + rng.choice(SUFFIXES).format(k=rng.randrange(10**9)),
                             role))
            else:
                text, own = rng.choice(lines)
                conv.append((text, own if rng.random() < 0.7 else role))
        convs.append(conv)
    return convs


def _key(v: ContextVerdict) -> tuple[Any, ...]:
    r: ScreeningResult = v.result
    return (r.decision, list(r.categories), r.severity,
            [(s.start, s.end, s.category, s.rule, s.severity) for s in r.spans], r.masked,
            r.source, [tuple(d) for d in r.drivers], dict(r.model_scores or {}), v.reason,
            v.turn.flagged, v.turn.categories, v.turn.risk, v.turn.blocked)


def _run(conv: list[tuple[str, str]], policy: CompiledPolicy) -> list[ContextVerdict]:
    ctx = ConversationContext()
    return [ctx.screen(t, r, policy) for t, r in conv]


def _uncached(policy: CompiledPolicy, long_texts: list[str]) -> Any:
    model = policy.model
    assert model is not None

    def screen(text: str, role: str, pol: CompiledPolicy | None = None) -> ScreeningResult:
        if len(text) > LONG:
            long_texts.append(text)
        model._long_cache.clear()
        model._piece_cache.clear()
        return screen_message(text, role, pol)

    return screen


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_conversations_identical_with_and_without_long_text_caches(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = default_policy()
    convs = _conversations(seed, 250)
    cached = [_run(c, policy) for c in convs]
    # the same texts again, with warm caches (the second sight of a joined text is a lookup)
    again = [_run(c, policy) for c in convs]
    long_texts: list[str] = []
    monkeypatch.setattr(context_mod, "screen_message", _uncached(policy, long_texts))
    plain = [_run(c, policy) for c in convs]
    joined = 0
    for a, b, c in zip(cached, again, plain, strict=True):
        for va, vb, vc in zip(a, b, c, strict=True):
            assert _key(va) == _key(vc) == _key(vb)
            joined += va.reason == "joined"
    # the joined path, and long (per-sentence) texts, were exercised
    assert joined >= 20 and len(long_texts) >= 150


def test_long_text_scores_identical_to_a_fresh_model() -> None:
    policy = default_policy()
    model = policy.model
    assert model is not None
    rng = random.Random(7)
    lines = _lines()
    texts = ["".join(t for t, _ in rng.sample(lines, rng.randint(2, 5))) for _ in range(600)]
    texts = [t for t in texts if len(t) > LONG]
    assert len(texts) > 400
    for role in ("customer", "agent"):
        warm = [model.score(t, role) for t in texts] + [model.score(t, role) for t in texts]
        for t, w1, w2 in zip(texts, warm, warm[len(texts):], strict=False):
            model._long_cache.clear()
            model._piece_cache.clear()
            fresh = model.score(t, role)
            assert w1.scores == fresh.scores == w2.scores
            assert (w1.notable, w1.over) == (fresh.notable, fresh.over)
            assert model.score(t, role, explain=True).scores == fresh.scores


def test_the_caches_hold_nothing_the_garbage_collector_tracks() -> None:
    """The caches are by role, then by text (str keys, no tuple per entry), and a long text's
    or sentence's raw sums are a _Sums (compiled: a C struct, never tracked): a stream of new
    long messages leaves nothing behind that would run collections inside later screens."""
    import gc

    from probity.screening import intent

    model = default_policy().model
    assert model is not None
    rng = random.Random(5)
    lines = _lines()
    for _ in range(200):
        text = "".join(t for t, _ in rng.sample(lines, rng.randint(2, 5)))
        role = rng.choice(["customer", "agent"])
        short = text[: rng.randint(1, LONG)]
        for t in (text, short):
            model.score(t, role)
    for caches, sums in ((model._piece_cache, True), (model._long_cache, True),
                         (model._cache, False), (model._by_compact, False)):
        for role, by_text in caches.items():
            assert role in ("customer", "agent")
            for key, value in by_text.items():
                assert type(key) is str
                if sums:
                    assert isinstance(value, intent._Sums)
                    assert not (intent._COMPILED and gc.is_tracked(value))
    assert model._piece_cache and model._long_cache
    # A long text's cached sums give the scores its sentences give (the same floats).
    text = "。".join(t for t, _ in lines[:9])
    first = model.score(text, "agent").scores
    assert model.score(text, "agent").scores == first
    model._long_cache.clear()
    model._piece_cache.clear()
    assert model.score(text, "agent").scores == first
