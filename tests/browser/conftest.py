"""A live server and Debian's chromium, driven by Playwright, for browser tests.

The server runs in a subprocess on a free loopback port against its own SQLite file, migrated
and seeded with the demo group. Playwright never downloads a browser: it launches
/usr/bin/chromium (the Makefile installs it with apt when missing).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from probity.config import SOCKET_PROTOCOL

CHROMIUM = os.environ.get("PROBITY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-quic"]


def free_port() -> int:
    """A free loopback port: within PROBITY_TEST_PORTS ("8110-8119") when set — on a shared
    machine each engineer's servers keep to their own range — else any the system gives."""
    wanted = os.environ.get("PROBITY_TEST_PORTS", "")
    if wanted:
        lo, _, hi = wanted.partition("-")
        ports = list(range(int(lo), int(hi or lo) + 1))
        # xdist workers start at different places in the range, so two of them don't both
        # find the same port free before either server has bound it.
        worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
        start = int(worker[2:] or 0) * (len(ports) // 2) if worker[2:].isdigit() else 0
        for port in ports[start:] + ports[:start]:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
        raise RuntimeError(f"no free port in PROBITY_TEST_PORTS={wanted}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db_url: str, *, extra_env: dict[str, str] | None = None,
                 log: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PROBITY_DATABASE_URL": db_url, "PROBITY_ENV": "test",
           "PROBITY_SECRET_KEY": "browser-test-secret-0123456789abcdef", **(extra_env or {})}
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "probity.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--ws-per-message-deflate", "false",  # as `probity serve`
         "--ws", SOCKET_PROTOCOL],
        env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    # A loaded, shared machine can take a while to import the app; a healthy server answers
    # as soon as it is up, so the wait costs nothing then.
    wait_s = float(os.environ.get("PROBITY_TEST_SERVER_START_S", "90"))
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server did not start within {wait_s:.0f} s "
                       "(PROBITY_TEST_SERVER_START_S)")


@pytest.fixture(scope="session")
def live_db_url(seeded_sqlite: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A copy of the run's seeded SQLite file (migrated and seeded as `make run` does)."""
    path = tmp_path_factory.mktemp("live") / "live.db"
    shutil.copy(seeded_sqlite, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="session")
def live_server(live_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc, base = start_server(live_db_url, log=tmp_path_factory.mktemp("logs") / "server.log")
    try:
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Module-scoped: Playwright's sync API runs its own event loop in this thread for as long
    as the browser is open, which async tests elsewhere cannot share."""
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def sign_in(page: object, base: str, username: str) -> None:
    from probity.demo import DEMO_PASSWORD

    page.goto(f"{base}/login")  # type: ignore[attr-defined]
    page.fill("input[name=username]", username)  # type: ignore[attr-defined]
    page.fill("input[name=password]", DEMO_PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(f"{base}/")  # type: ignore[attr-defined]
