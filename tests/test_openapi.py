"""The OpenAPI document is versioned: docs/openapi/v<major>.json is the committed snapshot.

A breaking change (a path or method removed, a field removed or newly required, a type changed)
without a major bump of ``probity.openapi.API_VERSION`` fails here; an additive change fails
until the snapshot is refreshed with ``make openapi``. The message says which and what to run.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from probity import openapi


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return openapi.current_schema()


def test_the_snapshot_matches_the_code() -> None:
    problems = openapi.check()
    assert not problems, "\n" + "\n".join(problems)


def test_the_document_carries_the_api_version(schema: dict[str, Any]) -> None:
    assert schema["info"]["version"] == openapi.API_VERSION
    assert openapi.snapshot_path().name == f"v{openapi.major(openapi.API_VERSION)}.json"


def _first_op(doc: dict[str, Any], method: str = "get", with_params: bool = False
              ) -> tuple[str, dict[str, Any]]:
    for path, item in sorted(doc["paths"].items()):
        op = item.get(method)
        if op and (not with_params or op.get("parameters")):
            return path, op
    raise AssertionError("no such operation")


def test_breaking_changes_are_named(schema: dict[str, Any]) -> None:
    assert openapi.breaking_changes(schema, schema) == []
    # A removed path and a removed method.
    changed = copy.deepcopy(schema)
    path, _ = _first_op(changed)
    del changed["paths"][path]["get"]
    assert f"GET {path}: removed" in openapi.breaking_changes(schema, changed)
    # A removed response field, and a changed type, through $ref'd components.
    changed = copy.deepcopy(schema)
    read = changed["components"]["schemas"]["TokenRead"]
    del read["properties"]["prefix"]
    read["properties"]["name"] = {"type": "integer"}
    broken = openapi.breaking_changes(schema, changed)
    assert any(line.endswith(".prefix: field removed") for line in broken), broken
    assert any(".name: type changed" in line for line in broken), broken
    # A request field newly required, and a query parameter newly required.
    changed = copy.deepcopy(schema)
    changed["components"]["schemas"]["TokenCreate"]["required"].append("expires_in_days")
    path, op = _first_op(changed, with_params=True)
    optional = [p for p in op["parameters"] if not p.get("required")]
    if optional:
        optional[0]["required"] = True
    broken = openapi.breaking_changes(schema, changed)
    assert any(line.endswith(".expires_in_days: field newly required") for line in broken)
    if optional:
        assert any("newly required" in line and path in line for line in broken)


def test_additive_changes_are_not_breaking(schema: dict[str, Any]) -> None:
    changed = copy.deepcopy(schema)
    changed["paths"]["/api/v1/brand-new"] = {"get": {"responses": {"200": {}}}}
    changed["components"]["schemas"]["TokenRead"]["properties"]["extra"] = {"type": "string"}
    changed["components"]["schemas"]["TokenCreate"]["properties"]["note"] = {"type": "string"}
    assert openapi.breaking_changes(schema, changed) == []


def test_the_failure_says_what_to_run(monkeypatch: pytest.MonkeyPatch,
                                      schema: dict[str, Any]) -> None:
    path, _ = _first_op(schema)
    trimmed = copy.deepcopy(schema)
    del trimmed["paths"][path]
    monkeypatch.setattr(openapi, "current_schema", lambda: trimmed)
    problems = openapi.check()
    assert problems[0].startswith("Breaking API changes")
    assert any("API_VERSION" in line and "make openapi" in line for line in problems)
    grown = copy.deepcopy(schema)
    grown["paths"]["/api/v1/brand-new"] = {"get": {"responses": {"200": {}}}}
    monkeypatch.setattr(openapi, "current_schema", lambda: grown)
    problems = openapi.check()
    assert len(problems) == 1 and "make openapi" in problems[0]
    monkeypatch.setattr(openapi, "API_VERSION", "2.0.0")
    monkeypatch.setattr(openapi, "current_schema", lambda: trimmed)
    assert "write its snapshot" in openapi.check()[0]
