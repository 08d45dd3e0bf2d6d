"""The job API and page: the starter sees the job; anyone else, or an id out of range, is 404."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from tests.cases.helpers import tenant


async def test_job_api_and_page_are_for_the_starter(db: AsyncSession, as_user: Any) -> None:
    t = await tenant(db, "ECOM")
    finance = await as_user("finance")
    r = await finance.post("/api/v1/finance/imports/jobs",
                           data={"tenant_id": str(t.id), "kind": "orders", "dry_run": "true"},
                           files={"file": ("o.csv", b"order_no,customer_no,amount\n")})
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    mine = await finance.get(f"/api/v1/jobs/{job_id}")
    assert mine.status_code == 200 and mine.json()["state"] == "queued"
    assert mine.json()["task"] == "finance.import" and mine.json()["tenant_id"] == t.id
    assert [j["id"] for j in (await finance.get("/api/v1/jobs")).json()] == [job_id]
    page = await finance.get(f"/jobs/{job_id}", headers={"accept": "text/html"})
    assert page.status_code == 200 and 'data-state="queued"' in page.text
    assert 'hx-trigger="every 1s"' in page.text
    for bad in ("99999999999", "0", "-1"):
        assert (await finance.get(f"/api/v1/jobs/{bad}")).status_code == 404
    # HQ admin holds finance.import over ECOM, but an import job is its starter's alone.
    admin = await as_user("admin")
    assert (await admin.get(f"/api/v1/jobs/{job_id}")).status_code == 404
    assert (await admin.get(f"/jobs/{job_id}", headers={"accept": "text/html"})
            ).status_code == 404
    assert (await admin.get("/api/v1/jobs")).json() == []
