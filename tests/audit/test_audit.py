from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession


async def test_auditor_filters_and_exports(as_user: Any) -> None:
    hr = await as_user("hr")
    tenants = (await hr.get("/api/v1/tenants")).json()
    ecom = next(t["id"] for t in tenants if t["code"] == "ECOM")
    r = await hr.post("/api/v1/positions", json={"tenant_id": ecom, "code": "VIP",
                                                 "title": "VIP 客服", "grade": "P3"})
    assert r.status_code == 201
    c = await as_user("auditor")
    rows = (await c.get("/api/v1/audit", params={"action": "position.", "actor": "hr"})).json()
    assert rows and rows[0]["action"] == "position.create"
    assert rows[0]["after"]["title"] == "VIP 客服" and rows[0]["request_id"]
    assert rows[0]["ip"]
    export = await c.get("/api/v1/audit.csv", params={"action": "position."})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert export.content.startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads it as UTF-8
    parsed = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert parsed[0]["action"] == "position.create" and "VIP 客服" in parsed[0]["after"]
    page = await c.get("/audit", params={"action": "position."})
    assert page.status_code == 200 and "position.create" in page.text


async def test_others_cannot_read_audit(as_user: Any) -> None:
    for user in ("hr", "compliance", "agent", "customer"):
        c = await as_user(user)
        assert (await c.get("/api/v1/audit")).status_code == 403
        assert (await c.get("/api/v1/audit.csv")).status_code == 403


@pytest.mark.parametrize("table", ["audit_entries", "employment_events"])
async def test_database_refuses_update_and_delete(db: AsyncSession, table: str) -> None:
    first = await db.scalar(text(f"SELECT min(id) FROM {table}"))
    assert first is not None
    for stmt in (f"UPDATE {table} SET created_at = created_at WHERE id = {first}",
                 f"DELETE FROM {table} WHERE id = {first}"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.begin_nested():
                await db.execute(text(stmt))
    assert await db.scalar(text(f"SELECT count(*) FROM {table} WHERE id = {first}")) == 1
