"""Assign training from a finding in one step (issue 11, part 6 "cohorts named by findings"):
who gets it (a tenure band today, the agents who worked in a window), scope, bad input, the
audit row and the assignees' notifications, and the dashboard's form."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import (
    Assignment,
    AuditEntry,
    Conversation,
    ConversationStatus,
    Customer,
    Employee,
    EmploymentStatus,
    Notification,
    Role,
    RoleAssignment,
    Tenant,
    User,
)
from probity.models.base import utcnow

ZONE = ZoneInfo("Asia/Shanghai")
QUIZ = [{"text": "客户要加微信？", "options": ["加", "婉拒"], "correct": [1]}]
SATURDAY = date(2020, 6, 6)  # far from the demo's activity


async def _tenant(db: AsyncSession, code: str) -> Tenant:
    t = await db.scalar(select(Tenant).where(Tenant.code == code))
    assert t is not None
    return t


async def _course(c: httpx.AsyncClient, tenant_id: int, **extra: Any) -> dict[str, Any]:
    r = await c.post("/api/v1/training/courses", json={
        "tenant_id": tenant_id, "title": "分析发现专项培训", "body_md": "正文",
        "status": "published", "pass_mark": 100, "questions": QUIZ} | extra)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def _agents(db: AsyncSession, tenant: Tenant) -> list[Employee]:
    """The tenant's agents (an active employee whose account holds the agent role)."""
    return list((await db.scalars(
        select(Employee).join(User, User.employee_id == Employee.id)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .join(Tenant, Tenant.id == Employee.tenant_id)
        .where(RoleAssignment.role == Role.agent, Employee.status != EmploymentStatus.left,
               Tenant.path.startswith(tenant.path)).distinct().order_by(Employee.id))).all())


async def test_hr_assigns_a_course_to_a_tenure_finding(as_user: Any, db: AsyncSession) -> None:
    ecom = await _tenant(db, "ECOM")
    hr = await as_user("hr")
    course = await _course(hr, ecom.id)
    today = datetime.now(ZONE).date()
    new_hires = {e.id for e in await _agents(db, ecom)
                 if e.hire_date is not None and (today - e.hire_date).days < 91}
    assert new_hires, "the demo has agents in their first three months"
    r = await hr.post("/api/v1/analytics/findings/tenure:lt3m/training",
                      json={"course_id": course["id"], "text": "入职不满 3 个月的坐席违规率偏高"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert {a["employee_id"] for a in body["assigned"]} == new_hires
    assert body["members"] == len(new_hires) and body["already"] == 0
    rows = (await db.scalars(select(Assignment).where(
        Assignment.course_id == course["id"]))).all()
    assert {a.employee_id for a in rows} == new_hires
    assert {a.reason for a in rows} == {"cohort"}
    assert {a.source for a in rows} == {"入职不满 3 个月的坐席违规率偏高"}
    # Each assignee with an account is told in-app; one audit row names the finding.
    users = set((await db.scalars(select(User.id).where(
        User.employee_id.in_(new_hires), User.is_active.is_(True)))).all())
    told = set((await db.scalars(select(Notification.user_id).where(
        Notification.event == "training.assigned",
        Notification.body.in_([f"/me/training/{a.id}" for a in rows])))).all())
    assert told == users
    audit = (await db.scalars(select(AuditEntry).where(
        AuditEntry.action == "training.assign", AuditEntry.target_type == "course",
        AuditEntry.target_id == str(course["id"])))).all()
    assert len(audit) == 1 and audit[0].after["finding"] == "tenure:lt3m"
    assert audit[0].after["employees"] == len(new_hires)
    # Again: nobody new, the existing assignments kept as they were.
    r = await hr.post("/api/v1/analytics/findings/tenure:lt3m/training",
                      json={"course_id": course["id"]})
    assert r.status_code == 201
    assert r.json()["assigned"] == [] and r.json()["already"] == len(new_hires)


async def test_a_window_finding_names_the_agents_who_worked_in_it(as_user: Any,
                                                                   db: AsyncSession) -> None:
    ecom = await _tenant(db, "ECOM")
    agents = [e for e in await _agents(db, ecom) if e.org_unit_id]
    inside, outside = agents[0], agents[1]
    customer = await db.scalar(select(Customer).where(Customer.tenant_id == ecom.id).limit(1))
    assert customer is not None

    def conv(agent: Employee, hour: int) -> Conversation:
        at = datetime(SATURDAY.year, SATURDAY.month, SATURDAY.day, hour, 30, tzinfo=ZONE)
        return Conversation(tenant_id=ecom.id, org_unit_id=agent.org_unit_id,
                            customer_id=customer.id, agent_employee_id=agent.id,
                            status=ConversationStatus.closed, created_at=at.astimezone(UTC))

    db.add_all([conv(inside, 19), conv(outside, 10), conv(outside, 21)])
    await db.flush()
    hr = await as_user("hr")
    course = await _course(hr, ecom.id)
    q = {"from": SATURDAY.isoformat(), "to": (SATURDAY + timedelta(days=1)).isoformat()}
    r = await hr.post("/api/v1/analytics/findings/window:weekend:18-21/training", params=q,
                      json={"course_id": course["id"]})
    assert r.status_code == 201, r.text
    assert [a["employee_id"] for a in r.json()["assigned"]] == [inside.id]
    # A weekday window of the same days: nobody worked in it — a clear 422.
    r = await hr.post("/api/v1/analytics/findings/window:weekday:18-21/training", params=q,
                      json={"course_id": course["id"]})
    assert r.status_code == 422 and r.json()["code"] == "empty_cohort"


async def test_bad_input_and_scope(as_user: Any, db: AsyncSession) -> None:
    ecom, home = await _tenant(db, "ECOM"), await _tenant(db, "HOME")
    admin = await as_user("admin")
    home_course = await _course(admin, home.id)
    draft = await _course(admin, ecom.id, status="draft", questions=[])
    hr = await as_user("hr")
    course = await _course(hr, ecom.id)
    url = "/api/v1/analytics/findings/tenure:lt3m/training"
    before = await db.scalar(select(Assignment.id).order_by(Assignment.id.desc()).limit(1))

    async def post(key: str = "tenure:lt3m", params: dict[str, Any] | None = None,
                   **body: Any) -> httpx.Response:
        return await hr.post(f"/api/v1/analytics/findings/{key}/training", params=params,
                             json={"course_id": course["id"]} | body)

    r = await post("tenure:forever")
    assert r.status_code == 422 and r.json()["code"] == "unknown_finding"
    r = await post(params={"from": "2026-05-02", "to": "2026-05-01"})
    assert r.status_code == 422 and r.json()["code"] == "reversed_range"
    r = await post(due_at=(utcnow() - timedelta(days=1)).isoformat())
    assert r.status_code == 422 and r.json()["code"] == "due_in_past"
    # Another subsidiary: its course is out of reach, so is its tenant.
    r = await post(course_id=home_course["id"])
    assert r.status_code == 404
    r = await post(params={"tenant": home.id})
    assert r.status_code == 422 and r.json()["code"] == "unknown_tenant"
    r = await post(course_id=draft["id"])
    assert r.status_code == 409 and r.json()["code"] == "course_not_published"
    r = await hr.post(url, json={})
    assert r.status_code == 422
    # Nothing was written by any of them.
    after = await db.scalar(select(Assignment.id).order_by(Assignment.id.desc()).limit(1))
    assert after == before
    # HQ's admin: a HOME course for an ECOM finding covers none of its people.
    admin = await as_user("admin")
    r = await admin.post(url, params={"tenant": ecom.id},
                         json={"course_id": home_course["id"]})
    assert r.status_code == 422 and r.json()["code"] == "course_scope"
    # Compliance reads findings but does not manage training.
    compliance = await as_user("compliance")
    r = await compliance.post(url, json={"course_id": course["id"]})
    assert r.status_code == 403


async def test_hq_admin_assigns_only_within_the_filtered_subsidiary(as_user: Any,
                                                                     db: AsyncSession) -> None:
    ecom = await _tenant(db, "ECOM")
    hq = await db.scalar(select(Tenant).where(Tenant.parent_id.is_(None)))
    assert hq is not None
    admin = await as_user("admin")
    course = await _course(admin, hq.id)
    today = datetime.now(ZONE).date()
    expected = {e.id for e in await _agents(db, ecom)
                if e.hire_date is not None and (today - e.hire_date).days < 91}
    r = await admin.post("/api/v1/analytics/findings/tenure:lt3m/training",
                         params={"tenant": ecom.id}, json={"course_id": course["id"]})
    assert r.status_code == 201, r.text
    assert r.json()["tenant_id"] == ecom.id
    assert {a["employee_id"] for a in r.json()["assigned"]} == expected


async def test_the_dashboard_form(as_user: Any, db: AsyncSession) -> None:
    ecom = await _tenant(db, "ECOM")
    compliance = await as_user("compliance")
    r = await compliance.get("/analytics")
    assert r.status_code == 200 and 'data-testid="training-form"' not in r.text
    hr = await as_user("hr")
    course = await _course(hr, ecom.id)
    r = await hr.get("/analytics")
    assert r.status_code == 200
    if 'data-testid="finding"' in r.text:  # the demo's activity makes findings on its own
        assert 'data-testid="training-form"' in r.text
    csrf = hr.headers.get("X-CSRF-Token", "")
    r = await hr.post("/analytics/findings/tenure:lt3m/training", data={
        "csrf_token": csrf, "course_id": str(course["id"]), "text": "新人违规率偏高",
        "due": (date.today() + timedelta(days=20)).isoformat()})
    assert r.status_code == 303, r.text
    where = r.headers["location"]
    assert where.startswith(f"/training/courses/{course['id']}?assigned=")
    page = await hr.get(where)
    assert page.status_code == 200 and 'data-testid="assigned"' in page.text
    due = {a.due_at.astimezone(ZONE).date() for a in (await db.scalars(select(Assignment).where(
        Assignment.course_id == course["id"]))).all()}
    assert due == {date.today() + timedelta(days=20)}
    r = await hr.post("/analytics/findings/tenure:lt3m/training", data={
        "csrf_token": csrf, "course_id": str(course["id"]), "due": "someday"},
        headers={"accept": "text/html"})
    assert r.status_code == 422
