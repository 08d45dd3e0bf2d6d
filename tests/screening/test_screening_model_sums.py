"""The learned layer's compiled sums (intent._add_flat over the model's flat C array of
weights) are the same floats, bit for bit, as the pure path's ``sum(map(col.__getitem__,
ids))`` over the packed complex columns: the same additions in the set's order. Skipped where
intent is not compiled (the pure path is then the reference itself)."""

from __future__ import annotations

import random
from array import array

import pytest

from probity.screening import intent
from probity.screening.intent import _BOUND, _SENTENCES, load_model, normalise

pytestmark = pytest.mark.skipif(not intent._COMPILED, reason="intent is not compiled")


def _texts() -> list[str]:
    from tests.screening.test_screening_pinned_decisions import _rows, _sources

    texts = [text for path in _sources() for text, _role in _rows(path)]
    texts += ["。".join(texts[i:i + 12]) for i in range(0, len(texts), 12)]
    rng = random.Random(3)
    alphabet = "加我微信号码私下转账红包现金不要谢谢您好订单退款0123456789abcxyzWXQQ 。！？"
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))
              for _ in range(500)]
    return texts


def _reference(model: intent.IntentModel, s: str, role: str) -> list[float]:
    rb = model.role_bias.get(role)
    totals = list(model.bias) if rb is None else [a + b for a, b in zip(model.bias, rb,
                                                                         strict=True)]
    if not s:
        return totals
    ids = {m[0] for m in model._matcher.find_matches_as_indexes(s, overlapping=True)}
    for j, col in enumerate(model._packed):
        z = sum(map(col.__getitem__, ids))
        totals[2 * j] += z.real
        if 2 * j + 1 < len(totals):
            totals[2 * j + 1] += z.imag
    return totals


def test_compiled_sums_are_the_pure_sums_bit_for_bit() -> None:
    model = load_model()
    assert model._flat is not None and len(model._flat) == 4 * len(model.weights)
    assert model._scan is not None  # the C scan (_features.add_sums) is what _raw runs
    n = 0
    for text in _texts():
        pieces = [normalise(text), *normalise(_SENTENCES.sub(_BOUND, text)).split(_BOUND)]
        for role in ("customer", "agent"):
            for ps in pieces:
                assert model._raw(ps, role) == _reference(model, ps, role), ps  # same bits
                n += 1
    assert n > 10_000


def test_the_flat_array_holds_every_weight_in_its_place() -> None:
    model = load_model()
    flat = model._flat
    assert flat is not None
    for i, g in enumerate(model.weights):
        assert tuple(flat[4 * i:4 * i + 4]) == model.weights[g]


def test_the_c_scan_orders_the_features_as_a_python_set() -> None:
    """_features._Set is CPython's set table for ints: the same iteration order for the same
    additions (so add_sums adds in the order sum(map(...)) over the set does), through every
    resize, long probe chains and the growth rule past 50,000 items."""
    from probity.screening import _features

    assert _features.SET_ORDER_OK
    rng = random.Random(11)
    for n in (0, 1, 2, 7, 8, 100, 1_000, 5_000, 60_000):
        for top in (50, 2_000, 70_000, 2**31 - 1):
            keys = [rng.randrange(top) for _ in range(n)]
            ref: set[int] = set()
            for k in keys:
                ref.add(k)
            assert _features.set_order(keys) == list(ref), (n, top)
    keys = list(range(0, 1 << 20, 64)) + list(range(7, 1 << 16, 8))  # colliding low bits
    ref = set()
    for k in keys:
        ref.add(k)
    assert _features.set_order(keys) == list(ref)


def test_drivers_from_the_c_scan_are_the_match_loops() -> None:
    """IntentModel.drivers through _features.drivers (sorted in C, strings for the n-grams
    looked at) and through _features.weighted (each feature once, its n-gram by index, the
    Python sort) give what the loop over every match gives, for every class and k."""
    model = load_model()
    assert model._weighted is not None and model._drivers_c is not None
    texts = [normalise(t) for t in _texts()[::2]]
    texts += ["", "0", "加", "加微"]

    def run() -> list[list[list[tuple[str, float]]]]:
        return [[model.drivers(t, c, k) for c in model.classes for k in (0, 1, 3, 5, 50)]
                for t in texts]

    got = run()
    drivers_c, weighted = model._drivers_c, model._weighted
    model._drivers_c = None
    try:
        mid = run()
        model._weighted = None
        ref = run()
    finally:
        model._drivers_c, model._weighted = drivers_c, weighted
    assert mid == ref
    assert got == ref
    assert sum(1 for row in got for d in row if d) > 1_000
    assert sum(1 for row in got for d in row if len(d) > 5) > 100  # (k=50: long lists too)


def test_c_drivers_order_equal_weights_by_ngram() -> None:
    """Ties in weight are ordered by n-gram, as the pure key (-w, g) orders them: a model
    whose features all weigh the same gives its drivers in n-gram order."""
    from probity.screening import _features

    model = load_model()
    keys = ["ab", "ba", "bc", "cd", "abc", "zz", "ca"]
    flat = array("d", [0.5] * (4 * len(keys)))
    a = type(model._matcher)(keys)
    got = _features.drivers(a, "zzabcdcab", flat, 1, 2, 3, keys, 50)
    # (abc holds ab, taken before it; ba is not in the text)
    assert got == [("ab", 0.5), ("bc", 0.5), ("ca", 0.5), ("cd", 0.5), ("zz", 0.5)]
    flat[4 * keys.index("zz") + 1] = 0.75  # a heavier one first, the tie order kept
    assert _features.drivers(a, "zzabcdcab", flat, 1, 2, 3, keys, 3) == [
        ("zz", 0.75), ("ab", 0.5), ("bc", 0.5)]
