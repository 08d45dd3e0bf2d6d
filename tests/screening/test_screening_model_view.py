"""The learned layer takes its view of a short message from the rules' compact string instead
of folding the text again (`engine._screen_rules` → `IntentModel.score(compact=...)`): that
view must be exactly what `intent.normalise` gives, or a score (and a decision) could change.

Proved per character over the whole BMP (both of normalise's paths for non-ASCII text, the
ASCII path) and end to end on every line of the corpus and of every blind round, in both
roles and joined into longer messages, as the pinned-decision test screens them."""

from __future__ import annotations

import json
from pathlib import Path

from probity.screening import default_policy
from probity.screening.engine import _screen_rules
from probity.screening.intent import _VIEW_FALLBACK, LONG, _fast, _needs_fold, model_view, normalise
from probity.screening.normalize import EXPAND, SEP, fold_exact, tables

HERE = Path(__file__).parent


def test_every_bmp_character_folds_to_the_same_model_view() -> None:
    fast = _fast()
    needs = _needs_fold()
    fold = tables().fold
    checked = 0
    for cp in range(1, 0x10000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        if len(fold.get(c, c)) > 1:
            continue  # expands to several units: the engine passes no compact then
        if c == "+":
            continue  # ASCII "+" is 加 to the rules and nothing to the model: no compact
        compact = fold_exact(c).compact
        if _VIEW_FALLBACK.search(compact):
            continue  # the model folds these itself (Cherokee capitals, 嗰 → 𠮶)
        assert model_view(compact) == normalise(c), hex(cp)
        # the same character inside a text that takes normalise's table path
        table_path = c.translate(fast).replace(SEP, "").replace(EXPAND, "")
        assert model_view(compact) == model_view(table_path), hex(cp)
        if c not in needs and not tables().separators.fullmatch(c):
            # normalise's regex path lower-cases: a no-op for every character it takes
            assert c.lower() == c, hex(cp)
        checked += 1
    assert checked > 60_000


def _sources() -> list[Path]:
    return [HERE / "corpus.jsonl", *sorted((HERE / "blind").glob("round-*.jsonl"))]


def _messages() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    other = {"customer": "agent", "agent": "customer"}
    for path in _sources():
        rows = [json.loads(x) for x in path.read_text("utf-8").splitlines() if x.strip()]
        pairs = [(str(r["text"]), str(r["role"])) for r in rows]
        for text, role in pairs:
            out += [(text, role), (text, other[role])]
        for i in range(0, len(pairs), 5):
            group = pairs[i : i + 5]
            out.append((" ".join(t for t, _r in group), group[0][1]))
    return out


def test_the_rules_compact_gives_the_models_own_view_on_every_known_line() -> None:
    policy = default_policy()
    model = policy.model
    assert model is not None
    used = 0
    for text, role in _messages():
        _res, compact = _screen_rules(text, role, policy)
        if compact is None:
            continue
        assert model_view(compact) == normalise(text) or _VIEW_FALLBACK.search(compact), text[:20]
        if len(text) <= LONG and _VIEW_FALLBACK.search(compact) is None:
            used += 1
            a = model.score(text, role, explain=True, compact=compact).scores
            b = model.score(text, role, explain=True).scores
            assert a == b
    assert used > 5_000


def test_astral_and_expanding_characters_fall_back_to_normalise() -> None:
    policy = default_policy()
    model = policy.model
    assert model is not None
    for text in ["𐐀𐐁 加我", "⑩号见", "a+b 加我", "𝐀𝐁𝐂 wx", "ᎠᎡ 加我", "嗰个微信"]:
        _res, compact = _screen_rules(text, "customer", policy)
        view = compact is not None and _VIEW_FALLBACK.search(compact) is None
        if view:
            assert compact is not None and model_view(compact) == normalise(text)
        fresh = type(model).score
        assert fresh(model, text, "customer", True, compact).scores == \
            fresh(model, text, "customer", True).scores


def test_the_learned_layers_refusal_drivers_read_the_same_view() -> None:
    """learned._model_text (the refusal drivers' text on a message the rules folded) is
    normalise(text) on every known line, joined lines and long random texts, whatever their
    length (the rule above is per character)."""
    import random

    from probity.screening.learned import _model_text

    policy = default_policy()
    rng = random.Random(23)
    alphabet = ("不加微信谢谢您好我们不能收红包现金订单退款嘅唔俾佢0123456789abcXYZ+ 　，。！？.;\n"
                "①㊀ⅷ𠮶嗰ᎠＡＢ")
    texts = _messages() + [("".join(rng.choice(alphabet) for _ in range(rng.randint(61, 500))),
                            rng.choice(["customer", "agent"])) for _ in range(2_000)]
    from_compact = 0
    for text, role in texts:
        _res, compact = _screen_rules(text, role, policy)
        assert _model_text(text, compact) == normalise(text), text[:20]
        assert _model_text(text, None) == normalise(text)
        from_compact += compact is not None and _VIEW_FALLBACK.search(compact) is None
    assert from_compact > 5_000


def test_score_of_is_the_models_score_and_its_cached_object() -> None:
    """intent.score_of (learned.with_model's call: a short text's compact string scored before
    answered from the cache without the method call) gives what ``model.score(text, role,
    False, compact)`` gives — the very cached object where there is one — on every known line
    (short and long, compact or None), the second time and on a fresh model the first."""
    import sys

    from probity.screening.intent import builtin_model_bytes, load_model, parse_model, score_of

    policy = default_policy()
    fresh = parse_model(builtin_model_bytes())
    model = policy.model
    assert model is not None
    hits = 0
    for text, role in _messages()[:4000]:
        _res, compact = _screen_rules(text, role, policy)
        first = score_of(fresh, text, role, compact)  # (a miss: score fills the cache)
        again = score_of(fresh, text, role, compact)
        ref = fresh.score(text, role, False, compact)
        assert first.scores == ref.scores == again.scores
        assert (first.notable, first.over) == (ref.notable, ref.over) == (again.notable,
                                                                           again.over)
        if compact is not None and len(text) <= LONG:
            assert again is ref  # the cache's object, as score returns it
            hits += 1
        assert score_of(model, text, role, compact).scores == ref.scores
    assert hits > 1_000
    # The class names and thresholds' keys are interned (looked up by identity).
    m = load_model()
    assert all(c is sys.intern(c) for c in m.classes)
    assert all(k is sys.intern(k) for k in m.thresholds)


def test_intent_scores_compare_and_print_as_the_dataclass_did() -> None:
    """IntentScores (an extension type where intent is compiled, a slotted class otherwise):
    the dataclass's ==, repr and unhashability, and its defaults."""
    import pickle

    import pytest

    from probity.screening.intent import IntentScores

    a = IntentScores({"contact": 0.5, "refusal": 0.25})
    assert (a.drivers, a.notable, a.over) == ([], True, True)
    assert a == IntentScores({"contact": 0.5, "refusal": 0.25}, [], True, True)
    assert a != IntentScores({"contact": 0.5, "refusal": 0.25}, [], True, False)
    assert a != IntentScores({"contact": 0.5}, [("加微", 1.5)])
    assert (a == object()) is False
    assert repr(a) == ("IntentScores(scores={'contact': 0.5, 'refusal': 0.25}, drivers=[], "
                       "notable=True, over=True)")
    with pytest.raises(TypeError):
        hash(a)
    assert pickle.loads(pickle.dumps(a)) == a
