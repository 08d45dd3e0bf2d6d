"""The org pages work as forms: create, transition and errors shown in place."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import Employee, OrgUnit, Tenant

HTML = {"Accept": "text/html"}


async def _csrf(c: Any, path: str) -> str:
    page = await c.get(path, headers=HTML)
    assert page.status_code == 200, page.text
    m = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert m
    return m.group(1)


async def test_hr_manages_people_through_pages(as_user: Any, db: AsyncSession) -> None:
    c = await as_user("hr")
    ecom = await db.scalar(select(Tenant.id).where(Tenant.code == "ECOM"))
    token = await _csrf(c, "/org/employees/new")
    r = await c.post("/org/employees/new", headers=HTML, data={
        "csrf_token": token, "tenant_id": str(ecom), "employee_no": "PG-1", "name": "孙悟空",
        "hire_date": str(date.today())})
    assert r.status_code == 303, r.text
    emp = await db.scalar(select(Employee).where(Employee.employee_no == "PG-1"))
    assert emp is not None
    eid = emp.id  # the failed form below rolls the session back, expiring loaded objects
    bad = await c.post("/org/employees/new", headers=HTML, data={
        "csrf_token": token, "tenant_id": str(ecom), "employee_no": "PG-1", "name": "重复",
        "hire_date": str(date.today())})
    assert bad.status_code == 422 and "already exists" in bad.text
    moved = await c.post(f"/org/employees/{eid}/transition", headers=HTML, data={
        "csrf_token": token, "to_status": "active", "effective_date": str(date.today())})
    assert moved.status_code == 303
    detail = await c.get(f"/org/employees/{eid}", headers=HTML)
    assert "在职" in detail.text
    wrong = await c.post(f"/org/employees/{eid}/transition", headers=HTML, data={
        "csrf_token": token, "to_status": "onboarding", "effective_date": str(date.today())})
    assert wrong.status_code == 200 and "cannot go from active to onboarding" in wrong.text


async def test_structure_forms(as_user: Any, db: AsyncSession) -> None:
    c = await as_user("admin")
    hq = await db.scalar(select(Tenant.id).where(Tenant.code == "HQ"))
    token = await _csrf(c, "/org/structure")
    r = await c.post("/org/structure/tenants", headers=HTML, data={
        "csrf_token": token, "parent_id": str(hq), "code": "LOGI", "name": "廉盾物流"})
    assert r.status_code == 303
    logi = await db.scalar(select(Tenant).where(Tenant.code == "LOGI"))
    assert logi is not None and logi.path.startswith(f"/{hq}/")
    r = await c.post("/org/structure/units", headers=HTML, data={
        "csrf_token": token, "tenant_id": str(logi.id), "code": "D1", "name": "配送客服组"})
    assert r.status_code == 303
    assert await db.scalar(select(OrgUnit.id).where(OrgUnit.tenant_id == logi.id))
    dup = await c.post("/org/structure/tenants", headers=HTML, data={
        "csrf_token": token, "parent_id": str(hq), "code": "LOGI", "name": "again"})
    assert dup.status_code == 200 and "already exists" in dup.text
    page = await c.get("/org/structure", headers=HTML)
    assert "廉盾物流" in page.text and "配送客服组" in page.text


async def test_pages_redirect_anonymous_to_login(client: Any) -> None:
    r = await client.get("/org/chart", headers=HTML)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
