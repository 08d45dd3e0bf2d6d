"""Course attachments: the type is sniffed from the content (not the name), stored by SHA-256,
downloaded by the course's readers and its assignees only, audited; bad files are a 422."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import AuditEntry, Tenant, User

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
QUIZ = [{"text": "客户要加微信？", "options": ["加", "婉拒"], "correct": [1]}]


async def _ids(db: AsyncSession) -> tuple[int, int]:
    ecom = await db.scalar(select(Tenant.id).where(Tenant.code == "ECOM"))
    agent = await db.scalar(select(User.employee_id).where(User.username == "agent"))
    assert ecom is not None and agent is not None
    return ecom, agent


async def test_attachments_are_sniffed_stored_and_read_in_scope(as_user: Any,
                                                                  db: AsyncSession) -> None:
    ecom, agent_employee = await _ids(db)
    hr: httpx.AsyncClient = await as_user("hr")
    r = await hr.post("/api/v1/training/courses", json={
        "tenant_id": ecom, "title": "附件课程", "status": "published", "questions": QUIZ})
    assert r.status_code == 201, r.text
    course = r.json()["id"]
    url = f"/api/v1/training/courses/{course}/attachments"
    # The name says PDF, the content says otherwise: refused, naming the problem.
    r = await hr.post(url, files={"file": ("讲义.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")})
    assert r.status_code == 422 and r.json()["code"] == "unsupported_attachment"
    r = await hr.post(url, files={"file": ("empty.pdf", b"", "application/pdf")})
    assert r.status_code == 422 and r.json()["code"] == "empty_file"
    # A real PDF (whatever its name) is stored by content address.
    r = await hr.post(url, files={"file": ("讲义.bin", PDF, "application/octet-stream")})
    assert r.status_code == 201, r.text
    att = r.json()
    assert att["mime"] == "application/pdf" and att["size"] == len(PDF)
    assert att["sha256"] == hashlib.sha256(PDF).hexdigest()
    audit = await db.scalar(select(AuditEntry).where(
        AuditEntry.action == "training.attach", AuditEntry.target_id == str(course)))
    assert audit is not None and audit.after["sha256"] == att["sha256"]
    r = await hr.get(f"/api/v1/training/attachments/{att['id']}")
    assert r.status_code == 200 and r.content == PDF
    assert r.headers["content-type"].startswith("application/pdf")
    # The agent reads it only once the course is assigned to them.
    agent = await as_user("agent")
    assert (await agent.get(f"/api/v1/training/attachments/{att['id']}")).status_code == 404
    hr = await as_user("hr")
    r = await hr.post(f"/api/v1/training/courses/{course}/assignments",
                      json={"employee_ids": [agent_employee]})
    assert r.status_code == 201, r.text
    agent = await as_user("agent")
    r = await agent.get(f"/api/v1/training/attachments/{att['id']}")
    assert r.status_code == 200 and r.content == PDF
    # Compliance reads courses but does not add files to them.
    compliance = await as_user("compliance")
    r = await compliance.post(url, files={"file": ("x.pdf", PDF, "application/pdf")})
    assert r.status_code == 403
