from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import Employee, Tenant, User


async def _employee_in(db: AsyncSession, code: str) -> Employee:
    tid = await db.scalar(select(Tenant.id).where(Tenant.code == code))
    emp = await db.scalar(select(Employee).where(Employee.tenant_id == tid).limit(1))
    assert emp is not None
    return emp


async def test_outside_scope_is_indistinguishable_from_missing(as_user: Any, db: AsyncSession
                                                               ) -> None:
    c = await as_user("hr")  # HR of the e-commerce subsidiary
    other = await _employee_in(db, "HOME")
    outside = await c.get(f"/api/v1/employees/{other.id}")
    missing = await c.get("/api/v1/employees/99999999")
    assert outside.status_code == missing.status_code == 404
    assert outside.json()["detail"] == missing.json()["detail"]
    # A region below e-commerce is inside the subtree.
    south = await _employee_in(db, "ECOM-SOUTH")
    assert (await c.get(f"/api/v1/employees/{south.id}")).status_code == 200
    codes = {t["code"] for t in (await c.get("/api/v1/tenants")).json()}
    assert codes == {"ECOM", "ECOM-SOUTH"}


async def test_team_lead_sees_own_team_only(as_user: Any) -> None:
    c = await as_user("lead")
    me = (await c.get("/api/v1/me")).json()
    team = me["roles"][0]["org_unit_id"]
    items = (await c.get("/api/v1/employees", params={"limit": 500})).json()["items"]
    assert items and {e["org_unit_id"] for e in items} == {team}
    # Contact details are masked for a role that does not manage people.
    others = [e for e in items if e["id"] != me["employee_id"]]
    assert others and all("*" in e["phone"] for e in others)


async def test_agent_sees_only_own_record(as_user: Any, db: AsyncSession) -> None:
    c = await as_user("agent")
    assert (await c.get("/api/v1/employees")).status_code == 403
    me = (await c.get("/api/v1/me")).json()
    own = await c.get(f"/api/v1/employees/{me['employee_id']}")
    assert own.status_code == 200 and "*" not in own.json()["phone"]
    colleague = await db.scalar(select(Employee.id).where(Employee.id != me["employee_id"],
                                                          Employee.tenant_id == me["tenant_id"]))
    assert (await c.get(f"/api/v1/employees/{colleague}")).status_code == 404
    page = await c.get(f"/org/employees/{colleague}")
    assert page.status_code == 404


async def test_auditor_reads_whole_group_but_writes_nothing(as_user: Any, db: AsyncSession
                                                            ) -> None:
    c = await as_user("auditor")
    assert len((await c.get("/api/v1/tenants")).json()) == await db.scalar(
        select(Tenant.id).order_by(Tenant.id.desc()).limit(1))
    total = (await c.get("/api/v1/employees")).json()["total"]
    assert total >= 190
    r = await c.post("/api/v1/org-units", json={"tenant_id": 1, "code": "X", "name": "X"})
    assert r.status_code == 403
    assert await db.scalar(select(User.id).where(User.username == "auditor"))
