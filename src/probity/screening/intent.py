# cython: annotation_typing=False
"""The learned intent layer: character n-grams + one linear model per category.

Categories: contact, bribe, payment (flagged) and refusal (positive). Text is normalised as
the engine folds it (traditional → simplified, full-width → ASCII, look-alikes, lower case,
separators dropped) and every digit becomes "0", then its character 1–3-grams (binary) are
scored: p = sigmoid(bias + Σ weights). A long message is scored per sentence too and the
highest score counts, so a request buried in ordinary text is not diluted.

Model file (``data/intent_model.json``; `probity screen train` writes one): line 1 is a header
``{"format": "probity-intent/1", "version": N, "sha256": "<hex of the rest of the file>"}``,
the rest is the payload (classes, n-gram range, biases, thresholds, weights, training notes).
`load_model` refuses a file whose checksum or version does not match (`ModelError`); the
policy that names it then fails to compile and the previous compiled policy stays in force.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final

import orjson
from ahocorasick_rs import AhoCorasick

from probity.screening._compiled import own_automaton
from probity.screening.normalize import (
    ASCII_DROP,
    ASCII_LOWER,
    EXPAND,
    SEP,
    _one_bmp,
    tables,
)

try:  # True where setup.py compiled this module (Cython's pure-Python mode constant)
    import cython

    _COMPILED: Final = bool(cython.compiled)
except ImportError:  # no Cython: the sources run as they are
    _COMPILED = False  # type: ignore[misc]



def _c_scan() -> Any:
    """probity.screening._features (the feature scan in C over the own automaton; setup.py
    builds it beside _ac), or None: not built, or the pure-Python path."""
    try:
        from probity.screening import _features
    except ImportError:
        return None
    return _features


_FEATURES: Final = _c_scan()

FORMAT: Final = "probity-intent/1"
CLASSES: Final[tuple[str, ...]] = ("contact", "bribe", "payment", "refusal")
FLAGGED: Final[tuple[str, ...]] = ("contact", "bribe", "payment")
_SENTENCES: Final = re.compile(r"[。！？!?；;\n]+|\.\s")
LONG: Final = 60  # characters: longer messages are scored per sentence too
_BOUND: Final = "\u9f98"  # 龘: folds to itself, in no n-gram of any model
CACHE_SIZE: Final = 50_000  # scores of short normalised texts kept per model
# Long texts (a chat message joined with its sender's previous ones, issue 17): the scores of
# a whole normalised text, and the raw sums of its sentences (a joined text's sentences are
# mostly the earlier messages' sentences, scored before). Smaller bounds: longer keys.
LONG_CACHE_SIZE: Final = 4_096
PIECE_CACHE_SIZE: Final = 16_384


class ModelError(ValueError):
    """A model file that cannot be used (corrupt, wrong checksum or version)."""


_ASCII_MODEL: Final = bytes(ASCII_LOWER).translate(bytes(range(256)).maketrans(b"123456789",
                                                                            b"000000000"))
_NONZERO: Final = re.compile(r"[1-9]")
# Cantonese written forms folded onto their Mandarin counterparts in the model's view only
# (one character each, so offsets keep): 唔會加你 reads as 不会加你, 俾佢電話我 as 给他电话我.
# Characters with a common Mandarin meaning of their own (系, 係, 呢, 邊, 莫) are left alone.
DIALECT: Final[dict[str, str]] = {
    "唔": "不", "冇": "没", "俾": "给", "畀": "给", "嘅": "的", "喺": "在", "咗": "了",
    "佢": "他", "哋": "们", "睇": "看", "搵": "找", "揾": "找", "啲": "些", "嚟": "来",
    "咁": "这", "噉": "这", "乜": "什", "攞": "拿", "諗": "想", "谂": "想", "嗰": "那",
}
_NEEDS_FOLD: frozenset[str] | None = None
_FAST: dict[int, str] | None = None


def _needs_fold() -> frozenset[str]:
    global _NEEDS_FOLD
    if _NEEDS_FOLD is None:
        _NEEDS_FOLD = frozenset(tables().needs_fold) | frozenset(DIALECT)
    return _NEEDS_FOLD


def _fast() -> dict[int, str]:
    """The engine's 1:1 fold table plus the dialect forms (built once per process)."""
    global _FAST
    if _FAST is None:
        fast = dict(tables().fast)
        for src, dst in DIALECT.items():
            fast[ord(src)] = dst
        _FAST = fast
    return _FAST


def model_view(compact: str) -> str:
    """The model's view of an engine-folded compact string (same length): dialect forms and
    digits as in :func:`normalise`."""
    if not _DIALECT_SET.isdisjoint(compact):
        compact = compact.translate(_DIALECT_ORD)
    return _NONZERO.sub("0", compact)


# Where the engine's compact string and normalise differ (test_screening_model_view proves
# there is nothing else in the BMP): characters outside the fold table, which covers the BMP
# (normalise lower-cases them; 嗰 folds to 𠮶 there), and Cherokee capitals (case folding
# keeps them, lower() does not).
_VIEW_FALLBACK: Final = re.compile("[\U00010000-\U0010ffff\u13a0-\u13f5]")
_DIALECT_SET: Final = frozenset(DIALECT)
_DIALECT_ORD: Final = {ord(k): v for k, v in DIALECT.items()}


def normalise(text: str) -> str:
    """The model's view of a text: folded like the engine's compact text, digits as 0.

    ASCII goes through one bytes translation; other text through the separator regex when
    no character needs the fold table (most Chinese text), else the full table."""
    if text.isascii():
        return text.encode().translate(_ASCII_MODEL, ASCII_DROP).decode()
    if _needs_fold().isdisjoint(text):
        one = tables().separators.sub("", text).lower()
    else:
        one = text.translate(_fast())
        if SEP in one:
            one = one.replace(SEP, "")
        if EXPAND in one:
            one = one.replace(EXPAND, "")
    return _NONZERO.sub("0", one)


_MODEL_BMP: str | None = None


def _model_bmp() -> str:
    """normalize's BMP fold table (``_one_bmp``: 65,536 characters, SEP, EXPAND or the fold
    of each code point) with the dialect forms as :func:`_fast` maps them (built once)."""
    global _MODEL_BMP
    if _MODEL_BMP is None:
        chars = list(_one_bmp())
        for src, dst in DIALECT.items():
            chars[ord(src)] = dst
        _MODEL_BMP = "".join(chars)
    return _MODEL_BMP


def _view_pieces(text: str, table: str, fast: dict[int, str]) -> list[str] | None:
    """``[p for p in normalise(_SENTENCES.sub(_BOUND, text)).split(_BOUND) if p]`` in one
    loop (where intent.pxd compiles it; the sources call normalise): sentence ends found as
    _SENTENCES finds them (a run of 。！？!?；;\\n, or "." and a whitespace character), every
    other character folded through ``table`` (:func:`_model_bmp`; ``fast`` beyond the BMP:
    SEP and EXPAND dropped, 1-9 as 0, a character folding to _BOUND ends a piece as the
    split does), the runs that fold to themselves kept as slices. None for a text holding a
    character beyond the BMP that the fold table does not change, or a Cherokee capital
    (normalise's result there depends on the rest of the text: the caller folds it the
    reference way), or for an ASCII text holding "+". test_screening_model_pieces proves the
    two equal for every character, in each of normalise's three ways, and on texts."""
    if "+" in text and text.isascii():
        return None  # normalise's ASCII way drops "+" (where no sentence ends), the table: 加
    pieces: list[str] = []
    parts: list[str] = []
    n = len(text)
    i = 0
    start = 0  # the run of characters that fold to themselves, from here to i
    while i < n:
        c = text[i]
        cp = ord(c)
        if 0x13A0 <= cp <= 0x13F5:
            return None
        end = 0  # characters that end a sentence here (0: none)
        if c == "\u3002" or c == "\uff01" or c == "\uff1f" or c == "!" or c == "?" \
                or c == "\uff1b" or c == ";" or c == "\n":
            end = 1
            while i + end < n:
                d = text[i + end]
                if d == "\u3002" or d == "\uff01" or d == "\uff1f" or d == "!" or d == "?" \
                        or d == "\uff1b" or d == ";" or d == "\n":
                    end += 1
                else:
                    break
        elif c == "." and i + 1 < n:
            d = text[i + 1]
            if d.isspace():
                end = 2
        if end:
            f = "\u9f98"  # _BOUND
        elif cp >= 0x10000:
            # Beyond the BMP only a character the fold table changes (so normalise takes
            # the table's way whatever the rest) or drops (every way drops it) is folded
            # here; any other is lower-cased or not depending on the rest of the text.
            g = fast.get(cp)
            if g is None or g == c:
                return None
            f = g
        else:
            f = table[cp]
            if f == c and c > "\x01" and not ("1" <= c <= "9") and c != "\u9f98":
                i += 1
                continue  # the run goes on
        if start < i:
            parts.append(text[start:i])
        if end or f == "\u9f98":
            if parts:
                piece = "".join(parts)
                if piece:
                    pieces.append(piece)
                parts = []
            i += end if end else 1
        else:
            if "1" <= f <= "9":
                parts.append("0")
            elif f != "\x00" and f != "\x01":  # SEP, EXPAND (test_screening_model_pieces)
                parts.append(f)
            i += 1
        start = i
    if start < n:
        parts.append(text[start:n])
    if parts:
        piece = "".join(parts)
        if piece:
            pieces.append(piece)
    return pieces


class _Sums:
    """A text's four raw sums (bias, role bias and weights; ``_raw``'s list, the classes'
    order) as the model's caches keep them: a C struct of four doubles where intent.pxd
    compiles this module, so a cache entry is no object the cyclic garbage collector tracks.
    (A list of floats and a (text, role) tuple per sentence were most of what a stream of
    long messages left behind: each 700 of them ran a collection, and every tenth of those
    a 0.4-0.6 ms one of the older objects, inside some message's screening.)"""

    __slots__ = ("s0", "s1", "s2", "s3")

    def __init__(self, s0: float, s1: float, s2: float, s3: float) -> None:
        self.s0 = s0
        self.s1 = s1
        self.s2 = s2
        self.s3 = s3

    def values(self) -> list[float]:
        return [self.s0, self.s1, self.s2, self.s3]


def _sums(raw: list[float]) -> _Sums:
    """``_Sums(*raw)`` for a list of four (no argument tuple where compiled)."""
    out = _Sums.__new__(_Sums)
    out.s0 = raw[0]
    out.s1 = raw[1]
    out.s2 = raw[2]
    out.s3 = raw[3]
    return out


# The loop above in C where _features is built (the same pieces; test_screening_model_pieces).
_VIEW_PIECES: Final = _FEATURES.view_pieces if _FEATURES is not None else _view_pieces


def _fold_in(pr: _Sums, base: list[float], whole: list[float],
             raw: list[float]) -> bool:
    """A sentence's raw sums ``pr`` into the long text's: ``whole[i] += pr[i] - base[i]``
    and ``raw[i] = max(raw[i], pr[i])`` (the same operations on the same doubles as the
    loop this replaced); True where a flagged class's (i < 3) best rose."""
    up = False
    for i in range(4):
        v = pr.s0 if i == 0 else pr.s1 if i == 1 else pr.s2 if i == 2 else pr.s3
        whole[i] += v - base[i]
        if v > raw[i]:
            raw[i] = v
            if i < 3:
                up = True
    return up


def _cached(by_role: dict[str, dict[str, Any]], role: str, compact: str) -> Any:
    """``by_role.get(role, {}).get(compact)``: what :meth:`IntentModel.score` kept for this
    text and role (intent.pxd: two C-level dict look-ups, no method calls)."""
    by_compact = by_role.get(role)
    if by_compact is None:
        return None
    return by_compact.get(compact)


def score_of(model: IntentModel, text: str, role: str, compact: str | None) -> IntentScores:
    """``model.score(text, role, False, compact)``, learned.with_model's call on every
    message: a short text whose compact string was scored before is the same one look-up
    ``score`` makes first, here without the method call; anything else is ``score``."""
    if compact is not None and len(text) <= LONG:
        hit: IntentScores | None = _cached(model._by_compact, role, compact)
        if hit is not None:
            return hit
    return model.score(text, role, False, compact)


def ngrams(s: str, lo: int = 1, hi: int = 3) -> set[str]:
    out: set[str] = set()
    n_s = len(s)
    for n in range(lo, hi + 1):
        out.update([s[i : i + n] for i in range(n_s - n + 1)])
    return out


class IntentScores:
    """A text's scores (a C extension type where intent.pxd compiles this module: the learned
    layer reads ``scores``, ``notable`` and ``over`` of every message as struct fields; it was
    a slotted dataclass, whose ``__eq__`` and ``__repr__`` are written out below)."""

    __slots__ = ("drivers", "notable", "over", "scores")

    scores: dict[str, float]
    drivers: list[tuple[str, float]]  # (n-gram, weight)
    # Filled by IntentModel.score: anything at or above a threshold (flagged categories or
    # refusal)? Lets the common case (nothing) skip every per-category comparison.
    notable: bool
    # Some class at or above its threshold (``notable`` also counts a score low enough for a
    # veto, which matters only where the rules flagged): on a message the rules allowed,
    # nothing under a threshold changes the result.
    over: bool

    def __init__(self, scores: dict[str, float], drivers: list[tuple[str, float]] | None = None,
                 notable: bool = True, over: bool = True) -> None:
        self.scores = scores
        self.drivers = [] if drivers is None else drivers
        self.notable = notable
        self.over = over

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IntentScores):
            return NotImplemented
        return (self.scores, self.drivers, self.notable, self.over) == (
            other.scores, other.drivers, other.notable, other.over)

    __hash__ = None  # type: ignore[assignment]  # (mutable, as the dataclass was)

    def __repr__(self) -> str:
        return (f"IntentScores(scores={self.scores!r}, drivers={self.drivers!r}, "
                f"notable={self.notable!r}, over={self.over!r})")

    def top(self) -> tuple[str, float]:
        cat = max(FLAGGED, key=lambda c: self.scores.get(c, 0.0))
        return cat, self.scores.get(cat, 0.0)


@dataclass
class IntentModel:
    version: int
    sha256: str
    classes: tuple[str, ...]
    lo: int
    hi: int
    bias: tuple[float, ...]
    role_bias: dict[str, tuple[float, ...]]
    thresholds: dict[str, float]  # warn at or above (model alone)
    block_thresholds: dict[str, float]  # block at or above, when the tenant opts in
    weights: Mapping[str, Sequence[float]]  # n-gram -> weight per class
    meta: dict[str, Any] = field(default_factory=dict)
    # A rules decision resting on lexicon terms alone is allowed when every flagged category
    # scores below this (0: never).
    veto_below: float = 0.0
    veto_min_chars: int = 0  # the veto applies to messages at least this long
    short_threshold: float = 0.0  # shorter messages: the model alone flags from this score up
    # (refusal at least, every flagged category below): a lexicon-only rules decision the
    # model reads as a refusal is allowed and tagged refusal. None: never.
    refusal_veto: tuple[float, float] | None = None
    # A lexicon-only rules decision in which the rules themselves found a decline (outside the
    # trigger's clause) is allowed and tagged refusal when every flagged category scores below
    # this (0: never): "感谢您的心意，但我们不能收…".
    rules_refusal_below: float = 0.0
    # (category at least, refusal below): the model flags even though the rules read a decline
    # ("保费我直接给你现金吧…我不会弄网银": 不会 is no refusal). None: never.
    refusal_override: tuple[float, float] | None = None
    # (refusal at least, category at least): a message the model reads as a refusal needs this
    # score before the model alone flags it. None: the plain thresholds.
    refusal_margin: tuple[float, float] | None = None
    # (category at least, refusal below): the model flags a message whose rules hit was
    # dropped for a context reason (negation, allow-list…). None: never.
    suppressed_override: tuple[float, float] | None = None
    # The same where the reason was an allow-list, coupon or code (not a negation, refusal or
    # report). None: suppressed_override applies.
    allowlist_override: tuple[float, float] | None = None
    # A lexicon-only rules decision in which the rules found a decline is allowed and tagged
    # refusal when the model's refusal score reaches this (0: never), whatever the others.
    rules_refusal_above: float = 0.0
    # Texts of ASCII only (English, pinyin): the model alone flags a category only from this
    # score up (0: the plain thresholds); character n-grams read English least reliably.
    ascii_threshold: float = 0.0
    # ...and so are mixed texts whose letters are at least this share ASCII (English inside a
    # Chinese message; 1.0: ASCII-only texts alone, as up to v9).
    ascii_share: float = 1.0

    def __post_init__(self) -> None:
        # One Aho-Corasick automaton over every weighted n-gram finds the features of a text
        # in one C pass. The weights of two classes share one complex number, so the four
        # sums are two C-level sum(map(...)) calls. The per-n-gram tuples are not kept:
        # `weights` becomes a view over the packed columns (a third of the memory).
        # Built with C-level passes only (the model load is most of `probity screen`'s
        # start): the columns are the transposed weight lists, paired by map(complex, ...).
        keys = list(self.weights)
        # The caches are by role, then by text (a str key: no tuple per entry for the
        # garbage collector to track). Short texts: scores by normalised text...
        self._cache: dict[str, dict[str, IntentScores]] = {}
        # ...and the same scores by the engine's compact string (score's ``compact``).
        self._by_compact: dict[str, dict[str, IntentScores]] = {}
        # Long texts: the raw sums (_Sums) of a normalised text with sentence bounds, and of
        # a normalised sentence. Both are functions of their keys.
        self._long_cache: dict[str, dict[str, _Sums]] = {}
        self._piece_cache: dict[str, dict[str, _Sums]] = {}
        self._bases: dict[str, tuple[float, ...]] = {}  # _raw's start per role (_base)
        automaton = own_automaton() or AhoCorasick
        self._matcher = automaton(keys) if keys else None
        # The own automaton's key_set: the distinct features of a text as a set, built in the
        # order a set of the matches' ids would be (the same sums, bit for bit).
        self._key_set = getattr(self._matcher, "key_set", None)
        k = len(self.classes)
        cols: list[Sequence[float]] = list(zip(*self.weights.values(), strict=True)) if keys \
            else [()] * k
        if k % 2:
            cols.append([0.0] * len(keys))
        self._packed = [list(map(complex, cols[i], cols[i + 1])) for i in range(0, k, 2)]
        # The compiled sums (_add_flat) read the weights as C doubles: key i's weight for
        # class c at [4 i + c] (one contiguous row per key, read in one pass over the set).
        self._flat = array("d", [w for row in self.weights.values() for w in row]) \
            if k == 4 and _COMPILED else None
        # Where _features is built: a text's feature sums (and the drivers' weighted
        # features) come from its C scan over the own automaton and _flat, no int object
        # or set per text (the same floats: it adds in the order a set of the ids iterates
        # in); the drivers read the n-grams from `keys` by index.
        scan = self._flat is not None and self._key_set is not None and _FEATURES is not None
        self._scan: Callable[..., bool] | None = _FEATURES.add_sums if scan else None
        self._weighted: Callable[..., list[tuple[str, float]]] | None = \
            _FEATURES.weighted if scan else None
        # ...and the drivers themselves: sorted by weight in C, only the n-grams looked at
        # made strings (_features.drivers; None: the loops below, the reference).
        self._drivers_c: Callable[..., list[tuple[str, float]]] | None = \
            _FEATURES.drivers if scan else None
        self._keys = keys if scan else None
        self.weights = _PackedWeights(dict(zip(keys, range(len(keys)), strict=True)),
                                      self._packed, k)

    def _raw(self, s: str, role: str) -> list[float]:
        base = self._bases.get(role)
        if base is None:
            base = self._base(role)
        totals = list(base)
        if self._matcher is None or not s:
            return totals
        key_set = self._key_set  # (None: not the own automaton)
        scan = self._scan
        if scan is not None and key_set is not None and scan(self._matcher, s, self._flat,
                                                             totals):
            return totals
        if key_set is not None:
            ids = key_set(s)  # the own automaton: the set without a tuple per occurrence
        else:
            ids = {m[0] for m in self._matcher.find_matches_as_indexes(s, overlapping=True)}
        if not ids:
            return totals
        if _COMPILED:
            if self._flat is not None:
                _add_flat(totals, self._flat, ids)
            else:
                _add_ids(totals, self._packed, ids)
            return totals
        for j, col in enumerate(self._packed):
            z = sum(map(col.__getitem__, ids))
            totals[2 * j] += z.real
            if 2 * j + 1 < len(totals):
                totals[2 * j + 1] += z.imag
        return totals

    def _base(self, role: str) -> tuple[float, ...]:
        """The sums before any feature: the bias plus the role's (the same additions as
        ever), kept per role (at most 16 roles; a screened message has one of two)."""
        rb = self.role_bias.get(role)
        base = tuple(self.bias) if rb is None else tuple(
            [a + b for a, b in zip(self.bias, rb, strict=True)])
        if len(self._bases) < 16:
            self._bases[role] = base
        return base

    def score(self, text: str, role: str, explain: bool = False,
              compact: str | None = None) -> IntentScores:
        """``compact``: the engine's 1:1 compact string of ``text`` (its fast path's or
        ``fold_exact``'s, no character expanded), used for short texts instead of folding
        again: ``model_view(compact) == normalise(text)`` then (test_screening_model)."""
        if len(text) <= LONG:
            if compact is not None and not explain:
                # A compact string seen before (its view is a function of it): one lookup.
                hit: IntentScores | None = _cached(self._by_compact, role, compact)
                if hit is not None:
                    return hit
            from_compact = compact is not None and _VIEW_FALLBACK.search(compact) is None
            if from_compact:
                assert compact is not None
                best_piece = model_view(compact)
            else:
                best_piece = normalise(text)
            if not explain:
                # Service traffic repeats, and more so in the model's view (digits are all 0,
                # separators gone): short texts' scores are kept (bounded; cleared when full).
                out: IntentScores | None = _cached(self._cache, role, best_piece)
                if out is None:
                    out = self._scores(self._raw(best_piece, role))
                    by_text = self._cache.setdefault(role, {})
                    if len(by_text) >= CACHE_SIZE:
                        by_text.clear()
                    by_text[best_piece] = out
                if from_compact:
                    assert compact is not None
                    by_compact = self._by_compact.setdefault(role, {})
                    if len(by_compact) >= CACHE_SIZE:
                        by_compact.clear()
                    by_compact[compact] = out
                return out
            raw = self._raw(best_piece, role)
        else:
            # Per sentence, in one pass: the message's score is the larger of the sum over
            # its sentences and its best sentence (a request buried in ordinary text).
            # One normalisation for the whole text: sentence ends become a boundary character
            # that folds to itself and is in no n-gram, then the pieces are split on it.
            split = _VIEW_PIECES(text, _model_bmp(), _fast()) if _COMPILED else None
            if split is not None:
                # The same sentences (non-empty), folded in one C loop: their _BOUND-joined
                # text keys the cache (the scores are a function of them as of `bounded`).
                bounded = _BOUND.join(split)
            else:
                bounded = normalise(_SENTENCES.sub(_BOUND, text))
                split = bounded.split(_BOUND)
            if not explain:
                # The scores are a function of the bounded normalised text (digits are all 0
                # in it): a joined chat text seen before is one lookup (its raw sums; the
                # scores are made from them again, the same floats).
                known = _cached(self._long_cache, role, bounded)
                if known is not None:
                    return self._scores(known.values())
            base = self._raw("", role)
            whole = list(base)
            raw = list(base)
            best_piece = ""
            pieces = self._piece_cache.get(role)
            if pieces is None:
                pieces = self._piece_cache.setdefault(role, {})
            for ps in split:
                if not ps:
                    continue
                # A sentence's raw sums are a function of it (never mutated): kept.
                pr = pieces.get(ps)
                if pr is None:
                    pr = _sums(self._raw(ps, role))
                    if len(pieces) >= PIECE_CACHE_SIZE:
                        pieces.clear()
                    pieces[ps] = pr
                # best_piece: the first sentence that raised a flagged class's best (the
                # drivers of `explain`; a later one never passed the best it had just set).
                if _fold_in(pr, base, whole, raw) and not best_piece:
                    best_piece = ps
            raw = [max(a, b) for a, b in zip(raw, whole, strict=True)]
            if not best_piece and explain:
                # (only explain reads it: normalising a long text through the fold dict
                # cost as much as scoring it)
                best_piece = normalise(text)
        out = self._scores(raw)
        if explain:
            cat, _p = out.top()
            out.drivers = self.drivers(best_piece, cat)
        elif len(text) > LONG:
            by_bounded = self._long_cache.setdefault(role, {})
            if len(by_bounded) >= LONG_CACHE_SIZE:
                by_bounded.clear()
            by_bounded[bounded] = _sums(raw)
        return out

    def _scores(self, raw: list[float]) -> IntentScores:
        """``{c: sigmoid(v)}`` over the classes and raw sums, with ``over`` (some class at
        its threshold) and ``notable`` (``over``, or every flagged class under the lower of
        the veto bars): loops instead of the dict comprehension and the any()/max()
        generators (compiled, those were 7,000 instructions a call), the same comparisons."""
        classes = self.classes
        n = len(classes)
        if len(raw) != n:
            raise ValueError("the model's raw sums do not match its classes")
        scores: dict[str, float] = {}
        for i in range(n):
            scores[classes[i]] = _sigmoid(raw[i])
        th = self.thresholds
        low = min(max(self.veto_below, self.rules_refusal_below), 1.0)
        over = False
        for c in classes:
            if scores[c] >= th.get(c, 1.0):
                over = True
                break
        notable = over
        if not over and low > 0:
            notable = _max_flagged(scores) < low
        return IntentScores(scores, None, notable, over)

    def drivers(self, normalised: str, category: str, k: int = 5) -> list[tuple[str, float]]:
        """The n-grams that pushed ``category`` up most in this (normalised) text."""
        idx = self.classes.index(category)
        c_drivers = self._drivers_c
        if (c_drivers is not None and self._key_set is not None and self._matcher is not None
                and normalised):
            return c_drivers(self._matcher, normalised, self._flat, idx, max(2, self.lo),
                             self.hi, self._keys, k)
        # The text's n-grams of lo..hi characters (at least 2) that are weighted features,
        # each once: the model's automaton finds exactly those (every occurrence of every
        # feature) in one C pass, instead of making every n-gram of the text and looking each
        # up (hundreds of lookups and weight tuples for a long message). The weight is the
        # one `self.weights[g][idx]` reads from the packed columns.
        found: list[tuple[str, float]] = []
        if self._matcher is not None and normalised:
            lo = max(2, self.lo)
            hi = self.hi
            weighted = self._weighted
            if weighted is not None and self._key_set is not None:
                # The same pairs from one C scan: each feature once, its n-gram by index
                # (the text at a match is its key); the sort below orders them.
                found = weighted(self._matcher, normalised, self._flat, idx, lo, hi, self._keys)
            else:
                col = self._packed[idx // 2]
                imag = idx % 2 == 1
                seen: set[int] = set()
                for gid, s, e in self._matcher.find_matches_as_indexes(normalised,
                                                                       overlapping=True):
                    if e - s < lo or e - s > hi or gid in seen:
                        continue
                    seen.add(gid)
                    z = col[gid]
                    w = z.imag if imag else z.real
                    if w > 0:
                        found.append((normalised[s:e], w))
        found.sort(key=lambda gw: (-gw[1], gw[0]))  # ties by n-gram: the same every run
        chosen: list[tuple[str, float]] = []
        for g, w in found:
            if any(g in c or c in g for c, _w in chosen):
                continue
            chosen.append((g, round(w, 3)))
            if len(chosen) == k:
                break
        return chosen


class _PackedWeights(Mapping[str, tuple[float, ...]]):
    """n-gram -> weights per class, read from the model's packed complex columns."""

    __slots__ = ("_cols", "_index", "_k")

    def __init__(self, index: dict[str, int], cols: list[list[complex]], k: int) -> None:
        self._index = index
        self._cols = cols
        self._k = k

    def __getitem__(self, g: str) -> tuple[float, ...]:
        i = self._index[g]
        out: list[float] = []
        for col in self._cols:
            z = col[i]
            out += (z.real, z.imag)
        return tuple(out[: self._k])

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, g: object) -> bool:
        return g in self._index


def _add_ids(totals: list[float], packed: list[list[complex]], ids: set[int]) -> None:
    """What ``_raw`` adds to ``totals`` for the features ``ids``, where intent.pxd compiles
    this module: per packed column a loop with C doubles making the same additions in the
    same order as ``sum(map(col.__getitem__, ids))`` (the set's order, from 0.0: ``sum``
    starts from 0, and 0 + z is 0.0 + z.real, 0.0 + z.imag), so the same floats, without a
    complex object per step. (Interpreted, the loop would be slower than ``sum(map(...))``:
    the sources keep that.)"""
    n = len(totals)
    for j in range(len(packed)):
        col = packed[j]
        re = 0.0
        im = 0.0
        for i in ids:
            z = col[i]
            re += z.real
            im += z.imag
        totals[2 * j] += re
        if 2 * j + 1 < n:
            totals[2 * j + 1] += im


def _add_flat(totals: list[float], flat: Any, ids: set[int]) -> None:
    """``_add_ids`` for a model of four classes (every model ``parse_model`` accepts) from the
    flat C array of weights (``IntentModel._flat``: key i's weights at [4 i .. 4 i + 3]):
    one pass over the set with four C double sums, each the same additions in the same order
    as ``sum(map(col.__getitem__, ids))``'s real or imaginary part (the set's order, from
    0.0), so the same floats, without a complex object per key and class pair."""
    w = flat
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    for i in ids:
        j = 4 * i
        s0 += w[j]
        s1 += w[j + 1]
        s2 += w[j + 2]
        s3 += w[j + 3]
    totals[0] += s0
    totals[1] += s1
    totals[2] += s2
    totals[3] += s3


def _max_flagged(scores: dict[str, float]) -> float:
    """``max(scores[c] for c in FLAGGED)`` without a generator (the same comparisons: a later
    class replaces the best only where greater)."""
    best = scores[FLAGGED[0]]
    for i in range(1, len(FLAGGED)):
        v = scores[FLAGGED[i]]
        if v > best:
            best = v
    return best


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def dumps_model(payload: dict[str, Any], version: int) -> str:
    """The model file's text: header line (format, version, checksum) + payload."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    header = json.dumps({"format": FORMAT, "version": version, "sha256": digest})
    return header + "\n" + body + "\n"


def parse_model(data: bytes, *, expect_version: int | None = None,
                expect_sha256: str | None = None) -> IntentModel:
    head, sep, body = data.partition(b"\n")
    try:
        header = json.loads(head)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError("not a model file: the header line is not JSON") from exc
    if not sep or not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelError(f"not a model file of format {FORMAT}")
    body = body.rstrip(b"\n")
    digest = hashlib.sha256(body).hexdigest()
    if digest != header.get("sha256"):
        raise ModelError("the model file fails its checksum (corrupt or altered)")
    if expect_sha256 is not None and digest != expect_sha256:
        raise ModelError(f"the model file is not the one the policy names "
                         f"(sha256 {digest[:12]}…, expected {expect_sha256[:12]}…)")
    version = int(header.get("version", -1))
    if expect_version is not None and version != expect_version:
        raise ModelError(f"the model file is version {version}, the policy names version "
                         f"{expect_version}")
    try:
        p = orjson.loads(body)  # the same floats as json.loads, in a third of the time
    except orjson.JSONDecodeError as exc:
        raise ModelError("the model file's payload is not JSON") from exc
    # The class names and the thresholds' keys interned: the scores dicts are keyed by these
    # objects, and every lookup by a literal ("refusal", policy.FLAGGED_CATEGORIES) then
    # matches by identity instead of comparing the strings (the same dicts otherwise).
    classes = tuple([sys.intern(str(c)) for c in p["classes"]])
    if set(classes) != set(CLASSES):
        raise ModelError(f"the model's classes {classes} are not {CLASSES}")
    return IntentModel(
        version=version, sha256=digest, classes=classes, lo=int(p["ngram"][0]),
        hi=int(p["ngram"][1]), bias=tuple(float(b) for b in p["bias"]),
        role_bias={r: tuple(float(x) for x in v) for r, v in p.get("role_bias", {}).items()},
        thresholds={sys.intern(str(k)): float(v) for k, v in p["thresholds"].items()},
        block_thresholds={sys.intern(str(k)): float(v)
                          for k, v in p.get("block_thresholds", {}).items()},
        weights=p["weights"],
        meta=dict(p.get("meta", {})),
        veto_below=float(p.get("veto_below", 0.0)),
        veto_min_chars=int(p.get("veto_min_chars", 0)),
        short_threshold=float(p.get("short_threshold", 0.0)),
        refusal_veto=_pair(p.get("refusal_veto")),
        rules_refusal_below=float(p.get("rules_refusal_below", 0.0)),
        refusal_override=_pair(p.get("refusal_override")),
        refusal_margin=_pair(p.get("refusal_margin")),
        suppressed_override=_pair(p.get("suppressed_override")),
        allowlist_override=_pair(p.get("allowlist_override")),
        rules_refusal_above=float(p.get("rules_refusal_above", 0.0)),
        ascii_threshold=float(p.get("ascii_threshold", 0.0)),
        ascii_share=float(p.get("ascii_share", 1.0)),
    )


def _pair(v: Any) -> tuple[float, float] | None:
    return (float(v[0]), float(v[1])) if v else None


_BUILTIN: IntentModel | None = None


def builtin_model_bytes() -> bytes:
    return (resources.files("probity.screening").joinpath("data")
            .joinpath("intent_model.json").read_bytes())


def load_model(path: Path | None = None, *, expect_version: int | None = None,
               expect_sha256: str | None = None) -> IntentModel:
    """The model at ``path`` (default: the one shipped in the package), verified."""
    global _BUILTIN
    if path is None:
        if _BUILTIN is not None and expect_version in (None, _BUILTIN.version) and (
                expect_sha256 in (None, _BUILTIN.sha256)):
            return _BUILTIN
        model = parse_model(builtin_model_bytes(), expect_version=expect_version,
                            expect_sha256=expect_sha256)
        _BUILTIN = model
        return model
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read the model file {path}: {exc.strerror}") from exc
    return parse_model(data, expect_version=expect_version, expect_sha256=expect_sha256)
