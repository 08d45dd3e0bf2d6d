# cython: annotation_typing=False
"""What screening returns: a decision with spans over the original text (engine and layers)."""

from __future__ import annotations

from typing import Any, Final, NamedTuple

try:  # True where setup.py compiled this module (Cython's pure-Python mode constant)
    import cython

    _COMPILED: bool = bool(cython.compiled)
except ImportError:  # no Cython: the sources run as they are
    _COMPILED = False
    from probity.screening._nocython import cython
try:  # C functions for make_span (cimports: they resolve where Cython compiles)
    from cython.cimports.cpython.ref import Py_INCREF
    from cython.cimports.cpython.tuple import PyTuple_SET_ITEM
except (ImportError, AttributeError):  # interpreted (Cython's shadow module raises the latter)
    pass


class Span(NamedTuple):
    """A matched stretch of the ORIGINAL text, [start, end) in code points."""

    start: int
    end: int
    category: str
    rule: str
    severity: int

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "category": self.category,
                "rule": self.rule, "severity": self.severity}


# tuple.__new__ once (as the NamedTuple's generated __new__ keeps it): no look-up of
# "__new__" through the type and its metatype per span.
_TUPLE_NEW: Final = tuple.__new__


def make_span(start: int, end: int, category: str, rule: str, severity: int) -> Span:
    """``Span(start, end, category, rule, severity)`` without the NamedTuple's generated
    ``__new__`` (interpreted Python, even when called from compiled code): the same tuple.
    Compiled, what ``tuple.__new__(Span, items)`` does in C (tuple_subtype_new: the type's
    allocator, PyType_GenericAlloc, then each item stored with a new reference), without
    the call through ``tuple.__new__``, its argument tuple and the copy."""
    if not _COMPILED:
        return _TUPLE_NEW(Span, (start, end, category, rule, severity))
    t = _generic_alloc(Span, 5)  # type: ignore[name-defined]  # noqa: F821 (result.pxd)
    Py_INCREF(start)
    PyTuple_SET_ITEM(t, 0, start)
    Py_INCREF(end)
    PyTuple_SET_ITEM(t, 1, end)
    Py_INCREF(category)
    PyTuple_SET_ITEM(t, 2, category)
    Py_INCREF(rule)
    PyTuple_SET_ITEM(t, 3, rule)
    Py_INCREF(severity)
    PyTuple_SET_ITEM(t, 4, severity)
    return t  # type: ignore[no-any-return]


def rules_result(decision: str, categories: list[str], severity: int, spans: list[Span],
                 masked: str, policy_version: int) -> ScreeningResult:
    """``ScreeningResult(decision, categories, severity, spans, masked, policy_version)``
    built field by field, as :func:`allow_result` is (the engine's decision on a message with
    hits; struct stores where result.pxd compiles this module). The same object."""
    r = ScreeningResult.__new__(ScreeningResult)
    r.decision = decision
    r.categories = categories
    r.severity = severity
    r.spans = spans
    r.masked = masked
    r.policy_version = policy_version
    r.model_scores = None
    r.drivers = []
    r.source = "rules"
    r.suppressed = False
    r.negated = False
    r.concrete = False
    r.vetoed = []
    return r


def allow_result(masked: str, policy_version: int) -> ScreeningResult:
    """``ScreeningResult("allow", [], 0, [], masked, policy_version)`` without the call through
    ``__init__``'s thirteen parameters: the engine's fast path builds one per message (where
    result.pxd compiles this module, the engine cimports this function and calls it, and it
    calls :func:`rules_result`, from C). The same object as the constructor makes."""
    return rules_result("allow", [], 0, [], masked, policy_version)


# EntryInfo.flags: the entry's booleans as bits (LexiconEntry's fields of the same names).
NEEDS_CUE: Final = 1
ID_FOLLOWS: Final = 2
COUPON_SENSITIVE: Final = 4
EMAIL: Final = 8
OWN_NUMBER: Final = 16
PINNED: Final = 32


class EntryInfo:
    """What the engine's per-message loops read of one compiled lexicon entry, gathered once
    (result.pxd makes it a C struct: field reads instead of attribute look-ups on the
    LexiconEntry dataclass): ``roles`` as bits (1 customer, 2 agent), ``parts`` the entry's
    part ids where it has several (None: one part, ``first``), ``flags`` its booleans."""

    __slots__ = ("category", "entry", "first", "flags", "max_gap", "parts", "roles", "rule",
                 "severity")

    def __init__(self, entry: Any, parts: tuple[int, ...] | None, first: int) -> None:
        self.entry = entry
        self.category = entry.category
        self.severity = entry.severity
        self.rule = entry.term
        self.roles = (1 if "customer" in entry.roles else 0) | (2 if "agent" in entry.roles
                                                                 else 0)
        self.max_gap = entry.max_gap
        self.parts = parts
        self.first = first
        self.flags = entry_flags(entry)


def entry_flags(entry: Any) -> int:
    """A LexiconEntry's booleans as EntryInfo.flags bits."""
    return ((NEEDS_CUE if entry.needs_cue else 0) | (ID_FOLLOWS if entry.id_follows else 0)
            | (COUPON_SENSITIVE if entry.coupon_sensitive else 0)
            | (EMAIL if entry.email else 0) | (OWN_NUMBER if entry.own_number else 0)
            | (PINNED if entry.pinned else 0))


@cython.freelist(8)
@cython.cclass
class ScreeningResult:
    """The decision on one message.

    ``model_scores``: the learned layer's probability per category (None: no model in the
    policy); ``drivers``: the phrases (normalised n-grams, weight) that drove a model
    decision; ``source``: who decided, "rules" | "model" (the model alone; at most warn
    unless the tenant opts in) | "context"; ``suppressed``: the rules dropped a hit for a
    context reason, ``negated``: ...and that reason was a negation, refusal or report (not an
    allow-list, coupon or code); ``concrete``: the rules found a number, ID, e-mail or link;
    ``vetoed``: rule hits the model overruled.

    A plain class with slots and the dataclass's ``__eq__``/``__repr__`` written out:
    result.pxd makes it a C struct where setup.py compiles this module (13 attribute stores
    per message were a good part of the fast path's cost as a Python class)."""

    __slots__ = ("categories", "concrete", "decision", "drivers", "masked", "model_scores",
                 "negated", "policy_version", "severity", "source", "spans", "suppressed",
                 "vetoed")

    def __init__(self, decision: str, categories: list[str], severity: int, spans: list[Span],
                 masked: str, policy_version: int = 0,
                 model_scores: dict[str, float] | None = None,
                 drivers: list[tuple[str, float]] | None = None, source: str = "rules",
                 suppressed: bool = False, negated: bool = False, concrete: bool = False,
                 vetoed: list[str] | None = None) -> None:
        self.decision = decision  # allow | warn | block
        self.categories = categories
        self.severity = severity  # 0 none, 1 low, 2 medium, 3 high
        self.spans = spans
        self.masked = masked
        self.policy_version = policy_version
        self.model_scores = model_scores
        self.drivers: list[tuple[str, float]] = [] if drivers is None else drivers
        self.source = source
        self.suppressed = suppressed
        self.negated = negated
        self.concrete = concrete
        self.vetoed: list[str] = [] if vetoed is None else vetoed

    def _fields(self) -> tuple[Any, ...]:
        return (self.decision, self.categories, self.severity, self.spans, self.masked,
                self.policy_version, self.model_scores, self.drivers, self.source,
                self.suppressed, self.negated, self.concrete, self.vetoed)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, ScreeningResult)
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        names = ("decision", "categories", "severity", "spans", "masked", "policy_version",
                 "model_scores", "drivers", "source", "suppressed", "negated", "concrete",
                 "vetoed")
        inner = ", ".join(f"{n}={v!r}" for n, v in zip(names, self._fields(), strict=True))
        return f"ScreeningResult({inner})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (ScreeningResult, self._fields())

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "decision": self.decision,
            "categories": list(self.categories),
            "severity": self.severity,
            "spans": [s.to_dict() for s in self.spans],
            "masked": self.masked,
        }
        if self.model_scores is not None:
            out["source"] = self.source
            out["model"] = {k: round(v, 3) for k, v in self.model_scores.items()}
            if self.drivers:
                out["drivers"] = [[g, w] for g, w in self.drivers]
            if self.vetoed:
                out["vetoed"] = list(self.vetoed)
        return out

    def explanation(self) -> dict[str, Any] | None:
        """What reviewers see about a model decision (stored as the alert's evidence)."""
        if self.model_scores is None or self.source == "rules":
            return None
        return {"source": self.source,
                "model": {k: round(v, 3) for k, v in self.model_scores.items()},
                "drivers": [[g, w] for g, w in self.drivers], "vetoed": list(self.vetoed)}

    @property
    def flagged(self) -> bool:
        return self.decision != "allow"
