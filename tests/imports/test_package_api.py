"""Package import through the API (issue 14.5): a tenant export uploaded, checked at once
(4xx naming the problem, nothing queued), imported by a background job with progress — a dry
run keeps nothing, a commit keeps every kind or, on any row error, nothing at all."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.imports.export import write_export
from probity.jobs.runtime import InlineRuntime
from probity.models import AuditEntry, Employee, Job, LedgerEntry

from .helpers import tenant_id


@pytest.fixture
def jobs(app: Any, db: AsyncSession) -> InlineRuntime:
    @asynccontextmanager
    async def same_session() -> AsyncIterator[AsyncSession]:
        yield db

    runtime: InlineRuntime = app.state.jobs
    runtime.sessions = same_session
    return runtime


def _rewrite(package: bytes, name: str, text: str) -> bytes:
    """The package with one file replaced and the manifest's hash of it updated."""
    src = zipfile.ZipFile(io.BytesIO(package))
    manifest = json.loads(src.read("manifest.json"))
    data = text.encode()
    manifest["files"][name]["sha256"] = hashlib.sha256(data).hexdigest()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename == "manifest.json":
                dst.writestr(info.filename, json.dumps(manifest))
            elif info.filename == name:
                dst.writestr(name, data)
            else:
                dst.writestr(info.filename, src.read(info.filename))
    return out.getvalue()


async def _post(client: Any, tid: int, data: bytes, *, dry_run: bool) -> Any:
    return await client.post("/api/v1/imports/packages",
                             data={"tenant_id": str(tid), "dry_run": str(dry_run).lower()},
                             files={"file": ("ecom.zip", data, "application/zip")})


async def _count(db: AsyncSession, model: Any) -> int:
    return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def test_package_import_job_dry_run_commit_and_all_or_nothing(
        as_user: Any, db: AsyncSession, jobs: InlineRuntime) -> None:
    ecom = await tenant_id(db, "ECOM")
    out = io.BytesIO()
    await write_export(db, ecom, out)
    package = out.getvalue()
    employees = zipfile.ZipFile(io.BytesIO(package)).read("employees.jsonl").decode()
    newcomer = json.dumps({"employee_no": "PKG1", "name": "包一", "email": None, "phone": None,
                           "hire_date": "2025-03-01", "status": "active",
                           "org_unit_code": None, "position_code": None, "manager_no": None,
                           "left_date": None}, ensure_ascii=False)
    with_newcomer = _rewrite(package, "employees.jsonl", employees + newcomer + "\n")
    admin = await as_user("admin")
    staff, entries = await _count(db, Employee), await _count(db, LedgerEntry)

    # Dry run: checked through every kind, nothing kept.
    r = await _post(admin, ecom, with_newcomer, dry_run=True)
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    assert "employees" in r.json()["kinds"] and "transcripts" in r.json()["kinds"]
    await jobs.wait()
    view = (await admin.get(f"/api/v1/imports/packages/{job_id}")).json()
    assert view["state"] == "done", view
    assert view["result"]["committed"] is False
    assert view["result"]["kinds"]["employees"]["insert"] == 1
    assert view["result"]["source_ledger"]["verified"] is True
    assert view["done"] == view["total"] == len(view["kinds"]), view
    assert await _count(db, Employee) == staff
    assert await _count(db, LedgerEntry) == entries

    # A row error in one kind: the job fails naming it, and no kind is written.
    bad = _rewrite(with_newcomer, "employees.jsonl",
                   employees + newcomer.replace("2025-03-01", "2025-13-45") + "\n")
    r = await _post(admin, ecom, bad, dry_run=False)
    assert r.status_code == 202, r.text
    await jobs.wait()
    view = (await admin.get(f"/api/v1/imports/packages/{r.json()['id']}")).json()
    assert view["state"] == "failed", view
    assert view["error"]["code"] == "row_errors" and "employees" in view["error"]["kinds"]
    assert await _count(db, Employee) == staff
    assert await _count(db, LedgerEntry) == entries

    # Commit: the newcomer is written, the rest found unchanged; the source chain referenced.
    r = await _post(admin, ecom, with_newcomer, dry_run=False)
    await jobs.wait()
    view = (await admin.get(f"/api/v1/imports/packages/{r.json()['id']}")).json()
    assert view["state"] == "done", view
    assert view["result"]["committed"] is True
    assert await db.scalar(select(Employee.name).where(Employee.employee_no == "PKG1")) == "包一"
    assert await db.scalar(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.type == "import.package")) == 1
    assert await db.scalar(select(AuditEntry.id).where(AuditEntry.action == "import.package"))
    # The upload is not kept after the job.
    assert await db.scalar(select(Job.payload).where(Job.id == r.json()["id"])) is None


async def test_package_import_bad_input_is_4xx_and_queues_nothing(
        as_user: Any, db: AsyncSession, jobs: InlineRuntime) -> None:
    ecom, home = await tenant_id(db, "ECOM"), await tenant_id(db, "HOME")
    out = io.BytesIO()
    await write_export(db, ecom, out)
    package = out.getvalue()
    jobs_before = await _count(db, Job)
    admin = await as_user("admin")
    r = await _post(admin, ecom, b"not a zip at all", dry_run=True)
    assert r.status_code == 422 and r.json()["code"] == "bad_package", r.text
    assert "manifest" in r.json()["detail"] or "导出" in r.json()["detail"]
    # A file changed after export (its hash no longer matches the manifest).
    src = zipfile.ZipFile(io.BytesIO(package))
    tampered = io.BytesIO()
    with zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            dst.writestr(info.filename, body + b"\n{}" if info.filename == "employees.jsonl"
                         else body)
    r = await _post(admin, ecom, tampered.getvalue(), dry_run=True)
    assert r.status_code == 422 and r.json()["code"] == "bad_package"
    assert "employees.jsonl" in r.json()["detail"]
    r = await _post(admin, 999_999, package, dry_run=True)
    assert r.status_code == 404
    hr = await as_user("hr")  # HR imports people, not orders or transcripts
    r = await _post(hr, ecom, package, dry_run=True)
    assert r.status_code == 403 and r.json()["code"] == "import_not_permitted"
    r = await _post(hr, home, package, dry_run=True)  # HOME is outside HR's scope
    assert r.status_code == 404
    assert await _count(db, Job) == jobs_before


async def test_package_page_form(as_user: Any, db: AsyncSession, jobs: InlineRuntime) -> None:
    ecom = await tenant_id(db, "ECOM")
    out = io.BytesIO()
    await write_export(db, ecom, out)
    admin = await as_user("admin")
    page = await admin.get("/imports")
    assert page.status_code == 200 and "导入子公司的导出包" in page.text
    bad = await admin.post("/imports/package", data={"tenant_id": str(ecom)},
                           files={"file": ("x.zip", b"PK\x03\x04 not really")})
    assert bad.status_code == 422 and "import-error" in bad.text
    r = await admin.post("/imports/package", data={"tenant_id": str(ecom)},
                         files={"file": ("ecom.zip", out.getvalue())})
    assert r.status_code == 303 and r.headers["location"].startswith("/jobs/")
    await jobs.wait()
    done = await admin.get(r.headers["location"])
    assert done.status_code == 200 and 'data-state="done"' in done.text
