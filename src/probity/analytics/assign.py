"""Assign training from a finding, in one step (issue 11, part 6: "cohorts named by findings").

HR reads a finding on the dashboard ("入职不满 3 个月的坐席违规率为其他坐席的 2.4 倍 …") and
assigns a course to the people in it:

* a tenure band or a team finding names its agents directly (today's tenure band, the team);
* a time-window finding ("周末 18:00–21:00") names the agents who worked in that window — who
  handled a conversation started in it, or were on the rota over it — during the last
  `WINDOW_LOOKBACK_DAYS` days of the finding's period.

Access: the finding is read within the caller's `analytics.read` scope (as the dashboard shows
it), the course and the people within their `training.manage` scope (`training.service`
decides: 404 for a course out of reach, 409 for an unpublished one, 422 `course_scope` when the
course covers none of the finding's subsidiaries); nobody out of scope is ever assigned. One
audit row (`training.assign`, with the finding's key, text and period) goes in the caller's
transaction; each new assignee's in-app notification is a row of the same transaction, so it is
seen only once the request commits, never after a rollback. Existing assignments of the course
are kept as they are (a passed one is not reopened).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.analytics import findings
from probity.analytics.findings import FindingCohort
from probity.analytics.queries import Filters
from probity.auth.permissions import Principal
from probity.errors import InvalidInput
from probity.models import Assignment, Conversation, Course, OrgUnit, ShiftAssignment
from probity.models import Tenant as TenantModel
from probity.training import service as training

WINDOW_LOOKBACK_DAYS = 28


@dataclass(frozen=True)
class FindingAssignment:
    """What assigning a course from a finding did."""

    course: Course
    cohort: FindingCohort
    tenant_id: int  # the subtree the people were taken from
    members: int  # agents in the finding's cohort within the caller's scope
    assigned: list[Assignment]  # the new assignments (the rest had the course already)

    @property
    def already(self) -> int:
        return self.members - len(self.assigned)


def window_ranges(cohort: FindingCohort, f: Filters) -> list[tuple[datetime, datetime]]:
    """The UTC intervals of a window finding's weekdays/hours in the last
    WINDOW_LOOKBACK_DAYS local days of the finding's period."""
    if cohort.start_hour is None or cohort.end_hour is None:
        return []
    first = max(f.start, f.end - timedelta(days=WINDOW_LOOKBACK_DAYS - 1))
    out: list[tuple[datetime, datetime]] = []
    day = first
    while day <= f.end:
        if cohort.days is None or day.weekday() in cohort.days:
            lo = datetime.combine(day, time(cohort.start_hour), f.zone)
            hi = datetime.combine(day, time(), f.zone) + timedelta(hours=cohort.end_hour)
            out.append((lo.astimezone(UTC), hi.astimezone(UTC)))
        day += timedelta(days=1)
    return out


async def window_agents(session: AsyncSession, cohort: FindingCohort, f: Filters
                        ) -> list[int]:
    """Employee ids of the agents who worked in a window finding's hours (see the module
    docstring): two SELECT DISTINCTs, each with one OR over at most 28 intervals."""
    ranges = window_ranges(cohort, f)
    if not ranges:
        return []
    started: ColumnElement[bool] = or_(*(and_(Conversation.created_at >= lo,
                                              Conversation.created_at < hi)
                                         for lo, hi in ranges))
    rostered: ColumnElement[bool] = or_(*(and_(ShiftAssignment.starts_at < hi,
                                               ShiftAssignment.ends_at > lo)
                                          for lo, hi in ranges))
    handled = set((await session.scalars(select(Conversation.agent_employee_id).distinct().where(
        Conversation.tenant_id.in_(cohort.tenant_ids),
        Conversation.agent_employee_id.is_not(None), started))).all())
    on_rota = set((await session.scalars(select(ShiftAssignment.employee_id).distinct().where(
        ShiftAssignment.tenant_id.in_(cohort.tenant_ids), rostered))).all())
    return sorted(i for i in handled | on_rota if i is not None)


async def _path(session: AsyncSession, tenant_id: int) -> str:
    return str(await session.scalar(select(TenantModel.path).where(
        TenantModel.id == tenant_id)) or "")


async def _people_tenant(session: AsyncSession, cohort: FindingCohort, course: Course) -> int:
    """The subtree to take the people from: the deepest of the finding's tenant, the team's
    tenant (a team finding) and the course's tenant — they must lie on one line of the group
    tree (422 `course_scope` otherwise: the course covers none of the finding's people)."""
    ids = [cohort.tenant_id, course.tenant_id]
    if cohort.team_ids:
        team_tenant = await session.scalar(select(OrgUnit.tenant_id).where(
            OrgUnit.id == cohort.team_ids[0]))
        if team_tenant is not None:
            ids.append(int(team_tenant))
    paths = {tid: await _path(session, tid) for tid in ids}
    deepest = max(ids, key=lambda t: len(paths[t]))
    if not all(paths[deepest].startswith(paths[t]) for t in ids):
        raise InvalidInput("the course does not cover the people of this finding",
                           code="course_scope",
                           template="The course does not cover the people of this finding")
    return deepest


async def assign_from_finding(session: AsyncSession, actor: Principal, key: str, f: Filters,
                              *, course_id: int, due_at: datetime | None = None,
                              text: str = "") -> FindingAssignment:
    """Assign a published course to the agents a finding names (module docstring). 422
    `empty_cohort` when nobody in the caller's scope is in it; flush only."""
    cohort = await findings.finding_cohort(session, actor, key, f)
    course = await training.course_to_assign(session, actor, course_id)
    tenant_id = await _people_tenant(session, cohort, course)
    employee_ids = (await window_agents(session, cohort, f)
                    if cohort.start_hour is not None else None)
    course, members = await training.cohort_members(
        session, actor, tenant_id=tenant_id, course_id=course.id,
        team_ids=cohort.team_ids or None, tenure_band=cohort.tenure_band,
        employee_ids=employee_ids, today=datetime.now(f.zone).date())
    if not members:
        raise InvalidInput(f"nobody in your scope is in the cohort of finding {key!r}",
                           code="empty_cohort",
                           template="Nobody in your scope is in this finding's cohort")
    detail: dict[str, Any] = {"finding": key, "period_from": cohort.period_from,
                              "period_to": cohort.period_to, "members": len(members)}
    source = (text.strip() or key)[:200]
    fresh = await training.assign_members(session, actor, course, members, source=source,
                                          due_at=due_at, detail=detail)
    return FindingAssignment(course=course, cohort=cohort, tenant_id=tenant_id,
                             members=len(members), assigned=fresh)
