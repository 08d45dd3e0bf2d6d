"""Reports from the people themselves: an agent's self-report, a customer's complaint, and the
employee's own appeal of a closed case."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.cases.helpers import make_alert, tenant
from tests.chat.helpers import active_conversation

from probity.cases import service
from probity.models import Customer, Employee, User


async def test_self_and_customer_reports(db: AsyncSession, as_user: Any) -> None:
    conv_id, _ = await active_conversation(as_user)
    agent = await as_user("agent")
    r = await agent.post("/api/v1/reports/self", json={
        "text": "客户说要给我发个红包感谢，我已拒绝", "conversation_id": conv_id})
    assert r.status_code == 201, r.text
    comp = await as_user("compliance")
    alert = (await comp.get(f"/api/v1/alerts/{r.json()['alert_id']}")).json()
    assert alert["source"] == "self_report" and alert["conversation_id"] == conv_id
    assert alert["customer_id"] is not None and r.json()["case_id"]
    agent = await as_user("agent")
    r = await agent.post("/api/v1/reports/self", json={"text": "x", "conversation_id": 999999})
    assert r.status_code == 422 and r.json()["code"] == "unknown_conversation"
    customer = await as_user("customer")
    r = await customer.post("/api/v1/reports/customer", json={
        "text": "客服让我私下转账给他个人账户", "conversation_id": conv_id})
    assert r.status_code == 201, r.text
    comp = await as_user("compliance")
    alert = (await comp.get(f"/api/v1/alerts/{r.json()['alert_id']}")).json()
    assert alert["source"] == "customer_report" and alert["agent_employee_id"] is not None
    assert alert["rule"] == "report_private_payment"
    assert (await comp.post("/api/v1/reports/customer", json={"text": "x"})).status_code == 403


async def test_the_employee_appeals_a_closed_case(db: AsyncSession, as_user: Any) -> None:
    t = await tenant(db, "ECOM")
    user = await db.scalar(select(User).where(User.username == "agent"))
    assert user is not None and user.employee_id is not None
    emp = await db.get(Employee, user.employee_id)
    cust = await db.scalar(select(Customer).where(Customer.tenant_id == t.id).offset(30))
    case = await service.group_alert(db, await make_alert(db, t, emp, cust))
    assert case is not None
    comp = await as_user("compliance")
    for step in ({"to": "triage"}, {"to": "investigating"},
                 {"to": "substantiated", "reason": "transfer to personal QR"},
                 {"to": "penalty_proposed", "penalty": "warning"}):
        assert (await comp.post(f"/api/v1/cases/{case.id}/transition", json=step)
                ).status_code == 200
    admin = await as_user("admin")
    await admin.post(f"/api/v1/cases/{case.id}/transition", json={"to": "penalty_approved"})
    agent = await as_user("agent")
    r = await agent.post(f"/api/v1/my-cases/{case.id}/appeal", json={"reason": "r"})
    assert r.status_code == 409  # not closed yet
    admin = await as_user("admin")
    await admin.post(f"/api/v1/cases/{case.id}/transition", json={"to": "closed"})
    agent = await as_user("agent")
    mine = (await agent.get("/api/v1/my-cases")).json()
    assert [c["id"] for c in mine if c["id"] == case.id] == [case.id]
    r = await agent.post(f"/api/v1/my-cases/{case.id}/appeal",
                         json={"reason": "the QR code was the store's official one"})
    assert r.status_code == 200 and r.json()["status"] == "appealed"
    assert (await agent.get(f"/api/v1/cases/{case.id}")).status_code == 403
    comp = await as_user("compliance")  # the decider may not decide the appeal
    r = await comp.post(f"/api/v1/cases/{case.id}/transition", json={"to": "closed"})
    assert r.status_code == 403
    admin = await as_user("admin")
    r = await admin.post(f"/api/v1/cases/{case.id}/transition",
                         json={"to": "investigating", "reason": "store QR confirmed"})
    assert r.status_code == 200
    other = await as_user("lead")
    assert (await other.post(f"/api/v1/my-cases/{case.id}/appeal",
                             json={"reason": "x"})).status_code == 404
