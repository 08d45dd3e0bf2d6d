"""Real processes for the job tests: `probity serve` with its embedded worker, `probity worker`
and `probity scheduler` against a broker, each on its own migrated and seeded SQLite file."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from probity.demo import DEMO_PASSWORD

REPO = Path(__file__).resolve().parents[2]
PROBITY = str(Path(sys.executable).parent / "probity")
SECRET = "jobs-test-secret-0123456789abcdef0123456789"


@pytest.fixture
def db_url(seeded_sqlite: Path, tmp_path: Path) -> str:
    """A private copy of the run's seeded SQLite file (tests/conftest.py)."""
    path = tmp_path / "probity.db"
    shutil.copy(seeded_sqlite, path)
    return f"sqlite+aiosqlite:///{path}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Procs:
    """Child processes, ended (SIGKILL if need be) when the test ends."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.children: list[subprocess.Popen[bytes]] = []

    def env(self, db_url: str, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROBITY_")}
        env.update(PROBITY_DATABASE_URL=db_url, PROBITY_SECRET_KEY=SECRET,
                   PROBITY_ENV="development", PYTHONPATH=str(REPO),
                   PROBITY_TASK_MODULES='["tests.jobs.slow_tasks"]',
                   PROBITY_ATTACHMENTS_DIR=str(self.tmp_path / "attachments"), **extra)
        return env

    def start(self, args: list[str], env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp_path / f"{name}.log", "ab")  # noqa: SIM115 (closed with the child)
        proc = subprocess.Popen([PROBITY, *args], env=env, cwd=REPO, stdout=log,
                                stderr=subprocess.STDOUT)
        self.children.append(proc)
        return proc

    def serve(self, env: dict[str, str], name: str = "app") -> str:
        port = free_port()
        self.start(["serve", "--port", str(port)], env, name)
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _up(base), what=f"{name} to answer", timeout=60)
        return base

    def log(self, name: str) -> str:
        return (self.tmp_path / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for proc in self.children:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.children:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def wait_for(check: Callable[[], Any], *, what: str, timeout: float = 60,
             every: float = 0.2) -> Any:
    """Poll ``check`` until it returns something truthy; bounded in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    p = Procs(tmp_path)
    try:
        yield p
    finally:
        p.stop_all()


def login(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    r = client.post("/api/v1/auth/login", json={"username": username,
                                                "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    return client
