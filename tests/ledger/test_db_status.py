"""The ledger page and API: status per tenant, background verification with progress and a
stored result (also when the ledger has been tampered with), inclusion/consistency proofs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from probity.db import drop_immutability_ddl
from probity.jobs.runtime import InlineRuntime
from probity.ledger import verify_checkpoint, verify_consistency, verify_inclusion
from probity.ledger.service import append_entry, default_keyring, make_checkpoint
from probity.models import LedgerVerification, Tenant


@pytest.fixture
def shared_jobs(app: Any, db: AsyncSession) -> InlineRuntime:
    """Background verifications use the test's session (its rolled-back transaction)."""

    @asynccontextmanager
    async def same_session() -> AsyncIterator[AsyncSession]:
        yield db

    runtime: InlineRuntime = app.state.jobs
    runtime.sessions = same_session
    return runtime


async def _tenant(db: AsyncSession) -> Tenant:
    tenant = await db.scalar(select(Tenant).where(Tenant.code == "ECOM"))
    assert tenant is not None
    return tenant


async def _seed(db: AsyncSession, n: int = 20) -> Tenant:
    tenant = await _tenant(db)
    for i in range(n):
        await append_entry(db, tenant.id, "test.event", {"i": i}, checkpoint=False)
    await make_checkpoint(db, tenant.id, default_keyring())
    await db.commit()
    return tenant


async def _wait(runtime: InlineRuntime) -> None:
    await runtime.wait()


async def test_verify_in_background_ok_then_tampered(
        as_user: Any, db: AsyncSession, shared_jobs: InlineRuntime, dialect: str) -> None:
    tenant = await _seed(db)
    comp = await as_user("compliance")
    r = await comp.post("/api/v1/ledger/verify", json={"tenant_id": tenant.id})
    assert r.status_code == 202, r.text
    started = r.json()
    assert started["state"] == "running" and started["total_entries"] >= 20
    await _wait(shared_jobs)
    done = (await comp.get(f"/api/v1/ledger/verifications/{started['id']}")).json()
    assert done["state"] == "ok" and done["ok"] is True, done
    assert done["entries_checked"] >= started["total_entries"] and done["finished_at"]
    status = {s["tenant_id"]: s for s in (await comp.get("/api/v1/ledger/status")).json()}
    mine = status[tenant.id]
    # the start's audit row is ledgered after the count was taken
    assert mine["size"] == done["entries_checked"] >= started["total_entries"]
    assert 0 < mine["last_checkpoint"]["tree_size"] <= mine["size"]
    assert mine["last_verification"]["id"] == started["id"]

    # Tamper one payload behind the service's back: the next run fails and names the entry.
    for ddl in drop_immutability_ddl("ledger_entries", dialect):
        await db.execute(text(ddl))
    seq = mine["size"] - 5
    await db.execute(text("UPDATE ledger_entries SET payload = :p WHERE tenant_id = :t AND "
                          "seq = :s"), {"p": '{"i":999}', "t": tenant.id, "s": seq})
    await db.commit()
    r = await comp.post("/api/v1/ledger/verify", json={"tenant_id": tenant.id})
    await _wait(shared_jobs)
    row = await db.get(LedgerVerification, r.json()["id"])
    assert row is not None
    await db.refresh(row)
    assert row.ok is False and row.first_bad_seq == seq and row.finished_at is not None
    assert str(seq) in row.message


async def test_ledger_page_and_htmx_progress(as_user: Any, db: AsyncSession,
                                             shared_jobs: InlineRuntime) -> None:
    tenant = await _seed(db, 5)
    comp = await as_user("compliance")
    page = await comp.get("/ledger", headers={"accept": "text/html"})
    assert page.status_code == 200 and tenant.code in page.text
    assert 'hx-post="/ledger/verify"' in page.text and 'href="/ledger"' in page.text
    r = await comp.post("/ledger/verify", data={"tenant_id": str(tenant.id)},
                        headers={"hx-request": "true", "accept": "text/html"})
    assert r.status_code == 200, r.text
    assert 'hx-trigger="every 1s"' in r.text and 'data-state="running"' in r.text
    vid = int(r.text.split('hx-get="/ledger/verifications/')[1].split('"')[0])
    await _wait(shared_jobs)
    frag = await comp.get(f"/ledger/verifications/{vid}", headers={"accept": "text/html"})
    assert 'data-state="ok"' in frag.text and "every 1s" not in frag.text
    # Without JavaScript: a plain form post redirects back to the page.
    r = await comp.post("/ledger/verify", data={"tenant_id": str(tenant.id)},
                        headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ledger"
    await _wait(shared_jobs)
    agent = await as_user("agent")
    assert (await agent.get("/ledger")).status_code == 403


async def test_proofs_over_the_api(as_user: Any, db: AsyncSession) -> None:
    tenant = await _seed(db, 12)
    aud = await as_user("auditor")
    status = {s["tenant_id"]: s for s in (await aud.get("/api/v1/ledger/status")).json()}
    size = status[tenant.id]["size"]
    r = await aud.get(f"/api/v1/ledger/{tenant.id}/proof", params={"seq": 3})
    assert r.status_code == 200, r.text
    proof = r.json()
    signed = verify_checkpoint(proof["checkpoint"], default_keyring())
    assert signed.tree_size == proof["tree_size"] == size
    assert verify_inclusion(bytes.fromhex(proof["entry_hash"]), 3, size,
                            [bytes.fromhex(h) for h in proof["audit_path"]], signed.root_hash)
    r = await aud.get(f"/api/v1/ledger/{tenant.id}/consistency",
                      params={"from": size - 4, "to": size})
    assert r.status_code == 200, r.text
    c = r.json()
    assert verify_consistency(size - 4, size, bytes.fromhex(c["old_root"]),
                              bytes.fromhex(c["new_root"]), [bytes.fromhex(h) for h in c["proof"]])
    assert (await aud.get(f"/api/v1/ledger/{tenant.id}/proof",
                          params={"seq": size + 10})).status_code == 422
    assert (await aud.get("/api/v1/ledger/999999/proof", params={"seq": 0})).status_code == 404
    keys = (await aud.get("/api/v1/ledger/public-keys")).json()
    assert keys["current"] in keys["keys"]


async def test_out_of_scope_tenant_is_refused(as_user: Any, db: AsyncSession) -> None:
    hq = await db.scalar(select(Tenant.id).where(Tenant.code == "HQ"))
    comp = await as_user("compliance")  # scoped to the e-commerce subsidiary
    assert hq not in [s["tenant_id"] for s in (await comp.get("/api/v1/ledger/status")).json()]
    r = await comp.post("/api/v1/ledger/verify", json={"tenant_id": hq})
    assert r.status_code == 422 and r.json()["code"] == "unknown_tenant"
    assert (await comp.get(f"/api/v1/ledger/{hq}/proof", params={"seq": 0})).status_code == 404
