"""engine._mask_segments (the masked text of a decision with several segments) against the
join it replaced, on both paths: compiled it writes the characters to one C buffer, and the
string it makes must be the narrowest one, as the join's is (CPython compares strings of
different kinds as unequal)."""

from __future__ import annotations

import random

from probity.screening.engine import _mask_segments

CHARS = "ab加微信 😀𠮶ÿĀ\u200b*，" + "\ud800"


def _joined(text: str, segs: list[tuple[int, int, str, str, int]]) -> str:
    pieces: list[str] = []
    pos = 0
    for a, e, _c, _r, _s in segs:
        if e > pos:
            pieces.append(text[pos:max(a, pos)])
            pieces.append("*" * (e - max(a, pos)))
            pos = e
    pieces.append(text[pos:])
    return "".join(pieces)


def test_masking_is_the_join() -> None:
    rng = random.Random(3)
    for _ in range(5000):
        n = rng.randint(1, 60)
        text = "".join(rng.choice(CHARS) for _ in range(n))
        segs = []
        for _ in range(rng.randint(2, 5)):
            a = rng.randrange(n)
            segs.append((a, rng.randint(a + 1, n), "contact", "微信", 3))
        segs.sort()
        got = _mask_segments(text, segs)
        want = _joined(text, segs)
        assert got == want and len(got) == n
        # The narrowest kind: an ASCII result where only masked characters were wide.
        assert got.isascii() == want.isascii()
        assert max(map(ord, got)) == max(map(ord, want))


def test_masking_examples() -> None:
    segs = [(0, 2, "contact", "微信", 3), (1, 4, "contact", "加", 3)]
    assert _mask_segments("加微信ab", segs) == "****b"
    assert _mask_segments("😀😀ok", [(0, 1, "c", "r", 1), (1, 2, "c", "r", 1)]) == "**ok"
