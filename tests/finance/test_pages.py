"""Finance pages: the import form previews, reports per-row errors, commits; the payee list."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.cases.helpers import customers, tenant

from probity.models import Order

HTML = {"accept": "text/html"}


async def test_import_page_preview_errors_commit(db: AsyncSession, as_user: Any) -> None:
    t = await tenant(db, "ECOM")
    (c,) = await customers(db, t.id, 1)
    client = await as_user("finance")
    page = await client.get("/finance/import", headers=HTML)
    assert page.status_code == 200 and "财务数据导入" in page.text
    csrf = client.headers["X-CSRF-Token"]
    good = ("order_no,customer_no,amount,status,placed_at\n"
            f"PG-1,{c.customer_no},10,paid,2026-11-20\n").encode()
    form = {"csrf_token": csrf, "tenant_id": str(t.id), "kind": "orders"}
    r = await client.post("/finance/import", data={**form, "action": "preview"},
                          files={"file": ("o.csv", good)}, headers=HTML)
    assert r.status_code == 200 and 'data-testid="import-result"' in r.text and "PG-1" in r.text
    before = await db.scalar(select(func.count()).select_from(Order))
    bad = good + f"PG-2,{c.customer_no},-3,paid,2026-11-20\n".encode()
    r = await client.post("/finance/import", data={**form, "action": "commit"},
                          files={"file": ("o.csv", bad)}, headers=HTML)
    assert r.status_code == 422 and 'data-testid="import-errors"' in r.text
    assert await db.scalar(select(func.count()).select_from(Order)) == before
    r = await client.post("/finance/import", data={**form, "action": "commit"},
                          files={"file": ("o.csv", good)}, headers=HTML)
    assert r.status_code == 200 and "已导入" in r.text
    assert await db.scalar(select(func.count()).select_from(Order)) == (before or 0) + 1
    payees = await client.get("/finance/payees", headers=HTML)
    assert payees.status_code == 200 and "MCH-ECOM-0001" in payees.text
    compliance = await as_user("compliance")
    assert (await compliance.get("/finance/import", headers=HTML)).status_code == 403
