"""The team's scorecards on the team lead's page (issue 15.6): one row per agent in the lead's
`performance.read` scope for the current appraisal cycle — live while it is open or in review,
the frozen scores once it is closed. Read through the performance service's own functions; the
team page (`chat/team.py`) loads it with htmx, and without JavaScript it is a page of its own.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from probity.auth.deps import Session, require
from probity.auth.permissions import Perm, Principal
from probity.models import AppraisalCycle, CycleStatus, Employee, OrgUnit
from probity.web.render import render

router = APIRouter(include_in_schema=False)
PerformanceReader = Annotated[Principal, Depends(require(Perm.performance_read))]


async def team_scorecards(session: Session, principal: Principal
                          ) -> tuple[AppraisalCycle | None, list[dict[str, Any]]]:
    """The current cycle of the principal's scope and each visible employee's scores in it."""
    from probity.performance import engine
    from probity.performance.bonus import bonus_list
    from probity.performance.cycles import list_cycles
    from probity.performance.scope import employee_filter
    from probity.performance.scorecards import current_cycle

    cycle = current_cycle(await list_cycles(session, principal))
    if cycle is None:
        return None, []
    visible = list((await session.scalars(select(Employee.id).where(
        employee_filter(principal)))).all())
    rows: list[dict[str, Any]] = []
    if cycle.status == CycleStatus.closed:
        shown = set(visible)
        for line in await bonus_list(session, principal, cycle.id):
            if line.employee_id in shown:
                rows.append({"employee_id": line.employee_id, "name": line.name,
                             "employee_no": line.employee_no, "team": line.team,
                             "compliance": line.compliance_score, "total": line.kpi_score,
                             "violations": None, "refusals": None,
                             "eligible": line.eligible, "amount": line.amount})
    elif visible:
        units = dict((await session.execute(select(OrgUnit.id, OrgUnit.name))).all())
        for r in await engine.compute(session, cycle, visible):
            rows.append({"employee_id": r.employee_id, "name": r.name,
                         "employee_no": r.employee_no,
                         "team": units.get(r.org_unit_id) if r.org_unit_id else None,
                         "compliance": r.card.compliance, "total": r.card.total,
                         "violations": len(r.card.deductions), "refusals": r.card.refusals,
                         "eligible": r.bonus.eligible, "amount": r.bonus.amount})
    rows.sort(key=lambda row: (row["compliance"], Decimal(row["total"]), row["name"]))
    return cycle, rows


@router.get("/team/scorecards", response_class=HTMLResponse)
async def team_scorecards_page(request: Request, session: Session, principal: PerformanceReader
                               ) -> Response:
    """The section (htmx, from the team page), or the same as a page of its own."""
    cycle, rows = await team_scorecards(session, principal)
    template = ("team/_scorecards.html" if request.headers.get("hx-request")
                else "team/scorecards.html")
    return render(request, template, cycle=cycle, rows=rows)
