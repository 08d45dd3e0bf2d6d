"""The versioned OpenAPI document: its version, the committed snapshot, breaking-change checks.

``API_VERSION`` is the version of the HTTP API (``info.version`` of /api/openapi.json), not of
the package. Its major number is the snapshot's file: ``docs/openapi/v<major>.json``.

* An **additive** change (a new path, method, optional field or parameter, a new response
  field) only needs the snapshot refreshed: ``make openapi`` (= ``probity openapi dump``).
* A **breaking** change (a path or method removed; a request or response field removed; a
  field or parameter newly required; a type changed) needs the major version bumped here
  (``API_VERSION = "2.0.0"``), then ``make openapi``, which writes ``v2.json`` next to
  ``v1.json``. ``tests/test_openapi.py`` fails until one or the other is done, naming what
  changed and what to run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from probity.config import PROJECT_ROOT

__all__ = [
    "API_VERSION",
    "SNAPSHOT_DIR",
    "breaking_changes",
    "current_schema",
    "dump",
    "latest_snapshot",
    "snapshot_path",
]

API_VERSION = "1.0.0"
SNAPSHOT_DIR = PROJECT_ROOT / "docs" / "openapi"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def major(version: str) -> int:
    return int(version.split(".", 1)[0])


def snapshot_path(version: str = API_VERSION) -> Path:
    return SNAPSHOT_DIR / f"v{major(version)}.json"


def current_schema() -> dict[str, Any]:
    """The OpenAPI document the code serves (built from a test-configured app, no I/O)."""
    from probity.app import create_app
    from probity.config import Settings

    app = create_app(Settings(env="test", database_url="sqlite+aiosqlite:///:memory:",
                              jobs_runner="inline"))
    schema: dict[str, Any] = json.loads(json.dumps(app.openapi()))  # plain JSON types
    return schema


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def dump(path: Path | None = None) -> Path:
    """Write the current document to its snapshot file (``docs/openapi/v<major>.json``)."""
    target = path or snapshot_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(current_schema()), encoding="utf-8")
    return target


def latest_snapshot() -> tuple[Path, dict[str, Any]] | None:
    files = sorted(SNAPSHOT_DIR.glob("v*.json"), key=lambda p: int(p.stem[1:]))
    if not files:
        return None
    loaded: dict[str, Any] = json.loads(files[-1].read_text(encoding="utf-8"))
    return files[-1], loaded


# --- breaking changes -------------------------------------------------------------------------

class _Resolver:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.schemas: dict[str, Any] = doc.get("components", {}).get("schemas", {})

    def resolve(self, schema: Any, seen: frozenset[str]) -> tuple[dict[str, Any], frozenset[str]]:
        while isinstance(schema, dict) and "$ref" in schema:
            name = str(schema["$ref"]).rsplit("/", 1)[-1]
            if name in seen:
                return {}, seen
            seen = seen | {name}
            schema = self.schemas.get(name, {})
        return (schema if isinstance(schema, dict) else {}), seen


def _types(schema: dict[str, Any], res: _Resolver, seen: frozenset[str]) -> set[str]:
    """The JSON types a schema admits (anyOf/oneOf flattened); empty = anything."""
    out: set[str] = set()
    kind = schema.get("type")
    if isinstance(kind, str):
        out.add("number" if kind == "integer" else kind)  # integer ⊂ number: no break
    elif isinstance(kind, list):
        out.update("number" if k == "integer" else str(k) for k in kind)
    for key in ("anyOf", "oneOf"):
        for option in schema.get(key, []) or []:
            sub, sub_seen = res.resolve(option, seen)
            inner = _types(sub, res, sub_seen)
            if not inner:
                return set()
            out.update(inner)
    return out


def _compare(old: Any, new: Any, ro: _Resolver, rn: _Resolver, where: str, out: list[str],
             seen_o: frozenset[str] = frozenset(), seen_n: frozenset[str] = frozenset(),
             depth: int = 0) -> None:
    if depth > 12:
        return
    o, seen_o = ro.resolve(old, seen_o)
    n, seen_n = rn.resolve(new, seen_n)
    if not o or not n:
        return
    to, tn = _types(o, ro, seen_o), _types(n, rn, seen_n)
    if to and tn and not to <= tn:
        out.append(f"{where}: type changed from {sorted(to)} to {sorted(tn)}")
        return
    o_props = _props(o, ro, seen_o)
    n_props = _props(n, rn, seen_n)
    for name, sub in o_props.items():
        if name not in n_props:
            out.append(f"{where}.{name}: field removed")
        else:
            _compare(sub, n_props[name], ro, rn, f"{where}.{name}", out, seen_o, seen_n,
                     depth + 1)
    newly = _required(n, rn, seen_n) - _required(o, ro, seen_o)
    for name in sorted(newly):
        out.append(f"{where}.{name}: field newly required")
    if "items" in o and "items" in n:
        _compare(o["items"], n["items"], ro, rn, f"{where}[]", out, seen_o, seen_n, depth + 1)


def _props(schema: dict[str, Any], res: _Resolver, seen: frozenset[str]) -> dict[str, Any]:
    props: dict[str, Any] = dict(schema.get("properties", {}) or {})
    for part in schema.get("allOf", []) or []:
        sub, sub_seen = res.resolve(part, seen)
        props.update(_props(sub, res, sub_seen))
    return props


def _required(schema: dict[str, Any], res: _Resolver, seen: frozenset[str]) -> set[str]:
    req = set(schema.get("required", []) or [])
    for part in schema.get("allOf", []) or []:
        sub, sub_seen = res.resolve(part, seen)
        req |= _required(sub, res, sub_seen)
    return req


def _json_schema(content: dict[str, Any] | None) -> Any:
    for kind, body in (content or {}).items():
        if "json" in kind:
            return body.get("schema")
    return None


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What a client written against ``old`` would trip over in ``new``."""
    ro, rn = _Resolver(old), _Resolver(new)
    out: list[str] = []
    new_paths: dict[str, Any] = new.get("paths", {})
    for path, old_item in sorted(old.get("paths", {}).items()):
        new_item = new_paths.get(path)
        for method in METHODS:
            if method not in old_item:
                continue
            op = f"{method.upper()} {path}"
            if new_item is None or method not in new_item:
                out.append(f"{op}: removed")
                continue
            o_op, n_op = old_item[method], new_item[method]
            o_params = {(p.get("in"), p.get("name")): p for p in _params(old_item, o_op, ro)}
            n_params = {(p.get("in"), p.get("name")): p for p in _params(new_item, n_op, rn)}
            for key, param in o_params.items():
                if key not in n_params:
                    out.append(f"{op}: {key[0]} parameter {key[1]!r} removed")
                else:
                    _compare(param.get("schema"), n_params[key].get("schema"), ro, rn,
                             f"{op} {key[0]} parameter {key[1]!r}", out)
            for key, param in n_params.items():
                was = o_params.get(key)
                if param.get("required") and not (was and was.get("required")):
                    out.append(f"{op}: {key[0]} parameter {key[1]!r} newly required")
            o_body, n_body = o_op.get("requestBody"), n_op.get("requestBody")
            if n_body and n_body.get("required") and not (o_body and o_body.get("required")):
                out.append(f"{op}: request body newly required")
            if o_body and n_body:
                _compare(_json_schema(o_body.get("content")), _json_schema(n_body.get("content")),
                         ro, rn, f"{op} request", out)
            n_responses = n_op.get("responses", {})
            for status, o_resp in o_op.get("responses", {}).items():
                if not str(status).startswith("2"):
                    continue
                n_resp = n_responses.get(status)
                if n_resp is None:
                    out.append(f"{op}: response {status} removed")
                    continue
                _compare(_json_schema(o_resp.get("content")), _json_schema(n_resp.get("content")),
                         ro, rn, f"{op} response {status}", out)
    return out


def _params(item: dict[str, Any], op: dict[str, Any], res: _Resolver) -> list[dict[str, Any]]:
    params = []
    for p in [*(item.get("parameters") or []), *(op.get("parameters") or [])]:
        resolved, _ = res.resolve(p, frozenset())
        params.append(resolved)
    return params


FIX = "make openapi   (or: .venv/bin/probity openapi dump)"


def check() -> list[str]:
    """What is wrong between the code's document and the committed snapshot (empty = fine),
    each line saying what to do. Used by tests/test_openapi.py and ``probity openapi dump
    --check``."""
    snap = latest_snapshot()
    if snap is None:
        return [f"no OpenAPI snapshot in docs/openapi/: run {FIX}"]
    path, old = snap
    new = current_schema()
    old_version = str(old.get("info", {}).get("version", "0"))
    name = path.relative_to(PROJECT_ROOT)
    if major(API_VERSION) < major(old_version):
        return [f"API_VERSION {API_VERSION} is older than the snapshot {name} ({old_version})"]
    if major(API_VERSION) > major(old_version):
        return [f"API_VERSION is now {API_VERSION}: write its snapshot with {FIX} "
                f"({name} stays as the record of v{major(old_version)})"]
    broken = breaking_changes(old, new)
    if broken:
        return ([f"Breaking API changes against {name} (API {old_version}):"]
                + [f"  - {line}" for line in broken]
                + ["Either undo them, or bump the major of API_VERSION in "
                   "src/probity/openapi.py (e.g. 2.0.0) and run " + FIX + ".",
                   "Clients (sdk/python, integrators) break on each of these."])
    if render(old) != render(new):
        return [f"The API changed (additively) since {name} was written: run {FIX} and commit "
                f"{name}. If two branches both changed it, take either side of the conflict "
                "and run the command again."]
    return []
