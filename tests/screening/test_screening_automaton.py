"""probity.screening._ac.Automaton (the policy's own compiled key scans) returns what
ahocorasick-rs returns, match for match and in the same order, for the overlapping search the
engine runs: random key sets (shared prefixes and suffixes, keys inside keys, duplicates,
characters beyond the BMP) over random texts, and the policies' own keys over the corpora.
Skipped where the module is not built (the engine then runs ahocorasick-rs itself)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import ahocorasick_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

try:
    _ac = importlib.import_module("probity.screening._ac")
except ImportError:  # not built (no C compiler) or the pure-Python path
    _ac = None

pytestmark = pytest.mark.skipif(_ac is None, reason="probity.screening._ac is not built")

HERE = Path(__file__).parent
# A small alphabet, so that keys overlap, nest and repeat often; plus a few characters of
# other planes and widths.
ALPHABET = "ab加微信 \x00é😀𠮶"
keys_st = st.lists(st.text(alphabet=ALPHABET, min_size=1, max_size=5), min_size=1, max_size=30)
text_st = st.text(alphabet=ALPHABET + "xyz", max_size=60)


def _both(keys: list[str], text: str) -> tuple[list[tuple[int, int, int]],
                                               list[tuple[int, int, int]]]:
    ours = _ac.Automaton(keys).find_matches_as_indexes(text, overlapping=True)
    theirs = ahocorasick_rs.AhoCorasick(keys).find_matches_as_indexes(text, overlapping=True)
    return ours, theirs


@settings(max_examples=600, deadline=None)
@given(keys=keys_st, texts=st.lists(text_st, min_size=1, max_size=5))
def test_same_matches_as_ahocorasick_rs(keys: list[str], texts: list[str]) -> None:
    ours = _ac.Automaton(keys)
    theirs = ahocorasick_rs.AhoCorasick(keys)
    for text in texts:
        assert (ours.find_matches_as_indexes(text, overlapping=True)
                == theirs.find_matches_as_indexes(text, overlapping=True))
        assert _scanned(ours, text) == theirs.find_matches_as_indexes(text, overlapping=True)


def _scanned(auto: object, text: str) -> list[tuple[int, int, int]]:
    """Automaton.scan's C triples (what the engine reads), through its test accessor."""
    found = auto.matches(text)  # type: ignore[attr-defined]
    return [found[i] for i in range(len(found))]


@settings(max_examples=200, deadline=None)
@given(keys=keys_st, data=st.data())
def test_texts_made_of_keys(keys: list[str], data: st.DataObject) -> None:
    """Texts joined from the keys themselves: every key matches somewhere, many overlap."""
    parts = data.draw(st.lists(st.sampled_from(keys), max_size=8))
    seps = data.draw(st.lists(st.sampled_from(["", "", "x", "a"]), min_size=len(parts),
                              max_size=len(parts)))
    text = "".join(p + s for p, s in zip(parts, seps, strict=True))
    ours, theirs = _both(keys, text)
    assert ours == theirs
    assert _scanned(_ac.Automaton(keys), text) == theirs


def test_examples() -> None:
    keys = ["ab", "b", "abc", "bc", "c", "x", "b"]
    ours, theirs = _both(keys, "😀abcx abcb")
    assert ours == theirs
    assert ours[:3] == [(0, 1, 3), (1, 2, 3), (6, 2, 3)]  # at one end: longest key first
    assert _both(keys, "") == ([], [])
    auto = _ac.Automaton(keys)
    assert _scanned(auto, "😀abcx abcb") == ours
    assert _scanned(auto, "") == []
    # Past the Matches' 64 inline triples it grows onto the heap (twice here): the same.
    long_text = "abcb" * 60
    assert len(auto.find_matches_as_indexes(long_text, overlapping=True)) > 256
    assert _scanned(auto, long_text) == auto.find_matches_as_indexes(long_text, overlapping=True)
    with pytest.raises(IndexError):
        auto.matches("ab")[5]


def test_errors_as_ahocorasick_rs() -> None:
    with pytest.raises(ValueError):
        _ac.Automaton(["a", ""])
    with pytest.raises(ValueError):
        ahocorasick_rs.AhoCorasick(["a", ""])
    auto = _ac.Automaton(["a"])
    with pytest.raises(UnicodeEncodeError):
        auto.find_matches_as_indexes("a\udcffa", overlapping=True)
    with pytest.raises(UnicodeEncodeError):
        auto.matches("a\udcffa")
    with pytest.raises(UnicodeEncodeError):
        ahocorasick_rs.AhoCorasick(["a"]).find_matches_as_indexes("a\udcffa", overlapping=True)


def test_policy_keys_over_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default policy's own key lists (every key; the anchors) over the corpus lines,
    raw and folded; the compiled policy holds the compiled automata."""
    from probity.screening import compile_policy, default_policy_spec
    from probity.screening import policy as policy_mod
    from probity.screening.normalize import fold_exact

    seen: list[list[str]] = []
    real = policy_mod._automaton

    def recording(keys: list[str]) -> object:
        seen.append(list(keys))
        return real(keys)

    monkeypatch.setattr(policy_mod, "_automaton", recording)
    policy = compile_policy(default_policy_spec())
    assert isinstance(policy.matcher, _ac.Automaton)
    assert isinstance(policy.anchor_matcher, _ac.Automaton)
    assert len(seen) == 2
    texts = [json.loads(x)["text"] for x in (HERE / "corpus.jsonl").read_text("utf-8")
             .splitlines() if x.strip()]
    for keys in seen:
        ours, theirs = _ac.Automaton(keys), ahocorasick_rs.AhoCorasick(keys)
        for t in texts:
            for s in (t, fold_exact(t).compact):
                assert (ours.find_matches_as_indexes(s, overlapping=True)
                        == theirs.find_matches_as_indexes(s, overlapping=True)
                        == _scanned(ours, s))


def test_big_key_set() -> None:
    """Past 20,000 keys the key indexes are made per match instead of shared, and past 2**18
    slots the transition table is not a power of two: the same matches."""
    import random

    rng = random.Random(5)
    chars = "加微信号码转账红包现金私下联系abcdef"
    keys = sorted({"".join(rng.choice(chars) for _ in range(rng.randint(2, 7)))
                   for _ in range(60_000)})
    assert len(keys) > 20_000
    assert 2 * sum(map(len, keys)) > 2**18
    texts = ["".join(rng.choice(chars + "，。 xyz") for _ in range(rng.randint(0, 80)))
             for _ in range(300)]
    ours, theirs = _ac.Automaton(keys), ahocorasick_rs.AhoCorasick(keys)
    for t in texts:
        assert (ours.find_matches_as_indexes(t, overlapping=True)
                == theirs.find_matches_as_indexes(t, overlapping=True)
                == _scanned(ours, t))


def test_no_keys() -> None:
    assert _ac.Automaton([]).find_matches_as_indexes("abc", overlapping=True) == []
    assert _scanned(_ac.Automaton([]), "abc") == []


def test_wide_states_and_planes() -> None:
    """The scan's layout: a state's transitions searched in a sorted run (linearly up to 8,
    by bisection past that), the root's BMP transitions through the alphabet-rank table and
    its others (beyond the BMP) by bisection, failure links into wide states: the same
    matches as ahocorasick-rs, and key_set the same keys."""
    import random

    rng = random.Random(11)
    # BMP characters from several 64-code-point words of the alphabet bitmap (Latin, CJK,
    # full-width) and characters of the supplementary planes, so most states are wide.
    chars = ("abcdefghijklmnopqrstuvwxyz0123456789加微信号码转账红包现金私下联系"
             "ＡＢＣ１２３😀😁😂🐧𠮶𠮷𡈽")
    keys = sorted({"".join(rng.choice(chars) for _ in range(rng.randint(1, 4)))
                   for _ in range(3_000)})
    ours, theirs = _ac.Automaton(keys), ahocorasick_rs.AhoCorasick(keys)
    texts = ["".join(rng.choice(chars + "，。 xyzé") for _ in range(rng.randint(0, 60)))
             for _ in range(400)]
    for t in texts:
        expected = theirs.find_matches_as_indexes(t, overlapping=True)
        assert ours.find_matches_as_indexes(t, overlapping=True) == expected
        assert _scanned(ours, t) == expected
        assert ours.key_set(t) == {m[0] for m in expected}
