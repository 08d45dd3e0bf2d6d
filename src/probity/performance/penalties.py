"""The penalty standard as a group standard (`penalties` section of probity.governance):
violation type (and severity) → compliance points deducted → disciplinary measure, escalating
with each repeat inside a window. Versioned, inherited HQ → subsidiary → region, lockable by HQ,
audited and recorded in the ledger like every section; edited on /standards or through
`PUT /api/v1/performance/penalties`.

The measure for a violation is the rule's n-th measure for the agent's n-th substantiated
violation of that type inside the window (the last one repeats). It is the standard's
suggestion shown to whoever proposes the penalty; the decision stays theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Perm
from probity.governance import SettingsSection, register_section
from probity.governance import effective_settings as governed
from probity.models import Case
from probity.models.base import utcnow
from probity.performance.scoring import DEFAULT_POINTS, VIOLATION_TYPES, PenaltyTable

ViolationType = Literal["bribe", "contact", "payment", "concealment", "other"]
# Disciplinary measures in rising order (a ladder is written in this order).
Measure = Literal["verbal_warning", "written_warning", "demerit", "demotion", "dismissal"]
MEASURES: tuple[Measure, ...] = ("verbal_warning", "written_warning", "demerit", "demotion",
                                 "dismissal")

DEFAULT_LADDER: tuple[Measure, ...] = ("written_warning", "demerit", "dismissal")


class PenaltyRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    violation_type: ViolationType
    severity: int | None = Field(None, ge=1, le=4)
    points: int = Field(ge=0, le=100)
    measures: list[Measure] = Field(default_factory=list, max_length=5)

    @model_validator(mode="after")
    def _rising(self) -> PenaltyRule:
        ranks = [MEASURES.index(m) for m in self.measures]
        if ranks != sorted(ranks):
            raise ValueError("measures escalate: write them from the mildest to the strictest")
        return self


class PenaltySettings(SettingsSection):
    rules: list[PenaltyRule] = Field(
        default_factory=list, max_length=50,
        title="Penalty standard: points and measures per violation type and severity")
    default_points: int = Field(DEFAULT_POINTS, ge=0, le=100,
                                title="Points per violation where no rule applies")
    default_measures: list[Measure] = Field(
        default_factory=lambda: list(DEFAULT_LADDER),
        title="Disciplinary measures for the 1st, 2nd, 3rd… violation where no rule names them")
    repeat_window_days: int = Field(365, ge=30, le=1830,
                                    title="Violations within this many days count as repeats")

    @model_validator(mode="after")
    def _unique(self) -> PenaltySettings:
        seen: set[tuple[str, int | None]] = set()
        for r in self.rules:
            key = (r.violation_type, r.severity)
            if key in seen:
                raise ValueError(f"{r.violation_type}/{r.severity} appears twice")
            seen.add(key)
        return self

    def table(self) -> PenaltyTable:
        return PenaltyTable({(r.violation_type, r.severity): r.points for r in self.rules},
                            self.default_points)

    def rows(self) -> list[dict[str, object]]:
        """The standard as rows for display: its rules, then each other type's default."""
        out: list[dict[str, object]] = [
            r.model_dump() for r in sorted(self.rules, key=lambda r: (r.violation_type,
                                                                       r.severity or 0))]
        named = {r.violation_type for r in self.rules}
        out += [{"violation_type": t, "severity": None, "points": self.default_points,
                 "measures": list(self.default_measures)}
                for t in VIOLATION_TYPES if t not in named]
        return out

    def measure_for(self, vtype: str, severity: int | None, nth: int) -> str | None:
        """The measure for the agent's `nth` (1-based) violation of `vtype` in the window."""
        ladder: list[Measure] = list(self.default_measures)
        for key in ((vtype, severity), (vtype, None)):
            rule = next((r for r in self.rules if (r.violation_type, r.severity) == key), None)
            if rule is not None and rule.measures:
                ladder = list(rule.measures)
                break
        if not ladder:
            return None
        return ladder[min(max(nth, 1), len(ladder)) - 1]


register_section("penalties", PenaltySettings, title="Penalty standard",
                 read=Perm.performance_read, manage=Perm.performance_manage)


async def penalty_settings(session: AsyncSession, tenant_id: int) -> PenaltySettings:
    """The standard in force for a tenant, read uncached (a cycle close, a decision)."""
    return (await governed(session, tenant_id, PenaltySettings)).values


@dataclass(frozen=True)
class Suggestion:
    """What the standard sets for a case against an agent: the agent's n-th violation of this
    type inside the window, the points it deducts and the measure."""

    vtype: str
    nth: int
    points: int
    measure: str | None


async def penalty_suggestion(session: AsyncSession, case: Case) -> Suggestion | None:
    """The standard's suggestion for the penalty of `case`; None when the case is not about
    an agent (a customer's violation carries no disciplinary measure for staff)."""
    from probity.performance.facts import (
        AgentFacts,
        case_alert_views,
        case_facts,
        case_subject,
        violation_type,
    )

    if case.agent_employee_id is None:
        return None
    views = await case_alert_views(session, case.id)
    if case_subject(case.subject, views) != "agent":
        return None
    vtype = violation_type(views)
    settings = await penalty_settings(session, case.tenant_id)
    now = utcnow()
    out: dict[int, AgentFacts] = {}
    await case_facts(session, [case.tenant_id], [case.agent_employee_id],
                     now - timedelta(days=settings.repeat_window_days), now, out)
    facts = out.get(case.agent_employee_id)
    nth = 1 + sum(1 for c in (facts.cases if facts else [])
                  if c.violation.case_id != case.id and c.violation.vtype == vtype)
    return Suggestion(vtype, nth, settings.table().points_for(vtype, case.severity),
                      settings.measure_for(vtype, case.severity, nth))
