"""JSON API for risk analytics: dashboards, drill-down, findings (and a finding's cohort),
outcome figures, and every chart's data as CSV/XLSX."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from probity.analytics import assign, export, findings, outcome, queries
from probity.analytics.queries import Filters
from probity.auth.deps import Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.errors import InvalidInput, NotFound
from probity.i18n import translator
from probity.web.render import locale_of

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])
Reader = Annotated[Principal, Depends(require(Perm.analytics_read))]
TrainingManager = Annotated[Principal, Depends(require(Perm.training_manage))]


async def dashboard_filters(
    session: Session, principal: Reader,
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    tenant: Annotated[int | None, Query(gt=0, lt=2**31)] = None,
    team: Annotated[int | None, Query(gt=0, lt=2**31)] = None,
) -> Filters:
    return await queries.filters(session, principal, start=start, end=end, tenant=tenant,
                                 team=team)


Range = Annotated[Filters, Depends(dashboard_filters)]


async def chart_data(chart: str, request: Request, session: Any, principal: Principal,
                     f: Filters, method: str = "bh") -> dict[str, Any]:
    if chart == "heatmap":
        return await queries.heatmap(session, principal, f)
    if chart == "tenure":
        return await queries.by_tenure(session, principal, f)
    if chart in ("league", "subsidiaries"):
        return await queries.league(session, principal, f)
    if chart == "trends":
        return await queries.trends(session, principal, f)
    if chart == "findings":
        return await findings.detect(session, principal, f, translator(locale_of(request)),
                                     method=method)
    if chart == "outcome":
        return await outcome.outcome(session, principal, f)
    raise NotFound(f"no chart {chart!r}", code="unknown_chart")


@router.get("/heatmap")
async def heatmap(session: Session, principal: Reader, f: Range) -> dict[str, Any]:
    """Weekday × hour (tenant's local time): messages, attempts, violations and their rates."""
    return await queries.heatmap(session, principal, f)


@router.get("/tenure")
async def tenure(session: Session, principal: Reader, f: Range) -> dict[str, Any]:
    """Violation rate per tenure band with a 95% Wilson interval."""
    return await queries.by_tenure(session, principal, f)


@router.get("/league")
async def league(session: Session, principal: Reader, f: Range) -> dict[str, Any]:
    """Teams and subsidiaries ranked by violation rate (95% intervals)."""
    return await queries.league(session, principal, f)


@router.get("/trends")
async def trends(session: Session, principal: Reader, f: Range) -> dict[str, Any]:
    """Per local day: volumes and rates."""
    return await queries.trends(session, principal, f)


@router.get("/alerts")
async def drill(session: Session, principal: Reader, f: Range,
                dow: Annotated[int | None, Query(ge=0, le=6)] = None,
                hour: Annotated[int | None, Query(ge=0, le=23)] = None,
                band: Annotated[str | None, Query(max_length=8)] = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 100,
                before: Annotated[str | None, Query(max_length=60)] = None,
                ) -> list[dict[str, Any]]:
    """The alerts behind a cell: weekday/hour, tenure band and/or team (`team`), newest
    first, `limit` a page; the next page passes `before` = the last row's `at` and `id` as
    '<at>_<id>' (keyset pagination)."""
    return await queries.drill(session, principal, f, dow=dow, hour=hour, band=band,
                               limit=limit, before=queries.parse_cursor(before))


@router.get("/findings")
async def list_findings(request: Request, session: Session, principal: Reader, f: Range,
                        method: Annotated[str, Query(pattern="^(bh|holm)$")] = "bh",
                        ) -> dict[str, Any]:
    """Windows and cohorts significantly above the rest (rate-ratio test, BH or Holm)."""
    return await findings.detect(session, principal, f, translator(locale_of(request)),
                                 method=method)


@router.get("/findings/{key}/cohort")
async def finding_cohort(key: str, session: Session, principal: Reader, f: Range
                         ) -> dict[str, Any]:
    """A finding's cohort in a stable shape (for monitoring rules and training), with the
    employee ids of the agents in it today."""
    cohort = await findings.finding_cohort(session, principal, key[:80], f)
    return {**asdict(cohort),
            "employee_ids": await findings.cohort_employees(session, cohort)}


class FindingTrainingRequest(BaseModel):
    """Assign a published course to the agents a finding names."""

    model_config = ConfigDict(extra="forbid")

    course_id: int = Field(gt=0, lt=2**31)
    due_at: AwareDatetime | None = None  # default: the course's due days from now
    text: str | None = Field(None, max_length=300)  # the finding as HR read it (the source)


class FindingAssignmentRow(BaseModel):
    id: int
    employee_id: int
    due_at: datetime


class FindingTrainingRead(BaseModel):
    finding: str
    course_id: int
    tenant_id: int  # the subtree the people were taken from
    members: int  # agents in the finding's cohort within the caller's scope
    already: int  # of them, those who had the course already (kept as they were)
    assigned: list[FindingAssignmentRow]


@router.post("/findings/{key}/training", status_code=201, response_model=FindingTrainingRead)
async def assign_training(
    key: str, data: FindingTrainingRequest, session: Session, principal: TrainingManager,
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    tenant: Annotated[int | None, Query(gt=0, lt=2**31)] = None,
) -> FindingTrainingRead:
    """Assign a course to the people of a finding in one step (training.manage; the finding
    read within analytics.read scope, the people within training.manage scope). A window
    finding names the agents who worked in its hours over the period's last 28 days."""
    f = await queries.filters(session, principal, start=start, end=end, tenant=tenant)
    done = await assign.assign_from_finding(session, principal, key[:80], f,
                                            course_id=data.course_id, due_at=data.due_at,
                                            text=data.text or "")
    out = FindingTrainingRead(
        finding=done.cohort.key, course_id=done.course.id, tenant_id=done.tenant_id,
        members=done.members, already=done.already,
        assigned=[FindingAssignmentRow(id=a.id, employee_id=a.employee_id, due_at=a.due_at)
                  for a in done.assigned])
    await commit(session)
    return out


@router.get("/outcome")
async def outcome_figures(session: Session, principal: Reader, f: Range) -> dict[str, Any]:
    """HQ's outcome figures (see probity.analytics.outcome)."""
    return await outcome.outcome(session, principal, f)


@router.get("/export/{chart}")
async def export_chart(chart: str, request: Request, session: Session, principal: Reader,
                       f: Range,
                       format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv",
                       ) -> Response:
    """One chart's data as CSV (UTF-8 with BOM) or XLSX."""
    if chart not in export.CHARTS:
        raise NotFound(f"no chart {chart!r}", code="unknown_chart")
    data = await chart_data(chart, request, session, principal, f)
    header, rows = export.table(chart, data)
    name = f"{chart}-{f.start.isoformat()}-{f.end.isoformat()}"
    if format == "xlsx":
        return Response(export.xlsx_bytes(header, rows, chart), media_type=(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    if format != "csv":  # pragma: no cover - the pattern refuses it
        raise InvalidInput("format is csv or xlsx")
    return Response(export.csv_bytes(header, rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
