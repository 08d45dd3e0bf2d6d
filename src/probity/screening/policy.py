"""Screening policies: plain JSON-serialisable data (`PolicySpec`) and the compiled tables.

A `PolicySpec` is what a tenant stores (a versioned JSON object). `compile_policy` turns it
into a `CompiledPolicy` once: folded terms, compile-time homophone / pinyin spellings of the
terms flagged ``phonetic``, and two ahocorasick-rs automata (everything; anchors only).
Nothing is built per message. `Screener.swap` installs a new compiled policy atomically.

JSON shape (``PolicySpec.to_dict``; every key optional in ``from_dict``)::

    {
      "name": "acme-cs", "version": 7,
      "lexicon": [                      # "*" = a gap of up to max_gap folded characters
        {"term": "加*微信", "category": "contact", "severity": 3, "phonetic": true,
         "needs_cue": false, "coupon_sensitive": false, "id_follows": true,
         "email": false, "own_number": false, "roles": ["customer", "agent"], "max_gap": 3}
      ],
      "allow_terms": ["微信支付", "平台红包"],     # a hit overlapping one is dropped
      "contexts": {"negation": ["请勿"], "report": ["骗子"], "coupon": ["优惠券"], ...},
      "allow_numbers": ["4008208820"],           # official hotlines (digits)
      "allow_number_prefixes": ["400", "800", "95"],
      "allow_qr": ["https://qr.alipay.com/company-"],  # merchant QR payloads or prefixes
      "allow_domains": ["acme.com"],             # official e-mail domains
      "thresholds": {"warn": 2, "block": 3},
      "actions": {"customer": {"contact": "block", "bribe": "block", "payment": "block"},
                  "agent":    {"contact": "block", "bribe": "block", "payment": "block"}},
      "windows": {"cue": 10, "negation": 12, "number_context": 8}
    }

Context kinds are listed in ``CONTEXT_KINDS`` and described in ``data/contexts.tsv``; the
built-in lexicon (``default_policy_spec``) is ``data/lexicon.tsv`` + ``data/contexts.tsv``.

Severity scheme (an int, the same in lexicons and results):

* 0 ``none``   - nothing found;
* 1 ``low``    - recorded, never acted on by the default thresholds;
* 2 ``medium`` - likely evasion: the default thresholds *warn*;
* 3 ``high``   - explicit evasion: the default thresholds *block*.

Decision = for each category found, the threshold reached by its severity (``warn`` /
``block``), capped by ``actions[role][category]``; the strongest over categories wins.
``refusal`` is never acted on (decision stays ``allow``).
"""

from __future__ import annotations

import itertools
import json
import threading
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final, NamedTuple

from ahocorasick_rs import AhoCorasick, Implementation

from probity.screening._compiled import own_automaton
from probity.screening.intent import IntentModel, ModelError, load_model
from probity.screening.normalize import fold_term, homophones, tables
from probity.screening.result import EntryInfo

CATEGORIES: Final[tuple[str, ...]] = ("contact", "bribe", "payment", "refusal")
FLAGGED_CATEGORIES: Final[tuple[str, ...]] = ("contact", "bribe", "payment")
ROLES: Final[tuple[str, ...]] = ("customer", "agent")
DECISIONS: Final[tuple[str, ...]] = ("allow", "warn", "block")
SEVERITY_NAMES: Final = {0: "none", 1: "low", 2: "medium", 3: "high"}
CONTEXT_KINDS: Final[tuple[str, ...]] = (
    "cue_contact", "cue_bribe", "cue_payment", "negation", "negation_near", "not_negation",
    "report", "verify", "number_context", "bank_cue", "phone_cue", "qq_cue", "invoice",
    "coupon", "private", "refusal", "bribe_mention", "refusal_strong", "account",
    "account_phone", "official_number", "offer", "benefit", "favor",
    "channel_noun", "contact_request", "solicit", "favor_offer", "decline",
)


class PolicyError(ValueError):
    """A policy document that cannot be compiled."""


@dataclass(frozen=True, slots=True)
class LexiconEntry:
    """One lexicon term. ``*`` in ``term`` is a gap of up to ``max_gap`` folded characters."""

    term: str
    category: str
    severity: int = 3
    phonetic: bool = False  # also match homophones / typed pinyin
    needs_cue: bool = False  # the literal form needs an intent cue nearby
    coupon_sensitive: bool = False  # dropped in platform-coupon context
    id_follows: bool = False  # a contact ID may follow (and then counts as the cue)
    email: bool = False  # about e-mail: dropped when the message is about an invoice
    own_number: bool = False  # about one's own phone number: dropped in account context
    roles: tuple[str, ...] = ROLES
    max_gap: int = 4
    pinned: bool = False  # a tenant's own term (overlay): the learned layer never overrules it

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["roles"] = list(self.roles)
        if not self.pinned:
            del d["pinned"]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LexiconEntry:
        roles = tuple(d.get("roles", ROLES))
        entry = cls(
            term=str(d["term"]),
            category=str(d["category"]),
            severity=int(d.get("severity", 3)),
            phonetic=bool(d.get("phonetic", False)),
            needs_cue=bool(d.get("needs_cue", False)),
            coupon_sensitive=bool(d.get("coupon_sensitive", False)),
            id_follows=bool(d.get("id_follows", False)),
            email=bool(d.get("email", False)),
            own_number=bool(d.get("own_number", False)),
            roles=roles,
            pinned=bool(d.get("pinned", False)),
            max_gap=int(d.get("max_gap", 4)),
        )
        if entry.category not in FLAGGED_CATEGORIES:
            raise PolicyError(f"unknown category {entry.category!r} for term {entry.term!r}")
        if not 1 <= entry.severity <= 3:
            raise PolicyError(f"severity must be 1..3 for term {entry.term!r}")
        if any(r not in ROLES for r in roles):
            raise PolicyError(f"unknown role in {roles!r} for term {entry.term!r}")
        return entry


def _default_actions() -> dict[str, dict[str, str]]:
    return {role: dict.fromkeys(FLAGGED_CATEGORIES, "block") for role in ROLES}


@dataclass
class PolicySpec:
    """A tenant's screening policy as plain data (see ``to_dict`` for the JSON shape)."""

    name: str = "default"
    version: int = 1
    lexicon: list[LexiconEntry] = field(default_factory=list)
    allow_terms: list[str] = field(default_factory=list)
    contexts: dict[str, list[str]] = field(default_factory=dict)
    allow_numbers: list[str] = field(default_factory=list)  # official hotlines, digits only
    allow_number_prefixes: list[str] = field(default_factory=lambda: ["400", "800", "95"])
    allow_qr: list[str] = field(default_factory=list)  # merchant QR payloads or prefixes
    allow_domains: list[str] = field(default_factory=list)  # official e-mail / URL domains
    thresholds: dict[str, int] = field(default_factory=lambda: {"warn": 2, "block": 3})
    actions: dict[str, dict[str, str]] = field(default_factory=_default_actions)
    windows: dict[str, int] = field(
        default_factory=lambda: {"cue": 10, "negation": 12, "number_context": 8}
    )
    # The learned intent layer: None = the model shipped in the package (checksum-verified);
    # {"version": N, "sha256": "…"} pins it (a file that does not match is refused and the
    # policy does not compile); {"enabled": false} = rules only. "path" loads another file.
    model: dict[str, Any] | None = None
    # The model alone warns (+ alert); it blocks only when the tenant opts in here.
    model_blocks: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "lexicon": [e.to_dict() for e in self.lexicon],
            "allow_terms": list(self.allow_terms),
            "contexts": {k: list(v) for k, v in self.contexts.items()},
            "allow_numbers": list(self.allow_numbers),
            "allow_number_prefixes": list(self.allow_number_prefixes),
            "allow_qr": list(self.allow_qr),
            "allow_domains": list(self.allow_domains),
            "thresholds": dict(self.thresholds),
            "actions": {r: dict(a) for r, a in self.actions.items()},
            "windows": dict(self.windows),
            "model": dict(self.model) if self.model is not None else None,
            "model_blocks": self.model_blocks,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PolicySpec:
        base = cls()
        spec = cls(
            name=str(d.get("name", base.name)),
            version=int(d.get("version", base.version)),
            lexicon=[LexiconEntry.from_dict(e) for e in d.get("lexicon", [])],
            allow_terms=[str(t) for t in d.get("allow_terms", [])],
            contexts={str(k): [str(t) for t in v] for k, v in d.get("contexts", {}).items()},
            allow_numbers=[str(n) for n in d.get("allow_numbers", [])],
            allow_number_prefixes=[
                str(n) for n in d.get("allow_number_prefixes", base.allow_number_prefixes)
            ],
            allow_qr=[str(q) for q in d.get("allow_qr", [])],
            allow_domains=[str(q).lower() for q in d.get("allow_domains", [])],
            thresholds={**base.thresholds, **{k: int(v) for k, v in
                                              d.get("thresholds", {}).items()}},
            actions={r: {**base.actions.get(r, {}), **{c: str(a) for c, a in acts.items()}}
                     for r, acts in {**base.actions, **d.get("actions", {})}.items()},
            windows={**base.windows, **{k: int(v) for k, v in d.get("windows", {}).items()}},
            model=dict(d["model"]) if isinstance(d.get("model"), dict) else None,
            model_blocks=bool(d.get("model_blocks", False)),
        )
        for kind in spec.contexts:
            if kind not in CONTEXT_KINDS:
                raise PolicyError(f"unknown context kind {kind!r}")
        for role, acts in spec.actions.items():
            if role not in ROLES:
                raise PolicyError(f"unknown role {role!r} in actions")
            for cat, act in acts.items():
                if act not in DECISIONS:
                    raise PolicyError(f"unknown action {act!r} for {role}/{cat}")
        return spec

    @classmethod
    def from_json(cls, text: str) -> PolicySpec:
        return cls.from_dict(json.loads(text))


def _parse_flags(flags: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    i = 0
    while i < len(flags):
        f = flags[i]
        if f == "g":
            j = i + 1
            while j < len(flags) and flags[j].isdigit():
                j += 1
            out["max_gap"] = int(flags[i + 1 : j])
            i = j
            continue
        key = {"p": "phonetic", "c": "needs_cue", "k": "coupon_sensitive", "i": "id_follows",
               "e": "email", "n": "own_number"}
        if f in key:
            out[key[f]] = True
        elif f == "a":
            out["roles"] = ["agent"]
        elif f == "u":
            out["roles"] = ["customer"]
        else:
            raise PolicyError(f"unknown lexicon flag {f!r}")
        i += 1
    return out


def _data_lines(name: str) -> Iterable[list[str]]:
    text = resources.files("probity.screening").joinpath("data").joinpath(name).read_text("utf-8")
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        yield line.split("\t")


def parse_lexicon_tsv(lines: Iterable[list[str]]) -> list[LexiconEntry]:
    entries: list[LexiconEntry] = []
    for cols in lines:
        term, category, severity = cols[0], cols[1], int(cols[2])
        flags = cols[3] if len(cols) > 3 else ""
        d: dict[str, Any] = {"term": term, "category": category, "severity": severity}
        d.update(_parse_flags(flags))
        entries.append(LexiconEntry.from_dict(d))
    return entries


def default_policy_spec() -> PolicySpec:
    """The built-in policy: the lexicon and context tables shipped in ``screening/data``."""
    lexicon = parse_lexicon_tsv(_data_lines("lexicon.tsv"))
    allow: list[str] = []
    contexts: dict[str, list[str]] = {}
    for cols in _data_lines("contexts.tsv"):
        kind, phrase = cols[0], cols[1]
        if kind == "allow":
            allow.append(phrase)
        else:
            contexts.setdefault(kind, []).append(phrase)
    return PolicySpec(name="default", version=1, lexicon=lexicon, allow_terms=allow,
                      contexts=contexts)


# ---------------------------------------------------------------------------------------------
# Compiled form


@dataclass(frozen=True, slots=True)
class Part:
    """One gap-free piece of a lexicon term, folded."""

    key: str  # folded text
    phonetic: bool  # homophones and typed pinyin of this part are matched too
    latin_start: bool
    latin_end: bool


@dataclass(frozen=True, slots=True)
class CompiledEntry:
    entry: LexiconEntry
    parts: tuple[int, ...]  # part ids
    label: str  # the term as written, reported as the span's rule


# Payload tags stored in the automata.
PART: Final = 0
ALLOW: Final = 1
CONTEXT: Final = 2
PHONETIC: Final = 3  # a homophone / pinyin spelling of a part
# Anchor flags: what else a message with this anchor may need a look for.
AGENT_ONLY: Final = 1  # a refusal phrase: only an agent's message gets the full look
FOLD_MARK: Final = 2  # a character the regex fast path cannot fold (traditional, full-width)
DIGIT_MARK: Final = 4  # digits: maybe a phone, QQ number or card
OFFER_MARK: Final = 8  # an offer of value (offer + benefit + favour rule)
ASK_MARK: Final = 16  # a way to be contacted (channel noun + request rule)
SOLICIT_MARK: Final = 32  # an agent asking for something (solicit + benefit + favour rule)
LINK_MARKERS: Final = ("http", "www", "wxp", "alipay", "tme", "wame")
CN_NUMERALS: Final = "零一二三四五六七八九幺洞拐勾"

MAX_VARIANTS: Final = 2000


def _phonetic_variants(piece: str) -> list[str]:
    """Homophone and typed-pinyin spellings of a CJK piece, as literal keys.

    "微信" -> 薇信, 威芯, 维信, weixin, wei信, v... Every syllable may be any common character
    with the same toneless reading, or the syllable typed in Latin letters. For three or more
    syllables only one character is swapped for a homophone (the rest stay or become pinyin),
    which keeps the automaton small. Expanding at compile time means messages need no
    phonetic pass at all: one Aho-Corasick scan sees literal, homophone and pinyin forms.
    """
    table = tables().pinyin
    if len(piece) < 2 or any(ord(c) not in table for c in piece):
        return []
    sylls = [table[ord(c)] for c in piece]
    homo = homophones()
    out: set[str] = set()
    if len(piece) == 2:
        options = [[*homo.get(sy, ()), c, sy] for c, sy in zip(piece, sylls, strict=True)]
        out.update(a + b for a in options[0] for b in options[1])
    else:
        base = [[c, sy] for c, sy in zip(piece, sylls, strict=True)]
        for combo in itertools.product(*base):
            out.add("".join(combo))
        for i, sy in enumerate(sylls):
            for h in homo.get(sy, ()):
                out.add(piece[:i] + h + piece[i + 1 :])
    out.discard(piece)
    return sorted(out)[:MAX_VARIANTS]


def _is_latin(ch: str) -> bool:
    return "a" <= ch <= "z"


KeyInfo = tuple[tuple[int, ...], tuple[int, ...], bool, tuple[str, ...]]
_NO_IDS: Final[tuple[int, ...]] = ()
_NO_KINDS: Final[tuple[str, ...]] = ()


class _EntriesByPart(Mapping[int, Sequence[tuple[int, "frozenset[int] | None"]]]):
    """Anchor part id -> (entry id, parts the entry needs or None) of the entries anchored on
    it. Most anchors of a big lexicon anchor one one-part entry: that entry id is one slot of
    an int array (-1: none, -2: see the dict); the rest are tuples in a dict."""

    __slots__ = ("_more", "_single")

    def __init__(self, single: array[int],
                 more: dict[int, tuple[tuple[int, frozenset[int] | None], ...]]) -> None:
        self._single = single
        self._more = more

    def get(self, pid: int, default: Any = None) -> Any:
        e = self._single[pid] if 0 <= pid < len(self._single) else -1
        if e >= 0:
            return ((e, None),)
        if e == -2:
            return self._more[pid]
        return default

    def __getitem__(self, pid: int) -> Sequence[tuple[int, frozenset[int] | None]]:
        got = self.get(pid)
        if got is None:
            raise KeyError(pid)
        return got  # type: ignore[no-any-return]

    def __contains__(self, pid: object) -> bool:
        return isinstance(pid, int) and 0 <= pid < len(self._single) and self._single[pid] != -1

    def __iter__(self) -> Iterator[int]:
        return (pid for pid, e in enumerate(self._single) if e != -1)

    def __len__(self) -> int:
        return sum(1 for e in self._single if e != -1)


class _Entries(Sequence[CompiledEntry]):
    """Entry id -> CompiledEntry, built on access from the spec's lexicon and two int arrays
    (a one-part entry's part id; multi-part entries' ids in a dict): a 100,000-term policy
    keeps no object per entry."""

    __slots__ = ("_first", "_lex", "_lexicon", "_multi")

    def __init__(self, lexicon: Sequence[LexiconEntry], lex: array[int], first: array[int],
                 multi: dict[int, tuple[int, ...]]) -> None:
        self._lexicon = lexicon
        self._lex = lex
        self._first = first
        self._multi = multi

    def __len__(self) -> int:
        return len(self._lex)

    def _one(self, eid: int) -> CompiledEntry:
        entry = self._lexicon[self._lex[eid]]
        parts = self._multi.get(eid)
        return CompiledEntry(entry, parts if parts is not None else (self._first[eid],),
                             entry.term)

    def __getitem__(self, eid: Any) -> Any:
        if isinstance(eid, slice):
            return [self._one(i) for i in range(*eid.indices(len(self)))]
        if eid < 0:
            eid += len(self)
        if not 0 <= eid < len(self):
            raise IndexError(eid)
        return self._one(eid)


class _KeyInfos(Sequence[KeyInfo]):
    """Per automaton key: (literal part ids, homophone part ids, allow-listed?, context kinds).
    A key that is one lexicon part and nothing else (most keys of a big lexicon; its key id is
    its part id) is a flag in a bytearray; the others are tuples in a dict."""

    __slots__ = ("_n", "_other", "_plain")

    def __init__(self, n: int, plain: bytearray, other: dict[int, KeyInfo]) -> None:
        self._n = n
        self._plain = plain
        self._other = other

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, kid: Any) -> Any:
        if isinstance(kid, slice):
            return [self[i] for i in range(*kid.indices(self._n))]
        if kid < 0:
            kid += self._n
        if kid < len(self._plain) and self._plain[kid]:
            return ((kid,), _NO_IDS, False, _NO_KINDS)
        try:
            return self._other[kid]
        except KeyError:
            raise IndexError(kid) from None


class _Parts(Sequence[Part]):
    """Part id -> Part, built on access from the key list and a phonetic flag per part."""

    __slots__ = ("_keys", "_phonetic")

    def __init__(self, keys: list[str], phonetic: bytearray) -> None:
        self._keys = keys
        self._phonetic = phonetic

    def __len__(self) -> int:
        return len(self._keys)

    def __getitem__(self, pid: Any) -> Any:
        if isinstance(pid, slice):
            return [self[i] for i in range(*pid.indices(len(self)))]
        key = self._keys[pid]
        return Part(key, bool(self._phonetic[pid]), _is_latin(key[0]), _is_latin(key[-1]))


class HotTables(NamedTuple):
    """The compact tables behind ``entries``, ``entries_by_part`` and ``key_info`` (the same
    objects, no copy, but ``more``: there each entry's other parts as a tuple), for the
    engine's per-message loops: plain indexing instead of a Python method call and a new
    object per lookup."""

    single: array[int]  # part id -> its one one-part entry id; -1 none; -2 see ``more``
    # part id -> (entry id, the entry's other part ids or None) per entry anchored there
    more: dict[int, tuple[tuple[int, tuple[int, ...] | None], ...]]
    lexicon: tuple[LexiconEntry, ...]  # the lexicon as compiled
    lex: array[int]  # entry id -> index in ``lexicon``
    first: array[int]  # entry id -> its first part id
    multi: dict[int, tuple[int, ...]]  # entry id -> part ids, entries of several parts only
    plain: bytearray  # key id -> 1: the key is that one part and nothing else
    other: list[KeyInfo | None]  # key id -> key info, the keys that are not plain (else None)
    # entry id -> what the engine's loops read of the entry (result.EntryInfo), made by the
    # engine on the entry's first hit (None until then: a big lexicon pays for the ones used)
    info: list[EntryInfo | None]


@dataclass
class CompiledPolicy:
    """Tables built once from a spec; immutable once built and shared by all threads."""

    spec: PolicySpec
    parts: Sequence[Part]
    entries: Sequence[CompiledEntry]
    # anchor part id -> (entry id, all part ids the entry needs, None when the anchor is the
    # entry's only part) for entries anchored on it
    entries_by_part: Mapping[int, Sequence[tuple[int, frozenset[int] | None]]]
    matcher: Any  # ahocorasick_rs.AhoCorasick over every key (parts, variants, contexts)
    anchor_matcher: Any  # anchors only: the fast "anything to look at?" check
    anchor_needs: list[tuple[tuple[str, ...], ...]]  # per anchor: other parts, per entry
    anchor_flags: list[int]  # per anchor: AGENT_ONLY | FOLD_MARK | DIGIT_MARK | ...
    benefit_keys: tuple[str, ...]  # folded "benefit" phrases (offer + benefit + favor rule)
    favor_keys: tuple[str, ...]
    request_keys: tuple[str, ...]  # folded "contact_request" phrases
    favor_offer_keys: tuple[str, ...]  # folded "favor_offer" phrases
    # per key: (literal part ids, homophone part ids, allow-listed?, context kind names)
    key_info: Sequence[KeyInfo]
    context_names: tuple[str, ...]
    allow_numbers: frozenset[str]
    allow_number_prefixes: tuple[str, ...]
    allow_qr: tuple[str, ...]
    allow_domains: tuple[str, ...]
    warn_at: int
    block_at: int
    actions: dict[str, dict[str, str]]
    cue_window: int
    negation_window: int
    number_context_window: int
    key_latin: list[tuple[bool, bool]]  # per key: starts / ends with a Latin letter
    hot: HotTables  # the same tables, raw, for the engine's per-message loops
    model: IntentModel | None = None  # the learned intent layer (None: rules only)
    model_blocks: bool = False

    @property
    def version(self) -> int:
        return self.spec.version


OWN_AUTOMATON: Final = own_automaton()  # the compiled _ac.Automaton, or None (ahocorasick-rs)


def _automaton(keys: list[str]) -> Any:
    """The key scans' automaton: the compiled one of probity.screening._ac where it is built
    (the same matches as ahocorasick-rs's, test_screening_automaton; no per-call GIL release
    or UTF-8 offset mapping), else ahocorasick-rs; its contiguous NFA above 20k keys keeps big
    policies small (its default may build a DFA, several times the memory for the same speed
    class)."""
    if OWN_AUTOMATON is not None:
        return OWN_AUTOMATON(keys)
    if len(keys) > 20_000:
        return AhoCorasick(keys, implementation=Implementation.ContiguousNFA)
    return AhoCorasick(keys)


def _release_free_memory() -> None:
    """Hand the heap pages freed by a big compile back to the OS (glibc's malloc_trim; a
    no-op elsewhere). Without it the process keeps the compile's peak as resident memory."""
    try:
        import ctypes
        import ctypes.util

        name = ctypes.util.find_library("c")
        if name:
            libc = ctypes.CDLL(name)
            if hasattr(libc, "malloc_trim"):
                libc.malloc_trim(0)
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass


def compile_policy(spec: PolicySpec) -> CompiledPolicy:
    """Build the matching tables for ``spec`` (about 1 s for 100,000 terms).

    Per-term tables are int arrays and flags (see `_Entries`, `_EntriesByPart`, `_KeyInfos`),
    built without a per-key intermediate: a 100,000-term policy keeps no Python object per
    term but its folded key."""
    tables()  # make sure the folding tables exist before timing-sensitive work
    keys: list[str] = []  # part id -> folded key (= key id: parts come first in the automaton)
    part_ids: dict[str, int] = {}
    lex_of: array[int] = array("i")  # entry id -> index in spec.lexicon
    first_part: array[int] = array("i")  # entry id -> its first part id
    multi: dict[int, tuple[int, ...]] = {}  # entry id -> part ids (entries of several parts)
    single: array[int] = array("i")  # part id -> the one one-part entry anchored on it
    more: dict[int, list[tuple[int, frozenset[int] | None]]] = {}
    # Keys other than plain parts: homophone spellings, allow-listed terms, context phrases
    # (a part's own key gets its extra payloads here too).
    payloads: dict[str, list[tuple[int, int]]] = {}
    context_keys = {fold_term(t) for ts in spec.contexts.values() for t in ts}

    def specificity(pid: int) -> float:
        # How specific a part is: its length, Latin letters and digits weighing a half,
        # minus half a point when it is also a context phrase (联系, 给你, 加 are everywhere).
        key = keys[pid]
        light = sum(1 for c in key if "a" <= c <= "z" or "0" <= c <= "9")
        return len(key) - light + light / 2 - (0.5 if key in context_keys else 0.0)

    def anchor_entry(anchor: int, eid: int, required: frozenset[int] | None) -> None:
        cur = single[anchor]
        if cur == -1 and required is None:
            single[anchor] = eid
            return
        lst = more.setdefault(anchor, [])
        if cur >= 0:
            lst.append((cur, None))
        single[anchor] = -2
        lst.append((eid, required))

    phonetic_parts: set[int] = set()
    phonetic_terms = {fold_term(e.term) for e in spec.lexicon if e.phonetic and "*" not in e.term}
    for li, entry in enumerate(spec.lexicon):
        pieces = [p for p in (fold_term(p) for p in entry.term.split("*")) if p]
        if not pieces:
            continue
        ids: list[int] = []
        for piece in pieces:
            pid = part_ids.get(piece)
            if pid is None:
                pid = len(keys)
                part_ids[piece] = pid
                keys.append(piece)
                single.append(-1)
            ids.append(pid)
        eid = len(lex_of)
        lex_of.append(li)
        first_part.append(ids[0])
        if len(ids) > 1:
            multi[eid] = tuple(ids)
        # The anchor is the most specific part ("微信" in "加*微信"): only a match of an
        # anchor makes a message worth the slow path, and only its entries are tried then.
        anchor = max(ids, key=lambda i: (specificity(i), -i)) if len(ids) > 1 else ids[0]
        if entry.phonetic:
            # Homophones are expanded for the channel word itself (微信 in 留个*微信, a
            # one-part phonetic term elsewhere in the lexicon), which must then be the anchor.
            targets = [i for i in ids if keys[i] in phonetic_terms]
            if targets:
                anchor = targets[0]
            phonetic_parts.add(anchor)
        # One-part entries (most of a big lexicon) need nothing but their anchor: no set.
        anchor_entry(anchor, eid, frozenset(ids) if len(set(ids)) > 1 else None)
    # The lexicon as compiled (a tuple: a later change to the spec's list cannot shift ids).
    lexicon = tuple(spec.lexicon)
    entries = _Entries(lexicon, lex_of, first_part, multi)
    more_parts = {k: tuple(v) for k, v in more.items()}
    entries_by_part = _EntriesByPart(single, more_parts)
    # The same for the engine's loop: each entry's other parts (the anchor is present when
    # it looks) as a sorted tuple, or None when the anchor is the entry's only part.
    more_others = {k: tuple((eid, None if req is None else tuple(sorted(req - {k})))
                            for eid, req in v)
                   for k, v in more_parts.items()}
    more.clear()
    n_parts = len(keys)

    phonetic_flag = bytearray(n_parts)
    for pid in sorted(phonetic_parts):
        variants = _phonetic_variants(keys[pid])
        for variant in variants:
            payloads.setdefault(variant, []).append((PHONETIC, pid))
        phonetic_flag[pid] = bool(variants)
    parts = _Parts(keys, phonetic_flag)

    for term in spec.allow_terms:
        key = fold_term(term)
        if key:
            payloads.setdefault(key, []).append((ALLOW, 0))
    context_names = tuple(CONTEXT_KINDS)
    for kind, phrases in spec.contexts.items():
        kid = context_names.index(kind)
        for phrase in phrases:
            key = fold_term(phrase)
            if key:
                payloads.setdefault(key, []).append((CONTEXT, kid))

    # Key ids: the parts first (key id = part id), then the other keys.
    key_list = keys + [k for k in payloads if k not in part_ids]
    del part_ids
    plain = bytearray(n_parts)
    other: dict[int, KeyInfo] = {}
    key_latin: list[tuple[bool, bool]] = []
    # Shared instances of the small tuples most keys repeat (a 100,000-term policy holds one
    # per key otherwise).
    latin_pairs = {(a, b): (a, b) for a in (False, True) for b in (False, True)}
    interned: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def intern(t: tuple[Any, ...]) -> tuple[Any, ...]:
        return interned.setdefault(t, t)

    one_part_needs = intern(((),))
    anchor_keys: list[str] = []
    anchor_needs: list[tuple[tuple[str, ...], ...]] = []
    needs_of: dict[int, set[tuple[str, ...]]] = {}
    for kid, key in enumerate(key_list):
        extra = payloads.get(key)
        if kid < n_parts and not extra:
            plain[kid] = 1
            key_latin.append(latin_pairs[_is_latin(key[0]), _is_latin(key[-1])])
            e = single[kid]
            if e == -1:
                continue
            anchor_keys.append(key)
            if e >= 0:
                anchor_needs.append(one_part_needs)  # one one-part entry: nothing else
                continue
            vals: tuple[tuple[int, int], ...] = ((PART, kid),)
        else:
            vals = (((PART, kid),) if kid < n_parts else ()) + tuple(extra or ())
            other[kid] = (
                tuple(i for tag, i in vals if tag == PART),
                intern(tuple(i for tag, i in vals if tag == PHONETIC)),
                any(tag == ALLOW for tag, _i in vals),
                intern(tuple(CONTEXT_KINDS[i] for tag, i in vals if tag == CONTEXT)),
            )
            if len(key) >= 5 and any(tag == PHONETIC for tag, _i in vals):
                # Long typed pinyin may be glued to more pinyin ("jiawoweixin").
                key_latin.append(latin_pairs[False, False])
            else:
                key_latin.append(latin_pairs[_is_latin(key[0]), _is_latin(key[-1])])
            if not any(tag in (PART, PHONETIC) and ident in entries_by_part
                       for tag, ident in vals):
                continue
            anchor_keys.append(key)
        # What else must be in the message for an entry anchored here to match.
        # (Per anchor part, computed once: a part's homophone spellings are keys of their own
        # that share its entries.)
        needs: set[tuple[str, ...]] = set()
        for tag, ident in vals:
            if tag in (PART, PHONETIC):
                got = needs_of.get(ident)
                if got is None:
                    got = needs_of[ident] = {
                        tuple(keys[q] for q in entries[eid].parts if q != ident)
                        for eid, _req in entries_by_part.get(ident, ())}
                needs |= got
        anchor_needs.append(intern(tuple(sorted(needs))))
    del payloads, needs_of
    key_info = _KeyInfos(len(key_list), plain, other)
    # The same for the engine's loop: a list by key id (an index instead of a dict look-up).
    other_by_key: list[KeyInfo | None] = [None] * len(key_list)
    for kid, info in other.items():
        other_by_key[kid] = info
    matcher = _automaton(key_list or ["\x00"])
    # Refusal phrases send an agent's message down the full path (to record the refusal);
    # link markers send any message there (links are classified like QR payloads).
    anchor_index = {k: i for i, k in enumerate(anchor_keys)}

    anchor_flags: list[int] = [0] * len(anchor_keys)

    def add_anchor(key: str, flag: int = 0, always: bool = False) -> None:
        idx = anchor_index.get(key)
        if idx is None:
            idx = anchor_index[key] = len(anchor_keys)
            anchor_keys.append(key)
            anchor_needs.append(())
            anchor_flags.append(0)
        anchor_flags[idx] |= flag
        if always and () not in anchor_needs[idx]:
            anchor_needs[idx] = ((), *anchor_needs[idx])

    for kind in ("refusal", "refusal_strong"):
        for phrase in spec.contexts.get(kind, []):
            key = fold_term(phrase)
            if key:
                add_anchor(key, AGENT_ONLY)
    for key in LINK_MARKERS:
        add_anchor(key, always=True)
    # The same scan also spots what needs the full folding table (traditional, full-width,
    # look-alikes, symbols) and runs of Chinese numerals, so the fast path is a single pass
    # (ASCII digits are found by one regex search: a key per digit would match too often).
    # Separators that str.isalnum() calls alphanumeric (⓫, ↂ, ͺ) are marked too: the fast
    # path may keep them in its compact string (see engine.screen_message).
    for ch in sorted(tables().needs_fold | tables().alnum_separators):
        add_anchor(ch, FOLD_MARK)
    for phrase in spec.contexts.get("channel_noun", []):
        key = fold_term(phrase)
        if key:
            add_anchor(key, ASK_MARK)
    for phrase in spec.contexts.get("solicit", []):
        key = fold_term(phrase)
        if key:
            add_anchor(key, SOLICIT_MARK)
    for phrase in spec.contexts.get("offer", []):
        key = fold_term(phrase)
        if key:
            add_anchor(key, OFFER_MARK)
    benefit_keys = tuple(k for k in (fold_term(t) for t in spec.contexts.get("benefit", [])) if k)
    favor_keys = tuple(k for k in (fold_term(t) for t in spec.contexts.get("favor", [])) if k)
    favor_offer_keys = tuple(
        k for k in (fold_term(t) for t in spec.contexts.get("favor_offer", [])) if k
    )
    request_keys = tuple(
        k for k in (fold_term(t) for t in spec.contexts.get("contact_request", [])) if k
    )
    for a in CN_NUMERALS:
        for b in CN_NUMERALS:
            add_anchor(a + b, DIGIT_MARK)
    anchor_matcher = _automaton(anchor_keys)

    compiled = CompiledPolicy(
        spec=spec,
        parts=parts,
        entries=entries,
        entries_by_part=entries_by_part,
        matcher=matcher,
        anchor_matcher=anchor_matcher,
        anchor_needs=anchor_needs,
        anchor_flags=anchor_flags,
        benefit_keys=benefit_keys,
        favor_keys=favor_keys,
        request_keys=request_keys,
        favor_offer_keys=favor_offer_keys,
        key_info=key_info,
        context_names=context_names,
        allow_numbers=frozenset("".join(c for c in n if c.isdigit()) for n in spec.allow_numbers),
        allow_number_prefixes=tuple(spec.allow_number_prefixes),
        allow_qr=tuple(spec.allow_qr),
        allow_domains=tuple(d.lower() for d in spec.allow_domains),
        warn_at=int(spec.thresholds.get("warn", 2)),
        block_at=int(spec.thresholds.get("block", 3)),
        actions={r: dict(a) for r, a in spec.actions.items()},
        cue_window=int(spec.windows.get("cue", 10)),
        negation_window=int(spec.windows.get("negation", 12)),
        number_context_window=int(spec.windows.get("number_context", 8)),
        key_latin=key_latin,
        hot=HotTables(single, more_others, lexicon, lex_of, first_part, multi, plain,
                      other_by_key, [None] * len(lex_of)),
        model=_load_model(spec),
        model_blocks=spec.model_blocks,
    )
    if len(key_list) > 20_000:
        _release_free_memory()  # the temporaries of a big lexicon's compile
    return compiled


def _load_model(spec: PolicySpec) -> IntentModel | None:
    """The policy's intent model, verified; PolicyError when it cannot be used (the policy
    then does not compile, and whatever compiled policy is in force stays in force)."""
    pin = spec.model or {}
    if pin.get("enabled") is False:
        return None
    path = pin.get("path")
    version = pin.get("version")
    try:
        return load_model(Path(str(path)) if path else None,
                          expect_version=int(version) if version is not None else None,
                          expect_sha256=str(pin["sha256"]) if pin.get("sha256") else None)
    except ModelError as exc:
        raise PolicyError(f"intent model refused: {exc}") from exc


_DEFAULT: CompiledPolicy | None = None


_DEFAULT_LOCK = threading.Lock()


def default_policy() -> CompiledPolicy:
    """The compiled built-in policy (compiled once per process: a second caller waits for the
    first compile instead of running another one beside it)."""
    global _DEFAULT
    if _DEFAULT is None:
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                _DEFAULT = compile_policy(default_policy_spec())
    return _DEFAULT
