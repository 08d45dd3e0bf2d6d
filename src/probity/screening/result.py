"""What screening returns: a decision with spans over the original text (engine and layers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple


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


def make_span(start: int, end: int, category: str, rule: str, severity: int) -> Span:
    """``Span(start, end, category, rule, severity)`` without the NamedTuple's generated
    ``__new__`` (interpreted Python, even when called from compiled code): the same tuple."""
    return tuple.__new__(Span, (start, end, category, rule, severity))


@dataclass(slots=True)
class ScreeningResult:
    decision: str  # allow | warn | block
    categories: list[str]
    severity: int  # 0 none, 1 low, 2 medium, 3 high
    spans: list[Span]
    masked: str
    policy_version: int = 0
    # The learned layer: its probability per category (None: no model in the policy), the
    # phrases (normalised n-grams, weight) that drove a model decision, and who decided:
    # "rules" | "model" (the model alone; at most warn unless the tenant opts in) | "context".
    model_scores: dict[str, float] | None = None
    drivers: list[tuple[str, float]] = field(default_factory=list)
    source: str = "rules"
    suppressed: bool = False  # the rules dropped a hit for a context reason
    # ...and that reason was a negation, refusal or report (not an allow-list, coupon or code)
    negated: bool = False
    concrete: bool = False  # the rules found a number, ID, e-mail or link
    vetoed: list[str] = field(default_factory=list)  # rule hits the model overruled

    # Written out (the dataclass keeps a class's own __init__): the same parameters and
    # defaults as the generated one, but compiled with this module (setup.py), which matters
    # on the fast path, where building the result is a good part of the cost.
    def __init__(self, decision: str, categories: list[str], severity: int, spans: list[Span],
                 masked: str, policy_version: int = 0,
                 model_scores: dict[str, float] | None = None,
                 drivers: list[tuple[str, float]] | None = None, source: str = "rules",
                 suppressed: bool = False, negated: bool = False, concrete: bool = False,
                 vetoed: list[str] | None = None) -> None:
        self.decision = decision
        self.categories = categories
        self.severity = severity
        self.spans = spans
        self.masked = masked
        self.policy_version = policy_version
        self.model_scores = model_scores
        self.drivers = [] if drivers is None else drivers
        self.source = source
        self.suppressed = suppressed
        self.negated = negated
        self.concrete = concrete
        self.vetoed = [] if vetoed is None else vetoed

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
