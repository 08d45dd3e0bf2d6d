"""Recruitment through the API: requisitions, the pipeline, duplicates, résumés, hiring."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import (
    Candidate,
    Employee,
    EmploymentEvent,
    Onboarding,
    OnboardingTask,
    Position,
)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


async def _context(c: httpx.AsyncClient, db: AsyncSession) -> dict[str, Any]:
    """The ECOM subsidiary (hr's scope), the lead's team and a position there."""
    me = (await c.get("/api/v1/me")).json()
    tenant_id = me["roles"][0]["tenant_id"]
    units = (await c.get("/api/v1/org-units", params={"tenant_id": tenant_id})).json()
    team = next(u for u in units if u["code"] == "ECOM-T1")
    # Positions are group-wide (defined by HQ, outside hr's subtree).
    cs1 = await db.scalar(select(Position.id).where(Position.code == "CS1"))
    return {"tenant_id": tenant_id, "team_id": team["id"], "position_id": cs1}


async def _requisition(c: httpx.AsyncClient, ctx: dict[str, Any], headcount: int = 1
                       ) -> dict[str, Any]:
    r = await c.post("/api/v1/recruitment/requisitions", json={
        "tenant_id": ctx["tenant_id"], "position_id": ctx["position_id"],
        "org_unit_id": ctx["team_id"], "title": "售前客服", "headcount": headcount})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def _to_offer(c: httpx.AsyncClient, cand_id: int) -> None:
    for stage in ("screening", "interview"):
        r = await c.post(f"/api/v1/recruitment/candidates/{cand_id}/stage",
                         json={"to_stage": stage})
        assert r.status_code == 200, r.text
    r = await c.post(f"/api/v1/recruitment/candidates/{cand_id}/feedback",
                     json={"rating": 4, "recommendation": "hire", "notes": "沟通清楚"})
    assert r.status_code == 201, r.text
    r = await c.post(f"/api/v1/recruitment/candidates/{cand_id}/stage", json={"to_stage": "offer"})
    assert r.status_code == 200, r.text


async def test_pipeline_to_hire_creates_the_employee_in_onboarding(
        as_user, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    c: httpx.AsyncClient = await as_user("hr")
    ctx = await _context(c, db)
    req = await _requisition(c, ctx)
    r = await c.post("/api/v1/recruitment/candidates", json={
        "requisition_id": req["id"], "name": "吴晓雯", "phone": "+86 139-1234-5678",
        "email": "xiaowen.wu@example.com", "source": "BOSS直聘"})
    assert r.status_code == 201, r.text
    cand = r.json()
    assert cand["stage"] == "applied" and cand["duplicates"] == []
    assert cand["phone"] == "+86 139-1234-5678"  # HR sees contacts in full

    # Out of order: applied → offer is refused, nothing changes.
    r = await c.post(f"/api/v1/recruitment/candidates/{cand['id']}/stage",
                     json={"to_stage": "offer"})
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    for stage in ("screening", "interview"):
        assert (await c.post(f"/api/v1/recruitment/candidates/{cand['id']}/stage",
                             json={"to_stage": stage})).status_code == 200
    r = await c.post(f"/api/v1/recruitment/candidates/{cand['id']}/stage",
                     json={"to_stage": "offer"})
    assert r.status_code == 409 and r.json()["code"] == "no_feedback"

    # The team lead interviews: sees the candidate with contacts masked, writes feedback.
    lead = await as_user("lead")
    r = await lead.get(f"/api/v1/recruitment/candidates/{cand['id']}")
    assert r.status_code == 200
    assert r.json()["candidate"]["phone"] == "139****5678"
    assert r.json()["candidate"]["email"] == "x***@example.com"
    r = await lead.post(f"/api/v1/recruitment/candidates/{cand['id']}/feedback",
                        json={"round": 1, "rating": 5, "recommendation": "hire",
                              "notes": "主动拒绝私下联系的情景题回答得好"})
    assert r.status_code == 201, r.text
    r = await lead.post(f"/api/v1/recruitment/candidates/{cand['id']}/stage",
                        json={"to_stage": "offer"})
    assert r.status_code == 403  # moving the pipeline is HR's

    c = await as_user("hr")
    assert (await c.post(f"/api/v1/recruitment/candidates/{cand['id']}/stage",
                         json={"to_stage": "offer"})).status_code == 200
    r = await c.post(f"/api/v1/recruitment/candidates/{cand['id']}/hire",
                     json={"employee_no": "E-NEW-001", "hire_date": "2026-12-01",
                           "probation_months": 3})
    assert r.status_code == 200, r.text
    emp_id = r.json()["employee_id"]
    assert r.json()["status"] == "onboarding"

    emp = await db.get(Employee, emp_id)
    assert emp is not None
    # Nothing retyped: name, contacts, position and team come from the candidate/requisition.
    assert (emp.name, emp.phone, emp.email) == ("吴晓雯", "+86 139-1234-5678",
                                                "xiaowen.wu@example.com")
    assert (emp.position_id, emp.org_unit_id) == (ctx["position_id"], ctx["team_id"])
    events = (await db.scalars(select(EmploymentEvent).where(
        EmploymentEvent.employee_id == emp_id))).all()
    assert [e.to_status for e in events] == ["onboarding"]
    ob = await db.scalar(select(Onboarding).where(Onboarding.employee_id == emp_id))
    assert ob is not None and ob.probation_end.isoformat() == "2027-03-01"
    tasks = await db.scalar(select(func.count()).where(OnboardingTask.onboarding_id == ob.id))
    assert tasks and tasks >= 4
    req_after = (await c.get(f"/api/v1/recruitment/requisitions/{req['id']}")).json()
    assert (req_after["hired"], req_after["status"]) == (1, "filled")


async def test_duplicates_by_phone_or_email(as_user, db: AsyncSession
                                            ) -> None:  # type: ignore[no-untyped-def]
    c: httpx.AsyncClient = await as_user("hr")
    ctx = await _context(c, db)
    req1 = await _requisition(c, ctx, headcount=2)
    req2 = await _requisition(c, ctx)
    first = (await c.post("/api/v1/recruitment/candidates", json={
        "requisition_id": req1["id"], "name": "孙悦", "phone": "13700001111"})).json()
    # The same phone written differently, same requisition: refused, nothing written.
    r = await c.post("/api/v1/recruitment/candidates", json={
        "requisition_id": req1["id"], "name": "孙 悦", "phone": "+86 137 0000 1111"})
    assert r.status_code == 409 and r.json()["code"] == "duplicate_candidate"
    assert r.json()["candidate_id"] == first["id"]
    listed = (await c.get("/api/v1/recruitment/candidates",
                          params={"requisition_id": req1["id"]})).json()
    assert len(listed) == 1
    # Another requisition: accepted and flagged, by e-mail too.
    r = await c.post("/api/v1/recruitment/candidates", json={
        "requisition_id": req2["id"], "name": "孙悦", "phone": "13700001111",
        "email": "SunYue@Example.com"})
    assert r.status_code == 201
    dup = r.json()
    assert dup["duplicate_of_id"] == first["id"]
    assert [(d["kind"], d["id"], d["match"]) for d in dup["duplicates"]] == [
        ("candidate", first["id"], "phone")]
    r = await c.post("/api/v1/recruitment/candidates", json={
        "requisition_id": req1["id"], "name": "Sun Yue", "email": "sunyue@example.com"})
    assert r.status_code == 201
    assert ("candidate", dup["id"], "email") in {
        (d["kind"], d["id"], d["match"]) for d in r.json()["duplicates"]}


async def test_existing_employee_is_reported(as_user, db: AsyncSession
                                             ) -> None:  # type: ignore[no-untyped-def]
    c: httpx.AsyncClient = await as_user("hr")
    ctx = await _context(c, db)
    req = await _requisition(c, ctx)
    emp = await db.scalar(select(Employee).where(Employee.tenant_id == ctx["tenant_id"],
                                                 Employee.phone.is_not(None)).limit(1))
    assert emp is not None and emp.phone
    r = await c.post("/api/v1/recruitment/candidates", json={
        "requisition_id": req["id"], "name": emp.name, "phone": emp.phone})
    assert r.status_code == 201
    assert ("employee", emp.id, "phone") in {
        (d["kind"], d["id"], d["match"]) for d in r.json()["duplicates"]}


async def test_resume_by_content_address(as_user, settings, db: AsyncSession
                                         ) -> None:  # type: ignore[no-untyped-def]
    c: httpx.AsyncClient = await as_user("hr")
    ctx = await _context(c, db)
    req = await _requisition(c, ctx)
    cand = (await c.post("/api/v1/recruitment/candidates", json={
        "requisition_id": req["id"], "name": "郑琳", "email": "lin@example.com"})).json()
    r = await c.post(f"/api/v1/recruitment/candidates/{cand['id']}/resume",
                     files={"file": ("简历.pdf", PDF, "application/pdf")})
    assert r.status_code == 200, r.text
    sha = hashlib.sha256(PDF).hexdigest()
    assert r.json()["resume_sha256"] == sha
    stored = settings.attachments_dir / "resumes" / sha[:2] / sha[2:4] / sha
    assert stored.read_bytes() == PDF
    # Not a document: refused, the stored résumé is kept.
    r = await c.post(f"/api/v1/recruitment/candidates/{cand['id']}/resume",
                     files={"file": ("x.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")})
    assert r.status_code == 422 and r.json()["code"] == "unsupported_resume"
    got = await c.get(f"/api/v1/recruitment/candidates/{cand['id']}/resume")
    assert got.status_code == 200 and got.content == PDF
    lead = await as_user("lead")
    assert (await lead.get(f"/api/v1/recruitment/candidates/{cand['id']}/resume")
            ).status_code == 200
    agent = await as_user("agent")
    assert (await agent.get(f"/api/v1/recruitment/candidates/{cand['id']}/resume")
            ).status_code == 403


async def test_bad_input_writes_nothing(as_user, db: AsyncSession
                                        ) -> None:  # type: ignore[no-untyped-def]
    c: httpx.AsyncClient = await as_user("hr")
    ctx = await _context(c, db)
    r = await c.post("/api/v1/recruitment/requisitions", json={
        "tenant_id": ctx["tenant_id"], "position_id": 999999, "title": "x"})
    assert r.status_code == 422 and r.json()["code"] == "unknown_position"
    req = await _requisition(c, ctx)
    r = await c.post("/api/v1/recruitment/candidates",
                     json={"requisition_id": req["id"], "name": "无联系方式"})
    assert r.status_code == 422
    r = await c.post("/api/v1/recruitment/candidates",
                     json={"requisition_id": 999999, "name": "x", "phone": "13800000000"})
    assert r.status_code == 422 and r.json()["code"] == "unknown_requisition"
    cand = (await c.post("/api/v1/recruitment/candidates", json={
        "requisition_id": req["id"], "name": "钱程", "phone": "13811112222"})).json()
    r = await c.post(f"/api/v1/recruitment/candidates/{cand['id']}/stage",
                     json={"to_stage": "rejected"})
    assert r.status_code == 422 and r.json()["code"] == "reason_required"
    await _to_offer(c, cand["id"])
    # An employee number already taken: 409, the candidate stays at offer, no onboarding.
    taken = await db.scalar(select(Employee.employee_no).where(
        Employee.tenant_id == ctx["tenant_id"]).limit(1))
    r = await c.post(f"/api/v1/recruitment/candidates/{cand['id']}/hire",
                     json={"employee_no": taken, "hire_date": "2026-12-01"})
    assert r.status_code == 409
    await db.rollback()
    row = await db.get(Candidate, cand["id"])
    assert row is not None and row.stage.value == "offer" and row.employee_id is None


async def test_scope_and_roles(as_user, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    c: httpx.AsyncClient = await as_user("hr")
    ctx = await _context(c, db)
    req = await _requisition(c, ctx)
    agent = await as_user("agent")
    assert (await agent.get("/api/v1/recruitment/requisitions")).status_code == 403
    auditor = await as_user("auditor")
    assert (await auditor.get(f"/api/v1/recruitment/requisitions/{req['id']}")
            ).status_code == 200
    r = await auditor.post("/api/v1/recruitment/requisitions", json={
        "tenant_id": ctx["tenant_id"], "position_id": ctx["position_id"], "title": "x"})
    assert r.status_code == 403
