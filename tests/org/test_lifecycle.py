from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import AuditEntry, EmploymentEvent


async def _ecom(c: Any) -> tuple[int, list[dict[str, Any]]]:
    tenants = (await c.get("/api/v1/tenants")).json()
    ecom = next(t["id"] for t in tenants if t["code"] == "ECOM")
    units = (await c.get("/api/v1/org-units", params={"tenant_id": ecom})).json()
    return ecom, [u for u in units if u["kind"] == "team"]


async def test_full_lifecycle_is_dated_evented_and_audited(as_user: Any, db: AsyncSession
                                                           ) -> None:
    c = await as_user("hr")
    ecom, teams = await _ecom(c)
    hired = date.today() - timedelta(days=20)
    r = await c.post("/api/v1/employees", json={
        "tenant_id": ecom, "employee_no": "EC-NEW-1", "name": "钱多多", "hire_date": str(hired),
        "org_unit_id": teams[0]["id"], "phone": "13812345678"})
    assert r.status_code == 201, r.text
    emp = r.json()
    assert emp["status"] == "onboarding" and emp["tenure_days"] == 20
    eid = emp["id"]

    async def move(to: str, day: date, **extra: Any) -> Any:
        return await c.post(f"/api/v1/employees/{eid}/transitions",
                            json={"to_status": to, "effective_date": str(day), **extra})

    assert (await move("transferred", hired, to_org_unit_id=teams[1]["id"])).status_code == 409
    assert (await move("active", hired + timedelta(days=7))).status_code == 201
    # Dates cannot go backwards.
    bad = await move("transferred", hired, to_org_unit_id=teams[1]["id"])
    assert bad.status_code == 422 and bad.json()["code"] == "date_out_of_range"
    assert (await move("transferred", hired + timedelta(days=10))).json()["code"] == \
        "missing_org_unit"
    t = await move("transferred", hired + timedelta(days=10), to_org_unit_id=teams[1]["id"])
    assert t.status_code == 201 and t.json()["to_org_unit_id"] == teams[1]["id"]
    assert (await c.get(f"/api/v1/employees/{eid}")).json()["org_unit_id"] == teams[1]["id"]
    left = await move("left", hired + timedelta(days=15), note="回老家")
    assert left.status_code == 201
    final = (await c.get(f"/api/v1/employees/{eid}")).json()
    assert final["status"] == "left" and final["left_date"] == str(hired + timedelta(days=15))
    # `left` is final.
    assert (await move("active", date.today())).status_code == 409

    events = (await c.get(f"/api/v1/employees/{eid}/events")).json()
    assert [e["to_status"] for e in events] == ["onboarding", "active", "transferred", "left"]
    audits = (await db.scalars(select(AuditEntry).where(
        AuditEntry.target_type == "employee", AuditEntry.target_id == str(eid))
        .order_by(AuditEntry.id))).all()
    assert [a.action for a in audits] == ["employee.create", "employee.active",
                                          "employee.transferred", "employee.left"]
    transfer = audits[2]
    assert transfer.before == {"status": "active", "org_unit_id": teams[0]["id"],
                               "left_date": None}
    assert transfer.after["org_unit_id"] == teams[1]["id"]  # type: ignore[index]
    assert all(a.actor_name == "hr" and a.request_id for a in audits)


async def test_lifecycle_needs_hr(as_user: Any, db: AsyncSession) -> None:
    c = await as_user("lead")
    me = (await c.get("/api/v1/me")).json()
    team = me["roles"][0]["org_unit_id"]
    mine = (await c.get("/api/v1/employees", params={"org_unit_id": team})).json()["items"]
    r = await c.post(f"/api/v1/employees/{mine[0]['id']}/transitions",
                     json={"to_status": "left", "effective_date": str(date.today())})
    assert r.status_code == 403
    assert await db.scalar(select(EmploymentEvent.id).where(
        EmploymentEvent.employee_id == mine[0]["id"], EmploymentEvent.to_status == "left")) is None


async def test_tenant_and_unit_changes_are_audited(as_user: Any, db: AsyncSession) -> None:
    c = await as_user("admin")
    hq = next(t for t in (await c.get("/api/v1/tenants")).json() if t["code"] == "HQ")
    r = await c.post("/api/v1/tenants", json={"parent_id": hq["id"], "code": "FIN-SVC",
                                              "name": "廉盾金融服务", "kind": "subsidiary"})
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    u = await c.post("/api/v1/org-units", json={"tenant_id": tid, "code": "T1", "name": "理财组"})
    assert u.status_code == 201
    p = await c.patch(f"/api/v1/tenants/{tid}", json={"name": "廉盾金融"})
    assert p.status_code == 200 and p.json()["name"] == "廉盾金融"
    rows = (await db.scalars(select(AuditEntry).where(AuditEntry.tenant_id == tid)
                             .order_by(AuditEntry.id))).all()
    assert [r.action for r in rows] == ["tenant.create", "org_unit.create", "tenant.update"]
    assert rows[2].before == {"name": "廉盾金融服务"} and rows[2].after == {"name": "廉盾金融"}
    chart = (await c.get("/api/v1/org-chart", params={"tenant_id": tid})).json()
    assert chart[0]["name"] == "廉盾金融" and chart[0]["children"][0]["name"] == "理财组"
