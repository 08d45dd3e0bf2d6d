"""Screening policies: plain JSON-serialisable data (`PolicySpec`) and the compiled tables.

A `PolicySpec` is what a tenant stores (a versioned JSON object). `compile_policy` turns it
into a `CompiledPolicy` once: folded terms, a phonetic key per homophone-enabled term, and
two Aho-Corasick automata. Nothing is built per message.

Severity scheme (an int, the same in lexicons and results):

* 0 ``none``   - nothing found;
* 1 ``low``    - recorded, never acted on by the default thresholds;
* 2 ``medium`` - likely evasion: the default thresholds *warn*;
* 3 ``high``   - explicit evasion: the default thresholds *block*.

Decision = for each category found, the threshold reached by its severity (``warn`` /
``block``), capped by ``actions[role][category]``; the strongest over categories wins.
``refusal`` is never acted on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any, Final

import ahocorasick

from probity.screening.normalize import fold_term, tables, to_pinyin

CATEGORIES: Final[tuple[str, ...]] = ("contact", "bribe", "payment", "refusal")
FLAGGED_CATEGORIES: Final[tuple[str, ...]] = ("contact", "bribe", "payment")
ROLES: Final[tuple[str, ...]] = ("customer", "agent")
DECISIONS: Final[tuple[str, ...]] = ("allow", "warn", "block")
SEVERITY_NAMES: Final = {0: "none", 1: "low", 2: "medium", 3: "high"}
CONTEXT_KINDS: Final[tuple[str, ...]] = (
    "cue_contact", "cue_bribe", "cue_payment", "negation", "negation_near", "not_negation",
    "report", "verify", "number_context", "bank_cue", "phone_cue", "qq_cue", "invoice",
    "coupon", "private", "refusal", "bribe_mention", "refusal_strong", "account",
)


class PolicyError(ValueError):
    """A policy document that cannot be compiled."""


@dataclass(frozen=True)
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

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["roles"] = list(self.roles)
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


@dataclass(frozen=True)
class Part:
    """One gap-free piece of a lexicon term, folded."""

    key: str  # folded text
    phonetic_key: str | None  # pinyin key when homophones of this part are matched
    latin_start: bool
    latin_end: bool


@dataclass(frozen=True)
class CompiledEntry:
    entry: LexiconEntry
    parts: tuple[int, ...]  # part ids
    label: str  # the term as written, reported as the span's rule


# Payload tags stored in the automata.
PART: Final = 0
ALLOW: Final = 1
CONTEXT: Final = 2


def _is_latin(ch: str) -> bool:
    return "a" <= ch <= "z"


@dataclass
class CompiledPolicy:
    """Tables built once from a spec; immutable once built and shared by all threads."""

    spec: PolicySpec
    parts: list[Part]
    entries: list[CompiledEntry]
    entries_by_part: dict[int, list[int]]
    compact_automaton: Any  # ahocorasick.Automaton: key -> tuple[(tag, id, ...), ...]
    phonetic_automaton: Any | None
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
    key_latin: dict[str, tuple[bool, bool]]

    @property
    def version(self) -> int:
        return self.spec.version


def compile_policy(spec: PolicySpec) -> CompiledPolicy:
    """Build the matching tables for ``spec`` (about 1 s for 100,000 terms)."""
    tables()  # make sure the folding tables exist before timing-sensitive work
    parts: list[Part] = []
    part_ids: dict[tuple[str, bool], int] = {}
    entries: list[CompiledEntry] = []
    entries_by_part: dict[int, list[int]] = {}
    payloads: dict[str, list[tuple[int, int]]] = {}
    phonetic_payloads: dict[str, list[tuple[int, int]]] = {}

    for entry in spec.lexicon:
        pieces = [fold_term(p) for p in entry.term.split("*")]
        pieces = [p for p in pieces if p]
        if not pieces:
            continue
        ids: list[int] = []
        for piece in pieces:
            pkey: str | None = None
            if entry.phonetic:
                py = to_pinyin(piece)
                # Only multi-syllable pieces: one syllable has too many homophones.
                n_cjk = sum(1 for c in piece if ord(c) > 0x2E80)
                if n_cjk >= 2 and py != piece:
                    pkey = py
            ident = (piece, pkey is not None)
            pid = part_ids.get(ident)
            if pid is None:
                pid = len(parts)
                part_ids[ident] = pid
                parts.append(Part(piece, pkey, _is_latin(piece[0]), _is_latin(piece[-1])))
                payloads.setdefault(piece, []).append((PART, pid))
                if pkey is not None:
                    phonetic_payloads.setdefault(pkey, []).append((PART, pid))
            ids.append(pid)
        eid = len(entries)
        entries.append(CompiledEntry(entry, tuple(ids), entry.term))
        for pid in set(ids):
            entries_by_part.setdefault(pid, []).append(eid)

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

    automaton = ahocorasick.Automaton()
    key_latin: dict[str, tuple[bool, bool]] = {}
    for key, vals in payloads.items():
        automaton.add_word(key, (len(key), tuple(vals)))
        key_latin[key] = (_is_latin(key[0]), _is_latin(key[-1]))
    automaton.make_automaton()
    phonetic_automaton = None
    if phonetic_payloads:
        phonetic_automaton = ahocorasick.Automaton()
        for key, vals in phonetic_payloads.items():
            phonetic_automaton.add_word(key, (len(key), tuple(vals)))
        phonetic_automaton.make_automaton()

    return CompiledPolicy(
        spec=spec,
        parts=parts,
        entries=entries,
        entries_by_part=entries_by_part,
        compact_automaton=automaton,
        phonetic_automaton=phonetic_automaton,
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
    )


_DEFAULT: CompiledPolicy | None = None


def default_policy() -> CompiledPolicy:
    """The compiled built-in policy (compiled once per process)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = compile_policy(default_policy_spec())
    return _DEFAULT
