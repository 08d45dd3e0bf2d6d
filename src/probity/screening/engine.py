# cython: annotation_typing=False
"""`screen_message`: fold once, match once, apply context rules, decide.

Pipeline for one message (see normalize.py for the folding):

1. fast path: drop separators with one regex and run ONE Aho-Corasick scan (policy's
   ``_automaton``: the compiled ``_ac`` or ahocorasick-rs) over the compact text for
   *anchors* (the most specific part of each term, and its compile-time homophone / pinyin
   spellings), digits, and characters needing the full fold table
   (traditional, full-width, look-alikes). Nothing there, no "@": allow. Most traffic ends
   here in a few microseconds;
2. otherwise fold exactly with a map back to original offsets and scan every key (terms,
   allow-list, context phrases) once; assemble hits: gap terms ("加*微信"), intent cues for
   ambiguous terms (微信 alone needs 加/号/多少... nearby; 薇信 does not), contact IDs after a
   channel word, numbers (CN mobiles in any disguise, landlines, Luhn-checked bank cards,
   QQ numbers), e-mails and links;
3. context rules drop hits: allow-list overlap (微信支付, 平台红包), negation in the same
   clause (请勿加微信, 红包我不能收), coupon context for 红包, identity verification (后四位),
   invoices for e-mail, account context for one's own number, scam reports and questions;
4. severity per category -> decision through the policy's thresholds and per-role actions;
   an agent declining (不能收, 心领了, can't accept) adds the positive category ``refusal``.

Offsets in spans are Python code-point offsets into the original text.
"""

from __future__ import annotations

import re
import threading
from array import array
from collections.abc import Callable, Iterable, Sequence
from itertools import accumulate, repeat
from typing import Any, Final

from probity.screening import numbers
from probity.screening.normalize import (
    ASCII_DROP,
    ASCII_LOWER,
    Folded,
    FoldTables,
    fold_exact,
    quick_strip,
    tables,
)
from probity.screening.numbers import find_number_hits
from probity.screening.payloads import classify_payload
from probity.screening.policy import (
    AGENT_ONLY,
    ASK_MARK,
    CATEGORIES,
    CONTEXT_KINDS,
    DECISIONS,
    DIGIT_MARK,
    FOLD_MARK,
    OFFER_MARK,
    OWN_AUTOMATON,
    ROLES,
    SOLICIT_MARK,
    CompiledPolicy,
    LexiconEntry,
    default_policy,
)
from probity.screening.result import (
    COUPON_SENSITIVE,
    EMAIL,
    ID_FOLLOWS,
    NEEDS_CUE,
    OWN_NUMBER,
    PINNED,
    EntryInfo,
    ScreeningResult,
    Span,
    allow_result,
    entry_flags,
    make_span,
    rules_result,
)
from probity.screening.scope import _CODE_TOKEN, _drop_code_tokens, _refusal_scope

try:  # True where setup.py compiled this module (Cython's pure-Python mode constant)
    import cython

    _COMPILED: Final = bool(cython.compiled)
except ImportError:  # no Cython: the sources run as they are
    _COMPILED = False  # type: ignore[misc]
    from probity.screening._nocython import cython
try:  # C functions for _mask_segments (cimports: they resolve where Cython compiles)
    from cython.cimports.cpython.mem import PyMem_Free, PyMem_Malloc
    from cython.cimports.cpython.unicode import PyUnicode_4BYTE_KIND, PyUnicode_FromKindAndData
except (ImportError, AttributeError):  # interpreted (Cython's shadow module raises the latter)
    pass

_DECISION_RANK: Final = {"allow": 0, "warn": 1, "block": 2}
_NO_ACTIONS: Final[dict[str, str]] = {}  # a role without actions (never written to)
_CN_DIGIT_RUN: Final = re.compile(r"[零一二三四五六七八九幺洞拐勾]{3}")
_ANY_DIGIT: Final = re.compile(r"[0-9]")
_AT: Final = re.compile(r"[@＠]")
_NONZERO: Final = re.compile(r"[1-9]")
_QUESTION_AFTER: Final = re.compile(r"\s*[?？]")
_POST_NEGATIONS: Final = frozenset({
    "不用", "不要", "不收", "不能收", "不需要", "不必", "免了", "算了", "拒收", "不接受", "不能要",
    "不可以收", "no need", "noneed", "not needed",
})
_DIGIT_OR_CN: Final = re.compile(r"[0-9]|[零一二三四五六七八九幺洞拐勾]{3}")
_BANK_WORDS: Final = ("卡", "账", "card", "account", "bank", "iban")
_QQ_WORDS: Final = ("qq", "扣扣", "企鹅", "q号", "球球", "q我", "口口", "koukou")
_CLAUSE_BREAK: Final = re.compile(r"[，。！？；,!?;\n]|\.(?:\s|$)")
_ID_AFTER: Final = re.compile(
    r"(?:[\s:：=\-—>~～(（]|是|为|號|号|码|id|ID|Id){0,6}?"
    r"([A-Za-z0-9Ａ-Ｚａ-ｚ０-９][A-Za-z0-9Ａ-Ｚａ-ｚ０-９_\-.]{4,19})"
)
_EMAIL: Final = re.compile(
    r"[A-Za-z0-9Ａ-Ｚａ-ｚ０-９._%+\-]{1,64}\s?(?:[@＠]|\(at\)|\[at\])\s?"
    r"([A-Za-z0-9Ａ-Ｚａ-ｚ０-９\-]{1,63}(?:\s?(?:[.．]|\(dot\)|\[dot\])\s?"
    r"[A-Za-z0-9Ａ-Ｚａ-ｚ０-９\-]{1,63})+)"
)
_ROLE_MAILBOXES: Final = frozenset({
    "service", "services", "support", "help", "helpdesk", "info", "kefu", "cs", "customerservice",
    "invoice", "invoices", "fapiao", "noreply", "no-reply", "admin", "hr", "sales", "contact",
    "feedback", "billing", "aftersales", "shouhou", "care", "vip",
})
_COMPACT_EMAIL_DOMAIN: Final = re.compile(
    r"(?:163|126|qq|gmail|hotmail|outlook|sina|sohu|yahoo|foxmail|icloud|aliyun|139|yeah)"
    r"(?:com|cn|net)(?:cn)?(?![a-z])"
)
# The provider names of _COMPACT_EMAIL_DOMAIN: it can match only where one of them occurs
# (substring tests first: its scan tries every name at every position).
_EMAIL_PROVIDERS: Final = ("163", "126", "qq", "gmail", "hotmail", "outlook", "sina", "sohu",
                           "yahoo", "foxmail", "icloud", "aliyun", "139", "yeah")
_URL: Final = re.compile(
    r"(?:https?://|www\.|\b(?:t|wa)\.me/|wxp://|alipays?://)[^\s，。！？、\"'<>()（）]+", re.I
)

# A bit per context kind (CONTEXT_KINDS' order): _screen_slow ORs each match's kinds
# (_View.kind_bits) into one int and tests the kinds it asks about as bits of it, not as keys
# of ctx.by_kind (a dict look-up each). engine.pxd makes the ones tested C ints.
_KIND_BITS: Final = {kind: 1 << i for i, kind in enumerate(CONTEXT_KINDS)}
K_OFFER = _KIND_BITS["offer"]
K_BENEFIT = _KIND_BITS["benefit"]
K_FAVOR = _KIND_BITS["favor"]
K_SOLICIT = _KIND_BITS["solicit"]
K_FAVOR_OFFER = _KIND_BITS["favor_offer"]
K_CHANNEL_NOUN = _KIND_BITS["channel_noun"]
K_CONTACT_REQUEST = _KIND_BITS["contact_request"]
K_PRIVATE = _KIND_BITS["private"]
K_OFFICIAL_NUMBER = _KIND_BITS["official_number"]
K_VERIFY = _KIND_BITS["verify"]
K_COUPON = _KIND_BITS["coupon"]
K_INVOICE = _KIND_BITS["invoice"]
K_ACCOUNT = _KIND_BITS["account"]
K_ACCOUNT_PHONE = _KIND_BITS["account_phone"]
K_DECLINE = _KIND_BITS["decline"]
K_REFUSAL_STRONG = _KIND_BITS["refusal_strong"]
K_REFUSAL = _KIND_BITS["refusal"]
K_REPORT = _KIND_BITS["report"]
K_NEGATION = _KIND_BITS["negation"]
K_NEGATION_NEAR = _KIND_BITS["negation_near"]


@cython.freelist(16)
@cython.cclass
class Hit:
    """A candidate finding before context rules: original-offset segments plus units.

    A plain class with slots (engine.pxd makes it a C struct where the engine is compiled):
    ``us``/``ue`` are the unit span of a term hit, -1 for numbers and links; ``flags`` the
    entry's booleans (result.EntryInfo.flags; 0 without an entry)."""

    __slots__ = ("category", "entry", "flags", "literal", "part_units", "rule", "segs",
                 "severity", "ue", "us")

    def __init__(self, segs: list[tuple[int, int]], category: str, severity: int, rule: str,
                 us: int = -1, ue: int = -1, part_units: list[tuple[int, int]] | None = None,
                 entry: LexiconEntry | None = None, literal: bool = True) -> None:
        self.flags = 0 if entry is None else entry_flags(entry)
        self.segs = segs
        self.category = category
        self.severity = severity
        self.rule = rule
        self.us = us
        self.ue = ue
        self.part_units: list[tuple[int, int]] = [] if part_units is None else part_units
        self.entry = entry
        self.literal = literal

    def __repr__(self) -> str:
        return (f"Hit(segs={self.segs!r}, category={self.category!r}, "
                f"severity={self.severity!r}, rule={self.rule!r}, us={self.us!r}, "
                f"ue={self.ue!r}, part_units={self.part_units!r}, entry={self.entry!r}, "
                f"literal={self.literal!r}, flags={self.flags!r})")


@cython.freelist(8)
@cython.cclass
class _Ctx:
    """Context phrase matches of one message, by kind: unit spans."""

    __slots__ = ("by_kind",)

    def __init__(self) -> None:
        self.by_kind: dict[str, list[tuple[int, int]]] = {}

    def get(self, kind: str) -> list[tuple[int, int]]:
        return self.by_kind.get(kind, [])

    def has(self, kind: str) -> bool:
        return kind in self.by_kind


class _View:
    """The tables of one compiled policy that the per-message code reads, gathered once per
    policy (engine.pxd makes this a C struct: a field read instead of an attribute look-up
    on the policy's dataclass, or on its HotTables named tuple, per table per message).
    A compiled policy is immutable once built, so its view never goes stale."""

    __slots__ = ("actions", "anchor_flags", "anchor_matcher", "anchor_needs", "benefit_keys",
                 "block_at", "cue_window", "favor_keys", "favor_offer_keys", "first", "info",
                 "key_lat", "key_latin", "kind_bits", "lex", "lexicon", "matcher", "model",
                 "more", "multi", "negation_window", "other", "own_anchor", "own_matcher", "plain",
                 "request_keys", "single", "version", "warn_at")

    def __init__(self, policy: CompiledPolicy) -> None:
        hot = policy.hot
        self.anchor_matcher = policy.anchor_matcher
        self.matcher = policy.matcher
        # The same automata where they are the compiled _ac.Automaton (engine.pxd types these
        # fields: the scans are then C method calls), else None (ahocorasick-rs: the pure
        # path, or _ac not built).
        own = OWN_AUTOMATON
        self.own_anchor = (policy.anchor_matcher
                           if own is not None and type(policy.anchor_matcher) is own else None)
        self.own_matcher = (policy.matcher
                            if own is not None and type(policy.matcher) is own else None)
        self.anchor_flags = policy.anchor_flags
        self.anchor_needs = policy.anchor_needs
        self.request_keys = policy.request_keys
        self.benefit_keys = policy.benefit_keys
        self.favor_keys = policy.favor_keys
        self.favor_offer_keys = policy.favor_offer_keys
        self.key_latin = policy.key_latin
        # The same per key id as a byte (1: starts, 2: ends with a Latin letter): the scan's
        # loop reads one byte of a small array per match, not a list item and its pair.
        key_lat = bytearray(len(policy.key_latin))
        for kid, (lat_s, lat_e) in enumerate(policy.key_latin):
            key_lat[kid] = (1 if lat_s else 0) | (2 if lat_e else 0)
        self.key_lat = key_lat
        self.version = policy.spec.version
        self.model = policy.model
        self.cue_window = policy.cue_window
        self.negation_window = policy.negation_window
        self.actions = policy.actions
        self.block_at = policy.block_at
        self.warn_at = policy.warn_at
        self.plain = hot.plain
        self.other = hot.other
        # Per key id, the bits (_KIND_BITS) of its context kinds (0: none, or a plain key).
        kind_bits = array("i", [0]) * len(hot.other)
        for kid, info in enumerate(hot.other):
            if info is not None and info[3]:
                bits = 0
                for kind in info[3]:
                    bits |= _KIND_BITS.get(kind, 0)
                kind_bits[kid] = bits
        self.kind_bits = kind_bits
        self.single = hot.single
        self.more = hot.more
        self.lexicon = hot.lexicon
        self.lex = hot.lex
        self.first = hot.first
        self.multi = hot.multi
        self.info = hot.info


# The last policy's view, with the policy: one reference, so a thread switching policies
# never pairs one policy with another's view (the policy it holds stays alive, so no other
# policy can take its id).
_VIEW: tuple[CompiledPolicy, _View] | None = None


def _view_of(policy: CompiledPolicy) -> _View:
    cached = _VIEW
    if cached is not None and cached[0] is policy:
        return cached[1]
    return _new_view(policy)


def _new_view(policy: CompiledPolicy) -> _View:
    global _VIEW
    view = _View(policy)
    _VIEW = (policy, view)
    return view


def _allow_result(text: str, version: int) -> ScreeningResult:
    return allow_result(text, version)


def _is_latin_char(ch: str) -> bool:
    latin = _LATIN if _LATIN is not None else _load_tables().latin
    return ch in latin


def screen_message(text: str, role: str, policy: CompiledPolicy | None = None) -> ScreeningResult:
    """Screen one chat message sent by ``role`` ("customer" or "agent"): the lexicon rules,
    then the policy's learned intent layer (if any) on what the rules allowed."""
    if policy is None:
        policy = default_policy()
    res, compact = _screen_rules(text, role, policy)
    model = _view_of(policy).model
    if model is None or not text:
        return res
    with_model = _WITH_MODEL or _load_with_model()
    return with_model(res, text, role, policy, model, compact)


_WITH_MODEL: Callable[..., ScreeningResult] | None = None


def _load_with_model() -> Callable[..., ScreeningResult]:
    """learned.with_model, imported on first use (learned imports this module)."""
    global _WITH_MODEL
    from probity.screening.learned import with_model

    _WITH_MODEL = with_model
    return with_model


def screen_rules(text: str, role: str, policy: CompiledPolicy | None = None) -> ScreeningResult:
    """The lexicon layer alone (spans, masking, official-context rules)."""
    if policy is None:
        policy = default_policy()
    return _screen_rules(text, role, policy)[0]


def _screen_rules(text: str, role: str, policy: CompiledPolicy
                  ) -> tuple[ScreeningResult, str | None]:
    """:func:`screen_rules`, plus the compact string the rules folded the text to when it is
    a 1:1 fold (every character to itself, one character or nothing): the learned layer
    takes its view from it instead of folding the text again (``IntentModel.score``).
    None where the text is ASCII with "+" (the model's ASCII view drops it, the rules read
    加)."""
    if role != "customer" and role != "agent":
        raise ValueError(f"role must be one of {ROLES}, not {role!r}")
    view = _view_of(policy)
    # Fast path, inlined: most messages end here after C-level passes only (separators
    # removed, one Aho-Corasick scan for anchors, digits and characters needing folding).
    if text.isascii():
        plus = "+" in text
        quick = text.encode().translate(ASCII_LOWER, ASCII_DROP).decode() if not plus else ""
    else:
        # Separators out: the commonest first, and the whole table only if something else
        # is left that is not a letter or digit. Once isalnum() holds, what is left is the
        # compact string, except separators that isalnum() accepts (⓫, ↂ): those are
        # FOLD_MARK anchors, so they go the exact way (normalize.quick_strip).
        quick = quick_strip(text)
        plus = False
    if not plus:
        # The anchors: from the compiled automaton as C int triples (_ac.Matches, see
        # _screen_slow), from ahocorasick-rs as a list of tuples.
        own = view.own_anchor
        found: Any = None  # (an _ac.Matches: typed in engine.pxd)
        matches: list[tuple[int, int, int]] = []
        if own is not None:
            found = own.scan(quick)
            n_found = found.n
        else:
            matches = view.anchor_matcher.find_matches_as_indexes(quick, overlapping=True)
            n_found = len(matches)
        # No anchor (so no run of Chinese numerals either: every pair of them is one), no
        # e-mail: only ASCII digits can still matter (an order number, an amount).
        if (not n_found and "@" not in text and "＠" not in text
                and (quick.isalpha() or not _ascii_digits_count(quick, text))):
            return allow_result(text, view.version), quick
        flags = view.anchor_flags
        fold_needed = False
        for j in range(n_found):
            aid = found.buf[3 * j] if own is not None else matches[j][0]
            if flags[aid] & FOLD_MARK:
                fold_needed = True
                break
        if not fold_needed:
            if not _worth_a_look(text, quick, role, policy,
                                 found if own is not None else matches):
                return allow_result(text, view.version), quick
            folded = fold_exact(text, None, quick)
        else:
            folded = fold_exact(text)
            if not _worth_a_look(text, folded.compact, role, policy):
                return (allow_result(text, view.version),
                        _one_to_one(folded))
    else:
        folded = fold_exact(text)
        if not _worth_a_look(text, folded.compact, role, policy):
            return _allow_result(text, view.version), None
    return _screen_slow(text, role, policy, folded), None if plus else _one_to_one(folded)


def _one_to_one(folded: Folded) -> str | None:
    """The compact string when no character expanded to several units (⑩, ligatures, 🐧:
    their units share one start), else None."""
    # The starts never decrease, so a repeat is a neighbour's (one pass, no set).
    starts = folded.starts
    prev = -1
    for s in starts:
        if s == prev:
            return None
        prev = s
    return folded.compact


_TABLES: FoldTables | None = None
_LATIN: frozenset[str] | None = None  # _TABLES.latin (a module global: no attribute look-up)


def _load_tables() -> FoldTables:
    global _TABLES, _LATIN
    _TABLES = tables()
    _LATIN = _TABLES.latin
    return _TABLES


_BATCH_SEP: Final = "\u9f98"  # 龘: folds to itself and is in no lexicon key


def screen_batch(
    items: Sequence[tuple[str, str]], policy: CompiledPolicy | None = None
) -> list[ScreeningResult]:
    """Screen many ``(text, role)`` messages with one policy (the CLI's batch mode).

    Each message goes through :func:`screen_message`; a joined-string prefilter was tried
    and measured no faster than the per-message fast path, so it was dropped.
    """
    if policy is None:
        policy = default_policy()
    return [screen_message(t, r, policy) for t, r in items]


def _any_in(keys: Iterable[str], s: str) -> bool:
    """any(k in s for k in keys), without a generator (engine.pxd compiles the callers as
    cpdef functions, which cannot hold a closure)."""
    for k in keys:  # noqa: SIM110
        if k in s:
            return True
    return False


def _all_in(keys: Iterable[str], s: str) -> bool:
    """all(k in s for k in keys), without a generator."""
    for k in keys:  # noqa: SIM110
        if k not in s:
            return False
    return True


def _worth_a_look(
    text: str,
    compact: str,
    role: str,
    policy: CompiledPolicy,
    matches: Any = None,
) -> bool:
    """Does anything in this (folded) message deserve the full analysis? ``matches``: the
    anchors' matches in ``compact`` where the caller has them (an _ac.Matches where the policy
    has the compiled automaton, else ahocorasick-rs's list)."""
    if not compact:
        return False
    view = _view_of(policy)
    found: Any = None  # (an _ac.Matches: typed in engine.pxd)
    if matches is None:
        if view.own_anchor is not None:
            found = view.own_anchor.scan(compact)
            n_found = found.n
        else:
            matches = view.anchor_matcher.find_matches_as_indexes(compact, overlapping=True)
            n_found = len(matches)
    elif type(matches) is list:
        n_found = len(matches)
    else:
        found = matches
        n_found = found.n
    needs = view.anchor_needs
    aflags = view.anchor_flags
    flags = 0
    for j in range(n_found):
        aid = found.buf[3 * j] if found is not None else matches[j][0]
        flags |= aflags[aid]
        for others in needs[aid]:
            if not others:
                return True  # an entry complete with its anchor alone, or a link
            if others[0] in compact and (len(others) == 1 or _all_in(others, compact)):
                return True  # some entry anchored here may be complete
    if flags & AGENT_ONLY and role == "agent":
        return True  # a refusal phrase: the agent may be declining an offer
    if flags & ASK_MARK and _any_in(view.request_keys, compact):
        return True  # a way to be contacted, asked for or offered
    if (flags & OFFER_MARK and role == "customer"
            and _any_in(view.benefit_keys, compact)
            and _any_in(view.favor_keys, compact)):
        return True  # something of value offered for a favour
    if (flags & SOLICIT_MARK and role == "agent"
            and _any_in(view.benefit_keys, compact)
            and _any_in(view.favor_offer_keys, compact)):
        return True  # an agent asking for something of value for a favour
    digits = bool(flags & DIGIT_MARK) or _any_ascii_digit(compact)
    if digits and _has_digits(compact, text):
        return True
    return "@" in text or "＠" in text


def _any_ascii_digit(s: str) -> bool:
    """``_ANY_DIGIT.search(s) is not None`` (an ASCII digit): a C loop where engine.pxd
    types it, the regex elsewhere."""
    if not _COMPILED:
        return _ANY_DIGIT.search(s) is not None
    for c in s:  # noqa: SIM110 (a loop: cpdef in engine.pxd, no closure)
        if "0" <= c <= "9":
            return True
    return False


def _has_digits(compact: str, text: str | None = None) -> bool:
    """Could the digits of this message be a phone, QQ number or bank card?

    A run of Chinese numerals always could. ASCII digits need 5+ for a QQ number next to a
    QQ cue, and 11+ otherwise; a reference number that stands alone in the text (20+
    digits, or 16-19 digits with no word about cards or accounts, unless it is a Luhn-valid
    62… UnionPay number) is skipped: the number rules would not flag it either.
    """
    if _cn_digit_run(compact):
        return True
    if text is None:
        # five ASCII digits or more (one loop: engine.pxd compiles it to C)
        count = 0
        for c in compact:
            if "0" <= c <= "9":
                count += 1
        return count >= 5
    return _ascii_digits_count(compact, text)


def _cn_digit_run(compact: str) -> bool:
    """``_CN_DIGIT_RUN.search(compact) is not None``: three Chinese numerals in a row (a C
    loop where engine.pxd types it; the regex elsewhere)."""
    if not _COMPILED:
        return _CN_DIGIT_RUN.search(compact) is not None
    run = 0
    for c in compact:
        if c in "零一二三四五六七八九幺洞拐勾":
            run += 1
            if run == 3:
                return True
        else:
            run = 0
    return False


def _ascii_digits_count(compact: str, text: str) -> bool:
    """The ASCII-digit half of :func:`_has_digits` (with ``text``). One pass over the
    characters (engine.pxd compiles it to a C loop), the runs of [0-9] as the regex
    ``[0-9]+`` finds them; a run becomes a string only when it is long enough to matter."""
    countable = 0
    bankish: bool | None = None
    n = len(compact)
    i = 0
    while i < n:
        c = compact[i]
        if c < "0" or c > "9":
            i += 1
            continue
        start = i
        i += 1
        while i < n and "0" <= compact[i] <= "9":
            i += 1
        size = i - start
        if size >= 16:
            run = compact[start:i]
            if run in text:
                if size >= 20:
                    continue
                if bankish is None:
                    bankish = _any_in(_BANK_WORDS, compact)
                if not bankish and (not run.startswith("62") or not numbers.luhn_ok(run)):
                    continue  # an order or tracking number: a card needs a card word or 62…
        countable += size
    if countable >= 11:
        return True
    return countable >= 5 and _any_in(_QQ_WORDS, compact)


def _has_special(text: str) -> bool:
    """E-mail addresses and links (substring tests first: a regex scan costs more)."""
    if _COMPILED:
        # Every test below needs one of these characters (lower() makes h, w or a of no
        # other character but their capitals): one C loop over the text rules most out.
        for c in text:
            if c in "@＠hH.wWaA([":
                break
        else:
            return False
    low = text.lower()
    return ("@" in low or "＠" in low or "http" in low or "www." in low or ".me/" in low
            or "wxp:" in low or "alipay" in low or "(at)" in low or "[at]" in low)


def _screen_slow(
    text: str,
    role: str,
    policy: CompiledPolicy,
    folded: Folded,
    comp: list[tuple[int, int, int]] | None = None,
) -> ScreeningResult:
    """The rules on a message the fast path could not allow; ``comp``: every key's matches in
    the compact text where the caller has them (a list as find_matches_as_indexes gives it),
    else scanned here."""
    compact = folded.compact
    starts, ends = folded.starts, folded.ends
    n_text = len(text)
    ctx = _Ctx.__new__(_Ctx)  # (_Ctx() without the call through the type)
    ctx.by_kind = {}
    allow_spans: list[tuple[int, int]] = []
    part_occ: dict[int, list[tuple[int, int, bool]]] = {}

    view = _view_of(policy)
    # Every key (terms, allow-list, context phrases) in the compact text, in one scan. The
    # compiled automaton (_ac) gives its matches as C int triples (_ac.Matches: no tuple and
    # up to three ints made per match, none freed after); ahocorasick-rs a list of tuples.
    found: Any = None  # (an _ac.Matches: typed in engine.pxd)
    if comp is None:
        if view.own_matcher is not None:
            found = view.own_matcher.scan(compact)
        elif compact:
            comp = view.matcher.find_matches_as_indexes(compact, overlapping=True)
        else:
            comp = []
    n_comp = found.n if found is not None else len(comp)  # type: ignore[arg-type]
    # Compiled, the part occurrences go to C arrays (an _ac.PartOcc, read by _term_hits_occ)
    # instead of part_occ's lists of tuples; interpreted, or with a caller's list, the dict.
    occ: Any = None  # (an _ac.PartOcc: typed in engine.pxd)
    if _COMPILED and found is not None:
        occ = PartOcc.__new__(PartOcc)  # type: ignore[name-defined]  # noqa: F821 (engine.pxd)
    plain, other = view.plain, view.other
    n_plain = len(plain)
    key_lat = view.key_lat
    kind_bits = view.kind_bits
    kinds_found = 0  # the bits (_KIND_BITS) of by_kind's keys
    by_kind = ctx.by_kind
    for j in range(n_comp):
        if found is not None:
            kid = found.buf[3 * j]
            us = found.buf[3 * j + 1]
            ue = found.buf[3 * j + 2]
        else:
            kid, us, ue = comp[j]  # type: ignore[index]
        lat = key_lat[kid]
        if lat:
            # Latin words must stand alone ("wx" not in "wxyz").
            # (The Latin letters of ASCII are a-z and A-Z, test_latin_ascii_is_letters: the
            # table look-up, and the string of one character it takes, only past ASCII.)
            if lat & 1:
                o = starts[us]
                if o > 0:
                    ch = text[o - 1]
                    if (("a" <= ch <= "z") or ("A" <= ch <= "Z")
                            or (ch >= "\x80" and _is_latin_char(ch))):
                        continue
            if lat & 2:
                o = ends[ue - 1]
                if o < n_text:
                    ch = text[o]
                    if (("a" <= ch <= "z") or ("A" <= ch <= "Z")
                            or (ch >= "\x80" and _is_latin_char(ch))):
                        continue
        # One (us, ue, True) per match, shared by every part list it joins, and one
        # (us, ue) for the allow-list and the context kinds (tuples: nothing mutates them),
        # each made only where the key has such payloads (a context phrase has no part).
        if kid < n_plain and plain[kid]:
            # One lexicon part and nothing else (policy.key_info[kid] == ((kid,), (), False, ())).
            if occ is not None:
                occ.add(kid, us, ue, 1)
                continue
            trip = (us, ue, True)
            occs = part_occ.get(kid)
            if occs is None:
                part_occ[kid] = [trip]
            else:
                occs.append(trip)
            continue
        info = other[kid]  # (HotTables.other: a list by key id, None for the plain keys)
        assert info is not None
        lit, phon, allowed, kinds = info
        if occ is not None:
            for pid in lit:
                occ.add(pid, us, ue, 1)
            for pid in phon:
                occ.add(pid, us, ue, 0)
        else:
            if lit:
                trip = (us, ue, True)
            for pid in lit:
                occs = part_occ.get(pid)
                if occs is None:
                    part_occ[pid] = [trip]
                else:
                    occs.append(trip)
        if phon and occ is None:
            phon_trip = (us, ue, False)
            for pid in phon:
                occs = part_occ.get(pid)
                if occs is None:
                    part_occ[pid] = [phon_trip]
                else:
                    occs.append(phon_trip)
        if allowed or kinds:
            span = (us, ue)
            if allowed:
                allow_spans.append(span)
            for kind in kinds:
                spans = by_kind.get(kind)
                if spans is None:
                    by_kind[kind] = [span]
                else:
                    spans.append(span)
            kinds_found |= kind_bits[kid]

    weights = _Weights.__new__(_Weights)  # (_Weights(compact), as _ctx above)
    weights.compact = compact
    weights._cum = None
    hits = (_term_hits_occ(occ, role, policy, weights) if occ is not None
            else _term_hits(part_occ, role, policy, weights))
    id_hits: list[Hit] = []
    confirmed: set[int] | None = None  # made for the first confirmed hit (most have none)
    for i, h in enumerate(hits):
        if h.flags & ID_FOLLOWS:
            idh = _id_after(text, ends[h.ue - 1], h)
            if idh is not None:
                id_hits.append(idh)
                if confirmed is None:
                    confirmed = {i}
                else:
                    confirmed.add(i)

    kept: list[Hit] = []
    for i, h in enumerate(hits):
        if (h.flags & NEEDS_CUE and h.literal and (confirmed is None or i not in confirmed)
                and not _has_cue(h, ctx, policy, weights, allow_spans,
                                 h.us == 0 and _QUESTION_AFTER.match(text, ends[h.ue - 1])
                                 is not None)):
            continue
        kept.append(h)
    hits = kept + id_hits if id_hits else kept

    # Something of value offered for a favour, in any words (customers only).
    # (kinds_found & K_X: "x" in by_kind)
    if (role == "customer" and kinds_found & K_OFFER and kinds_found & K_BENEFIT
            and kinds_found & K_FAVOR):
        offer = _first_outside(ctx.get("offer"), allow_spans)
        benefit = _first_outside(ctx.get("benefit"), allow_spans)
        if offer is not None and benefit is not None and ctx.get("favor"):
            segs = sorted({offer, benefit})
            hits.append(Hit([], "bribe", 3, "offer+favour", segs[0][0], segs[-1][1], segs,
                            _OFFER_ENTRY, True))

    # An agent asking for something of value in return for a favour, in any words.
    if (role == "agent" and kinds_found & K_SOLICIT and kinds_found & K_BENEFIT
            and kinds_found & K_FAVOR_OFFER):
        ask_for = _first_outside(ctx.get("solicit"), allow_spans)
        benefit = _first_outside(ctx.get("benefit"), allow_spans)
        if ask_for is not None and benefit is not None and ask_for != benefit:
            segs = sorted({ask_for, benefit})
            hits.append(Hit([], "bribe", 3, "solicit+favour", segs[0][0], segs[-1][1], segs,
                            _SOLICIT_ENTRY, True))

    # A way to be contacted, asked for or offered, in any words (把你手机号告诉我, 来个联系方式).
    # Agents ask customers for numbers for good reasons (delivery), so only with 私人/个人.
    if (kinds_found & K_CHANNEL_NOUN and kinds_found & K_CONTACT_REQUEST
            and (role == "customer" or kinds_found & K_PRIVATE)
            and not kinds_found & K_OFFICIAL_NUMBER):
        noun = _first_outside(ctx.get("channel_noun"), allow_spans)
        ask = _first_outside(ctx.get("contact_request"), allow_spans)
        if noun is not None and ask is not None and noun != ask:
            segs = sorted({noun, ask})
            hits.append(Hit([], "contact", 3, "ask-contact", segs[0][0], segs[-1][1], segs,
                            _ASK_ENTRY, True))

    # Numbers, e-mails and links work on the original text.
    if _has_digits(compact):
        hits.extend(find_number_hits(text, folded, ctx, policy))
    hits.extend(_email_and_link_hits(text, folded, ctx, policy))

    # --- context rules
    negated: list[Hit] = []
    final: list[Hit] = []
    # (_report_context is False, and _valid_negations [], without those kinds)
    report = _report_context(ctx, policy) if kinds_found & K_REPORT else False
    verify = kinds_found & K_VERIFY != 0
    coupon = kinds_found & K_COUPON != 0 and not kinds_found & K_PRIVATE
    negations = (_valid_negations(ctx, hits) if kinds_found & (K_NEGATION | K_NEGATION_NEAR)
                 else [])
    for h in hits:
        if report:
            negated.append(h)
            continue
        if h.us >= 0:
            if _overlaps_any(h.part_units, allow_spans):
                continue
            hflags = h.flags  # (0 for a hit without an entry)
            if hflags & COUPON_SENSITIVE and coupon:
                continue
            if verify and h.category == "contact" and h.entry is not None:
                continue
            if hflags & EMAIL and kinds_found & K_INVOICE:
                continue
            if hflags & OWN_NUMBER and kinds_found & K_ACCOUNT:
                continue
            if _is_negated(h, negations, text, weights, starts, ends, policy):
                negated.append(h)
                continue
        elif h.rule == "phone" and kinds_found & K_ACCOUNT_PHONE and role == "customer":
            continue  # the customer's own account number (注册, 绑定, 修改手机号)
        final.append(h)

    if final and _has_code_token(text):
        final = _drop_code_tokens(text, final, starts, ends)
    refusal_span: tuple[int, int] | None = None
    if final and kinds_found & (K_DECLINE | K_REFUSAL_STRONG):
        # Refusal scope: a decline after the trigger in its own sentence ("您说要加我微信，
        # 这个真不行") cancels it, for agents and customers alike.
        final, refused, refusal_span = _refusal_scope(text, final, ctx, starts, ends)
        negated.extend(refused)
    if refusal_span is None and role == "agent" and (
            kinds_found & (K_REFUSAL | K_REFUSAL_STRONG)):
        refusal_span = _refusal(ctx, negated, policy)
    if refusal_span is None and role == "customer" and negated:
        cue = ctx.get("decline") or ctx.get("negation") or ctx.get("negation_near")
        if cue and not report:
            refusal_span = cue[0]  # 我不会私下转账给你, 我不加你微信

    res = _decide(text, role, policy, final, refusal_span, starts, ends)
    # The rules saw a trigger and an explicit reason to let it pass (allow-list, negation,
    # refusal, report, coupon, invoice, code...): the model alone does not overrule that.
    res.suppressed = len(final) < len(hits)
    res.negated = bool(negated)
    # A number, ID, e-mail or link — or a tenant's own term — is never overruled by the model.
    concrete = False
    for h in final:
        if h.us < 0 or h.flags & PINNED:
            concrete = True
            break
    res.concrete = concrete
    return res


_OFFER_ENTRY: Final = LexiconEntry("offer+favour", "bribe", 3, coupon_sensitive=True)
_SOLICIT_ENTRY: Final = LexiconEntry("solicit+favour", "bribe", 3, coupon_sensitive=True)
_ASK_ENTRY: Final = LexiconEntry("ask-contact", "contact", 3, email=True, own_number=True)


def _has_code_token(text: str) -> bool:
    """``_CODE_TOKEN.search(text) is not None`` (wx, vx, hb or qq in any case). Where
    engine.pxd compiles it, one C loop over the characters: the case-insensitive regex cost
    microseconds on Chinese text. Only ASCII letters lower-case to w, x, v, h, b or q, so
    comparing both cases is what the regex does."""
    if not _COMPILED:
        return _CODE_TOKEN.search(text) is not None
    prev = " "
    for c in text:
        if c == "x" or c == "X":
            if prev == "w" or prev == "W" or prev == "v" or prev == "V":
                return True
        elif c == "b" or c == "B":
            if prev == "h" or prev == "H":
                return True
        elif (c == "q" or c == "Q") and (prev == "q" or prev == "Q"):
            return True
        prev = c
    return False


def _first_outside(
    spans: list[tuple[int, int]], allow: list[tuple[int, int]]
) -> tuple[int, int] | None:
    # Loops rather than any(<generator>) here and below: engine.pxd compiles these
    # functions as cpdef, which cannot hold a closure.
    for s, e in spans:
        for a, b in allow:
            if a < e and s < b:
                break
        else:
            return (s, e)
    return None


_NO_SEGS: Final[list[tuple[int, int]]] = []  # every term hit's segs (never written to)


def _term_hit(info: EntryInfo, us: int, ue: int, part_units: list[tuple[int, int]],
              literal: bool) -> Hit:
    """``Hit([], e.category, e.severity, e.term, us, ue, part_units, e, literal)`` for the
    entry ``e`` of ``info``, without a call through the type: where engine.pxd compiles it,
    a C function filling the struct from the info's fields."""
    h = Hit.__new__(Hit)
    h.segs = _NO_SEGS  # (a term hit's segments are its part_units: segs is never read)
    h.category = info.category
    h.severity = info.severity
    h.rule = info.rule
    h.us = us
    h.ue = ue
    h.part_units = part_units
    h.entry = info.entry
    h.literal = literal
    h.flags = info.flags
    return h


def _entry_info(view: _View, eid: int) -> EntryInfo:
    """The EntryInfo of entry ``eid``, made on its first hit and kept in the policy's table
    (two threads may both make it: the same values)."""
    info = EntryInfo(view.lexicon[view.lex[eid]], view.multi.get(eid), view.first[eid])
    view.info[eid] = info
    return info


def _term_hits(
    part_occ: dict[int, list[tuple[int, int, bool]]],
    role: str,
    policy: CompiledPolicy,
    weights: _Weights,
) -> list[Hit]:
    if not part_occ:
        return []
    # The raw tables behind policy.entries_by_part (see HotTables).
    view = _view_of(policy)
    single, more = view.single, view.more
    cand: list[int] = []
    for pid in part_occ:
        one = single[pid]
        if one >= 0:
            cand.append(one)  # one one-part entry anchored here
        elif one == -2:
            for eid, others in more[pid]:
                # (The anchor is present: the entry's other parts must be too.)
                if others is not None:
                    ok = True
                    for q in others:
                        if q not in part_occ:
                            ok = False
                            break
                    if not ok:
                        continue
                cand.append(eid)
    if not cand:
        return []
    if len(cand) > 1:
        cand.sort()
    # Each entry's fields through its EntryInfo (policy.entries' data, made once per entry).
    infos = view.info
    bit = 1 if role == "customer" else 2  # (the role is one of the two: _screen_rules)
    hits: list[Hit] = []
    for eid in cand:
        info = infos[eid]
        if info is None:
            info = _entry_info(view, eid)
        if not info.roles & bit:
            continue
        parts = info.parts
        if parts is None:  # one part
            occs = part_occ[info.first]
            for us, ue, lit in (sorted(occs) if len(occs) > 1 else occs):
                hits.append(_term_hit(info, us, ue, [(us, ue)], lit))
            continue
        max_gap = info.max_gap
        n_parts = len(parts)
        occs = part_occ[parts[0]]
        for us, ue, lit in (sorted(occs) if len(occs) > 1 else occs):
            cur = ue
            segs = [(us, ue)]
            literal = lit
            ok = True
            for k in range(1, n_parts):
                best_s = -1
                best_e = -1
                best_lit = True
                for occ in part_occ[parts[k]]:
                    o_s = occ[0]
                    if (cur <= o_s and (best_s < 0 or o_s < best_s)
                            and weights.between(cur, o_s) <= max_gap):
                        best_s = o_s
                        best_e = occ[1]
                        best_lit = occ[2]
                if best_s < 0:
                    ok = False
                    break
                segs.append((best_s, best_e))
                literal = literal and best_lit
                cur = best_e
            if ok:
                hits.append(_term_hit(info, us, cur, segs, literal))
                break  # one hit per entry is enough for the decision; spans merge anyway
    return hits


def _term_hits_occ(occ: Any, role: str, policy: CompiledPolicy, weights: _Weights) -> list[Hit]:
    """:func:`_term_hits` over an ``_ac.PartOcc`` (compiled only: _screen_slow records the
    part occurrences there instead of part_occ's dict of lists of (start, end, literal)
    tuples): the same hits in the same order. The parts in the order first found (the dict's
    keys), each part's occurrences in the order found (its list), a part's occurrences sorted
    by (start, end, literal) (sorted() of its tuples); see _term_hits for each step."""
    n = occ.n
    if not n:
        return []
    occ.finish()
    view = _view_of(policy)
    single, more = view.single, view.more
    buf = occ.occ
    cand: list[int] = []
    for i in range(n):
        pid = buf[5 * i]
        if occ.head(pid) != i:
            continue  # (a part seen before: each once, as the dict's keys)
        one = single[pid]
        if one >= 0:
            cand.append(one)
        elif one == -2:
            for eid, others in more[pid]:
                if others is not None:
                    ok = True
                    for q in others:
                        if occ.head(q) < 0:
                            ok = False
                            break
                    if not ok:
                        continue
                cand.append(eid)
    if not cand:
        return []
    if len(cand) > 1:
        cand.sort()
    infos = view.info
    bit = 1 if role == "customer" else 2
    hits: list[Hit] = []
    run = occ.run  # (sorted_run's output; set by finish())
    for eid in cand:
        info = infos[eid]
        if info is None:
            info = _entry_info(view, eid)
        if not info.roles & bit:
            continue
        parts = info.parts
        if parts is None:  # one part
            n_run = occ.sorted_run(info.first)
            for j in range(n_run):
                i = run[j]
                us = buf[5 * i + 1]
                ue = buf[5 * i + 2]
                hits.append(_term_hit(info, us, ue, [(us, ue)], buf[5 * i + 3] != 0))
            continue
        max_gap = info.max_gap
        n_parts = len(parts)
        n_run = occ.sorted_run(parts[0])
        for j in range(n_run):
            i = run[j]
            us = buf[5 * i + 1]
            cur = buf[5 * i + 2]
            segs = [(us, cur)]
            literal = buf[5 * i + 3] != 0
            ok = True
            for k in range(1, n_parts):
                best_s = -1
                best_e = -1
                best_lit = True
                o = occ.head(parts[k])
                while o >= 0:
                    o_s = buf[5 * o + 1]
                    if (cur <= o_s and (best_s < 0 or o_s < best_s)
                            and _gap_within(weights.compact, cur, o_s, max_gap)):
                        best_s = o_s
                        best_e = buf[5 * o + 2]
                        best_lit = buf[5 * o + 3] != 0
                    o = buf[5 * o + 4]
                if best_s < 0:
                    ok = False
                    break
                segs.append((best_s, best_e))
                literal = literal and best_lit
                cur = best_e
            if ok:
                hits.append(_term_hit(info, us, cur, segs, literal))
                break  # one hit per entry is enough for the decision; spans merge anyway
    return hits


_LIGHT: Final = {c: 1 for c in "abcdefghijklmnopqrstuvwxyz0123456789"}
# The context kind of a category's intent cues ("cue_" + category), made once.
_CUE_KINDS: Final = {c: "cue_" + c for c in CATEGORIES}


@cython.freelist(8)
@cython.cclass
class _Weights:
    """Distances between units of one message. Latin letters and digits weigh a quarter, so
    an English word or an amount ("1000块") weighs about one Chinese character. Prefix sums
    (in quarters) are built on first use, in C (map + accumulate)."""

    __slots__ = ("_cum", "compact")

    def __init__(self, compact: str) -> None:
        self.compact = compact
        self._cum: list[int] | None = None

    def between(self, a: int, b: int) -> float:
        if b <= a:
            return 0.0
        cum = self._cum
        if cum is None:
            cum = self._cum = _prefix_weights(self.compact)
        return (cum[b] - cum[a]) / 4


def _gap_within(compact: str, a: int, b: int, limit: float) -> bool:
    """``_Weights(compact).between(a, b) <= limit`` for ``a <= b``, summed over the units
    between (a C loop where compiled, stopping once past the limit) instead of the message's
    prefix sums: the sum is a whole number of quarters, so the comparison is the same."""
    if not _COMPILED:
        return _Weights(compact).between(a, b) <= limit
    w = 0
    top = 4 * limit
    for i in range(a, b):
        c = compact[i]
        if ("a" <= c <= "z") or ("0" <= c <= "9"):
            w += 1
        else:
            w += 4
        if w > top:
            return False
    return True


def _within(weights: _Weights, a: int, b: int, limit: float) -> bool:
    """``weights.between(a, b) <= limit`` for ``a <= b``: compiled, :func:`_gap_within`'s C
    loop over the units between (a cue or a negation a few units away: no prefix sums of
    the whole message made for it); interpreted, the prefix sums."""
    if _COMPILED:
        return _gap_within(weights.compact, a, b, limit)
    return weights.between(a, b) <= limit


def _prefix_weights(compact: str) -> list[int]:
    """``[0, *accumulate(map(_LIGHT.get, compact, repeat(4)))]``: a quarter for a Latin letter
    or a digit, a whole unit (4) for anything else; one C loop where engine.pxd types it."""
    if not _COMPILED:
        return [0, *accumulate(map(_LIGHT.get, compact, repeat(4)))]
    cum = [0]
    w = 0
    for c in compact:
        if ("a" <= c <= "z") or ("0" <= c <= "9"):
            w += 1
        else:
            w += 4
        cum.append(w)
    return cum


def _has_cue(
    h: Hit,
    ctx: _Ctx,
    policy: CompiledPolicy,
    weights: _Weights,
    allow: list[tuple[int, int]],
    question_after: bool = False,
) -> bool:
    if question_after and h.category == "contact":
        return True  # a message opening with "微信？" / "qq?": asking for the channel
    kind = _CUE_KINDS.get(h.category)
    spans = ctx.by_kind.get("cue_" + h.category if kind is None else kind)
    if spans is None:
        return False
    w = _view_of(policy).cue_window
    for cs, ce in spans:
        inside = False
        for a, b in allow:
            if a <= cs and ce <= b:
                inside = True  # "号" inside 公众号 is no cue
                break
        if inside:
            continue
        if ce <= h.us and _within(weights, ce, h.us, w):
            return True
        if cs >= h.ue and _within(weights, h.ue, cs, w):
            return True
    return False


def _any_digit(s: str) -> bool:
    """``any(c.isdigit() for c in s)`` without a generator (a C loop where compiled)."""
    for c in s:  # noqa: SIM110
        if c.isdigit():
            return True
    return False


def _id_after(text: str, pos: int, h: Hit) -> Hit | None:
    stop = pos + 30  # (a conditional, not min(): no builtin call from compiled code)
    if stop > len(text):
        stop = len(text)
    if _COMPILED:
        # The ID ([A-Za-z0-9Ａ-Ｚａ-ｚ０-９] then 4-19 of those or "_-.") starts after at most
        # six of the pattern's leading pieces (one or two characters each): no such
        # character starting five of them within 13 characters and before stop, no match
        # (one C loop instead of the regex; most channel words are followed by Chinese, or
        # by a short word: "wx: ok").
        end = pos + 13
        if end > stop - 4:
            end = stop - 4
        run = False
        p = pos
        while p < end and not run:
            c = text[p]
            if (("0" <= c <= "9") or ("a" <= c <= "z") or ("A" <= c <= "Z")
                    or ("０" <= c <= "９") or ("ａ" <= c <= "ｚ") or ("Ａ" <= c <= "Ｚ")):
                k = 1
                while k < 5:
                    c = text[p + k]
                    if not (("0" <= c <= "9") or ("a" <= c <= "z") or ("A" <= c <= "Z")
                            or ("０" <= c <= "９") or ("ａ" <= c <= "ｚ")
                            or ("Ａ" <= c <= "Ｚ") or c == "_" or c == "-" or c == "."):
                        break
                    k += 1
                run = k == 5
            p += 1
        if not run:
            return None
    m = _ID_AFTER.match(text, pos, stop)
    if m is None:
        return None
    token = m.group(1)
    norm = token.translate(tables().fast)
    if not _any_digit(norm) and "_" not in token and "-" not in token:
        return None
    end = m.end(1)
    if end < len(text) and text[end].isascii() and text[end].isalnum():
        return None
    return Hit([(m.start(1), end)], "contact", 3, "contact_id")


def _email_and_link_hits(
    text: str, folded: Folded, ctx: _Ctx, policy: CompiledPolicy
) -> list[Hit]:
    out: list[Hit] = []
    invoice = ctx.has("invoice")
    compact = folded.compact
    if not invoice and _com_cn_net(compact) and _any_in(_EMAIL_PROVIDERS, compact):
        # An address with its separators removed or disguised: zhang1990 @ 163 . com
        for m in _COMPACT_EMAIL_DOMAIN.finditer(compact):
            s0 = m.start()
            # at least three letters or digits of a user name right before the domain
            if s0 >= 3 and compact[s0 - 3 : s0].isascii() and compact[s0 - 3 : s0].isalnum():
                while s0 > 0 and compact[s0 - 1].isascii() and compact[s0 - 1].isalnum():
                    s0 -= 1
                e0 = m.end()
                out.append(Hit([(folded.starts[s0], folded.ends[e0 - 1])], "contact", 3, "email"))
    if not _has_special(text):
        return out
    return _emails_and_links(text, ctx, policy, invoice, out)


def _com_cn_net(compact: str) -> bool:
    """``"com" in compact or "cn" in compact or "net" in compact``; compiled, one C loop first
    rules out a text with neither "c" nor "n" (most Chinese messages: three substring
    searches saved)."""
    if _COMPILED:
        for c in compact:
            if c == "c" or c == "n":
                break
        else:
            return False
    return "com" in compact or "cn" in compact or "net" in compact


def _emails_and_links(text: str, ctx: _Ctx, policy: CompiledPolicy, invoice: bool,
                      out: list[Hit]) -> list[Hit]:
    """The rest of :func:`_email_and_link_hits`, for a text that may hold an e-mail address
    or a link (a separate function: the common case above is a cpdef function in
    engine.pxd, which cannot hold the generator expressions below)."""
    # _EMAIL needs one of these (its own literals, case-sensitive): without them its scan,
    # which backtracks at every letter or digit, finds nothing.
    emails = (_EMAIL.finditer(text)
              if "@" in text or "＠" in text or "(at)" in text or "[at]" in text else ())
    for m in emails:
        domain = "".join(tables().fold.get(c, c) for c in m.group(1)).lower()
        domain = re.sub(r"dot|\s", ".", domain)
        if any(domain == d or domain.endswith("." + d) for d in policy.allow_domains):
            continue
        if invoice:
            continue
        local = "".join(tables().fold.get(c, c) for c in m.group(0).split("@")[0].split("＠")[0])
        if local.strip().lower() in _ROLE_MAILBOXES:
            continue  # service@, support@, kefu@: a company mailbox, not a person
        out.append(Hit([(m.start(), m.end())], "contact", 3, "email"))
    # Every form _URL matches holds "://" (https?, wxp, alipays?), or "www." or ".me/" in
    # letters of either case (re.I folds none of w, m, e to a character outside ASCII): no
    # scan without one of them.
    if "://" not in text:
        if "." not in text:
            return out
        low = text.lower()
        if "www." not in low and ".me/" not in low:
            return out
    for m in _URL.finditer(text):
        cls = classify_payload(m.group(0), policy.allow_qr)
        if cls.category:
            out.append(Hit([(m.start(), m.end())], cls.category, cls.severity, "link:" + cls.kind))
    return out


def _overlaps_any(segs: Iterable[tuple[int, int]], spans: list[tuple[int, int]]) -> bool:
    for s, e in segs:
        for a, b in spans:
            if a < e and s < b:
                return True
    return False


def _report_context(ctx: _Ctx, policy: CompiledPolicy) -> bool:
    if "report" not in ctx.by_kind:
        return False  # (most messages: no report phrase; ctx.get would make an empty list)
    reports = ctx.get("report")
    if not reports:
        return False
    cancel = ctx.get("not_negation")
    neg_ends: list[int] = []
    for s, e in ctx.get("negation") + ctx.get("negation_near"):
        if not _overlaps_any(((s, e),), cancel):  # 是不是诈骗 still reports
            neg_ends.append(e)
    # "不是骗子" / "别举报" reassure rather than report.
    for rs, _re in reports:
        for ne in neg_ends:
            if ne <= rs and rs - ne <= 1:
                break
        else:
            return True
    return False


def _valid_negations(ctx: _Ctx, hits: list[Hit]) -> list[tuple[int, int, int]]:
    """Negation cues (start, end, window kind) that are not part of a question form
    (能不能) nor part of a positive term (不走平台)."""
    out: list[tuple[int, int, int]] = []
    by_kind = ctx.by_kind
    if "negation" not in by_kind and "negation_near" not in by_kind:
        return out  # (most messages: no negation cue at all)
    cancel = ctx.get("not_negation")
    for kind, near in (("negation", 0), ("negation_near", 1)):
        for s, e in ctx.get(kind):
            if _overlaps_any(((s, e),), cancel):
                continue
            inside_term = False
            for h in hits:
                if (h.us >= 0 and h.us < e and s < h.ue
                        and not (s >= h.us and e <= h.ue and _inside_gap(h, s, e))):
                    inside_term = True
                    break
            if inside_term:
                continue
            out.append((s, e, near))
    return out


def _inside_gap(h: Hit, s: int, e: int) -> bool:
    for a, b in h.part_units:  # noqa: SIM110 (a loop: cpdef in engine.pxd, no closure)
        if a < e and s < b:
            return False
    return True


def _is_negated(
    h: Hit,
    negations: list[tuple[int, int, int]],
    text: str,
    weights: _Weights,
    starts: list[int],
    ends: list[int],
    policy: CompiledPolicy,
) -> bool:
    for s, e, near in negations:
        window = 2 if near else _view_of(policy).negation_window
        if h.us <= s and e <= h.ue and _inside_gap(h, s, e):
            return True  # 红包我不能收
        if (e <= h.us and _within(weights, e, h.us, window)
                and _CLAUSE_BREAK.search(text, ends[e - 1], starts[h.us]) is None):
            return True
        # 红包就不用了 / 红包不收: a declining word right after, in the same clause (not 不会,
        # which after a term is usually a threat: 不给好处费是不会帮你加急的)
        if (not near and s >= h.ue and s - h.ue <= 3
                and weights.compact[s:e] in _POST_NEGATIONS
                and _CLAUSE_BREAK.search(text, ends[h.ue - 1], starts[s]) is None):
            return True
    return False


def _refusal(ctx: _Ctx, negated: list[Hit], policy: CompiledPolicy) -> tuple[int, int] | None:
    strong = ctx.get("refusal_strong")
    if strong:
        return strong[0]
    refusals = ctx.get("refusal")
    if negated and refusals:
        return refusals[0]
    w = policy.negation_window
    for rs, re_ in refusals:
        for ms, me in ctx.get("bribe_mention"):
            if abs(ms - re_) <= w or abs(rs - me) <= w:
                return (rs, re_)
    return None


def _merge(segs: list[tuple[int, int, str, str, int]]) -> list[Span]:
    """Sorted segments -> spans: a segment that starts inside the last span and has its
    category extends it (the span keeps its first rule and takes the higher severity)."""
    segs.sort()
    out: list[Span] = []
    n = len(segs)
    if not n:
        return out
    ls, le, lcat, lrule, lsev = segs[0]
    # The spans come out by start; where their (start, end) pairs also strictly ascend, they
    # are in Span order already and the sort (of named tuples: no fast compare) is skipped.
    ps = -1
    pe = -1
    ordered = True
    for i in range(1, n):  # (an index, not segs[1:]: no copy)
        s, e, cat, rule, sev = segs[i]
        if cat == lcat and s <= le:
            if e > le:
                le = e
            if sev > lsev:
                lsev = sev
        else:
            if ls < ps or (ls == ps and le <= pe):
                ordered = False
            ps = ls
            pe = le
            out.append(make_span(ls, le, lcat, lrule, lsev))
            ls, le, lcat, lrule, lsev = s, e, cat, rule, sev
    if ls < ps or (ls == ps and le <= pe):
        ordered = False
    out.append(make_span(ls, le, lcat, lrule, lsev))
    if len(out) > 1 and not ordered:
        out.sort()
    return out


def _decide(
    text: str,
    role: str,
    policy: CompiledPolicy,
    hits: list[Hit],
    refusal_span: tuple[int, int] | None,
    starts: list[int],
    ends: list[int],
) -> ScreeningResult:
    if not hits and refusal_span is None:
        # Nothing left and no refusal: what the loops below make of it, built directly.
        return allow_result(text, policy.spec.version)
    view = _view_of(policy)
    cat_sev: dict[str, int] = {}
    raw: list[tuple[int, int, str, str, int]] = []
    for h in hits:
        cat = h.category
        hsev = h.severity
        if h.us >= 0:  # a term: its parts' unit spans, mapped to the text
            for a, b in h.part_units:
                s = starts[a]
                e = ends[b - 1]
                if e > s:
                    raw.append((s, e, cat, h.rule, hsev))
        else:
            for s, e in h.segs:
                if e > s:
                    raw.append((s, e, cat, h.rule, hsev))
        # Conditionals, not max(): CPython 3.11's max() has no fast call from compiled code.
        had = cat_sev.get(cat, 0)
        cat_sev[cat] = had if had >= hsev else hsev
    # The decision as a rank (_DECISION_RANK: allow 0, warn 1, block 2; DECISIONS in that
    # order): per category the threshold its severity reaches, capped by the role's action;
    # the strongest wins. The severity is the highest of the categories' (max() of them).
    rank = 0
    severity = 0
    first = True
    actions = view.actions.get(role)
    if actions is None:
        actions = _NO_ACTIONS
    block_at = view.block_at
    warn_at = view.warn_at
    for cat, sev in cat_sev.items():
        if first or sev > severity:
            severity = sev
            first = False
        act = 2 if sev >= block_at else 1 if sev >= warn_at else 0
        cap = _DECISION_RANK[actions.get(cat, "block")]
        if cap < act:
            act = cap
        if act > rank:
            rank = act
    if len(raw) == 1:
        # One segment (most messages with a finding): its span, and its characters masked,
        # as _merge and the loop below make them, without the sort, the list and the join.
        seg = raw[0]
        a = seg[0]
        e = seg[1]
        spans = [make_span(a, e, seg[2], seg[3], seg[4])]
        masked = text[:a] + "*" * (e - a) + text[e:]
    else:
        spans = _merge(raw)  # (sorts raw)
        # The masked text: the spans' characters as "*". The spans cover exactly the union
        # of the segments, so the segments (plain tuples, now sorted by start) are masked
        # instead of reading each Span's fields.
        masked = _mask_segments(text, raw)
    if len(cat_sev) == 1:
        # One category (most findings): the comprehension below gives [it] (or [] for a
        # category outside CATEGORIES), without a dict look-up per category.
        categories = [cat] if cat in CATEGORIES else []
    else:
        categories = [c for c in CATEGORIES if c in cat_sev]
    if refusal_span is not None:
        categories.append("refusal")
        rs, re_ = refusal_span
        spans.append(make_span(starts[rs], ends[re_ - 1], "refusal", "refusal", 0))
    return rules_result(DECISIONS[rank], categories, severity, spans, masked, view.version)


def _mask_segments(text: str, segs: list[tuple[int, int, str, str, int]]) -> str:
    """``text`` with the characters of the segments (sorted by start; they may overlap) as
    "*": the text between them and runs of "*" joined. Compiled, the characters written to
    one C buffer and the string made in one call (PyUnicode_FromKindAndData gives the
    narrowest string, as the join does): no slice, run of stars or list per segment."""
    n = len(text)
    if _COMPILED:
        inside = True
        for seg in segs:
            if seg[0] < 0 or seg[1] > n:
                inside = False  # (never: the offsets are the text's; the loop below then)
                break
        if inside:
            buf = cython.cast(cython.pointer(cython.Py_UCS4), PyMem_Malloc(n * 4 + 4))
            if not buf:
                raise MemoryError
            try:
                for i, c in enumerate(text):
                    buf[i] = c
                for seg in segs:
                    e = seg[1]
                    for i in range(seg[0], e):
                        buf[i] = 42  # "*"
                return PyUnicode_FromKindAndData(  # type: ignore[no-any-return]
                    PyUnicode_4BYTE_KIND, buf, n)
            finally:
                PyMem_Free(buf)
    pieces: list[str] = []
    pos = 0
    for seg in segs:
        a = seg[0]
        e = seg[1]
        if e > pos:
            if pos >= a:
                a = pos
            pieces.append(text[pos:a])
            pieces.append("*" * (e - a))
            pos = e
    pieces.append(text[pos:])
    return "".join(pieces)


class Screener:
    """Holds the current compiled policy; ``swap`` replaces it atomically (hot reload).

    Readers take one reference to the policy per message, so a message is always screened
    by exactly one policy version, never by a half-built one: compile first, then swap.
    """

    def __init__(self, policy: CompiledPolicy | None = None) -> None:
        self._policy = policy if policy is not None else default_policy()
        self._lock = threading.Lock()

    @property
    def policy(self) -> CompiledPolicy:
        return self._policy

    def screen(self, text: str, role: str) -> ScreeningResult:
        return screen_message(text, role, self._policy)

    def swap(self, policy: CompiledPolicy) -> CompiledPolicy:
        """Install ``policy``; returns the previous one."""
        with self._lock:
            old = self._policy
            self._policy = policy  # a single reference assignment is atomic
        return old
