"""The import API and pages end to end: upload (encoding checked at once), mapping, dry run,
import, re-import, templates, scope (404 out of scope, 403 without the kind's permission),
and the tenant export with its audited download."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.jobs.runtime import InlineRuntime
from probity.models import AuditEntry, Employee, ImportUpload, Job

from .helpers import tenant_id

STAFF = ("工号,姓名,入职日期,部门编码\n"
         "API1,冯一,2024-01-02,ECOM-T1\n"
         "API2,陈二,2024-02-03,ECOM-T1\n")


@pytest.fixture
def jobs(app: Any, db: AsyncSession) -> InlineRuntime:
    @asynccontextmanager
    async def same_session() -> AsyncIterator[AsyncSession]:
        yield db

    runtime: InlineRuntime = app.state.jobs
    runtime.sessions = same_session
    return runtime


async def _upload(client: Any, tid: int, kind: str, data: bytes, name: str = "staff.csv",
                  **form: str) -> Any:
    return await client.post("/api/v1/imports/uploads",
                             data={"tenant_id": str(tid), "kind": kind, **form},
                             files={"file": (name, data)})


async def _run(client: Any, jobs: InlineRuntime, upload_id: int, *, dry_run: bool,
               **body: Any) -> dict[str, Any]:
    r = await client.post("/api/v1/imports", json={"upload_id": upload_id,
                                                   "dry_run": dry_run, **body})
    assert r.status_code == 202, r.text
    await jobs.wait()
    view = (await client.get(f"/api/v1/imports/jobs/{r.json()['id']}")).json()
    assert view["state"] == "done", view
    return view  # type: ignore[no-any-return]


async def _staff(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(Employee)) or 0)


async def test_gbk_upload_dry_run_import_and_reimport(as_user: Any, db: AsyncSession,
                                                      jobs: InlineRuntime) -> None:
    hr = await as_user("hr")
    tid = await tenant_id(db, "ECOM")
    r = await _upload(hr, tid, "employees", STAFF.encode("gbk"))
    assert r.status_code == 201, r.text
    up = r.json()
    assert up["encoding"] == "gb18030" and up["headers"][1] == "姓名"
    assert up["mapping"] == {"工号": "employee_no", "姓名": "name", "入职日期": "hire_date",
                             "部门编码": "org_unit_code"}
    assert up["sample"][0] == ["API1", "冯一", "2024-01-02", "ECOM-T1"]
    before = await _staff(db)
    dry = await _run(hr, jobs, up["upload_id"], dry_run=True)
    assert dry["result"]["insert"] == 2 and dry["result"]["committed"] is False
    assert dry["detail"]["validated"] == 2
    assert await _staff(db) == before  # a dry run writes nothing
    done = await _run(hr, jobs, up["upload_id"], dry_run=False)
    assert done["result"]["committed"] is True and done["result"]["insert"] == 2
    assert await _staff(db) == before + 2
    assert (await db.scalar(select(Employee.name).where(Employee.employee_no == "API1"))) == "冯一"
    again = await _run(hr, jobs, up["upload_id"], dry_run=False)
    assert again["result"]["unchanged"] == 2 and again["result"]["insert"] == 0
    assert await _staff(db) == before + 2
    # The job page shows the result.
    page = await hr.get(done["page"])
    assert page.status_code == 200 and "已导入" in page.text


async def test_row_errors_write_nothing(as_user: Any, db: AsyncSession,
                                        jobs: InlineRuntime) -> None:
    hr = await as_user("hr")
    tid = await tenant_id(db, "ECOM")
    bad = STAFF + "API3,,2024-02-30,ECOM-T1\n"
    up = (await _upload(hr, tid, "employees", bad.encode())).json()
    before = await _staff(db)
    view = await _run(hr, jobs, up["upload_id"], dry_run=False)
    res = view["result"]
    assert res["committed"] is False and res["error_count"] == 2
    assert {(e["row"], e["column"]) for e in res["errors"]} == {(4, "name"), (4, "hire_date")}
    assert all(e["error"] and e["error_zh"] for e in res["errors"])
    assert await _staff(db) == before
    page = await hr.get(view["page"])
    assert "未写入任何数据" in page.text and "必填" in page.text


async def test_bad_input_is_a_clear_4xx_and_stores_nothing(as_user: Any, db: AsyncSession,
                                                           jobs: InlineRuntime) -> None:
    hr = await as_user("hr")
    ecom, home = await tenant_id(db, "ECOM"), await tenant_id(db, "HOME")
    uploads = await db.scalar(select(func.count()).select_from(ImportUpload))
    latin = "工号,姓名\n".encode() + "E1,José\n".encode("latin-1")
    r = await _upload(hr, ecom, "employees", latin)
    assert r.status_code == 422 and r.json()["code"] == "bad_encoding"
    assert "UTF-8" in r.json()["detail"]
    r = await _upload(hr, ecom, "employees", b"PK\x03\x04garbage", name="x.xlsx")
    assert r.status_code == 422 and r.json()["code"] == "malformed_file"
    r = await _upload(hr, home, "employees", STAFF.encode())  # HOME is outside hr's scope
    assert r.status_code == 404
    r = await _upload(hr, ecom, "orders", STAFF.encode())  # orders need finance.import
    assert r.status_code == 403 and r.json()["code"] == "import_not_permitted"
    r = await _upload(hr, ecom, "salaries?", STAFF.encode())
    assert r.status_code == 422 and r.json()["code"] == "unknown_kind"
    assert await db.scalar(select(func.count()).select_from(ImportUpload)) == uploads
    # Unknown columns are refused before any job starts.
    up = (await _upload(hr, ecom, "employees", (STAFF.replace("部门编码", "部门")).encode()))
    assert up.status_code == 201 and up.json()["unmapped"] == ["部门"]
    jobs_before = await db.scalar(select(func.count()).select_from(Job))
    r = await hr.post("/api/v1/imports", json={"upload_id": up.json()["upload_id"]})
    assert r.status_code == 422 and r.json()["code"] == "unknown_columns"
    assert "部门" in r.json()["detail"]
    assert await db.scalar(select(func.count()).select_from(Job)) == jobs_before
    # Another user's upload is not found.
    fin = await as_user("finance")
    r = await fin.get(f"/api/v1/imports/uploads/{up.json()['upload_id']}")
    assert r.status_code == 404


async def test_saved_mapping_template(as_user: Any, db: AsyncSession,
                                      jobs: InlineRuntime) -> None:
    hr = await as_user("hr")
    tid = await tenant_id(db, "ECOM")
    odd = STAFF.replace("工号", "人员编号").replace("部门编码", "小组")
    r = await hr.post("/api/v1/imports/templates", json={
        "tenant_id": tid, "kind": "employees", "name": "旧系统",
        "mapping": {"人员编号": "employee_no", "小组": "org_unit_code"}})
    assert r.status_code == 201, r.text
    template_id = r.json()["id"]
    r = await hr.post("/api/v1/imports/templates", json={
        "tenant_id": tid, "kind": "employees", "name": "坏的", "mapping": {"x": "salary"}})
    assert r.status_code == 422 and r.json()["code"] == "unknown_field"
    listed = (await hr.get(f"/api/v1/imports/templates?tenant_id={tid}&kind=employees")).json()
    assert "旧系统" in [t["name"] for t in listed]
    up = (await _upload(hr, tid, "employees", odd.encode())).json()
    view = await _run(hr, jobs, up["upload_id"], dry_run=True, template_id=template_id)
    assert view["result"]["insert"] == 2, view
    shown = (await hr.get(f"/api/v1/imports/uploads/{up['upload_id']}?template_id="
                          f"{template_id}")).json()
    assert shown["mapping"]["人员编号"] == "employee_no"
    assert (await hr.delete(f"/api/v1/imports/templates/{template_id}")).status_code == 204
    assert await db.scalar(select(func.count()).where(
        AuditEntry.action == "import.template")) >= 1


async def test_pages_upload_map_and_preview(as_user: Any, db: AsyncSession,
                                            jobs: InlineRuntime) -> None:
    hr = await as_user("hr")
    tid = await tenant_id(db, "ECOM")
    page = await hr.get("/imports")
    assert page.status_code == 200 and "数据导入" in page.text
    r = await hr.post("/imports", data={"tenant_id": str(tid), "kind": "employees"},
                      files={"file": ("s.csv", STAFF.encode("gbk"))})
    assert r.status_code == 303
    mapping = await hr.get(r.headers["location"])
    assert mapping.status_code == 200 and "冯一" in mapping.text and "（忽略此列）" in mapping.text
    form = {f"map_{i}": f for i, f in enumerate(
        ["employee_no", "name", "hire_date", "org_unit_code"])}
    r = await hr.post(r.headers["location"], data={**form, "action": "preview",
                                                   "template_name": "页面模板"})
    assert r.status_code == 303 and r.headers["location"].startswith("/imports/runs/")
    await jobs.wait()
    run = await hr.get(r.headers["location"])
    assert "试运行：未写入任何数据" in run.text and "立即导入" in run.text
    bad = await hr.post("/imports", data={"tenant_id": str(tid), "kind": "employees"},
                        files={"file": ("s.csv", b"a,b\n" + "é,ü\n".encode("latin-1"))})
    assert bad.status_code == 422 and "编码" in bad.text


async def test_export_job_download_and_scope(as_user: Any, db: AsyncSession,
                                             jobs: InlineRuntime) -> None:
    admin = await as_user("admin")
    tid = await tenant_id(db, "ECOM")
    r = await admin.post("/api/v1/exports", json={"tenant_id": tid})
    assert r.status_code == 202, r.text
    export_id = r.json()["id"]
    await jobs.wait()
    view = (await admin.get(f"/api/v1/exports/{export_id}")).json()
    assert view["state"] == "done" and view["download"]
    r = await admin.get(view["download"])
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    manifest = json.loads(zf.read("manifest.json"))
    assert manifest["tenant"]["code"] == "ECOM" and "employees.jsonl" in manifest["files"]
    assert "ledger/entries.jsonl" in manifest["files"]
    assert "tables/audit_entries.csv" in zf.namelist()
    assert not any("users" in n or "api_tokens" in n for n in zf.namelist())
    actions = set((await db.scalars(select(AuditEntry.action).where(
        AuditEntry.target_type == "data_export", AuditEntry.target_id == str(export_id)))).all())
    assert {"export.requested", "export.built", "export.downloaded"} <= actions
    assert (await admin.post("/api/v1/exports", json={"tenant_id": 999999})).status_code == 404
    hr = await as_user("hr")
    assert (await hr.post("/api/v1/exports", json={"tenant_id": tid})).status_code == 403
    assert (await hr.get(f"/api/v1/exports/{export_id}/download")).status_code == 403


async def test_imported_transcripts_can_be_retro_screened(as_user: Any, db: AsyncSession,
                                                          jobs: InlineRuntime) -> None:
    from probity.models import Alert, Message
    from probity.models.base import utcnow

    admin = await as_user("admin")
    tid = await tenant_id(db, "ECOM")
    agent = await db.scalar(select(Employee.employee_no).where(
        Employee.tenant_id == tid, Employee.org_unit_id.is_not(None)).limit(1))
    text = ("conversation_ref,message_ref,team_code,customer_no,customer_name,"
            "agent_employee_no,sent_at,sender_role,body\n"
            f"OLD-7,1,ECOM-T1,RETRO-1,历史客户,{agent},2026-11-20 10:00:00,customer,在吗\n"
            f"OLD-7,2,ECOM-T1,RETRO-1,历史客户,{agent},2026-11-20 10:01:00,agent,"
            "加我微信 wx13800000001 私下转账给你，返现 200 元\n")
    up = (await _upload(admin, tid, "transcripts", text.encode(), name="chat.csv")).json()
    view = await _run(admin, jobs, up["upload_id"], dry_run=False)
    assert view["result"]["committed"] is True and view["result"]["insert"] == 2, view
    imported = (await db.scalars(select(Message).where(
        Message.client_id.in_(["import:1", "import:2"]), Message.tenant_id == tid,
        Message.screening_status == "imported"))).all()
    assert len(imported) == 2 and {m.decision for m in imported} == {"allow"}
    r = await admin.post(f"/api/v1/policies/{tid}/retro",
                         json={"since": "2026-11-19T00:00:00+08:00",
                               "until": utcnow().isoformat()})
    assert r.status_code == 202, r.text
    await jobs.wait()
    flagged = set((await db.scalars(select(Alert.message_id).where(
        Alert.source == "retro_screening",
        Alert.message_id.in_([m.id for m in imported])))).all())
    agent_msg = next(m for m in imported if m.sender_role == "agent")
    assert agent_msg.id in flagged
