"""The `probity` command line, run as a user would, against its own SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "probity.cli"]


def run(args: list[str], db: Path, *, input: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROBITY_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
           "PROBITY_REDIS_URL": ""}
    env.pop("PROBITY_REDIS_URL")
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, input=input,
                          timeout=120)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("cli") / "cli.db"
    assert run(["migrate"], db).returncode == 0
    r = run(["demo", "seed", "--if-empty"], db)
    assert r.returncode == 0, r.stderr
    return db


def test_help_lists_the_commands(tmp_path: Path) -> None:
    r = run(["--help"], tmp_path / "x.db")
    assert r.returncode == 0
    for command in ("serve", "migrate", "demo", "user", "token", "check"):
        assert command in r.stdout


def test_demo_seed_is_idempotent_with_if_empty(seeded: Path) -> None:
    r = run(["demo", "seed", "--if-empty"], seeded)
    assert r.returncode == 0 and "skipped" in r.stderr


def test_user_and_token_create(seeded: Path) -> None:
    r = run(["user", "create", "ops.li", "--tenant", "HOME", "--role", "hr",
             "--role", "team_lead:HOME:HOME-T1", "--display-name", "李运维",
             "--password", "Blue-Harbor-42"], seeded)
    assert r.returncode == 0, r.stderr
    token = run(["token", "create", "ops.li", "--name", "sync"], seeded)
    assert token.returncode == 0 and token.stdout.strip().startswith("pbt_")


@pytest.mark.parametrize("args, message", [
    (["user", "create", "x1", "--tenant", "NOPE", "--role", "hr", "--password", "Blue-Harbor-42"],
     "unknown tenant code"),
    (["user", "create", "x2", "--tenant", "HQ", "--role", "boss", "--password", "Blue-Harbor-42"],
     "unknown role"),
    (["user", "create", "x3", "--tenant", "HQ", "--role", "hr", "--password", "weak"],
     "password does not meet the policy"),
    (["token", "create", "nobody"], "unknown user"),
    (["demo", "reset"], "--yes"),
])
def test_bad_cli_input_is_a_clear_error(seeded: Path, args: list[str], message: str) -> None:
    r = run(args, seeded)
    assert r.returncode != 0
    assert message in r.stderr.replace("\n", " ")


def test_check_reports_health(seeded: Path, tmp_path: Path) -> None:
    r = run(["check"], seeded)
    assert r.returncode == 0 and "database" in r.stderr and "sqlite" in r.stderr
    bad = run(["check"], tmp_path / "missing" / "nothing.db")
    assert bad.returncode == 1 and "FAIL" in bad.stderr


def test_migrations_downgrade_and_upgrade(tmp_path: Path) -> None:
    db = tmp_path / "fresh" / "var" / "m.db"  # as on a fresh checkout: the folder is missing
    assert run(["migrate"], db).returncode == 0
    from probity.migrate import downgrade, upgrade

    url = f"sqlite+aiosqlite:///{db}"
    downgrade(url, "base")
    upgrade(url)


def test_screen_is_a_probity_command(tmp_path: Path) -> None:
    lines = '{"id": 1, "role": "customer", "text": "加我薇信"}\n'
    r = run(["screen", "--workers", "1"], tmp_path / "x.db", input=lines)
    assert r.returncode == 0, r.stderr
    import json

    out = json.loads(r.stdout.splitlines()[0])
    assert out["id"] == 1 and out["decision"] == "block" and "contact" in out["categories"]
