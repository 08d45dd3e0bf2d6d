"""The compiled slow path's part occurrences in C arrays (``_ac.PartOcc``, read by
``engine._term_hits_occ``) against the dict of lists of tuples (``engine._term_hits``): the
reference, still taken by the pure-Python path and wherever ``_screen_slow`` is given a
caller's list of matches. Compiled only: the C arrays exist nowhere else."""

from __future__ import annotations

import random

import pytest
from test_screening_pinned_decisions import _messages, _rows, _sources

from probity.screening import LexiconEntry, compile_policy, compiled_modules, default_policy
from probity.screening.engine import _screen_slow
from probity.screening.normalize import fold_exact
from probity.screening.policy import CompiledPolicy, default_policy_spec

pytestmark = pytest.mark.skipif(
    "engine" not in compiled_modules() or "_ac" not in compiled_modules(),
    reason="the part occurrences' C arrays are a compiled path (make install builds it)")

ALPHABET = ("加我微信薇信v信VX号码电话扣扣企鹅私下转账红包现金不要谢谢您好订单退款不能收举报诈骗"
            "0123456789０１２３abcxyzWXQQ@.-_ 　，。！？:：/\n😀①加微wx")


def _policy_with_terms(n: int) -> CompiledPolicy:
    """The built-in lexicon plus ``n`` random 2-3 character terms of a small alphabet, some
    with gaps: many parts, many of them repeated in a text."""
    rng = random.Random(5)
    chars = "红包微信加我转账现金好处费私下联系方式号码给你谢谢"
    spec = default_policy_spec()
    cats = ["contact", "bribe", "payment"]
    terms: set[str] = set()
    while len(terms) < n:
        t = "".join(rng.choice(chars) for _ in range(rng.randint(2, 3)))
        if rng.random() < 0.2:
            t = t[0] + "*" + t[1:]
        terms.add(t)
    spec.lexicon = spec.lexicon + [LexiconEntry(t, cats[i % 3], 3)
                                   for i, t in enumerate(sorted(terms))]
    return compile_policy(spec)


def _texts() -> list[tuple[str, str]]:
    texts: list[tuple[str, str]] = []
    for path in _sources():
        texts += list(_messages(_rows(path)))
    rng = random.Random(31)
    for _ in range(1500):
        n = rng.randint(1, rng.choice([20, 80, 400]))
        texts.append(("".join(rng.choice(ALPHABET) for _ in range(n)),
                      rng.choice(["customer", "agent"])))
    # Past the inline buffers: > 32 occurrences of one part, > 64 distinct parts.
    texts.append(("加我微信" * 50, "customer"))
    texts.append(("红包" * 40 + "微信" * 40 + "私下转账" * 20, "agent"))
    pieces = [t for t, _r in texts[:400]]
    texts.append((" ".join(pieces)[:3000], "customer"))
    return texts


@pytest.mark.parametrize("which", ["default", "terms"])
def test_the_c_arrays_give_the_dicts_results(which: str) -> None:
    policy = default_policy() if which == "default" else _policy_with_terms(800)
    matcher = policy.matcher
    n = 0
    for text, role in _texts():
        folded = fold_exact(text)
        comp = matcher.find_matches_as_indexes(folded.compact, overlapping=True)
        own = _screen_slow(text, role, policy, folded)  # scans itself: the C arrays
        ref = _screen_slow(text, role, policy, folded, comp)  # a caller's list: the dict
        assert own == ref, text
        n += own.decision != "allow"
    assert n > 500


def test_part_occ_links_and_sorts_as_the_lists_do() -> None:
    from probity.screening._ac import PartOcc

    rng = random.Random(9)
    for size in (0, 1, 5, 31, 32, 33, 64, 65, 200, 1000):
        for _ in range(20):
            occ = PartOcc()
            ref: dict[int, list[tuple[int, int, bool]]] = {}
            n_parts = rng.choice([1, 3, 40, 500, 100_000])
            for _ in range(size):
                pid = rng.randrange(n_parts)
                us = rng.randrange(50)
                ue = us + rng.randint(1, 4)
                lit = rng.random() < 0.7
                occ._record(pid, us, ue, lit)
                ref.setdefault(pid, []).append((us, ue, lit))
            parts = occ._parts()
            assert parts == ref and list(parts) == list(ref)  # the dict's order too
            for pid, lst in ref.items():
                assert occ._sorted(pid) == sorted(lst)
            assert occ._sorted(n_parts + 7) == []
