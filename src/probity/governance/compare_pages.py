"""The subsidiary comparison page (HQ): each subsidiary against the group, outliers
highlighted; a subsidiary drills down to its teams, a team to its cases."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from probity.auth.deps import Session, require
from probity.auth.permissions import Perm, Principal
from probity.governance import comparison
from probity.web.render import page_tz, render, today_in

router = APIRouter(include_in_schema=False)
CaseReader = Annotated[Principal, Depends(require(Perm.case_read))]
DEFAULT_DAYS = 90


def _period(request: Request, since: date | None, until: date | None
            ) -> tuple[date, date, datetime, datetime]:
    """The chosen days, and their bounds as days of the page's zone (the days the page shows)."""
    end = until or today_in(request)
    start = since or end - timedelta(days=DEFAULT_DAYS)
    if start > end:
        start, end = end, start
    zone = ZoneInfo(page_tz(request))
    return (start, end, datetime.combine(start, time(), zone).astimezone(UTC),
            datetime.combine(end + timedelta(days=1), time(), zone).astimezone(UTC))


@router.get("/standards/compare", response_class=HTMLResponse)
async def compare(request: Request, session: Session, principal: CaseReader,
                  since: date | None = None, until: date | None = None) -> Response:
    start, end, lo, hi = _period(request, since, until)
    table = await comparison.compare_subsidiaries(session, principal, lo, hi)
    return render(request, "governance/compare.html", table=table, since=start, until=end,
                  metrics=comparison.METRICS, level="subsidiaries", title=None,
                  drill=lambda key: f"/standards/compare/{key}?since={start}&until={end}")


@router.get("/standards/compare/{subsidiary_id}", response_class=HTMLResponse)
async def compare_teams(request: Request, subsidiary_id: int, session: Session,
                        principal: CaseReader, since: date | None = None,
                        until: date | None = None) -> Response:
    start, end, lo, hi = _period(request, since, until)
    sub, table = await comparison.compare_teams(session, principal, subsidiary_id, lo, hi)
    return render(request, "governance/compare.html", table=table, since=start, until=end,
                  metrics=comparison.METRICS, level="teams", title=sub.name,
                  drill=lambda key: f"/standards/compare/teams/{key}?since={start}&until={end}")


@router.get("/standards/compare/teams/{org_unit_id}", response_class=HTMLResponse)
async def team_cases(request: Request, org_unit_id: int, session: Session,
                     principal: CaseReader, since: date | None = None,
                     until: date | None = None) -> Response:
    start, end, lo, hi = _period(request, since, until)
    unit, cases = await comparison.team_cases(session, principal, org_unit_id, lo, hi)
    return render(request, "governance/compare_cases.html", unit=unit, cases=cases,
                  since=start, until=end)
