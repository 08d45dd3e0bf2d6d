"""The learned layer's feature scan through the own compiled automaton (``Automaton.key_set``):
the set of features it finds is built by the same additions in the same order as a set of the
matches' key indexes, so the model's sums (and so every score) are the same floats, bit for
bit, as with ahocorasick-rs. Skipped where probity.screening._ac is not built (the model then
scans with ahocorasick-rs itself)."""

from __future__ import annotations

import importlib

import ahocorasick_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probity.screening.intent import IntentModel, load_model

try:
    _ac = importlib.import_module("probity.screening._ac")
except ImportError:  # not built (no C compiler) or the pure-Python path
    _ac = None

pytestmark = pytest.mark.skipif(_ac is None, reason="probity.screening._ac is not built")

ALPHABET = "ab加微信 \x00é😀𠮶"


@settings(max_examples=400, deadline=None)
@given(keys=st.lists(st.text(alphabet=ALPHABET, min_size=1, max_size=4), min_size=1,
                     max_size=40),
       texts=st.lists(st.text(alphabet=ALPHABET + "xyz", max_size=80), min_size=1, max_size=5))
def test_key_set_is_the_set_of_match_indexes_in_the_same_order(keys: list[str],
                                                               texts: list[str]) -> None:
    ours = _ac.Automaton(keys)
    theirs = ahocorasick_rs.AhoCorasick(keys)
    for text in texts:
        expected = {m[0] for m in theirs.find_matches_as_indexes(text, overlapping=True)}
        got = ours.key_set(text)
        assert got == expected
        assert list(got) == list(expected)  # iteration order: the model sums in it


def test_key_set_of_a_big_automaton() -> None:
    """Past 20,000 keys the automaton makes its key indexes per match (the model has ~60,000
    n-grams): the same set, in the same order."""
    import random

    rng = random.Random(5)
    chars = "加微信号码私下转账红包abc01"
    keys = sorted({"".join(rng.choice(chars) for _ in range(rng.randint(1, 6)))
                   for _ in range(40_000)})
    assert len(keys) > 20_000
    ours = _ac.Automaton(keys)
    theirs = ahocorasick_rs.AhoCorasick(keys)
    for _ in range(200):
        text = "".join(rng.choice(chars + "xyz ") for _ in range(rng.randint(0, 120)))
        expected = {m[0] for m in theirs.find_matches_as_indexes(text, overlapping=True)}
        assert list(ours.key_set(text)) == list(expected)


def test_key_set_refuses_lone_surrogates_like_ahocorasick_rs() -> None:
    with pytest.raises(UnicodeEncodeError):
        ahocorasick_rs.AhoCorasick(["a"]).find_matches_as_indexes("a\ud800", overlapping=True)
    with pytest.raises(UnicodeEncodeError):
        _ac.Automaton(["a"]).key_set("a\ud800")


def _corpus() -> list[str]:
    from tests.screening.test_screening_pinned_decisions import _rows, _sources

    texts = [text for path in _sources() for text, _role in _rows(path)]
    # Long texts too (scored per sentence): the corpus joined in runs of twelve.
    texts += ["。".join(texts[i:i + 12]) for i in range(0, len(texts), 12)]
    return texts


def _all_scores(model: IntentModel, texts: list[str]) -> list[dict[str, float]]:
    out = []
    for role in ("customer", "agent"):
        for text in texts:
            model._cache.clear()
            model._by_compact.clear()
            model._long_cache.clear()
            model._piece_cache.clear()
            out.append(model.score(text, role).scores)
    return out


def test_the_model_scans_with_the_own_automaton_and_scores_the_same_floats() -> None:
    model = load_model()
    assert isinstance(model._matcher, _ac.Automaton)
    assert model._key_set is not None
    texts = _corpus()
    ours = _all_scores(model, texts)
    matcher, key_set = model._matcher, model._key_set
    # (load_model's model is the process's shared one: put its own automaton back after)
    model._matcher = ahocorasick_rs.AhoCorasick(list(model.weights))
    model._key_set = None
    try:
        theirs = _all_scores(model, texts)
    finally:
        model._matcher, model._key_set = matcher, key_set
    assert ours == theirs  # == on floats: the same bits
