"""The integrity pledge: signing is recorded in the ledger; a new version asks for a new
signature; the text seen and the typed name are checked; onboarding completes only when signed."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Principal
from probity.ledger.service import verify_tenant
from probity.models import (
    Employee,
    EmploymentStatus,
    LedgerEntry,
    Notification,
    PledgeSignature,
    User,
)
from probity.onboarding import schemas, service

TEXT_V1 = ("本人承诺：不在官方渠道之外与客户联系，不收受客户任何形式的红包、礼品或回扣，"
           "不引导客户私下付款；发现他人有上述行为时主动报告。")
TEXT_V2 = TEXT_V1 + "\n补充：不得向客户索要个人微信、QQ 或手机号码。"


async def _publish(c: httpx.AsyncClient, tenant_id: int, text: str) -> dict[str, object]:
    r = await c.post("/api/v1/pledges", json={"tenant_id": tenant_id, "title": "廉洁承诺书",
                                              "text": text})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_signing_is_recorded_in_the_ledger(as_user, db: AsyncSession
                                                 ) -> None:  # type: ignore[no-untyped-def]
    hr = await as_user("hr")
    tenant_id = (await hr.get("/api/v1/me")).json()["roles"][0]["tenant_id"]
    v1 = await _publish(hr, tenant_id, TEXT_V1)
    assert v1["version"] == 1
    assert v1["text_sha256"] == service.text_sha256(TEXT_V1)

    agent = await as_user("agent")
    mine = (await agent.get("/api/v1/me/pledge")).json()
    assert mine["current"]["id"] == v1["id"] and mine["signature"] is None
    me = (await agent.get("/api/v1/me")).json()
    emp = await db.get(Employee, me["employee_id"])
    assert emp is not None
    agent_user = await db.get(User, me["user_id"])
    assert agent_user is not None
    assert await db.scalar(select(Notification.id).where(
        Notification.user_id == agent_user.id, Notification.event == "pledge.published"))

    # The text seen must be the current text; the typed name must be the signer's.
    r = await agent.post("/api/v1/me/pledge/sign", json={
        "pledge_version_id": v1["id"], "typed_name": emp.name, "text_sha256": "0" * 64})
    assert r.status_code == 409 and r.json()["code"] == "pledge_changed"
    r = await agent.post("/api/v1/me/pledge/sign", json={
        "pledge_version_id": v1["id"], "typed_name": "别人", "text_sha256": v1["text_sha256"]})
    assert r.status_code == 422 and r.json()["code"] == "name_mismatch"
    assert await db.scalar(select(PledgeSignature.id).where(
        PledgeSignature.employee_id == emp.id)) is None

    r = await agent.post("/api/v1/me/pledge/sign", json={
        "pledge_version_id": v1["id"], "typed_name": f" {emp.name} ",
        "text_sha256": v1["text_sha256"]})
    assert r.status_code == 201, r.text
    sig = r.json()
    entry = await db.scalar(select(LedgerEntry).where(
        LedgerEntry.tenant_id == emp.tenant_id, LedgerEntry.seq == sig["ledger_seq"]))
    assert entry is not None and entry.type == "pledge.signed"
    payload = json.loads(entry.payload or "{}")
    assert payload["employee_id"] == emp.id
    assert payload["typed_name"] == emp.name
    assert payload["text_sha256"] == service.text_sha256(TEXT_V1)
    assert payload["version"] == 1 and payload["signed_at"]
    assert (await verify_tenant(db, emp.tenant_id)).ok
    r = await agent.post("/api/v1/me/pledge/sign", json={
        "pledge_version_id": v1["id"], "typed_name": emp.name, "text_sha256": v1["text_sha256"]})
    assert r.status_code == 409 and r.json()["code"] == "already_signed"

    hr = await as_user("hr")  # one client: signing in again switches the user
    status = (await hr.get("/api/v1/pledges/status", params={"tenant_id": tenant_id})).json()
    mine_row = next(s for s in status["employees"] if s["employee_id"] == emp.id)
    assert mine_row["current"] is True and mine_row["signed_version"] == 1

    # A new version: everyone is asked again; the old signature no longer counts as current.
    v2 = await _publish(hr, tenant_id, TEXT_V2)
    status = (await hr.get("/api/v1/pledges/status", params={"tenant_id": tenant_id})).json()
    mine_row = next(s for s in status["employees"] if s["employee_id"] == emp.id)
    assert (mine_row["signed_version"], mine_row["current"]) == (1, False)
    agent = await as_user("agent")
    # Signing with the old version's hash (a stale page) is refused.
    r = await agent.post("/api/v1/me/pledge/sign", json={
        "pledge_version_id": v2["id"], "typed_name": emp.name, "text_sha256": v1["text_sha256"]})
    assert r.status_code == 409 and r.json()["code"] == "pledge_changed"
    r = await agent.post("/api/v1/me/pledge/sign", json={
        "pledge_version_id": v2["id"], "typed_name": emp.name, "text_sha256": v2["text_sha256"]})
    assert r.status_code == 201
    types = (await db.scalars(select(LedgerEntry.type).where(
        LedgerEntry.tenant_id == emp.tenant_id,
        LedgerEntry.type.in_(["pledge.signed", "pledge.published"])))).all()
    assert sorted(types).count("pledge.signed") >= 2 and "pledge.published" in types


async def test_signatures_cannot_be_altered(db: AsyncSession, dialect: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    emp = await db.scalar(select(Employee).where(Employee.status == EmploymentStatus.active)
                          .limit(1))
    assert emp is not None
    pv = await service.publish_pledge(db, None, schemas.PledgePublish(
        tenant_id=emp.tenant_id, title="廉洁承诺书", text=TEXT_V1))
    principal = Principal(user_id=0, username="x", display_name=emp.name,
                          tenant_id=emp.tenant_id, employee_id=emp.id, customer_id=None)
    principal.user_id = None  # type: ignore[assignment]
    sig = await service.sign_pledge(db, principal, schemas.PledgeSign(
        pledge_version_id=pv.id, typed_name=emp.name, text_sha256=pv.text_sha256))
    try:
        async with db.begin_nested():  # the failed statement rolls back to the savepoint
            await db.execute(text("UPDATE pledge_signatures SET typed_name = 'x' WHERE id = :i"),
                             {"i": sig.id})
    except DBAPIError as exc:
        assert "append-only" in str(exc)
    else:
        raise AssertionError("a signature was altered")


async def test_onboarding_completes_only_when_signed(as_user, db: AsyncSession
                                                     ) -> None:  # type: ignore[no-untyped-def]
    hr = await as_user("hr")
    me = (await hr.get("/api/v1/me")).json()
    tenant_id = me["roles"][0]["tenant_id"]
    await _publish(hr, tenant_id, TEXT_V1)
    # Dates well after the demo's own new hire, so its reminder stays out of these windows.
    hired = date.today() + timedelta(days=200)
    r = await hr.post("/api/v1/employees", json={
        "tenant_id": tenant_id, "employee_no": "ONB-1", "name": "新员工甲",
        "hire_date": hired.isoformat()})
    assert r.status_code == 201, r.text
    emp = await db.get(Employee, r.json()["id"])
    assert emp is not None
    await service.start_onboarding(db, None, emp, probation_months=1)
    await db.flush()
    ob = (await hr.get(f"/api/v1/onboarding/{emp.id}")).json()
    end = service.add_months(hired, 1)
    assert ob["pledge_signed"] is False and ob["probation_end"] == end.isoformat()
    r = await hr.post(f"/api/v1/onboarding/{emp.id}/complete",
                      json={"effective_date": hired.isoformat()})
    assert r.status_code == 409 and r.json()["code"] == "onboarding_incomplete"
    # The training item is the mandatory course (probity.training): done once it is passed.
    from probity.models import Assignment, QuizAttempt
    from probity.training.service import missing_mandatory

    for t in ob["tasks"]:
        r = await hr.post(f"/api/v1/onboarding/{emp.id}/tasks/{t['id']}/done")
        if t["category"] == "training" and await missing_mandatory(db, emp.tenant_id, emp.id):
            assert r.status_code == 409 and r.json()["code"] == "training_not_passed"
            now = datetime.now(UTC)
            for course in await missing_mandatory(db, emp.tenant_id, emp.id):
                a = Assignment(tenant_id=emp.tenant_id, course_id=course.id,
                               employee_id=emp.id, reason="new_hire", source="",
                               assigned_at=now, due_at=now, attempts=1)
                db.add(a)
                await db.flush()
                db.add(QuizAttempt(assignment_id=a.id, course_id=course.id, employee_id=emp.id,
                                   answers={}, score=100, passed=True, submitted_at=now))
            await db.flush()
            r = await hr.post(f"/api/v1/onboarding/{emp.id}/tasks/{t['id']}/done")
        assert r.status_code == 200, r.text
    signer = Principal(user_id=me["user_id"], username="x", display_name=emp.name,
                       tenant_id=tenant_id, employee_id=emp.id, customer_id=None)
    pv, _ = await service.current_pledge(db, tenant_id), None
    assert pv is not None
    await service.sign_pledge(db, signer, schemas.PledgeSign(
        pledge_version_id=pv.id, typed_name="新员工甲", text_sha256=pv.text_sha256))
    await db.flush()
    r = await hr.post(f"/api/v1/onboarding/{emp.id}/complete",
                      json={"effective_date": hired.isoformat()})
    assert r.status_code == 200, r.text
    await db.refresh(emp)
    assert emp.status == EmploymentStatus.active

    # Probation reminders: once, to HR over the tenant, when the end is within the window.
    assert await service.send_probation_reminders(db, end - timedelta(days=8)) == 0
    assert await service.send_probation_reminders(db, end - timedelta(days=7)) == 1
    hr_user = me["user_id"]
    note = await db.scalar(select(Notification).where(
        Notification.user_id == hr_user, Notification.event == "probation.ending"))
    assert note is not None and "新员工甲" in note.title
    assert await service.send_probation_reminders(db, end - timedelta(days=7)) == 0


async def test_roles(as_user) -> None:  # type: ignore[no-untyped-def]
    agent = await as_user("agent")
    assert (await agent.get("/api/v1/onboarding")).status_code == 403
    r = await agent.post("/api/v1/pledges", json={"tenant_id": 1, "title": "x", "text": "y" * 30})
    assert r.status_code == 403
    customer = await as_user("customer")
    assert (await customer.get("/api/v1/me/pledge")).status_code == 404


async def test_probation_reminders_run_as_a_scheduled_job(db: AsyncSession) -> None:
    from probity.jobs import JobContext
    from probity.jobs.registry import SCHEDULES, load_tasks
    from probity.models import Onboarding
    from probity.onboarding.tasks import probation_reminders

    load_tasks()
    assert SCHEDULES["onboarding.probation_reminders"].cron == "0 1 * * *"
    ob = await db.scalar(select(Onboarding).where(Onboarding.probation_reminded_at.is_(None))
                         .order_by(Onboarding.probation_end).limit(1))
    assert ob is not None  # the demo's new hire
    day = (ob.probation_end - timedelta(days=3)).isoformat()

    def no_sessions() -> Any:
        raise AssertionError("the task uses the job's own session")

    ctx = JobContext(job_id=0, task="onboarding.probation_reminders", tenant_id=None,
                     user_id=None, attempt=1, sessions=no_sessions, session=db)
    first = await probation_reminders(ctx, today=day)
    assert first["reminded"] >= 1
    assert (await probation_reminders(ctx, today=day))["reminded"] == 0  # once only
    await db.refresh(ob)
    assert ob.probation_reminded_at is not None
