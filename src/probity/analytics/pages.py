"""Risk analytics pages: the dashboard (heat-map, tenure bands, league table, trends, findings
with "act on it"), the alerts behind a cell, and HQ's outcome dashboard."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from probity.analytics import assign, findings, outcome, queries
from probity.analytics.queries import Filters
from probity.analytics.router import Reader, TrainingManager, dashboard_filters
from probity.auth.deps import Session, commit
from probity.auth.permissions import Perm
from probity.auth.scoping import tenants_in_scope
from probity.i18n import translator
from probity.models import OrgUnit
from probity.models.analytics import TENURE_BANDS
from probity.web.render import locale_of, render

router = APIRouter(include_in_schema=False)
Range = Annotated[Filters, Depends(dashboard_filters)]


async def _choices(session: Session, principal: Reader) -> dict[str, Any]:
    tenants = await tenants_in_scope(session, principal, Perm.analytics_read)
    scope = principal.scope(Perm.analytics_read)
    units = (await session.execute(select(OrgUnit.id, OrgUnit.name).where(
        scope.filter(OrgUnit.tenant_id, OrgUnit.id)).order_by(OrgUnit.id))).all()
    return {"tenants": [(t.id, t.name) for t in tenants],
            "teams": [(u_id, name) for u_id, name in units]}


@router.get("/analytics", response_class=HTMLResponse)
async def dashboard(request: Request, session: Session, principal: Reader, f: Range
                    ) -> Response:
    data = {"heatmap": await queries.heatmap(session, principal, f),
            "tenure": await queries.by_tenure(session, principal, f),
            "league": await queries.league(session, principal, f),
            "trends": await queries.trends(session, principal, f)}
    found = await findings.detect(session, principal, f, translator(locale_of(request)))
    courses = []
    if principal.can(Perm.training_manage):
        from probity.training.service import assignable_courses

        courses = await assignable_courses(session, principal)
    return render(request, "analytics/dashboard.html", data=data, findings=found, f=f,
                  params=f.params(), bands=TENURE_BANDS,
                  can_act=principal.can(Perm.monitoring_manage), courses=courses,
                  **await _choices(session, principal))


@router.post("/analytics/findings/{key}/training")
async def assign_training(
    key: str, session: Session, principal: TrainingManager,
    course_id: Annotated[int, Form(gt=0, lt=2**31)],
    text: Annotated[str, Form(max_length=300)] = "",
    due: Annotated[str, Form(max_length=10)] = "",
    start: Annotated[str | None, Form(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Form(alias="to", max_length=10)] = None,
    tenant: Annotated[int | None, Form(gt=0, lt=2**31)] = None,
) -> Response:
    """The dashboard's "assign training" form on a finding: assign, then the course's page
    says how many people got it."""
    f = await queries.filters(session, principal, start=start, end=end, tenant=tenant)
    day = queries.parse_day(due, "due") if due.strip() else None
    due_at = datetime.combine(day, time(23, 59), f.zone) if day is not None else None
    done = await assign.assign_from_finding(session, principal, key[:80], f,
                                            course_id=course_id, due_at=due_at, text=text)
    course_id, assigned, already = done.course.id, len(done.assigned), done.already
    await commit(session)
    return RedirectResponse(f"/training/courses/{course_id}?assigned={assigned}"
                            f"&already={already}", status_code=303)


PAGE = 100  # alerts per drill-down page


@router.get("/analytics/alerts", response_class=HTMLResponse)
async def drill_page(request: Request, session: Session, principal: Reader, f: Range,
                     dow: Annotated[int | None, Query(ge=0, le=6)] = None,
                     hour: Annotated[int | None, Query(ge=0, le=23)] = None,
                     band: Annotated[str | None, Query(max_length=8)] = None,
                     before: Annotated[str | None, Query(max_length=60)] = None,
                     ) -> Response:
    rows = await queries.drill(session, principal, f, dow=dow, hour=hour, band=band,
                               limit=PAGE, before=queries.parse_cursor(before))
    cell = {k: v for k, v in (("dow", dow), ("hour", hour), ("band", band)) if v is not None}
    older = ({**f.params(), **cell, "before": queries.cursor_of(rows[-1])}
             if len(rows) == PAGE else None)
    return render(request, "analytics/alerts.html", rows=rows, f=f, dow=dow, hour=hour,
                  band=band, params=f.params(), older=older)


@router.get("/analytics/outcome", response_class=HTMLResponse)
async def outcome_page(request: Request, session: Session, principal: Reader, f: Range
                       ) -> Response:
    data = await outcome.outcome(session, principal, f)
    trend = await queries.trends(session, principal, f)
    return render(request, "analytics/outcome.html", data=data, trend=trend, f=f,
                  params=f.params(), **await _choices(session, principal))
