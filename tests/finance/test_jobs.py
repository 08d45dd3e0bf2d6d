"""Background import jobs on the job system: the same all-or-nothing result, visible to the
user who started it only (live progress across processes: tests/jobs)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.cases.helpers import customers, tenant

from probity.jobs.runtime import InlineRuntime
from probity.models import Job, Order


async def _wait(client: Any, runtime: InlineRuntime, job_id: int) -> dict[str, Any]:
    first = (await client.get(f"/api/v1/finance/imports/jobs/{job_id}")).json()
    assert first["state"] == "queued", first
    await runtime.wait()
    seen_states = set()
    for _ in range(600):
        state = (await client.get(f"/api/v1/finance/imports/jobs/{job_id}")).json()
        seen_states.add(state["state"])
        if state["state"] in ("done", "failed"):
            state["seen"] = seen_states
            return state  # type: ignore[no-any-return]
        await asyncio.sleep(0.02)
    raise AssertionError("the job did not finish")


async def test_import_job_reports_progress_and_result(db: AsyncSession, as_user: Any,
                                                      app: Any) -> None:
    @asynccontextmanager
    async def same_session() -> AsyncIterator[AsyncSession]:
        yield db

    runtime: InlineRuntime = app.state.jobs
    runtime.sessions = same_session
    t = await tenant(db, "ECOM")
    (c,) = await customers(db, t.id, 1)
    client = await as_user("finance")
    n = 25000
    content = "order_no,customer_no,amount,status,placed_at\n" + "".join(
        f"JOB-{i:06d},{c.customer_no},{10 + i % 50},paid,2026-11-20 10:00\n" for i in range(n))
    before = await db.scalar(select(func.count()).select_from(Order))
    r = await client.post("/api/v1/finance/imports/jobs",
                          data={"tenant_id": str(t.id), "kind": "orders", "dry_run": "false"},
                          files={"file": ("big.csv", content.encode())})
    assert r.status_code == 202, r.text
    job = await _wait(client, runtime, r.json()["id"])
    assert job["state"] == "done", job
    assert job["validated"] == n and job["written"] == n
    assert job["result"]["insert"] == n and job["result"]["import_id"]
    assert await db.scalar(select(func.count()).select_from(Order)) == (before or 0) + n
    # A bad file fails with the per-row errors and writes nothing.
    bad = content.replace("JOB-000007,", "JOB-000007-X,").replace(",17,paid", ",-17,paid")
    r = await client.post("/api/v1/finance/imports/jobs",
                          data={"tenant_id": str(t.id), "kind": "orders", "dry_run": "false"},
                          files={"file": ("bad.csv", bad.encode())})
    job = await _wait(client, runtime, r.json()["id"])
    assert job["state"] == "failed" and job["error"]["code"] == "row_errors"
    assert job["error"]["errors"][0]["column"] == "amount"
    assert await db.scalar(select(func.count()).select_from(Order)) == (before or 0) + n
    # Another user cannot see the job.
    admin = await as_user("admin")
    assert (await admin.get(f"/api/v1/finance/imports/jobs/{job['id']}")).status_code == 404
    assert (await admin.get(f"/api/v1/jobs/{job['id']}")).status_code == 404
    assert not runtime.pending()
    # The job row keeps the outcome; the uploaded file is gone once the job ended.
    row = await db.get(Job, job["id"])
    assert row is not None and row.state == "failed" and row.started_by_user_id is not None
    assert await db.scalar(select(Job.payload).where(Job.id == row.id)) is None
