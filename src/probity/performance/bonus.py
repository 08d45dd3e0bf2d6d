"""The bonus list of a closed cycle: per employee the base, each factor, the amount and the
reason — the interface payroll consumes.

Payroll calls `bonus_list(session, principal, cycle_id)` (or `GET /api/v1/performance/cycles/
{id}/bonus-list`, with a bearer token holding `performance.read`); the rows are the frozen
`performance_scores`, so a list never changes once its cycle is closed. `total` is what to pay
for this cycle: the compliance bonus plus any adjustment owed for earlier cycles whose deduction
was reversed on appeal.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Perm, Principal
from probity.csvexport import cell, to_csv
from probity.models import CycleStatus, Employee, OrgUnit, PerformanceScore
from probity.performance.errors import fail
from probity.performance.scope import employee_filter, get_cycle


@dataclass(frozen=True)
class BonusLine:
    cycle_id: int
    employee_id: int
    employee_no: str
    name: str
    team: str | None
    grade: str | None
    compliance_score: int
    kpi_score: Decimal
    threshold: int
    rate: Decimal
    base: Decimal
    base_source: str  # grade | salary | grade_no_salary (the rule says salary; none on file)
    salary_months: Decimal | None
    monthly_salary: Decimal | None
    eligible: bool
    amount: Decimal
    adjustment: Decimal
    total: Decimal
    reason: str

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        for k in ("kpi_score", "rate", "base", "amount", "adjustment", "total",
                  "salary_months", "monthly_salary"):
            out[k] = None if out[k] is None else str(out[k])
        return out


HEADER = ("cycle_id", "employee_no", "name", "team", "grade", "compliance_score", "kpi_score",
          "threshold", "rate", "base", "base_source", "salary_months", "monthly_salary",
          "eligible", "amount", "adjustment", "total", "reason")


async def bonus_list(session: AsyncSession, principal: Principal, cycle_id: int
                     ) -> list[BonusLine]:
    """The frozen bonus lines of a closed cycle, for the employees in the caller's scope
    (404 for a cycle out of scope, 409 while the cycle is not closed)."""
    cycle = await get_cycle(session, principal, cycle_id, Perm.performance_read)
    if cycle.status != CycleStatus.closed:
        raise fail("conflict", "The bonus list exists once the cycle is closed",
                   code="cycle_not_closed")
    rows = await session.execute(
        select(PerformanceScore, Employee.employee_no, Employee.name, OrgUnit.name)
        .join(Employee, Employee.id == PerformanceScore.employee_id)
        .outerjoin(OrgUnit, OrgUnit.id == PerformanceScore.org_unit_id)
        .where(PerformanceScore.cycle_id == cycle.id, employee_filter(principal))
        .order_by(Employee.employee_no))
    out: list[BonusLine] = []
    for s, no, name, team in rows:
        rule = (s.indicators or {}).get("_bonus", {})
        basis = rule.get("base") or {}  # absent in cycles closed before the salary option
        out.append(BonusLine(
            cycle.id, s.employee_id, no, name, team, s.grade, s.compliance_score,
            s.total_score, int(rule.get("threshold", 0)), Decimal(str(rule.get("rate", "0"))),
            s.bonus_base, str(basis.get("source") or "grade"), _dec(basis.get("months")),
            _dec(basis.get("salary")), s.bonus_eligible, s.bonus_amount, s.bonus_adjustment,
            s.bonus_amount + s.bonus_adjustment, s.bonus_reason))
    return out


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def reason_text(line: BonusLine, _: Callable[..., str]) -> str:
    """The reason in the reader's language, composed from the line's frozen factors (the stored
    `reason` is the API's stable English form)."""
    pct = format((line.rate * 100).normalize(), "f")
    if line.eligible:
        text = _("Compliance {score} ≥ {threshold}: {pct}% × {base}", score=line.compliance_score,
                 threshold=line.threshold, pct=pct, base=line.base)
    else:
        text = _("Compliance {score} < {threshold}: not eligible", score=line.compliance_score,
                 threshold=line.threshold)
    if line.base_source == "salary":
        months = "?" if line.salary_months is None else format(line.salary_months.normalize(), "f")
        text += "; " + _("Base: {months} × monthly base salary {salary}", months=months,
                         salary=line.monthly_salary)
    elif line.base_source == "grade_no_salary":
        text += "; " + _("No salary on file: base of grade {grade}", grade=line.grade or "—")
    if line.adjustment:
        text += "; " + _("Bonus owed") + f" {line.adjustment}"
    return text


def _row(line: BonusLine, _: Callable[..., str]) -> list[object]:
    return [line.cycle_id, line.employee_no, line.name, line.team or "", line.grade or "",
            line.compliance_score, line.kpi_score, line.threshold, line.rate, line.base,
            line.base_source, "" if line.salary_months is None else line.salary_months,
            "" if line.monthly_salary is None else line.monthly_salary,
            "yes" if line.eligible else "no", line.amount, line.adjustment, line.total,
            reason_text(line, _)]


def bonus_csv(lines: list[BonusLine], _: Callable[..., str]) -> bytes:
    """UTF-8 with a BOM, so Excel opens the Chinese names correctly. Columns are the API's field
    names and codes (payroll systems read them); the reason is in the reader's language."""
    return to_csv(HEADER, (_row(x, _) for x in lines)).encode("utf-8")  # to_csv writes the BOM


def bonus_xlsx(lines: list[BonusLine], title: str, _: Callable[..., str]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31] or "bonus")
    ws.append(list(HEADER))
    for line in lines:
        ws.append([cell(v) if isinstance(v, str) else (float(v) if isinstance(v, Decimal)
                                                       else v) for v in _row(line, _)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
