"""Checkpoints published outside the database catch a chain rewritten from some entry onward
together with the checkpoints stored beside it (issue 16, item 7)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from probity.db import Database, drop_immutability_ddl
from probity.ledger import generate_signing_key, publish
from probity.ledger.chain import GENESIS_HASH, make_entry
from probity.ledger.checkpoint import Keyring, load_private_key
from probity.ledger.service import append_entry, make_checkpoint
from probity.migrate import upgrade
from probity.models import LedgerCheckpoint, LedgerEntry, Tenant, TenantKind

CLI = [sys.executable, "-m", "probity.cli", "ledger"]


def run(args: list[str], url: str, key: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROBITY_DATABASE_URL": url, "PROBITY_LEDGER_SIGNING_KEY": key,
           "PROBITY_ENV": "test"}
    env.pop("PROBITY_REDIS_URL", None)
    env.pop("PROBITY_CHECKPOINT_DIR", None)
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=120)


async def _seed(url: str, key: str, folder: Path) -> None:
    db = Database(url)
    keyring = Keyring(load_private_key(key))
    publish.configure(folder)
    try:
        async with db.sessionmaker() as session:
            tenant = Tenant(code="W1", name="见证", kind=TenantKind.hq, path="/")
            session.add(tenant)
            await session.commit()
            for upto in (5, 10, 20):
                start = int(await session.scalar(select(LedgerEntry.seq).where(
                    LedgerEntry.tenant_id == tenant.id).order_by(LedgerEntry.seq.desc())
                    .limit(1)) or -1) + 1
                for i in range(start, upto):
                    await append_entry(session, tenant.id, "test.event", {"i": i},
                                       keyring=keyring, checkpoint=False)
                await make_checkpoint(session, tenant.id, keyring)
                await session.commit()
            # A checkpoint made in a transaction that rolls back is not published.
            await append_entry(session, tenant.id, "test.event", {"i": 99}, keyring=keyring,
                               checkpoint=False)
            await make_checkpoint(session, tenant.id, keyring)
            await session.rollback()
    finally:
        publish.configure(None)
        await db.dispose()


async def _rewrite_from(url: str, first: int) -> None:
    """Rewrite entries first.. with new payloads and a consistent chain; delete checkpoints."""
    db = Database(url)
    async with db.engine.begin() as conn:
        for table in ("ledger_entries", "ledger_checkpoints"):
            for ddl in drop_immutability_ddl(table, "sqlite"):
                await conn.execute(text(ddl))
        await conn.execute(text("DELETE FROM ledger_checkpoints"))
        rows = (await conn.execute(text(
            "SELECT seq, entry_time, type, tenant_code, entry_hash FROM ledger_entries "
            "ORDER BY seq"))).all()
        prev = GENESIS_HASH
        for seq, time, type_, tenant, digest in rows:
            if seq < first:
                prev = digest
                continue
            rec = make_entry(seq=seq, time=time, type=type_, tenant=tenant, prev_hash=prev,
                             payload={"i": 1000 + seq})
            await conn.execute(text(
                "UPDATE ledger_entries SET payload = :p, payload_hash = :ph, prev_hash = :prev, "
                "entry_hash = :eh WHERE seq = :s"),
                {"p": rec.payload.decode() if rec.payload else None, "ph": rec.payload_hash,
                 "prev": rec.prev_hash, "eh": rec.entry_hash, "s": seq})
            prev = rec.entry_hash
    await db.dispose()


@pytest.fixture
def witness(tmp_path: Path) -> tuple[str, str, Path]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"
    upgrade(url)
    key = generate_signing_key()
    folder = tmp_path / "published"
    asyncio.run(_seed(url, key, folder))
    return url, key, folder


def test_published_checkpoints_catch_a_rewritten_chain(witness: tuple[str, str, Path]) -> None:
    url, key, folder = witness
    notes = sorted((folder / "W1").glob("*.note"))
    assert [int(p.name.split(".")[0]) for p in notes] == [5, 10, 20]  # not the rolled-back 21
    ok = run(["verify", "--tenant", "W1", "--checkpoints", str(folder)], url, key)
    assert ok.returncode == 0 and "W1: OK 20 entries, 3 checkpoint(s)" in ok.stdout, ok.stdout

    asyncio.run(_rewrite_from(url, 7))
    alone = run(["verify", "--tenant", "W1"], url, key)
    assert alone.returncode == 0, alone.stdout  # the database alone cannot tell
    caught = run(["verify", "--tenant", "W1", "--checkpoints", str(folder)], url, key)
    assert caught.returncode == 1, caught.stdout
    assert "W1: FAILED altered at seq 5: entries 5–9 were rewritten" in caught.stdout
    assert "missing from the database" in caught.stdout


def test_a_forged_published_note_is_reported(witness: tuple[str, str, Path]) -> None:
    url, key, folder = witness
    note = next((folder / "W1").glob("000000000010.*.note"))
    text_ = note.read_text()
    note.write_text(text_.replace("\n10\n", "\n11\n"))
    out = run(["verify", "--tenant", "W1", "--checkpoints", str(folder)], url, key)
    assert out.returncode == 1 and "published checkpoint" in out.stdout, out.stdout


def test_a_note_that_cannot_be_written_leaves_the_commit_standing(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The publish folder cannot be written (here: its path runs through a file): the
    transaction that made the checkpoint has committed, so the commit returns normally, the
    row stays, and the failure is logged: no caller (the chat writer retries a batch whose
    commit raised) takes the committed batch for a failed one."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"
    upgrade(url)
    keyring = Keyring(load_private_key(generate_signing_key()))
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")

    async def scenario() -> int:
        db = Database(url)
        publish.configure(blocker / "published")
        try:
            async with db.sessionmaker() as session:
                tenant = Tenant(code="W2", name="见证", kind=TenantKind.hq, path="/")
                session.add(tenant)
                await session.commit()
                for i in range(3):
                    await append_entry(session, tenant.id, "test.event", {"i": i},
                                       keyring=keyring, checkpoint=False)
                await make_checkpoint(session, tenant.id, keyring)
                await session.commit()  # does not raise
                return len((await session.scalars(select(LedgerCheckpoint.id).where(
                    LedgerCheckpoint.tenant_id == tenant.id))).all())
        finally:
            publish.configure(None)
            await db.dispose()

    with caplog.at_level("ERROR", logger="probity.ledger"):
        assert asyncio.run(scenario()) == 1
    assert "W2/3 committed but not published" in caplog.text


async def test_checkpoints_endpoint(as_user: Any, db: Any) -> None:
    tenant_id = await db.scalar(select(LedgerCheckpoint.tenant_id).order_by(LedgerCheckpoint.id))
    auditor = await as_user("auditor")
    r = await auditor.get(f"/api/v1/ledger/{tenant_id}/checkpoints")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body and body[0]["note"].startswith(body[0]["note"].split("\n")[0])
    assert [c["tree_size"] for c in body] == sorted(c["tree_size"] for c in body)
    agent = await as_user("agent")
    assert (await agent.get(f"/api/v1/ledger/{tenant_id}/checkpoints")).status_code == 403
