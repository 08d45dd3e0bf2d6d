"""Bad input is a 4xx with a message, never a 5xx (issue 16): integers past the database's
range in every path and query, naive datetimes in filters, NUL characters, damaged or
entity-laden XLSX workbooks, the 413 message of the import paths, LIKE wildcards in searches,
and the full-width formula sign in CSV exports."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.app import create_app
from probity.auth.deps import get_session
from probity.config import Settings
from probity.csvexport import to_csv
from probity.db import Database
from probity.demo import DEMO_PASSWORD
from probity.models import Tenant

HUGE = 2**70  # past SQLite's 64-bit integers and PostgreSQL's bigint
BIG = 2**40  # past PostgreSQL's integer


def _is_int(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "integer":
        return True
    return any(_is_int(s) for s in schema.get("anyOf", []))


def _int_operations(app: Any) -> list[tuple[str, str, list[str], list[str]]]:
    """(method, path, integer path params, integer query params) from /api/openapi.json."""
    out = []
    for path, methods in app.openapi()["paths"].items():
        for method, op in methods.items():
            params = op.get("parameters", [])
            in_path = [p["name"] for p in params if p["in"] == "path" and _is_int(p["schema"])]
            in_query = [p["name"] for p in params if p["in"] == "query" and _is_int(p["schema"])]
            if in_path or in_query:
                out.append((method.upper(), path, in_path, in_query))
    return out


@pytest.fixture
async def per_request(settings: Settings, db: AsyncSession, database_url: str
                      ) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose every request gets its own session, nested in the test's rolled-back
    transaction (a SAVEPOINT, rolled back when the request ends): as in production, a value
    the database refuses fails that request only — on PostgreSQL too, where a refused value
    aborts the transaction it ran in."""
    application = create_app(settings, database=Database(database_url))
    conn = await db.connection()

    async def own_session() -> AsyncIterator[AsyncSession]:
        session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint",
                               expire_on_commit=False)
        try:
            yield session
        finally:
            await session.close()

    application.dependency_overrides[get_session] = own_session
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_integers_out_of_range_in_paths_and_queries(app: Any, per_request: Any) -> None:
    """Every operation with an integer in its path or query, called with 2^40 and 2^70 there
    (and an empty JSON body): a 4xx, never a 5xx — on SQLite and PostgreSQL."""
    admin = per_request
    r = await admin.post("/api/v1/auth/login", json={"username": "admin",
                                                     "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    admin.headers["X-CSRF-Token"] = (await admin.get("/api/v1/auth/csrf")).json()["csrf_token"]
    tried = 0
    failures: list[str] = []
    for method, path, path_ints, query_ints in _int_operations(app):
        for value in (BIG, HUGE):
            url = path
            for name in re.findall(r"{(\w+)}", url):
                url = url.replace("{" + name + "}", str(value) if name in path_ints else "x")
            params = {name: str(value) for name in query_ints}
            r = await admin.request(method, url, params=params,
                                    json={} if method in ("POST", "PUT", "PATCH") else None)
            tried += 1
            if r.status_code >= 500:
                failures.append(f"{method} {url} {params}: {r.status_code} {r.text[:200]}")
            elif r.status_code == 422:
                assert r.json()["detail"], r.text
    assert tried > 50
    assert not failures, "\n".join(failures)


async def test_body_integer_out_of_range_is_422(as_user: Any, db: AsyncSession) -> None:
    comp = await as_user("compliance")
    r = await comp.post("/api/v1/legal-holds", json={
        "tenant_id": HUGE, "subject_type": "customer", "subject_id": HUGE, "reason": "x"})
    assert r.status_code == 422 and r.json()["detail"]


async def test_naive_datetime_filters_are_422(as_user: Any) -> None:
    aud = await as_user("auditor")
    for url in ("/api/v1/audit", "/api/v1/access-log"):
        r = await aud.get(url, params={"since": "2026-01-01T00:00:00"})
        assert r.status_code == 422, (url, r.text)
        assert "timezone" in r.text.lower() or "time zone" in r.text.lower()
        ok = await aud.get(url, params={"since": "2026-01-01T00:00:00+08:00"})
        assert ok.status_code == 200, ok.text


async def test_nul_characters_are_422_on_every_database(as_user: Any) -> None:
    admin = await as_user("admin")
    r = await admin.get("/api/v1/employees", params={"q": "a\x00b"})
    assert r.status_code == 422 and r.json()["code"] == "nul_character"
    r = await admin.post("/api/v1/tokens", json={"name": "bad\u0000name"})
    assert r.status_code == 422 and r.json()["code"] == "nul_character"
    # An escaped backslash is not a NUL.
    r = await admin.post("/api/v1/tokens", json={"name": "C:\\u0000dir"})
    assert r.status_code == 201, r.text


def _xlsx() -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["order_no", "customer_no", "item", "amount", "status", "placed_at"])
    for i in range(3):
        ws.append([f"X{i}", "C1", "item", "10.00", "paid", "2026-01-01 10:00:00"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _rewrite_sheet(data: bytes, change: Any) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = change(body)
            dst.writestr(info, body)
    return out.getvalue()


async def _import(client: httpx.AsyncClient, db: AsyncSession, data: bytes) -> httpx.Response:
    tenant_id = await db.scalar(select(Tenant.id).where(Tenant.code == "ECOM"))
    return await client.post("/api/v1/finance/imports", data={
        "tenant_id": str(tenant_id), "kind": "orders", "dry_run": "true"},
        files={"file": ("o.xlsx", data, "application/octet-stream")})


async def test_damaged_and_entity_laden_workbooks_are_422(as_user: Any, db: AsyncSession
                                                           ) -> None:
    fin = await as_user("finance")
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>')
    def with_entities(sheet: bytes) -> bytes:
        body = sheet.split(b"?>", 1)[1] if sheet.startswith(b"<?xml") else sheet
        return laughs + body.replace(b"<v>", b"<v>&lol2;", 1)

    entity = _rewrite_sheet(_xlsx(), with_entities)
    cut = _rewrite_sheet(_xlsx(), lambda b: b[: len(b) - 200])  # the header row survives
    for data in (entity, cut, b"PK\x03\x04garbage"):
        r = await _import(fin, db, data)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "malformed_file", r.text


async def test_import_413_names_the_import_limit(app: Any, as_user: Any, settings: Any) -> None:
    fin = await as_user("finance")
    limit = settings.max_import_bytes
    r = await fin.post("/api/v1/finance/imports", content=b"x",
                       headers={"content-length": str(limit + 1),
                                "content-type": "multipart/form-data; boundary=x"})
    assert r.status_code == 413
    assert str(limit) in r.json()["detail"] and r.json()["limit"] == limit


async def test_search_wildcards_are_literal(as_user: Any) -> None:
    hr = await as_user("admin")
    everything = (await hr.get("/api/v1/employees", params={"limit": 5})).json()
    r = await hr.get("/api/v1/employees", params={"q": "%"})
    assert r.status_code == 200
    body = r.json()
    rows = body["items"] if isinstance(body, dict) else body
    assert rows == [] or len(rows) < len(everything.get("items", everything))


def test_full_width_formula_sign_is_neutralised() -> None:
    text = to_csv(["a"], [["＝HYPERLINK(\"http://x\")"], ["＋1"], ["－1"], ["＠SUM(A1)"]])
    for line in text.splitlines()[1:]:
        assert line.lstrip('"').startswith("'"), line
