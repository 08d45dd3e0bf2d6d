"""The performance section of the group standards (probity.governance): the compliance weight
(HQ's, locked for the group), the bonus rule (lockable by HQ), the 合规标兵 rule and the
service target. Changed through `/api/v1/settings/{tenant}/performance` like every section.

The compliance weight is the HQ's value for the whole group whatever a subsidiary stores (the
demo group also locks it at HQ), so a KPI template can never weigh compliance differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Perm
from probity.governance import SettingsSection, register_section, settings_values
from probity.governance import effective_settings as governed
from probity.models import Tenant
from probity.performance.errors import fail

# The range HQ may set the compliance weight in (percent of the KPI total).
COMPLIANCE_WEIGHT_RANGE = (15, 25)
DEFAULT_BASES = {"P1": Decimal("3000.00"), "P2": Decimal("4000.00"), "P3": Decimal("5000.00"),
                 "M1": Decimal("6000.00"), "M2": Decimal("8000.00")}


class PerformanceSettings(SettingsSection):
    compliance_weight: int = Field(20, ge=COMPLIANCE_WEIGHT_RANGE[0],
                                   le=COMPLIANCE_WEIGHT_RANGE[1],
                                   title="Compliance KPI weight (%)")
    bonus_threshold: int = Field(90, ge=0, le=100,
                                 title="Compliance score that earns the compliance bonus")
    bonus_rate: Decimal = Field(Decimal("0.10"), ge=0, le=1, decimal_places=4,
                                title="Compliance bonus rate (of the performance-bonus base)")
    bonus_base_by_grade: dict[str, Decimal] = Field(
        default_factory=lambda: dict(DEFAULT_BASES), title="Performance-bonus base per grade")
    default_bonus_base: Decimal = Field(Decimal("3000.00"), ge=0, le=10_000_000,
                                        decimal_places=2,
                                        title="Performance-bonus base for other grades")
    bonus_base_source: Literal["grade", "salary"] = Field(
        "grade", title="Performance-bonus base from: the position grade or the employee's salary")
    bonus_salary_months: Decimal = Field(Decimal("1"), ge=0, le=24, decimal_places=2,
                                         title="Performance-bonus base from salary: months of "
                                               "monthly base salary")
    star_max_violations: int = Field(0, ge=0, le=100,
                                     title="Compliance Star: at most this many violations")
    star_min_refusals: int = Field(1, ge=0, le=1000,
                                   title="Compliance Star: at least this many refusals")
    star_min_csat: float = Field(4.5, ge=1, le=5, title="Compliance Star: CSAT at least")
    first_response_target_s: int = Field(60, ge=1, le=86_400,
                                         title="First response target (seconds)")

    def bonus_base(self, grade: str | None) -> Decimal:
        if grade and grade in self.bonus_base_by_grade:
            return self.bonus_base_by_grade[grade]
        return self.default_bonus_base

    def base_for(self, grade: str | None, salary: Decimal | None) -> BonusBase:
        """The performance-bonus base of one employee under this rule: the grade's base, or
        `bonus_salary_months` × their monthly base salary (payroll's salary assignment in force
        at the cycle's end) — falling back to the grade's base, saying so, when they have no
        salary on file."""
        if self.bonus_base_source == "salary":
            if salary is not None:
                base = (self.bonus_salary_months * salary).quantize(CENT, rounding=ROUND_HALF_UP)
                return BonusBase(base, "salary", self.bonus_salary_months, salary, grade)
            return BonusBase(self.bonus_base(grade), "grade_no_salary", None, None, grade)
        return BonusBase(self.bonus_base(grade), "grade", None, None, grade)


CENT = Decimal("0.01")


@dataclass(frozen=True)
class BonusBase:
    """Where an employee's performance-bonus base came from: `grade` (the rule says grade),
    `salary` (months × monthly base salary) or `grade_no_salary` (the rule says salary, the
    employee has none on file, so the grade's base)."""

    amount: Decimal
    source: str
    months: Decimal | None
    salary: Decimal | None
    grade: str | None

    @property
    def basis(self) -> str:
        """The base's origin in words, for the bonus list's reason (empty for the grade rule)."""
        if self.source == "salary":
            months = format(self.months.normalize(), "f") if self.months is not None else "?"
            return f"base = {months} × monthly base salary {self.salary}"
        if self.source == "grade_no_salary":
            return f"no salary on file: base of grade {self.grade or '—'}"
        return ""

    def as_json(self) -> dict[str, str | None]:
        return {"source": self.source,
                "months": None if self.months is None else str(self.months),
                "salary": None if self.salary is None else str(self.salary),
                "grade": self.grade}


register_section("performance", PerformanceSettings, title="Performance",
                 read=Perm.performance_read, manage=Perm.performance_manage)


async def effective_settings(session: AsyncSession, tenant_id: int) -> PerformanceSettings:
    """The tenant's performance settings, with the compliance weight taken from HQ. Read
    uncached: a cycle close or a template check must see the standard in force now."""
    values = (await governed(session, tenant_id, PerformanceSettings)).values
    root = await group_root(session, tenant_id)
    if root is not None and root != tenant_id:
        hq = (await governed(session, root, PerformanceSettings)).values
        values = _with_group_weight(values, hq)
    return values


async def cached_settings(session: AsyncSession, tenant_id: int, root: int | None
                          ) -> PerformanceSettings:
    """`effective_settings` through governance's short per-process cache (a change made in this
    process drops it at commit; another process sees it within seconds), for the group `root`
    the caller already knows. For figures shown as provisional (a live scorecard), never for a
    close."""
    values = await settings_values(session, tenant_id, PerformanceSettings)
    if root is not None and root != tenant_id:
        values = _with_group_weight(values, await settings_values(session, root,
                                                                  PerformanceSettings))
    return values


def _with_group_weight(values: PerformanceSettings, hq: PerformanceSettings
                       ) -> PerformanceSettings:
    if hq.compliance_weight != values.compliance_weight:
        return values.model_copy(update={"compliance_weight": hq.compliance_weight})
    return values


async def group_root(session: AsyncSession, tenant_id: int) -> int | None:
    path = await session.scalar(select(Tenant.path).where(Tenant.id == tenant_id))
    parts = [p for p in (path or "").strip("/").split("/") if p]
    return int(parts[0]) if parts else None


def check_compliance_weight(weight: int) -> int:
    low, high = COMPLIANCE_WEIGHT_RANGE
    if not low <= weight <= high:
        raise fail("invalid", "The compliance weight must be between {low}% and {high}% (set "
                   "by HQ)", code="compliance_weight_out_of_range", low=low, high=high,
                   extra={"range": [low, high]})
    return weight
