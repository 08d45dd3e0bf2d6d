"""A live server for the SDK tests: a real uvicorn process on loopback against its own migrated
and seeded SQLite file. Startup gets five minutes: this shared machine is often loaded."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from tests.browser.conftest import free_port

from probity.config import SOCKET_PROTOCOL

# Ports tried first (this team's range on the shared development machine), then any free one.
PREFERRED_PORTS = range(8150, 8160)


def pick_port() -> int:
    if os.environ.get("PROBITY_TEST_PORTS"):
        return free_port()  # the range the machine's user was given
    for port in (*PREFERRED_PORTS, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise RuntimeError("no free port")


def serve(db_url: str, tmp: Path, **env: str) -> Iterator[str]:
    port = pick_port()
    full_env = {**os.environ, "PROBITY_DATABASE_URL": db_url, "PROBITY_ENV": "test",
                "PROBITY_SECRET_KEY": "sdk-test-secret-0123456789abcdef-xyz",
                "PROBITY_ATTACHMENTS_DIR": str(tmp / "att"), **env}
    log = tmp / f"server-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "probity.app:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
             "--ws-per-message-deflate", "false",  # as `probity serve`
             "--ws", SOCKET_PROTOCOL],
            env=full_env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}: "
                                   f"{log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start within 300 s")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[str]:
    # A server already running against a seeded demo database (development only).
    external = os.environ.get("PROBITY_SDK_TEST_SERVER")
    if external:
        yield external.rstrip("/")
        return
    fresh_sqlite: Callable[[str], str] = request.getfixturevalue("fresh_sqlite")
    yield from serve(fresh_sqlite("sdklive"), tmp_path_factory.mktemp("sdklive-srv"))
