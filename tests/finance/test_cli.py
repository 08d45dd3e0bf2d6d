"""`probity finance import` (dry run, per-row errors, commit, idempotent) and `probity cases
sweep`, run as a user would against a migrated and seeded SQLite file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from tests.test_cli import run


@pytest.fixture(scope="module")
def seeded(fresh_sqlite: Callable[[str], str]) -> Path:
    """A copy of the run's seeded template (tests/test_cli.py runs `migrate` and `demo seed`
    themselves through the command line)."""
    return Path(make_url(fresh_sqlite("fincli")).database or "")


def test_import_dry_run_commit_and_errors(seeded: Path, tmp_path: Path) -> None:
    good = tmp_path / "orders.csv"
    good.write_text("order_no,customer_no,customer_name,amount,status,placed_at\n"
                    "CLI-1,CLI-C1,李先生,10,paid,2026-11-20 10:00\n"
                    "CLI-2,CLI-C1,李先生,20,paid,2026-11-20 11:00\n", encoding="utf-8")
    r = run(["finance", "import", str(good), "--kind", "orders", "--tenant", "ECOM"], seeded)
    assert r.returncode == 0, r.stderr
    assert "dry run" in r.stderr and "insert 2" in r.stderr
    r = run(["finance", "import", str(good), "--kind", "orders", "--tenant", "ECOM",
             "--commit"], seeded)
    assert r.returncode == 0 and "committed" in r.stderr and "import_id" in r.stderr
    r = run(["finance", "import", str(good), "--kind", "orders", "--tenant", "ECOM",
             "--commit"], seeded)
    assert r.returncode == 0 and "unchanged 2" in r.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("order_no,customer_no,amount,status,placed_at\n"
                   "CLI-3,CLI-C1,-1,paid,2026-11-20\n", encoding="utf-8")
    r = run(["finance", "import", str(bad), "--kind", "orders", "--tenant", "ECOM",
             "--commit"], seeded)
    assert r.returncode == 1 and "must be positive" in r.stderr and "nothing was imported" in \
        r.stderr
    r = run(["finance", "import", str(good), "--kind", "orders", "--tenant", "NOPE"], seeded)
    assert r.returncode == 2


def test_cases_sweep(seeded: Path) -> None:
    r = run(["cases", "sweep"], seeded)
    assert r.returncode == 0, r.stderr
    assert "SLA event" in r.stderr
