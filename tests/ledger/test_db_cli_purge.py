"""`probity ledger purge` end to end against a temporary SQLite file: old entries lose their
content, entries under a legal hold keep it, and `probity ledger verify` still passes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from probity.db import Database
from probity.ledger import GENESIS_HASH, generate_signing_key, make_entry
from probity.ledger.checkpoint import Keyring, load_private_key
from probity.ledger.service import append_entry, make_checkpoint
from probity.migrate import upgrade
from probity.models import LedgerEntry, LegalHold, RetentionRule, Tenant, TenantKind
from probity.models.base import utcnow

CLI = [sys.executable, "-m", "probity.cli", "ledger"]


def run(args: list[str], url: str, key: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROBITY_DATABASE_URL": url, "PROBITY_LEDGER_SIGNING_KEY": key,
           "PROBITY_ENV": "test"}
    env.pop("PROBITY_REDIS_URL", None)
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=120)


async def _seed(url: str, key: str) -> None:
    """Six chat.message entries dated 2020 (a valid chain built with the pure core), one of them
    in a conversation under legal hold, then one fresh entry and a checkpoint."""
    db = Database(url)
    keyring = Keyring(load_private_key(key))
    async with db.sessionmaker() as session:
        tenant = Tenant(code="P1", name="保留", kind=TenantKind.hq, path="/")
        session.add(tenant)
        await session.flush()
        tenant.path = f"/{tenant.id}/"  # as org.service writes it (group standards read it)
        prev = GENESIS_HASH
        for i in range(6):
            rec = make_entry(seq=i, time=f"2020-01-0{i + 1}T08:00:00.000000Z",
                             type="chat.message", tenant="P1", prev_hash=prev,
                             payload={"message_id": 1000 + i, "conversation_id": 70 + (i == 5),
                                      "body": f"手机号 1380000000{i}"}, salt=True)
            session.add(LedgerEntry(
                tenant_id=tenant.id, seq=rec.seq, entry_time=rec.time, type=rec.type,
                tenant_code=rec.tenant, payload_hash=rec.payload_hash, prev_hash=rec.prev_hash,
                entry_hash=rec.entry_hash, payload=(rec.payload or b"").decode()))
            prev = rec.entry_hash
        await session.flush()
        await append_entry(session, tenant.id, "chat.message", {"message_id": 2000, "body": "新"},
                           keyring=keyring, checkpoint=False, purgeable=True)
        await make_checkpoint(session, tenant.id, keyring)
        session.add(RetentionRule(tenant_id=tenant.id, record_type="chat.message", days=30,
                                  created_at=utcnow()))
        session.add(LegalHold(tenant_id=tenant.id, subject_type="conversation", subject_id=71,
                              reason="诉讼", created_at=utcnow()))
        await session.commit()
    await db.dispose()


async def _payloads(url: str) -> list[str | None]:
    db = Database(url)
    async with db.sessionmaker() as session:
        rows = (await session.scalars(select(LedgerEntry.payload).where(
            LedgerEntry.type == "chat.message").order_by(LedgerEntry.seq))).all()
    await db.dispose()
    return list(rows)


@pytest.fixture(scope="module")
def purge_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    path: Path = tmp_path_factory.mktemp("ledger-purge") / "purge.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    key = generate_signing_key()
    asyncio.run(_seed(url, key))
    return url, key


def test_cli_purge_dry_run_then_purge_then_verify(purge_db: tuple[str, str]) -> None:
    url, key = purge_db
    dry = run(["purge", "--dry-run"], url, key)
    assert dry.returncode == 0, dry.stderr
    assert "P1: chat.message older than 30 days" in dry.stdout
    assert "would purge 5 of 6, 1 under legal hold" in dry.stdout, dry.stdout
    assert all(p is not None for p in asyncio.run(_payloads(url)))

    done = run(["purge", "--tenant", "P1"], url, key)
    assert done.returncode == 0, done.stderr
    assert "purged 5 of 6, 1 under legal hold" in done.stdout, done.stdout
    payloads = asyncio.run(_payloads(url))
    assert payloads[:5] == [None] * 5
    assert payloads[5] is not None and payloads[6] is not None  # held; too recent
    ok = run(["verify", "--tenant", "P1", "--no-rows"], url, key)  # synthetic entries: no rows
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "P1: OK" in ok.stdout
