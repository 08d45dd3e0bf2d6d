"""Schemathesis against /api/openapi.json: generated requests (bounded examples) on every
operation, as the HQ admin with a bearer token; no response may be a server error, and every
status must be one the document declares (issue 16).

It runs on a copy of the seeded SQLite database (requests commit, so the shared test database
is left alone), in-process through ASGI."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance
from starlette.testclient import TestClient

from probity.app import create_app
from probity.config import Settings
from probity.demo import DEMO_PASSWORD

TEST_SECRET = "test-secret-key-0123456789abcdef0123456789"
_STATE: dict[str, Any] = {}
EXAMPLES = 4  # per operation: bounded, so the run takes a minute or two


@pytest.fixture(scope="module")
def api_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    if not database_url.startswith("sqlite"):
        pytest.skip("runs on a copy of the SQLite test database")
    source = Path(database_url.split("///", 1)[1])
    folder = tmp_path_factory.mktemp("fuzz")
    target = folder / "fuzz.db"
    shutil.copyfile(source, target)
    for suffix in ("-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{target}",
                              secret_key=TEST_SECRET, env="test",
                              attachments_dir=folder / "attachments"))
    with TestClient(app) as client:
        r = client.post("/api/v1/auth/login", json={"username": "admin",
                                                    "password": DEMO_PASSWORD})
        assert r.status_code == 200, r.text
        csrf = client.get("/api/v1/auth/csrf").json()["csrf_token"]
        r = client.post("/api/v1/tokens", json={"name": "fuzz"},
                        headers={"X-CSRF-Token": csrf})
        assert r.status_code == 201, r.text
        _STATE["token"] = r.json()["token"]
    return app


def test_no_server_errors(api_app: Any) -> None:
    """Every operation, a few generated cases each; all failures reported together."""
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", api_app)
    headers = {"Authorization": f"Bearer {_STATE['token']}"}
    failures: list[str] = []
    statuses: dict[int, int] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.generate])
        def run(case: Any) -> None:
            response = case.call(headers=headers)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            case.validate_response(response, checks=[not_a_server_error,
                                                     status_code_conformance])

        try:
            run()
        except Exception as exc:  # collect, then report every operation that failed
            failures.append(f"{operation.method.upper()} {operation.path}: "
                            f"{str(exc).strip().splitlines()[0][:300]}")
    assert operations > 100
    assert sum(statuses.values()) >= operations, statuses  # every operation was called
    assert any(200 <= s < 300 for s in statuses), statuses  # and authenticated
    print(statuses)
    assert not failures, "\n".join(failures)
