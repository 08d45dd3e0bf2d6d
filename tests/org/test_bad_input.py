"""Bad input gets a clear 4xx problem and leaves nothing half-written."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import AuditEntry, Employee, EmploymentEvent


async def _counts(db: AsyncSession) -> tuple[int, int, int]:
    return (await db.scalar(select(func.count()).select_from(Employee)) or 0,
            await db.scalar(select(func.count()).select_from(EmploymentEvent)) or 0,
            await db.scalar(select(func.count()).select_from(AuditEntry)) or 0)


@pytest.fixture
async def hr(as_user: Any) -> Any:
    c = await as_user("hr")
    tenants = (await c.get("/api/v1/tenants")).json()
    c.ecom = next(t["id"] for t in tenants if t["code"] == "ECOM")  # type: ignore[attr-defined]
    return c


def _body(ecom: int, **over: Any) -> dict[str, Any]:
    return {"tenant_id": ecom, "employee_no": "BAD-1", "name": "测试", "hire_date": "2026-01-05",
            **over}


async def test_malformed_json(hr: Any, db: AsyncSession) -> None:
    before = await _counts(db)
    r = await hr.post("/api/v1/employees", content=b'{"tenant_id": 1, "name": ',
                      headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "invalid_input" and r.json()["detail"]
    assert await _counts(db) == before


@pytest.mark.parametrize("override, field", [
    ({"tenant_id": "abc"}, "tenant_id"),
    ({"hire_date": "not-a-date"}, "hire_date"),
    ({"hire_date": "1900-01-01"}, "hire_date"),
    ({"employee_no": "has spaces!"}, "employee_no"),
    ({"name": ""}, "name"),
    ({"email": "not-an-email"}, "email"),
    ({"phone": "call me maybe"}, "phone"),
    ({"salary": 100}, "salary"),
])
async def test_wrong_types_and_values(hr: Any, db: AsyncSession, override: dict[str, Any],
                                      field: str) -> None:
    before = await _counts(db)
    r = await hr.post("/api/v1/employees", json=_body(hr.ecom, **override))
    assert r.status_code == 422, r.text
    assert field in r.json()["detail"]
    assert await _counts(db) == before


@pytest.mark.parametrize("override, code", [
    ({"tenant_id": 999999}, "unknown_tenant"),
    ({"org_unit_id": 999999}, "unknown_org_unit"),
    ({"position_id": 999999}, "unknown_position"),
    ({"manager_id": 999999}, "unknown_employee"),
])
async def test_unknown_references(hr: Any, db: AsyncSession, override: dict[str, Any], code: str
                                  ) -> None:
    before = await _counts(db)
    r = await hr.post("/api/v1/employees", json=_body(hr.ecom, **override))
    assert r.status_code == 422 and r.json()["code"] == code
    assert await _counts(db) == before


async def test_reference_outside_scope_is_unknown(hr: Any, db: AsyncSession) -> None:
    from probity.models import OrgUnit, Tenant

    home = await db.scalar(select(Tenant.id).where(Tenant.code == "HOME"))
    home_team = await db.scalar(select(OrgUnit.id).where(OrgUnit.tenant_id == home))
    before = await _counts(db)
    r1 = await hr.post("/api/v1/employees", json=_body(home))
    r2 = await hr.post("/api/v1/employees", json=_body(hr.ecom, org_unit_id=home_team))
    assert r1.json()["code"] == "unknown_tenant" and r2.json()["code"] == "unknown_org_unit"
    assert await _counts(db) == before


async def test_duplicate_is_conflict_and_first_row_survives(hr: Any, db: AsyncSession) -> None:
    assert (await hr.post("/api/v1/employees", json=_body(hr.ecom))).status_code == 201
    after_first = await _counts(db)
    r = await hr.post("/api/v1/employees", json=_body(hr.ecom, name="另一个"))
    assert r.status_code == 409 and r.json()["code"] == "duplicate_employee_no"
    assert await _counts(db) == after_first


async def test_unknown_ids_in_path(hr: Any) -> None:
    for path in ("/api/v1/employees/424242", "/api/v1/tenants/424242", "/api/v1/org-units/4242"):
        r = await hr.get(path)
        assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = await hr.post("/api/v1/employees/424242/transitions",
                      json={"to_status": "active", "effective_date": "2026-01-01"})
    assert r.status_code == 404
    assert (await hr.get("/api/v1/employees/not-a-number")).status_code == 422


async def test_oversized_body_is_413(hr: Any, db: AsyncSession, settings: Any) -> None:
    before = await _counts(db)
    big = b'{"name": "' + b"x" * (settings.max_body_bytes + 10) + b'"}'
    r = await hr.post("/api/v1/employees", content=big,
                      headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"

    async def chunks() -> Any:  # no Content-Length: counted as it streams
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b"x" * 65536

    r2 = await hr.post("/api/v1/employees", content=chunks(),
                       headers={"content-type": "application/json"})
    assert r2.status_code == 413
    assert await _counts(db) == before


async def test_bad_query_params(hr: Any) -> None:
    assert (await hr.get("/api/v1/employees", params={"limit": 0})).status_code == 422
    assert (await hr.get("/api/v1/employees", params={"status": "fired"})).status_code == 422
