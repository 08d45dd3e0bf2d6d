"""`probity ledger ...` end to end, against a temporary SQLite file (subprocesses)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from probity.db import Database, drop_immutability_ddl
from probity.ledger import generate_signing_key, verify_checkpoint, verify_inclusion
from probity.ledger.checkpoint import Keyring, load_private_key
from probity.ledger.service import append_entry, make_checkpoint
from probity.migrate import upgrade
from probity.models import Tenant, TenantKind

CLI = [sys.executable, "-m", "probity.cli", "ledger"]


def run(args: list[str], url: str, key: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROBITY_DATABASE_URL": url, "PROBITY_LEDGER_SIGNING_KEY": key,
           "PROBITY_ENV": "test"}
    env.pop("PROBITY_REDIS_URL", None)
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=120)


async def _seed(url: str, key: str) -> None:
    db = Database(url)
    keyring = Keyring(load_private_key(key))
    async with db.sessionmaker() as session:
        tenant = Tenant(code="T1", name="测试", kind=TenantKind.hq, path="/")
        session.add(tenant)
        await session.flush()
        for i in range(10):
            await append_entry(session, tenant.id, "test.event", {"i": i}, keyring=keyring,
                               checkpoint=False)
        await make_checkpoint(session, tenant.id, keyring)
        for i in range(10, 13):
            await append_entry(session, tenant.id, "test.event", {"i": i}, keyring=keyring,
                               checkpoint=False)
        await session.commit()
    await db.dispose()


async def _tamper(url: str) -> None:
    db = Database(url)
    async with db.engine.begin() as conn:
        for ddl in drop_immutability_ddl("ledger_entries", "sqlite"):
            await conn.execute(text(ddl))
        await conn.execute(text("UPDATE ledger_entries SET payload = :p WHERE seq = 4"),
                           {"p": '{"i":99}'})
    await db.dispose()


@pytest.fixture(scope="module")
def ledger_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    path: Path = tmp_path_factory.mktemp("ledger-cli") / "cli.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    key = generate_signing_key()
    asyncio.run(_seed(url, key))
    return url, key


def test_cli_verify_checkpoint_prove_and_tamper(ledger_db: tuple[str, str]) -> None:
    url, key = ledger_db
    ok = run(["verify", "--tenant", "T1"], url, key)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "T1: OK 13 entries, 1 checkpoint(s)" in ok.stdout

    cp = run(["checkpoint"], url, key)
    assert cp.returncode == 0 and "T1: checkpoint at size 13" in cp.stdout, cp.stderr
    keyring = Keyring(load_private_key(key))

    proof = run(["prove", "--tenant", "T1", "--seq", "5"], url, key)
    assert proof.returncode == 0, proof.stderr
    data = json.loads(proof.stdout)
    signed = verify_checkpoint(data["checkpoint"], keyring)
    assert signed.tree_size == data["tree_size"] == 13
    assert verify_inclusion(bytes.fromhex(data["entry_hash"]), 5, 13,
                            [bytes.fromhex(h) for h in data["audit_path"]], signed.root_hash)
    cons = run(["consistency", "--tenant", "T1", "--from", "10", "--to", "13"], url, key)
    assert cons.returncode == 0 and json.loads(cons.stdout)["old_checkpoint"], cons.stderr
    bad = run(["prove", "--tenant", "T1", "--seq", "50"], url, key)
    assert bad.returncode == 2

    asyncio.run(_tamper(url))
    tampered = run(["verify"], url, key)
    assert tampered.returncode == 1
    assert "T1: FAILED altered at seq 4" in tampered.stdout, tampered.stdout
