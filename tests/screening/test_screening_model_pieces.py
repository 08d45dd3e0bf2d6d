"""The learned layer's sentences of a long text, folded in one loop (intent._view_pieces, the
compiled path), are those of the reference ``normalise(_SENTENCES.sub(_BOUND, text))`` split
on _BOUND (empty ones dropped), for every text without a Cherokee capital, a character
beyond the BMP that the fold table leaves as it is, or an ASCII text with "+" (there it
answers None and the caller takes the reference way).

Why per character is enough: normalise folds a text one of three ways (ASCII bytes
translation; separators regex + lower() when no character needs the fold table; the fold
table), and each is a per-character map (lower() is context-free but for Σ, which needs the
table, so never goes the second way: asserted); _view_pieces finds sentence ends exactly as
_SENTENCES does (tested on texts) and maps every other character through one table. So
every BMP character is checked alone and between characters that force each of the three
ways, then whole texts."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from probity.screening import intent
from probity.screening.intent import (
    _BOUND,
    _SENTENCES,
    _fast,
    _model_bmp,
    _needs_fold,
    _view_pieces,
    normalise,
)
from probity.screening.normalize import EXPAND, SEP

# intent._view_pieces, and _features.view_pieces (the same loop in C) where it is built
VIEWS: list[Callable[[str, str, dict[int, str]], list[str] | None]] = [_view_pieces]
if intent._FEATURES is not None:
    VIEWS.append(intent._FEATURES.view_pieces)


def _reference(text: str) -> list[str]:
    return [p for p in normalise(_SENTENCES.sub(_BOUND, text)).split(_BOUND) if p]


def test_the_constants_the_loop_spells_out() -> None:
    assert (SEP, EXPAND, _BOUND) == ("\x00", "\x01", "\u9f98")
    assert "Σ" in _needs_fold()  # lower()'s one context rule never meets the regex way
    assert len(_model_bmp()) == 0x10000


def _outside(text: str) -> bool:
    """A text _view_pieces leaves to the reference way."""
    fast = _fast()
    if text.isascii() and "+" in text:
        return True  # normalise's ASCII way drops it, the fold table reads 加
    return any(0x13A0 <= ord(c) <= 0x13F5 or (ord(c) >= 0x10000 and fast.get(ord(c), c) == c)
               for c in text)


@pytest.mark.parametrize("view", VIEWS)
def test_every_character_in_each_of_normalises_ways(
        view: Callable[[str, str, dict[int, str]], list[str] | None]) -> None:
    table, fast = _model_bmp(), _fast()
    checked = declined = 0
    for cp in [*range(0x10000), *(cp for cp in fast if cp >= 0x10000),
               *range(0x10000, 0x110000, 97)]:
        c = chr(cp)
        # alone; between characters that send normalise the table way (Ａ needs folding),
        # the regex way when c allows it (加 needs nothing), and the ASCII way when c is ASCII
        for text in (c, "Ａ" + c + "Ａ", "加" + c + "加", "a" + c + "a", c + c + "1"):
            got = view(text, table, fast)
            if _outside(text):
                assert got is None
                declined += 1
            else:
                assert got == _reference(text), (hex(cp), text)
                checked += 1
    assert checked > 300_000 and declined > 0


@pytest.mark.parametrize("view", VIEWS)
def test_texts(view: Callable[[str, str, dict[int, str]], list[str] | None]) -> None:
    from tests.screening.test_screening_pinned_decisions import _rows, _sources

    table, fast = _model_bmp(), _fast()
    rng = random.Random(11)
    alphabet = ("加我微信薇信v信VX号码电话扣扣私下转账红包现金不要谢谢您好订单退款嗰唔俾搵"
                "0123456789０１２３abcxyzWXQQ@.-_ 　，。！？!?；;:：/\n\t\r.. ①㊀ⅷ龘"
                "\x00\x01Σσς🧧😀𠮶Ꭰ")
    texts = [t for path in _sources() for t, _r in _rows(path)]
    texts += ["。".join(texts[i:i + 12]) for i in range(0, len(texts), 12)]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
              for _ in range(3000)]
    texts += [". ", ".", "..", ". .\n", "a. b.\tc.\u3000d", "!!。。", "龘龘", "", "。a。"]
    folded = 0
    for text in texts:
        got = view(text, table, fast)
        if _outside(text):
            assert got is None, text
        else:
            assert got == _reference(text), text
            folded += 1
    assert folded > 1000


def test_the_c_loop_is_in_use_where_built() -> None:
    if intent._FEATURES is not None and intent._COMPILED:
        assert intent._VIEW_PIECES is intent._FEATURES.view_pieces
