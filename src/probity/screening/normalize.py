"""Text folding for screening: one pass per message, with a map back to original offsets.

Every character of a message is folded to at most one *unit* of a "compact" string:

* NFKC (full-width and half-width forms, circled digits), case folding, Latin diacritics
  stripped, a few Cyrillic/Greek look-alikes mapped to Latin;
* traditional to simplified Chinese (an OpenCC t2s table built once per process, never per
  message), then a small table of visual look-alikes (徽 -> 微) and capital numerals (壹 -> 一);
* separators (spaces, punctuation, symbols, emoji, zero-width and control characters) are
  dropped, so "加 . 微 . 信" and "加🌟微🌟信" fold to "加微信";
* a few symbols carry meaning and become words: "+" -> 加, 🐧 -> 企鹅, ☎ -> 电话 (🧧 becomes
  a unit of its own, matched by the lexicon term "🧧").

Three ways to fold, same result: ``quick_compact`` (one regex removing separators; used by
the fast path when no character needs the table), ``fold_exact`` (``str.translate`` with the
full table, plus the map to original offsets; only for messages worth a closer look), and
a slow exact loop for characters that expand to several units (⑩, ligatures).

Homophones and typed pinyin are not a per-message view: ``homophones()`` gives, per toneless
syllable, the common characters that share it, and the policy compiler expands each
phonetic term into its spellings (薇信, 威芯, weixin, wei信, 虹包, hongbao, 红bao...), so one
automaton scan over the compact text sees them all.
"""

from __future__ import annotations

import os
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

try:  # True where setup.py compiled this module (Cython's pure-Python mode constant)
    import cython

    _COMPILED: bool = bool(cython.compiled)
except ImportError:  # no Cython: the sources run as they are
    _COMPILED = False
    from probity.screening._nocython import cython

SEP = "\x00"  # a dropped character in the 1:1 folded string
EXPAND = "\x01"  # marks a character that folds to several units (slow path)

# Symbols that carry meaning in evasions and become words instead of being dropped.
SYMBOL_WORDS: dict[str, str] = {
    "+": "加",
    "🧧": "\ue001",  # its own unit: a red-envelope emoji is not a platform coupon
    "🐧": "企鹅",
    "☎": "电话",
    "📞": "电话",
    "📱": "手机",
    "💰": "钱",
    "💵": "钱",
    "💴": "钱",
    "🧾": "",
}

# Visual look-alikes and variant forms folded onto the character they imitate. Homophones are
# handled by the phonetic view instead, so only characters that *look* alike belong here.
LOOKALIKES: dict[str, str] = {
    "徽": "微", "徵": "微", "嶶": "微", "溦": "微", "媺": "微", "黴": "微",
    "訫": "信", "伩": "信", "𠈌": "信",
    "紅": "红", "葒": "红", "仜": "红",
    "勹": "包",
    "釦": "扣",
    "壹": "一", "贰": "二", "貳": "二", "叁": "三", "參": "三", "肆": "四", "伍": "五",
    "陆": "六", "陸": "六", "柒": "七", "捌": "八", "玖": "九", "〇": "零",
}

# Latin look-alikes from other scripts (the usual homoglyph set).
HOMOGLYPHS: dict[str, str] = {
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "к": "k",
    "м": "m", "т": "t", "в": "b", "н": "h", "і": "i", "ј": "j", "ѕ": "s", "ԛ": "q",
    "ԝ": "w", "ν": "v", "ο": "o", "α": "a", "ε": "e", "κ": "k", "τ": "t", "χ": "x",
    "ι": "i", "ρ": "p", "μ": "u", "ω": "w",
}

# Digits as they appear in evasions, for the digit view (same length as the original text).
CN_DIGITS: dict[str, int] = {
    "零": 0, "〇": 0, "○": 0, "洞": 0, "一": 1, "幺": 1, "壹": 1, "二": 2, "贰": 2, "貳": 2,
    "三": 3, "叁": 3, "參": 3, "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6,
    "陸": 6, "七": 7, "柒": 7, "拐": 7, "八": 8, "捌": 8, "九": 9, "玖": 9, "勾": 9,
}

_CJK_RANGES = (
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2A6DF),
)
_ASTRAL_SEPARATOR_RANGES = (
    (0x1F000, 0x1FAFF),  # emoji and pictographs
    (0xE0000, 0xE007F),  # tag characters
    (0xE0100, 0xE01EF),  # variation selectors supplement
)


def is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def _strip_marks(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))


@dataclass(frozen=True)
class FoldTables:
    """Per-process tables, built once (about a third of a second) and shared read-only."""

    # char -> folded units ("" = separator) for every BMP or emoji character whose fold is not
    # itself; the others are absent (look up with ``fold.get(ch, ch)``): a third of the size,
    # so the start-up that reads the tables from the disk cache is that much shorter.
    fold: dict[str, str]
    fast: dict[int, str]  # str.translate table: cp -> one char, SEP or EXPAND
    pinyin: dict[int, str]  # str.translate table on folded text: CJK cp -> toneless pinyin
    digits: dict[int, str]  # str.translate table on original text: 1:1 digit view
    separators: re.Pattern[str]  # runs of characters that fold to nothing
    content: re.Pattern[str]  # runs of characters that do not
    digit_runs: re.Pattern[str]  # runs of digit-like characters (any width, 一, 幺, ①)
    needs_fold: frozenset[str]  # characters whose fold is not themselves (nor nothing)
    # Separators for which str.isalnum() is true (⓫, ↂ, ͺ: some circled and Roman numerals,
    # fractions): the fast path's "isalnum(), so no separator left" must not miss them.
    alnum_separators: frozenset[str]
    latin: frozenset[str]  # characters that fold to one Latin letter a-z
    # Toneless syllable -> common simplified characters with that reading (GB2312).
    homophones: dict[str, tuple[str, ...]]


def char_class(cps: list[int]) -> str:
    """A regex character class for a set of code points (as ranges)."""
    cps = sorted(cps)
    parts: list[str] = []
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        a, b = re.escape(chr(cps[i])), re.escape(chr(cps[j]))
        parts.append(a if i == j else f"{a}-{b}")
        i = j + 1
    return "[" + "".join(parts) + "]"


_TABLES: FoldTables | None = None
_LOCK = threading.Lock()


def _t2s_table(chars: list[str]) -> dict[str, str]:
    try:
        import opencc
    except ImportError:  # pragma: no cover - opencc is a declared dependency
        return {}
    conv = opencc.OpenCC("t2s")
    joined = "\n".join(chars)
    out = conv.convert(joined).split("\n")
    table: dict[str, str] = {}
    if len(out) == len(chars):
        for src, dst in zip(chars, out, strict=True):
            if dst != src and len(dst) == 1:
                table[src] = dst
    return table


def _pinyin_table() -> dict[str, str]:
    from pypinyin.pinyin_dict import pinyin_dict

    tone_strip = {ord(c): _strip_marks(c) for c in "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ"}
    tone_strip[ord("ü")] = "v"
    table: dict[str, str] = {}
    for cp, readings in pinyin_dict.items():
        first = readings.split(",")[0]
        py = first.translate(tone_strip).replace("ü", "v")
        if py.isascii() and py.isalpha():
            table[chr(cp)] = py.lower()
    return table


def _fold_char(ch: str, t2s: dict[str, str]) -> str:
    if ch in SYMBOL_WORDS:
        return SYMBOL_WORDS[ch]
    if ch in HOMOGLYPHS:
        return HOMOGLYPHS[ch]
    if ch in LOOKALIKES:
        return LOOKALIKES[ch]
    if is_cjk(ch):
        s = t2s.get(ch, ch)
        return LOOKALIKES.get(s, s)
    norm = unicodedata.normalize("NFKC", ch)
    out: list[str] = []
    for c in norm:
        if c in SYMBOL_WORDS:
            out.append(SYMBOL_WORDS[c])
            continue
        cat = unicodedata.category(c)
        if cat[0] in "ZPSCM":
            continue  # separator: space, punctuation, symbol, control, mark
        if cat[0] == "N" and not c.isdigit():
            continue  # fractions, roman numerals: not digits we can trust
        low = c.casefold()
        low = HOMOGLYPHS.get(low, low)
        if not low.isascii():
            stripped = _strip_marks(low)
            low = stripped if stripped.isascii() and stripped else low
        if len(low) == 1 and is_cjk(low):
            low = t2s.get(low, low)
            low = LOOKALIKES.get(low, low)
        out.append(low)
    return "".join(out)


def _build() -> FoldTables:
    cjk_chars = [chr(cp) for lo, hi in _CJK_RANGES[:3] for cp in range(lo, hi + 1)]
    t2s = _t2s_table(cjk_chars)
    fold: dict[str, str] = {}
    for cp in range(0x10000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        fold[ch] = _fold_char(ch, t2s)
    for lo, hi in _ASTRAL_SEPARATOR_RANGES:
        for cp in range(lo, hi + 1):
            ch = chr(cp)
            fold[ch] = SYMBOL_WORDS.get(ch, "")
    for ch, val in LOOKALIKES.items():
        fold[ch] = val
    fast: dict[int, str] = {}
    for ch, val in fold.items():
        if val == ch:
            continue
        fast[ord(ch)] = SEP if val == "" else (val if len(val) == 1 else EXPAND)
    # The sentinels themselves are control characters: keep them out of the folded text.
    fast[ord(SEP)] = SEP
    fast[ord(EXPAND)] = SEP
    py = _pinyin_table()
    pinyin: dict[int, str] = {ord(ch): p for ch, p in py.items()}
    digits: dict[int, str] = {}
    for cp in range(0x10000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        if ch in CN_DIGITS:
            digits[cp] = "abcdefghij"[CN_DIGITS[ch]]
            continue
        f = fold[ch]
        if len(f) == 1 and f.isdigit() and f.isascii():
            digits[cp] = f
        elif f == "" or f == "加":
            digits[cp] = " "
        else:
            digits[cp] = "|"
    for lo, hi in _ASTRAL_SEPARATOR_RANGES:
        for cp in range(lo, hi + 1):
            digits[cp] = " "
    sep_cps = [ord(ch) for ch, v in fold.items() if v == ""]
    need_cps = [ord(ch) for ch, v in fold.items() if v != "" and v != ch]
    return FoldTables(
        fold={ch: v for ch, v in fold.items() if v != ch}, fast=fast, pinyin=pinyin, digits=digits,
        separators=re.compile(char_class(sep_cps) + "+"),
        content=re.compile("[^" + char_class(sep_cps)[1:] + "+"),
        digit_runs=re.compile(
            char_class([cp for cp, v in digits.items() if v not in (" ", "|")]) + "+"
        ),
        needs_fold=frozenset(chr(cp) for cp in need_cps),
        alnum_separators=frozenset(chr(cp) for cp in sep_cps if chr(cp).isalnum()),
        latin=frozenset(ch for ch, v in fold.items() if len(v) == 1 and "a" <= v <= "z"),
        homophones=_homophones(pinyin, fold),
    )


def _homophones(pinyin: dict[int, str], fold: dict[str, str]) -> dict[str, tuple[str, ...]]:
    by_syllable: dict[str, list[str]] = {}
    for cp, py in pinyin.items():
        ch = chr(cp)
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            continue
        if fold.get(ch, ch) == ch:
            by_syllable.setdefault(py, []).append(ch)
    return {k: tuple(v) for k, v in by_syllable.items()}


def homophones() -> dict[str, tuple[str, ...]]:
    """Toneless syllable -> common simplified characters with that reading (GB2312)."""
    return tables().homophones


def tables() -> FoldTables:
    """The process-wide folding tables (built on first use, thread-safe; read from the disk
    cache when an identical build was kept there, see `_cached_build`)."""
    global _TABLES
    if _TABLES is None:
        with _LOCK:
            if _TABLES is None:
                _TABLES = _cached_build()
    return _TABLES


def _cache_key() -> str:
    """What the tables depend on: this module's source, the lexicon's look-alikes (in it),
    the folding libraries' installed files (path, size, modification time: located without
    importing them or importlib.metadata, which would cost more start-up than the cache
    saves) and Python's version (unicodedata)."""
    import hashlib
    import sys
    from importlib.util import find_spec

    h = hashlib.sha256()
    src = Path(__file__)
    if src.suffix != ".py" and src.with_name("normalize.py").exists():
        src = src.with_name("normalize.py")  # compiled (setup.py): the source it came from
    h.update(src.read_bytes())
    h.update(__name__.encode())  # the pickle names this module's classes
    h.update(sys.version.encode())
    h.update(unicodedata.unidata_version.encode())
    for mod, data in (("pypinyin", "pinyin_dict.py"), ("opencc", "")):
        try:
            spec = find_spec(mod)
        except (ImportError, ValueError):
            spec = None
        files: list[Path] = []
        if spec is not None and spec.origin:
            files.append(Path(spec.origin))
            if data:
                files.append(Path(spec.origin).with_name(data))
        for f in files:
            try:
                st = f.stat()
                h.update(f"{mod}:{f}:{st.st_size}:{st.st_mtime_ns}".encode())
            except OSError:
                h.update(f"{mod}:{f}:-".encode())
        if not files:
            h.update(f"{mod}=-".encode())
    return h.hexdigest()[:24]


def cache_dir() -> Path | None:
    """Where built tables are kept between processes: ``PROBITY_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/probity`` or ``~/.cache/probity``; ``PROBITY_CACHE_DIR=off``: nowhere."""
    env = os.environ.get("PROBITY_CACHE_DIR")
    if env == "off":
        return None
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "probity"


def _cached_build() -> FoldTables:
    """The tables from the disk cache (a pickle named by `_cache_key`, written atomically by
    the first process that built them), or built here. A missing, unreadable or stale file
    only costs the build (about a second of CPU, mostly the pinyin table)."""
    import pickle

    folder = cache_dir()
    if folder is None:
        return _build()
    path = folder / f"fold-tables-{_cache_key()}.pickle"
    try:
        with path.open("rb") as fh:
            got = pickle.load(fh)
        if isinstance(got, FoldTables):
            return got
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError,
            ImportError):  # ImportError: pickled by a copy of this module under another name
        pass
    built = _build()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            pickle.dump(built, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home: build every time
    return built


def fold_term(term: str) -> str:
    """Fold a lexicon term exactly as message text is folded (without the offset map)."""
    fold = tables().fold
    return "".join(fold.get(ch, ch) for ch in term)


def to_pinyin(folded: str) -> str:
    return folded.translate(tables().pinyin)


# Offsets of units (an alias: Cython reads a ``list[int]`` parameter as "not None", which
# a cpdef declaration in normalize.pxd cannot state).
_Offsets: TypeAlias = "list[int]"


@cython.freelist(8)
@cython.cclass
class Folded:
    """A message folded into compact units, with each unit's original [start, end).

    A plain class with slots and the dataclass's ``__eq__``/``__repr__`` written out (as
    result.ScreeningResult): normalize.pxd makes it a C struct where setup.py compiles this
    module, so the engine reads ``compact``/``starts``/``ends`` as struct members."""

    __slots__ = ("compact", "ends", "starts", "text")

    def __init__(self, text: str, compact: str, starts: list[int], ends: list[int]) -> None:
        self.text = text
        self.compact = compact
        self.starts = starts
        self.ends = ends

    def orig_span(self, u_start: int, u_end: int) -> tuple[int, int]:
        """Original offsets of units [u_start, u_end)."""
        return self.starts[u_start], self.ends[u_end - 1]

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Folded)
        return (self.text, self.compact, self.starts, self.ends) == (
            other.text, other.compact, other.starts, other.ends)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        return (f"Folded(text={self.text!r}, compact={self.compact!r}, "
                f"starts={self.starts!r}, ends={self.ends!r})")


def _folded(text: str, compact: str, starts: _Offsets, ends: _Offsets) -> Folded:
    """``Folded(text, compact, starts, ends)`` without the call through ``__init__`` (struct
    stores where normalize.pxd compiles this module). The same object."""
    f = Folded.__new__(Folded)
    f.text = text
    f.compact = compact
    f.starts = starts
    f.ends = ends
    return f


ASCII_FOLD: dict[int, str | None] = {
    c: (chr(c).lower() if chr(c).isalnum() else None) for c in range(128)
}
# The same fold for ASCII text as bytes.translate arguments (a 256-byte table in C, no dict
# lookup per character): for ASCII text,
# text.encode().translate(ASCII_LOWER, ASCII_DROP).decode() == text.translate(ASCII_FOLD)
ASCII_LOWER: bytes = bytes(range(256)).lower()
ASCII_DROP: bytes = bytes(c for c in range(128) if not chr(c).isalnum())


def quick_compact(text: str) -> str | None:
    """The compact string through regexes only (no per-character table lookups), or None
    when some character needs the full table (then use :func:`fold_exact`)."""
    t = tables()
    if text.isascii():
        if "+" in text:
            return None  # "+" means 加: the full table knows
        return text.translate(ASCII_FOLD)
    s = t.separators.sub("", text)
    if not t.needs_fold.isdisjoint(s):
        return None
    return s


def _unit_offsets(one: str) -> tuple[list[int], list[int]]:
    """[start, end) of each character of a 1:1 fold that is not marked SEP. One loop
    (normalize.pxd types it where setup.py compiles this module: a C loop over the
    characters) instead of compress/map, which cost more than the loop compiled."""
    starts: list[int] = []
    ends: list[int] = []
    for i, c in enumerate(one):
        if c != "\x00":  # SEP
            starts.append(i)
            ends.append(i + 1)
    return starts, ends


try:  # C functions for the compiled loops (cimports: they resolve where Cython compiles)
    from cython.cimports.cpython.list import PyList_New, PyList_SET_ITEM
    from cython.cimports.cpython.mem import PyMem_Free, PyMem_Malloc
    from cython.cimports.cpython.ref import Py_INCREF
    from cython.cimports.cpython.unicode import (
        PyUnicode_4BYTE_KIND,
        PyUnicode_DATA,
        PyUnicode_FromKindAndData,
        PyUnicode_KIND,
        PyUnicode_READ,
    )
except (ImportError, AttributeError):  # interpreted (Cython's shadow module raises the latter)
    pass

_ONE_BMP: str | None = None  # see _one_bmp


def _one_bmp() -> str:
    """The ``fast`` table for the Basic Multilingual Plane as a string of 65,536 characters
    (character ``cp`` is what ``chr(cp)`` folds to: itself, another character, SEP or
    EXPAND), built on first use: where this module is compiled, a per-character look-up is
    an index into it (normalize.pxd), not a dict look-up."""
    global _ONE_BMP
    if _ONE_BMP is None:
        fast = tables().fast
        _ONE_BMP = "".join([fast.get(cp, chr(cp)) for cp in range(0x10000)])
    return _ONE_BMP


def strip_separators(s: str) -> str:
    """``tables().separators.sub("", s)``. Where normalize.pxd compiles it, one C loop over
    the characters with the BMP fold string (a separator is what folds to SEP there: the
    same characters as the regex's class) keeps the runs between separators; a character
    beyond the BMP, or the interpreted module, takes the regex."""
    if not _COMPILED:
        return tables().separators.sub("", s)
    out = _drop_separators(s, False)
    return out if out is not None else tables().separators.sub("", s)


def quick_strip(text: str) -> str:
    """The fast path's compact string of a text that is not ASCII: ``text`` without "，",
    " ", "。", "？", "！", "、", "~", "," and "." (separators all), and when what is left is
    not all letters and digits (``str.isalnum``), without every separator
    (:func:`strip_separators`). What is left can keep a separator that ``isalnum`` accepts
    (⓫, ↂ): those are anchors that send the message the exact way.

    Where normalize.pxd compiles it, one C loop drops every separator, which is that string
    unless a separator that ``isalnum`` accepts is among them (then, and beyond the BMP,
    :func:`_strip_chain`): with none such, the text without the nine is all letters and
    digits only if it holds no separator at all."""
    if not _COMPILED:
        return _strip_chain(text)
    out = _drop_separators(text, True)
    return out if out is not None else _strip_chain(text)


def _drop_separators(s: str, alnum_stops: bool) -> str | None:
    """``s`` without the characters the BMP fold string marks SEP, by one loop (C where
    compiled) keeping the runs between them; None where it cannot tell: a character beyond
    the BMP, or, with ``alnum_stops``, a separator that ``str.isalnum`` accepts (⓫)."""
    one = _ONE_BMP if _ONE_BMP is not None else _one_bmp()
    if _COMPILED:
        # Compiled: the kept characters go to a C buffer, read from the fold string's data
        # directly, and the result is made in one call (PyUnicode_FromKindAndData gives the
        # narrowest string, as the join does): no slice per run, no list, no join.
        n = len(s)
        kind = PyUnicode_KIND(one)
        data = PyUnicode_DATA(one)
        buf = cython.cast(cython.pointer(cython.Py_UCS4), PyMem_Malloc(n * 4 + 4))
        if not buf:
            raise MemoryError
        try:
            k = 0
            for c in s:
                cp = ord(c)
                if cp >= 0x10000:
                    return None
                if PyUnicode_READ(kind, data, cp) == 0:  # SEP ("\x00")
                    if alnum_stops and c.isalnum():
                        return None
                    continue
                buf[k] = c
                k += 1
            if k == n:
                return s
            return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, k)  # type: ignore[no-any-return]
        finally:
            PyMem_Free(buf)
    pieces: list[str] = []
    start = 0
    n = len(s)
    for i in range(n):
        c = s[i]
        cp = ord(c)
        if cp >= 0x10000:
            return None
        if one[cp] == "\x00":  # SEP
            if alnum_stops and c.isalnum():
                return None
            if i > start:
                pieces.append(s[start:i])
            start = i + 1
    if start == 0:
        return s
    if start < n:
        pieces.append(s[start:])
    return "".join(pieces)


def _strip_chain(text: str) -> str:
    """:func:`quick_strip` by ``str.replace`` (the commonest separators, C-level scans) and
    :func:`strip_separators` only where something else is left that is not a letter or a
    digit. (If the text without "，" and " " is all letters and digits, it holds none of the
    other seven either: the second round would leave it as it is.)"""
    quick = text.replace("，", "").replace(" ", "")
    if not quick.isalnum():
        quick = (quick.replace("。", "").replace("？", "").replace("！", "")
                 .replace("、", "").replace("~", "").replace(",", "").replace(".", ""))
        if not quick.isalnum():
            quick = strip_separators(quick)
    return quick


def _content_offsets(text: str) -> tuple[list[int], list[int]]:
    """[start, end) of each character of ``text`` that does not fold to nothing: the
    characters ``tables().content`` finds, as ``_unit_offsets(text.translate(fast))`` gives
    them (one C loop over the characters where normalize.pxd types it)."""
    one = _ONE_BMP if _ONE_BMP is not None else _one_bmp()
    if _COMPILED:
        # Compiled: the units' positions go to a C buffer (the fold string read from its
        # data), then each list is made at its final size and filled in place, as _fold_bmp
        # makes them.
        n = len(text)
        kind = PyUnicode_KIND(one)
        data = PyUnicode_DATA(one)
        pos = cython.cast(cython.pointer(cython.Py_ssize_t),
                          PyMem_Malloc(n * cython.sizeof(cython.Py_ssize_t) + 8))
        if not pos:
            raise MemoryError
        try:
            k = 0
            for i, c in enumerate(text):
                cp = ord(c)
                if cp < 0x10000:  # noqa: SIM108 (as below)
                    f = PyUnicode_READ(kind, data, cp)
                else:
                    f = tables().fast.get(cp, c)
                if f != "\x00":  # SEP
                    pos[k] = i
                    k += 1
            starts = PyList_New(k)  # (filled in place below: PyList_SET_ITEM takes a reference)
            ends = PyList_New(k)
            for j in range(k):
                v = pos[j]
                Py_INCREF(v)
                PyList_SET_ITEM(starts, j, v)
            for j in range(k):
                # an end that is the next unit's start is that start's int
                v = starts[j + 1] if j + 1 < k and pos[j + 1] == pos[j] + 1 else pos[j] + 1
                Py_INCREF(v)
                PyList_SET_ITEM(ends, j, v)
        finally:
            PyMem_Free(pos)
        return starts, ends
    starts = []
    ends = []
    for i, c in enumerate(text):
        cp = ord(c)
        if cp < 0x10000:  # noqa: SIM108 (compiled, the branches are a C character and a dict value)
            f = one[cp]
        else:
            f = tables().fast.get(cp, c)  # (beyond the BMP only: no look-up per message)
        if f != "\x00":  # SEP
            starts.append(i)
            ends.append(i + 1)
    return starts, ends


def _fold_bmp(text: str) -> Folded | None:
    """``fold_exact(text)`` where no character expands (None where one does), in one loop
    over the characters through the BMP fold string (normalize.pxd: a C loop, instead of
    ``str.translate`` with the dict, the offsets pass and ``replace``).

    Compiled, the loop writes the folded characters and their positions to C buffers and
    makes the compact string in one call (``PyUnicode_FromKindAndData``) and each offset
    list at its final size, instead of three list appends per character and a join; an end
    that is the next unit's start is that start's int. Interpreted, the lists and join."""
    one = _ONE_BMP if _ONE_BMP is not None else _one_bmp()
    if not _COMPILED:
        chars: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        for i, c in enumerate(text):
            cp = ord(c)
            if cp < 0x10000:  # noqa: SIM108 (compiled, the branches are a C character and a dict value)
                f = one[cp]
            else:
                f = tables().fast.get(cp, c)  # (beyond the BMP only: no look-up per message)
            if f == "\x00":  # SEP
                continue
            if f == "\x01":  # EXPAND
                return None
            chars.append(f)
            starts.append(i)
            ends.append(i + 1)
        return _folded(text, "".join(chars), starts, ends)
    n = len(text)
    buf = cython.cast(cython.pointer(cython.Py_UCS4), PyMem_Malloc(n * 4 + 4))
    pos = cython.cast(cython.pointer(cython.Py_ssize_t),
                      PyMem_Malloc(n * cython.sizeof(cython.Py_ssize_t) + 8))
    if not buf or not pos:
        PyMem_Free(buf)
        PyMem_Free(pos)
        raise MemoryError
    kind = PyUnicode_KIND(one)
    data = PyUnicode_DATA(one)
    try:
        k = 0
        for i, c in enumerate(text):
            cp = ord(c)
            if cp < 0x10000:  # noqa: SIM108 (as above)
                f = PyUnicode_READ(kind, data, cp)  # (one[cp], from the string's data)
            else:
                f = tables().fast.get(cp, c)
            if f == "\x00":  # SEP
                continue
            if f == "\x01":  # EXPAND
                return None
            buf[k] = f
            pos[k] = i
            k += 1
        compact = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, k)
        starts = PyList_New(k)  # (filled in place below: PyList_SET_ITEM takes a reference)
        ends = PyList_New(k)
        for j in range(k):
            v = pos[j]
            Py_INCREF(v)
            PyList_SET_ITEM(starts, j, v)
        for j in range(k):
            # an end that is the next unit's start is that start's int
            v = starts[j + 1] if j + 1 < k and pos[j + 1] == pos[j] + 1 else pos[j] + 1
            Py_INCREF(v)
            PyList_SET_ITEM(ends, j, v)
    finally:
        PyMem_Free(buf)
        PyMem_Free(pos)
    return _folded(text, compact, starts, ends)


def fold_exact(text: str, one: str | None = None, quick: str | None = None) -> Folded:
    """Fold with a full offset map (used only when a message has something worth mapping).

    With ``quick`` (the result of :func:`quick_compact`), every character folds to itself or
    to nothing and ``quick`` is the compact string already. Either way, when no character
    expands the map is the positions not marked SEP (:func:`_unit_offsets`).
    """
    if quick is not None:
        n = len(text)
        if len(quick) == n:  # nothing was dropped: unit i is character i
            return _folded(text, quick, list(range(n)), list(range(1, n + 1)))
        if _COMPILED:
            # The units are the characters that are not separators: one C loop over them.
            starts, ends = _content_offsets(text)
            if len(starts) == len(quick):
                return _folded(text, quick, starts, ends)
        else:
            # The same units through one regex pass and a C-level range per run of them
            # (interpreted, a table lookup per character costs more).
            starts = []
            for m in tables().content.finditer(text):
                starts.extend(range(m.start(), m.end()))
            if len(starts) == len(quick):
                return _folded(text, quick, starts, list(map((1).__add__, starts)))
    if one is None and quick is None and _COMPILED:
        folded = _fold_bmp(text)
        if folded is not None:
            return folded
    if one is None:
        one = text.translate(tables().fast)
    if quick is not None or EXPAND not in one:
        # 1:1 fold: the units are the characters not marked SEP.
        starts, ends = _unit_offsets(one)
        compact = quick if quick is not None else one.replace(SEP, "")
        return _folded(text, compact, starts, ends)
    fold = tables().fold
    chars: list[str] = []
    starts = []
    ends = []
    for i, c in enumerate(one):
        if c == SEP:
            continue
        if c == EXPAND:
            for u in fold.get(text[i], ""):
                chars.append(u)
                starts.append(i)
                ends.append(i + 1)
        else:
            chars.append(c)
            starts.append(i)
            ends.append(i + 1)
    return _folded(text, "".join(chars), starts, ends)


def digit_view(text: str) -> str:
    """A string as long as ``text``: ASCII digits for digits (a-j for Chinese numerals),
    a space for separators and '|' for anything else."""
    return text.translate(tables().digits)
