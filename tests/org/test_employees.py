from __future__ import annotations

import httpx


async def test_hr_lists_employees_in_scope_only(as_user) -> None:  # type: ignore[no-untyped-def]
    c: httpx.AsyncClient = await as_user("hr")
    r = await c.get("/api/v1/employees", params={"limit": 500})
    assert r.status_code == 200
    body = r.json()
    tenants = {e["tenant_id"] for e in body["items"]}
    me = (await c.get("/api/v1/me")).json()
    ecom = me["roles"][0]["tenant_id"]
    allowed = {t["id"] for t in (await c.get("/api/v1/tenants")).json()}
    assert tenants <= allowed
    assert ecom in tenants
    assert body["total"] > 50
