"""Recruitment and onboarding pages: render for the roles that use them; forms re-render with a
localised error on bad input and write nothing."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import Candidate, OrgUnit, Position, Requisition


async def test_requisition_and_candidate_forms(as_user, db: AsyncSession
                                               ) -> None:  # type: ignore[no-untyped-def]
    c: httpx.AsyncClient = await as_user("hr")
    me = (await c.get("/api/v1/me")).json()
    tenant_id = me["roles"][0]["tenant_id"]
    pos = await db.scalar(select(Position.id).where(Position.code == "CS1"))
    team = await db.scalar(select(OrgUnit.id).where(OrgUnit.code == "ECOM-T1"))
    page = await c.get("/recruitment")
    assert page.status_code == 200 and "招聘" in page.text
    form = {"csrf_token": c.headers["X-CSRF-Token"], "tenant_id": str(tenant_id),
            "position_id": str(pos), "org_unit_id": str(team), "title": "售后客服",
            "headcount": "2"}
    r = await c.post("/recruitment", data=form)
    assert r.status_code == 303
    req_id = int(r.headers["location"].rsplit("/", 1)[1])
    before = await db.scalar(select(func.count()).select_from(Requisition))
    r = await c.post("/recruitment", data=form | {"headcount": "0"})
    assert r.status_code == 422 and 'role="alert"' in r.text
    assert await db.scalar(select(func.count()).select_from(Requisition)) == before

    r = await c.post(f"/recruitment/requisitions/{req_id}/candidates",
                     data={"csrf_token": form["csrf_token"], "name": "冯丽",
                           "phone": "13911110000"})
    assert r.status_code == 303
    cand_page = await c.get(r.headers["location"])
    assert cand_page.status_code == 200 and "冯丽" in cand_page.text
    r = await c.post(f"/recruitment/requisitions/{req_id}/candidates",
                     data={"csrf_token": form["csrf_token"], "name": "冯丽",
                           "phone": "139 1111 0000"})
    assert r.status_code == 422 and "已投递" in r.text
    assert await db.scalar(select(func.count()).where(Candidate.requisition_id == req_id)) == 1
    pipeline = await c.get(f"/recruitment/requisitions/{req_id}")
    assert pipeline.status_code == 200 and "冯丽" in pipeline.text

    lead = await as_user("lead")
    assert (await lead.get(f"/recruitment/requisitions/{req_id}")).status_code == 200
    agent = await as_user("agent")
    assert (await agent.get("/recruitment")).status_code == 403


async def test_onboarding_and_pledge_pages(as_user) -> None:  # type: ignore[no-untyped-def]
    hr = await as_user("hr")
    tenant_id = (await hr.get("/api/v1/me")).json()["roles"][0]["tenant_id"]
    csrf = hr.headers["X-CSRF-Token"]
    r = await hr.post("/onboarding/pledges", data={
        "csrf_token": csrf, "tenant_id": str(tenant_id), "title": "廉洁承诺书",
        "text": "本人承诺不私下联系客户，不收受红包，不引导私下付款。"})
    assert r.status_code == 303
    page = await hr.get("/onboarding")
    assert page.status_code == 200 and "廉洁承诺书" in page.text

    agent = await as_user("agent")
    page = await agent.get("/me/pledge")
    assert page.status_code == 200 and "不收受红包" in page.text
    import re

    vid = re.search(r'name="pledge_version_id" value="(\d+)"', page.text)
    sha = re.search(r'name="text_sha256" value="([0-9a-f]{64})"', page.text)
    assert vid and sha
    csrf = agent.headers["X-CSRF-Token"]
    r = await agent.post("/me/pledge", data={"csrf_token": csrf, "pledge_version_id": vid[1],
                                             "text_sha256": sha[1], "typed_name": "不是我"})
    assert r.status_code == 422 and "请输入" in r.text
    name = (await agent.get("/api/v1/employees/" + str(
        (await agent.get("/api/v1/me")).json()["employee_id"]))).json()["name"]
    r = await agent.post("/me/pledge", data={"csrf_token": csrf, "pledge_version_id": vid[1],
                                             "text_sha256": sha[1], "typed_name": name})
    assert r.status_code == 303
    page = await agent.get("/me/pledge")
    assert 'data-testid="signed"' in page.text
