"""The migration round trip (issue 14): export a tenant, import the export into an empty
database with the CLI, and `probity ledger verify` passes there — then a second import changes
nothing, and bad input makes the CLI exit non-zero with nothing stored."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from probity.imports.export import write_export

from .helpers import tenant_id

CLI = [sys.executable, "-m", "probity.cli"]


def cli(args: list[str], db: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROBITY_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
           "PROBITY_CHECKPOINT_DIR": str(tmp / "checkpoints")}
    env.pop("PROBITY_REDIS_URL", None)
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=300)


def count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"select count(*) from {table}").fetchone()[0])


async def test_export_import_into_an_empty_database_and_verify(db: AsyncSession,
                                                               tmp_path: Path) -> None:
    package = tmp_path / "ecom.zip"
    with package.open("wb") as out:
        manifest = await write_export(db, await tenant_id(db, "ECOM"), out)
    assert manifest["ledger"]["size"] > 0 and manifest["files"]["transcripts.jsonl"]["rows"] > 0
    target = tmp_path / "empty.db"
    r = cli(["migrate"], target, tmp_path)
    assert r.returncode == 0, r.stderr
    assert count(target, "tenants") == 0

    dry = cli(["import", "package", str(package)], target, tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "dry run" in dry.stderr and count(target, "tenants") == 0

    r = cli(["import", "package", str(package), "--commit"], target, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "source ledger ECOM" in r.stderr and "verified" in r.stderr
    files = manifest["files"]
    for table, kind in (("employees", "employees"), ("org_units", "org_units"),
                        ("payments", "payments"), ("shift_assignments", "rotas"),
                        ("leave_balances", "leave_balances"), ("messages", "transcripts")):
        assert count(target, table) == files[f"{kind}.jsonl"]["rows"], table

    verify = cli(["ledger", "verify"], target, tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "ECOM: OK" in verify.stdout and "rows agree" in verify.stdout

    # The new chain references the old one: its import.package entry names the source head.
    with sqlite3.connect(target) as conn:
        payload = conn.execute("select payload from ledger_entries where type = "
                               "'import.package'").fetchone()[0]
        originals = conn.execute("select count(*) from import_keys where kind = 'message' "
                                 "and original_ref is not null").fetchone()[0]
    source = json.loads(payload)["source_ledger"]
    assert source["verified"] is True and source["size"] == manifest["ledger"]["size"]
    assert source["head_hash"] == manifest["ledger"]["head_hash"]
    assert originals == files["transcripts.jsonl"]["rows"]

    # Idempotent: a second import inserts and updates nothing.
    messages = count(target, "messages")
    again = cli(["import", "package", str(package), "--commit"], target, tmp_path)
    assert again.returncode == 0, again.stderr
    assert "insert 0" in again.stderr and " insert 1" not in again.stderr
    assert count(target, "messages") == messages
    assert cli(["ledger", "verify"], target, tmp_path).returncode == 0

    # Bad input: a non-zero exit, a clear message, nothing stored.
    latin = tmp_path / "staff.csv"
    latin.write_bytes(b"employee_no,name,hire_date\n" + "E9,José,2024-01-01\n"
                      .encode("latin-1"))
    employees = count(target, "employees")
    r = cli(["import", "file", str(latin), "--kind", "employees", "--tenant", "ECOM",
             "--commit"], target, tmp_path)
    assert r.returncode == 1 and "GBK" in r.stderr and "编码" in r.stderr
    bad_rows = tmp_path / "rows.csv"
    bad_rows.write_text("工号,姓名,入职日期\nE9,,2024-01-01\n", encoding="utf-8")
    r = cli(["import", "file", str(bad_rows), "--kind", "employees", "--tenant", "ECOM",
             "--commit"], target, tmp_path)
    assert r.returncode == 1 and "row 2, name" in r.stderr and "必填" in r.stderr
    r = cli(["import", "file", str(bad_rows), "--kind", "employees", "--tenant", "NOPE"],
            target, tmp_path)
    assert r.returncode == 2
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as zf:
        zf.writestr("hello.txt", "not an export")
    r = cli(["import", "package", str(broken), "--commit"], target, tmp_path)
    assert r.returncode == 1 and "manifest.json" in r.stderr
    assert count(target, "employees") == employees
