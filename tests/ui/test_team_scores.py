"""The team lead's page shows the team's scorecards (issue 15.6): the agents of the lead's team in
the current appraisal cycle, with the same scores their own scorecards show, and nobody else's."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import Employee, RoleAssignment, User


async def test_the_team_page_loads_the_teams_scorecards(as_user: Any, db: AsyncSession) -> None:
    client: httpx.AsyncClient = await as_user("lead")
    team = await client.get("/team")
    assert team.status_code == 200
    assert 'hx-get="/team/scorecards"' in team.text
    fragment = await client.get("/team/scorecards", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text  # the section alone, swapped into the team page
    shown = {int(i) for i in re.findall(r'data-testid="team-score" data-employee="(\d+)"',
                                        fragment.text)}
    assert shown, "the lead's team has scorecards in the demo's current cycle"
    # Everyone shown is in the lead's team; the lead's own agent (李娜) is among them.
    lead_unit = await db.scalar(select(RoleAssignment.org_unit_id).join(
        User, User.id == RoleAssignment.user_id).where(User.username == "lead"))
    units = set((await db.scalars(select(Employee.org_unit_id).where(
        Employee.id.in_(shown)))).all())
    assert units == {lead_unit}
    agent_emp = await db.scalar(select(User.employee_id).where(User.username == "agent"))
    assert agent_emp in shown
    # Each row's compliance score is the one the agent's own scorecard shows.
    me = await client.get(f"/performance/scorecards/{agent_emp}")
    # Its positive record links the conversations to supervise, never the JSON API.
    assert "/api/v1/chat" not in me.text and 'href="/team/conversations/' in me.text
    score = re.search(r'data-testid="compliance-score">(\d+)<', me.text)
    assert score is not None
    row = re.search(rf'data-employee="{agent_emp}">.*?tone-\w+">(\d+)</span>', fragment.text,
                    re.DOTALL)
    assert row is not None and row.group(1) == score.group(1)
    page = await client.get("/team/scorecards")  # without htmx: a page of its own
    assert page.status_code == 200 and "<html" in page.text


async def test_an_agent_has_no_team_scorecards(as_user: Any) -> None:
    client: httpx.AsyncClient = await as_user("agent")
    r = await client.get("/team/scorecards", headers={"HX-Request": "true"})
    assert r.status_code in (403, 404)
