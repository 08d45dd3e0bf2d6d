# cython: annotation_typing=False
"""Numbers in messages: CN mobile phones, landlines, bank cards (Luhn), QQ numbers.

Works on the *digit view* of the original text (same length, so offsets need no mapping):
digits of any width, circled digits and Chinese numerals (一三八, 幺, 壹贰叁, 零) become
digits; separators become spaces. Groups of digits separated only by separators form a
cluster ("138 1234 5678", "138-1234-5678", "①③⑧ 1234 ５６７８"); a phone may also be spread
over several clusters across a sentence when the message talks about a phone or contact.

Full numbers are never logged or returned: hits carry offsets and a rule name only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from probity.screening.normalize import Folded, _one_bmp, tables

if TYPE_CHECKING:
    from probity.screening.engine import Hit, _Ctx
    from probity.screening.policy import CompiledPolicy

_GROUP: Final = re.compile(r"[0-9a-j]+")
_CN_TO_DIGIT: Final = str.maketrans("abcdefghij", "0123456789")
_MOBILE: Final = re.compile(r"(?:0086|86)?(1[3-9]\d{9})")
_LANDLINE: Final = re.compile(r"(?:0086|86)?(0[1-9]\d{1,2}\d{7,8})")
_CN_MOBILE_BLOCKS: Final = re.compile(
    r"1(?:3\d|4[5-9]|5[0-35-9]|6\d|7\d|8\d|9\d)\d{8}"
)
# A masked number (138****5678, 尾号 **0038, 159xxxx0038): its digits give nothing away, and
# they are never joined with other digits into a phone spread across a sentence.
_MASK: Final = re.compile(r"[*＊×✱●•]{2,}|[xX]{3,}")
_CONTEXT_DISTANCE: Final = 12  # original characters between a cue and the number


@dataclass
class _Group:
    start: int
    end: int
    digits: str
    alnum: bool  # glued to Latin letters: a tracking or model number

    def __init__(self, start: int, end: int, digits: str, alnum: bool) -> None:
        # Written out: compiled with this module (the generated __init__ is interpreted).
        self.start = start
        self.end = end
        self.digits = digits
        self.alnum = alnum


def _new_group(start: int, end: int, digits: str, alnum: bool) -> _Group:
    """``_Group(start, end, digits, alnum)`` without the call through the type (struct
    stores where numbers.pxd compiles this module). The same object."""
    g = _Group.__new__(_Group)
    g.start = start
    g.end = end
    g.digits = digits
    g.alnum = alnum
    return g


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def is_cn_mobile(digits: str) -> bool:
    """A mainland mobile number: 11 digits in an allocated 1xx block.

    The blocks cover libphonenumber's CN mobile ranges (slightly wider: data-only and
    satellite blocks count too); a regex keeps this on the hot path without a parse per
    candidate. A test checks every number phonenumbers calls a CN mobile is matched.
    """
    return len(digits) == 11 and _CN_MOBILE_BLOCKS.fullmatch(digits) is not None


def _latin(ch: str) -> bool:
    return ch in tables().latin


try:  # True where setup.py compiled this module (Cython's pure-Python mode constant)
    import cython

    _COMPILED: Final = bool(cython.compiled)
except ImportError:  # no Cython: the sources run as they are
    _COMPILED = False  # type: ignore[misc]

_DIGITS_BMP: str | None = None  # see _digits_bmp


def _digits_bmp() -> str:
    """``tables().digits`` for the Basic Multilingual Plane as a string of 65,536 characters
    (character ``cp`` is the digit view of ``chr(cp)``), built on first use: where this module
    is compiled, :func:`_groups` indexes it instead of scanning with the ``digit_runs`` regex
    and translating each run through the dict."""
    global _DIGITS_BMP
    if _DIGITS_BMP is None:
        digits = tables().digits
        _DIGITS_BMP = "".join([digits.get(cp, chr(cp)) for cp in range(0x10000)])
    return _DIGITS_BMP


def _groups(text: str) -> list[_Group]:
    """The runs of digit-like characters (any width, Chinese numerals in runs of three or
    more): :func:`_groups_loop` where this module is compiled, else :func:`_groups_regex`."""
    return _groups_loop(text) if _COMPILED else _groups_regex(text)


def _groups_regex(text: str) -> list[_Group]:
    t = tables()
    out: list[_Group] = []
    n = len(text)
    for m in t.digit_runs.finditer(text):
        raw = m.group().translate(t.digits)
        if len(raw) < 3 and not any(c.isdigit() for c in raw):
            continue  # 一个, 十一: Chinese numerals count only in runs of three or more
        s, e = m.span()
        alnum = (s > 0 and _latin(text[s - 1])) or (e < n and _latin(text[e]))
        out.append(_Group(s, e, raw.translate(_CN_TO_DIGIT), alnum))
    return out


def _groups_loop(text: str) -> list[_Group]:
    """:func:`_groups_regex` as one loop over the characters (numbers.pxd: a C loop): the
    runs ``digit_runs`` finds are the characters whose digit view is a digit or a Chinese
    numeral (a-j), all in the BMP (the view of any other character is a space, a bar or
    itself); a run of ASCII digits is its own digit string."""
    view = _DIGITS_BMP if _DIGITS_BMP is not None else _digits_bmp()
    latin = tables().latin
    out: list[_Group] = []
    n = len(text)
    i = 0
    while i < n:
        cp = ord(text[i])
        if cp >= 0x10000:
            i += 1
            continue
        v = view[cp]
        if not ("0" <= v <= "9" or "a" <= v <= "j"):
            i += 1
            continue
        s = i
        plain = True  # ASCII digits only
        has_digit = False  # a digit in the view (not only Chinese numerals)
        while i < n:
            cp = ord(text[i])
            if cp >= 0x10000:
                break
            v = view[cp]
            if "0" <= v <= "9":
                has_digit = True
                if cp != ord(v):
                    plain = False
            elif "a" <= v <= "j":
                plain = False
            else:
                break
            i += 1
        e = i
        if e - s < 3 and not has_digit:
            continue  # 一个, 十一: Chinese numerals count only in runs of three or more
        digits = text[s:e] if plain else _run_digits(text, s, e, view)
        alnum = (s > 0 and text[s - 1] in latin) or (e < n and text[e] in latin)
        out.append(_new_group(s, e, digits, alnum))
    return out


def _run_digits(text: str, s: int, e: int, view: str) -> str:
    """``text[s:e].translate(tables().digits).translate(_CN_TO_DIGIT)`` for a run of
    :func:`_groups_loop` (every character in the BMP, its digit view ``view[cp]`` a digit or
    one of a-j): the view's characters with a-j as 0-9, one byte each (numbers.pxd: a C loop
    instead of two translations through dicts)."""
    out = bytearray(e - s)
    for i in range(s, e):
        v = view[ord(text[i])]
        out[i - s] = ord(v) - 49 if v >= "a" else ord(v)  # (a-j: "a" is 97, "0" 48)
    return out.decode("ascii")


def _only_separators(text: str, a: int, b: int) -> bool:
    """``tables().separators.fullmatch(text, a, b) is not None`` (one or more separators):
    where numbers.pxd compiles it, a C loop over the BMP fold string (a separator is what
    folds to SEP there, as normalize.strip_separators reads it); the regex beyond the BMP
    and interpreted."""
    if not _COMPILED:
        return tables().separators.fullmatch(text, a, b) is not None
    if b <= a:
        return False
    one = _ONE_BMP if _ONE_BMP is not None else _load_one_bmp()
    for i in range(a, b):
        cp = ord(text[i])
        if cp >= 0x10000:
            return tables().separators.fullmatch(text, a, b) is not None
        if one[cp] != "\x00":  # not SEP
            return False
    return True


_ONE_BMP: str | None = None  # normalize._one_bmp(), kept on first use


def _load_one_bmp() -> str:
    global _ONE_BMP
    _ONE_BMP = _one_bmp()
    return _ONE_BMP


def _clusters(text: str, groups: list[_Group]) -> list[list[_Group]]:
    clusters: list[list[_Group]] = []
    for g in groups:
        if clusters and not clusters[-1][-1].alnum and not g.alnum:
            prev = clusters[-1][-1]
            if _only_separators(text, prev.end, g.start):
                clusters[-1].append(g)  # only separators between: 138 1234 5678
                continue
        clusters.append([g])
    return clusters


def _nearest_cue(
    start: int, kinds: tuple[str, ...], ctx: _Ctx, folded: Folded
) -> str | None:
    """The context kind whose phrase ends closest before original offset ``start``."""
    best: str | None = None
    best_e = -1
    by_kind = ctx.by_kind
    ends = folded.ends
    for kind in kinds:
        spans = by_kind.get(kind)
        if spans is None:
            continue
        for _us, ue in spans:
            oe = ends[ue - 1]
            if oe <= start and start - oe <= _CONTEXT_DISTANCE and (best is None or oe > best_e):
                best = kind
                best_e = oe
    return best


def _allowed(digits: str, policy: CompiledPolicy) -> bool:
    core = digits
    for prefix in ("0086", "86"):
        if core.startswith(prefix) and len(core) - len(prefix) >= 10:
            core = core[len(prefix) :]
            break
    if core in policy.allow_numbers or digits in policy.allow_numbers:
        return True
    for p in policy.allow_number_prefixes:  # noqa: SIM110 (a loop: cpdef, no closure)
        if core.startswith(p):
            return True
    return False


_HIT: type[Hit] | None = None


def _load_hit() -> type[Hit]:
    """engine.Hit, imported on first use and kept (engine imports this module; an import
    statement inside find_number_hits ran the import machinery on every call)."""
    global _HIT
    from probity.screening.engine import Hit

    _HIT = Hit
    return Hit


def _masked(text: str, lo: int, hi: int) -> bool:
    """``_MASK.search(text, lo, hi) is not None``; where numbers.pxd compiles it, a C loop
    first rules out a window without any of the mask characters (most of them)."""
    if _COMPILED:
        for i in range(lo, hi):
            if text[i] in "*＊×✱●•xX":
                break
        else:
            return False
    return _MASK.search(text, lo, hi) is not None


def find_number_hits(text: str, folded: Folded, ctx: _Ctx, policy: CompiledPolicy) -> list[Hit]:
    hit_type = _HIT or _load_hit()

    groups = _groups(text)
    if not groups:
        return []
    hits: list[Hit] = []
    cue_kinds = ("number_context", "phone_cue", "bank_cue", "qq_cue")
    official = ctx.has("official_number")
    phone_talk = ctx.has("phone_cue") or ctx.has("cue_contact")
    clusters = _clusters(text, groups)
    free: list[list[_Group]] = []

    n_text = len(text)
    for cl in clusters:
        if cl[0].alnum:
            continue
        s0, e0 = cl[0].start, cl[-1].end
        if _masked(text, s0 - 3 if s0 > 3 else 0, e0 + 3 if e0 + 3 < n_text else n_text):
            continue  # a masked number: never a contact, alone or joined with others
        nearest = _nearest_cue(s0, cue_kinds, ctx, folded)
        whole = ""
        for g in cl:  # (a loop, not "".join(<generator>): numbers.pxd compiles it)
            whole += g.digits
        if 16 <= len(whole) <= 19:
            bank_cue = ctx.has("bank_cue") and nearest != "number_context"
            if luhn_ok(whole) and (bank_cue or (
                    whole.startswith("62") and nearest != "number_context"
                    and not ctx.has("number_context"))):
                hits.append(hit_type([(cl[0].start, cl[-1].end)], "payment", 3, "bank_card"))
                continue
            if bank_cue and not ctx.has("number_context"):
                # A card number that fails Luhn, next to "卡号"/"打到卡": mistyped or disguised.
                hits.append(hit_type([(cl[0].start, cl[-1].end)], "payment", 2,
                                     "bank_card_unchecked"))
                continue
        found = False
        for i in range(len(cl)):
            acc = ""
            for j in range(i, len(cl)):
                acc += cl[j].digits
                if len(acc) > 15:
                    break
                # (_MOBILE matches 11, 13 or 15 characters only: no regex call otherwise)
                n_acc = len(acc)
                m = (_MOBILE.fullmatch(acc) if n_acc == 11 or n_acc == 13 or n_acc == 15
                     else None)
                kind = ""
                if m is not None and is_cn_mobile(m.group(1)):
                    kind = "phone"
                elif i == 0 and ctx.has("phone_cue") and _LANDLINE.fullmatch(acc):
                    kind = "landline"
                if not kind:
                    continue
                found = True
                if _allowed(acc, policy) or (nearest == "number_context" and i == 0):
                    break  # an official line, or an order number that looks like a phone
                if kind == "landline" and official:
                    break  # 门店电话 021-..., 客服热线: the company's own line
                sev = 3 if kind == "phone" else 2
                hits.append(hit_type([(cl[i].start, cl[j].end)], "contact", sev, kind))
                break
            if found:
                break
        if found:
            continue
        if ctx.has("qq_cue") and 5 <= len(whole) <= 11 and nearest == "qq_cue":
            hits.append(hit_type([(cl[0].start, cl[-1].end)], "contact", 3, "qq_number"))
            continue
        if nearest != "number_context":
            free.append(cl)

    # A phone spread across a sentence: 我电话138，中间1234，最后5678.
    if phone_talk and len(free) >= 2:
        for i in range(len(free)):
            acc = ""
            segs: list[tuple[int, int]] = []
            for j in range(i, min(len(free), i + 4)):
                if j > i and free[j][0].start - free[j - 1][-1].end > 16:
                    break
                for g in free[j]:
                    acc += g.digits
                segs.append((free[j][0].start, free[j][-1].end))
                if len(acc) > 13:
                    break
                n_acc = len(acc)
                m = (_MOBILE.fullmatch(acc) if n_acc == 11 or n_acc == 13 or n_acc == 15
                     else None)
                if j > i and m is not None and is_cn_mobile(m.group(1)):
                    if not _allowed(acc, policy):
                        hits.append(hit_type(segs, "contact", 3, "phone_split"))
                    return hits
    return hits
