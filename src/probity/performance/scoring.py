"""The scoring engine: pure functions from facts to scores (no database, no web).

Compliance starts at 100; each substantiated violation deducts the points the penalty standard
sets for its type and severity (default 5), a violation the agent concealed (uncovered by finance
or a customer report, not self-reported) deducts the concealment points on top; the floor is 0.
Refusals, self-reports and rebuffed attempts are positive facts: they feed awards and never
lower a score. The KPI total is the weighted mean of the indicators that have data (compliance
always has), so adding a violation can only lower it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

VIOLATION_TYPES = ("bribe", "contact", "payment", "concealment", "other")
DEFAULT_POINTS = 5
SERVICE_INDICATORS = ("compliance", "csat", "first_response", "resolution")
MANUAL_PREFIX = "manual."
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Violation:
    """One substantiated case against the agent."""

    case_id: int
    vtype: str  # bribe | contact | payment | other
    severity: int  # 1 … 4
    concealed: bool = False


@dataclass(frozen=True)
class PenaltyTable:
    """Points per (violation type, severity); (type, None) applies to any severity."""

    points: Mapping[tuple[str, int | None], int] = field(default_factory=dict)
    default: int = DEFAULT_POINTS

    def points_for(self, vtype: str, severity: int | None) -> int:
        for key in ((vtype, severity), (vtype, None)):
            if key in self.points:
                return max(0, self.points[key])
        return max(0, self.default)


@dataclass(frozen=True)
class Deduction:
    case_id: int
    kind: str  # violation | concealment
    vtype: str
    severity: int
    points: int


def deductions(violations: Iterable[Violation], table: PenaltyTable) -> list[Deduction]:
    out: list[Deduction] = []
    for v in violations:
        out.append(Deduction(v.case_id, "violation", v.vtype, v.severity,
                             table.points_for(v.vtype, v.severity)))
        if v.concealed:
            out.append(Deduction(v.case_id, "concealment", "concealment", v.severity,
                                 table.points_for("concealment", v.severity)))
    return out


def compliance_score(violations: Iterable[Violation], table: PenaltyTable) -> int:
    """100 minus the deductions, never below 0."""
    return max(0, 100 - sum(d.points for d in deductions(violations, table)))


def score_from(lines: Iterable[Deduction]) -> int:
    """The compliance score a set of deductions leaves."""
    return max(0, 100 - sum(d.points for d in lines))


def restoration(lines: Iterable[Deduction], overturned: Iterable[int]) -> int:
    """Points a frozen score regains when the cases in `overturned` are reversed on appeal:
    exactly the score without their deductions minus the score that was frozen."""
    items = list(lines)
    gone = set(overturned)
    return score_from(d for d in items if d.case_id not in gone) - score_from(items)


@dataclass(frozen=True)
class ServiceFacts:
    conversations: int = 0
    resolved: int = 0
    csat_sum: int = 0
    csat_count: int = 0
    first_response_sum_s: float = 0.0
    first_response_count: int = 0

    @property
    def csat(self) -> float | None:
        return self.csat_sum / self.csat_count if self.csat_count else None

    @property
    def first_response_s(self) -> float | None:
        if not self.first_response_count:
            return None
        return self.first_response_sum_s / self.first_response_count


def _clamp(value: float) -> float:
    return max(0.0, min(100.0, value))


def indicator_scores(compliance: int, service: ServiceFacts, manual: Mapping[str, int],
                     first_response_target_s: int) -> dict[str, float | None]:
    """Each indicator on 0–100, or None where there is no data (then it is left out)."""
    csat = service.csat
    frt = service.first_response_s
    scores: dict[str, float | None] = {
        "compliance": float(compliance),
        "csat": None if csat is None else _clamp((csat - 1.0) / 4.0 * 100.0),
        "first_response": None if frt is None else _clamp(
            100.0 * first_response_target_s / max(float(first_response_target_s), frt)),
        "resolution": (None if not service.conversations
                       else _clamp(100.0 * service.resolved / service.conversations)),
    }
    for code, value in manual.items():
        scores[code] = _clamp(float(value))
    return scores


def weighted_total(scores: Mapping[str, float | None], weights: Mapping[str, int]) -> Decimal:
    """The weighted mean over the indicators that have data, rounded to 0.01."""
    num = 0.0
    den = 0
    for code, weight in weights.items():
        value = scores.get(code)
        if value is None or weight <= 0:
            continue
        num += weight * value
        den += weight
    if not den:
        return Decimal("0.00")
    return Decimal(str(num / den)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Bonus:
    base: Decimal
    eligible: bool
    amount: Decimal
    reason: str


def compliance_bonus(score: int, base: Decimal, threshold: int, rate: Decimal) -> Bonus:
    """The compliance bonus: rate × base when the compliance score reaches the threshold."""
    eligible = score >= threshold
    amount = (base * rate).quantize(CENT, rounding=ROUND_HALF_UP) if eligible else Decimal(
        "0.00")
    pct = format((rate * 100).normalize(), "f")  # 10, 12.5 — never "1E+1"
    if eligible:
        reason = f"compliance {score} ≥ {threshold}: {pct}% × {base}"
    else:
        reason = f"compliance {score} < {threshold}: not eligible"
    return Bonus(base, eligible, amount, reason)


@dataclass(frozen=True)
class Scorecard:
    compliance: int
    deductions: list[Deduction]
    indicators: dict[str, float | None]
    total: Decimal
    refusals: int
    rebuffed: int
    self_reports: int


def score_agent(violations: Iterable[Violation], table: PenaltyTable, service: ServiceFacts,
                manual: Mapping[str, int], weights: Mapping[str, int], *,
                first_response_target_s: int = 60, refusals: int = 0, rebuffed: int = 0,
                self_reports: int = 0) -> Scorecard:
    """One agent's scorecard for one cycle."""
    items = list(violations)
    lines = deductions(items, table)
    compliance = max(0, 100 - sum(d.points for d in lines))
    scores = indicator_scores(compliance, service, manual, first_response_target_s)
    return Scorecard(compliance, lines, scores, weighted_total(scores, weights), refusals,
                     rebuffed, self_reports)


def validate_weights(weights: Mapping[str, int]) -> tuple[str, dict[str, object]] | None:
    """None when the weights are usable, else what is wrong (an English msgid and its
    parameters)."""
    if not weights:
        return "A template needs at least one indicator", {}
    if any(w <= 0 or w > 100 for w in weights.values()):
        return "Each weight is 1 … 100", {}
    total = sum(weights.values())
    if total != 100:
        return "The weights sum to {total}%, not 100%", {"total": total}
    if "compliance" not in weights:
        return "The compliance indicator is required", {}
    return None
