"""The self-service hub (/me) shows the signed-in employee's own data and nobody else's, and the
PWA files (manifest, service worker, offline page) are served with the right types."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import Employee, Punch, Role, RoleAssignment, Tenant, User
from probity.selfservice.pages import OPTIONAL_TILES, served_path


async def _employee_of(db: AsyncSession, username: str) -> Employee:
    emp = await db.scalar(select(Employee).join(User, User.employee_id == Employee.id)
                          .where(User.username == username))
    assert emp is not None
    return emp


async def test_the_hub_shows_ones_own_record_only(as_user: Any, db: AsyncSession) -> None:
    c: httpx.AsyncClient = await as_user("agent")
    mine = await _employee_of(db, "agent")
    company = await db.scalar(select(Tenant.name).where(Tenant.id == mine.tenant_id))
    r = await c.get("/me")
    assert r.status_code == 200, r.text
    assert mine.name in r.text and mine.employee_no in r.text and str(company) in r.text
    # The rest of the team is not on one's hub.
    others = (await db.scalars(select(Employee).where(
        Employee.org_unit_id == mine.org_unit_id, Employee.id != mine.id))).all()
    assert others
    assert not [o.employee_no for o in others if o.employee_no in r.text]
    # An id in the query is no way into somebody else's hub: it is ignored.
    r = await c.get("/me", params={"employee_id": others[0].id})
    assert r.status_code == 200 and others[0].employee_no not in r.text
    assert mine.employee_no in r.text
    # Payroll's page is served: the hub links to one's own payslips.
    assert 'data-testid="payslips"' in r.text and 'href="/me/payslips"' in r.text


async def test_an_employee_of_another_company_sees_their_own_company(
        as_user: Any, db: AsyncSession) -> None:
    """The old 我的档案 bug: an employee of a second subsidiary was shown with another
    person's record and the wrong company. The hub names the record's own company."""
    agent = await _employee_of(db, "agent")
    row = (await db.execute(
        select(User.username, Employee).join(Employee, Employee.id == User.employee_id)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(Employee.tenant_id != agent.tenant_id, RoleAssignment.role == Role.agent)
        .order_by(Employee.id).limit(1))).first()
    assert row is not None, "the demo group has agents in other subsidiaries"
    username, other = row
    company = await db.scalar(select(Tenant.name).where(Tenant.id == other.tenant_id))
    agent_company = await db.scalar(select(Tenant.name).where(Tenant.id == agent.tenant_id))
    c = await as_user(username)
    r = await c.get("/me")
    assert r.status_code == 200, r.text
    assert other.name in r.text and other.employee_no in r.text
    assert f'data-testid="profile-company">{company}<' in r.text
    assert agent_company != company and f">{agent_company}<" not in r.text
    assert agent.employee_no not in r.text


async def test_who_has_no_hub(as_user: Any) -> None:
    c = await as_user("customer")
    assert (await c.get("/me")).status_code == 403
    c = await as_user("auditor")  # a service account without an employee record
    assert (await c.get("/me")).status_code == 404
    c.cookies.clear()
    assert (await c.get("/me")).status_code == 401


async def test_clock_in_from_the_hub_returns_to_the_hub(as_user: Any, db: AsyncSession) -> None:
    c = await as_user("agent")
    token = c.headers["X-CSRF-Token"]
    r = await c.post("/me/attendance/clock", data={"kind": "in", "next": "/me",
                                                   "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"].startswith("/me?done=in")
    mine = await _employee_of(db, "agent")
    assert await db.scalar(select(Punch.id).where(Punch.employee_id == mine.id))
    r = await c.get(r.headers["location"])
    assert 'data-testid="clock-result"' in r.text
    # Only the hub is a place to go back to (no open redirect).
    r = await c.post("/me/attendance/clock", data={"kind": "out", "next": "https://evil.example",
                                                   "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"].startswith("/me/attendance?done=out")


async def test_manifest_service_worker_and_offline_page(client: httpx.AsyncClient) -> None:
    r = await client.get("/manifest.webmanifest")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/manifest+json")
    m = json.loads(r.text)
    assert m["start_url"] == "/me" and m["display"] == "standalone" and m["scope"] == "/"
    assert m["name"] == "廉盾员工自助"
    sizes = {i["sizes"] for i in m["icons"]}
    assert {"192x192", "512x512"} <= sizes
    assert any(i["purpose"] == "maskable" for i in m["icons"])
    for icon in m["icons"]:
        got = await client.get(icon["src"])
        assert got.status_code == 200 and got.headers["content-type"] == "image/png"
        assert got.content.startswith(b"\x89PNG")
    en = await client.get("/manifest.webmanifest", headers={"Accept-Language": "en"})
    assert json.loads(en.text)["name"] == "Probity self-service"

    sw = await client.get("/sw.js")
    assert sw.status_code == 200
    assert sw.headers["content-type"].startswith("text/javascript")
    assert sw.headers["cache-control"] == "no-cache"
    assert "addEventListener(\"fetch\"" in sw.text and '"/offline"' in sw.text
    # Every file it pre-caches is served.
    shell = sw.text.split("const SHELL = [", 1)[1].split("];", 1)[0]
    for url in [u.strip().strip('",') for u in shell.split("\n") if u.strip()]:
        if url.startswith("/"):
            assert (await client.get(url)).status_code == 200, url
    assert (await client.get("/static/selfservice/pwa.js")).headers["content-type"].startswith(
        "text/javascript")

    off = await client.get("/offline")
    assert off.status_code == 200 and "您已离线" in off.text
    assert "<script" not in off.text  # nothing to run, nothing personal


async def test_pages_link_the_manifest(as_user: Any) -> None:
    c = await as_user("agent")
    r = await c.get("/me")
    assert '<link rel="manifest" href="/manifest.webmanifest">' in r.text
    assert 'src="/static/selfservice/pwa.js"' in r.text
    assert "<script>" not in r.text  # no inline script (CSP)


def test_optional_tiles_appear_only_with_their_route() -> None:
    def request(*paths: str) -> Any:
        from starlette.routing import Route

        routes = [Route(p, endpoint=lambda r: None, methods=["GET"]) for p in paths]
        return SimpleNamespace(app=SimpleNamespace(routes=routes))

    assert served_path(request("/cases"), OPTIONAL_TILES["payslips"]) is None
    assert served_path(request("/payroll/me"), OPTIONAL_TILES["payslips"]) == "/payroll/me"
    assert served_path(request(), OPTIONAL_TILES["training"]) is None
