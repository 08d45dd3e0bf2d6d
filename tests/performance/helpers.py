"""Factories for performance tests: a cycle in a quiet past month, a template, decided cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import Alert, Case, CaseAlert, CaseStatus, Employee, Tenant, User

MONTH = "2027-03-01"  # after any demo activity: facts in it are the test's own
IN_MONTH = datetime(2027, 3, 10, 4, 0, tzinfo=UTC)
WEIGHTS = [{"code": "compliance", "weight": 20}, {"code": "csat", "weight": 30},
           {"code": "first_response", "weight": 20}, {"code": "resolution", "weight": 20},
           {"code": "manual.quality", "weight": 10}]


async def ids(db: AsyncSession) -> dict[str, Any]:
    ecom = await db.scalar(select(Tenant).where(Tenant.code == "ECOM"))
    assert ecom is not None
    agent = await db.scalar(select(User).where(User.username == "agent"))
    assert agent is not None and agent.employee_id is not None
    me = await db.get(Employee, agent.employee_id)
    assert me is not None
    peer = await db.scalar(select(Employee).where(
        Employee.org_unit_id == me.org_unit_id, Employee.id != me.id,
        Employee.status == "active").order_by(Employee.id))
    assert peer is not None
    return {"ecom": ecom, "agent": me, "peer": peer}


async def setup_cycle(client: httpx.AsyncClient, tenant_id: int, starts_on: str = MONTH
                      ) -> dict[str, Any]:
    r = await client.put("/api/v1/performance/templates", json={
        "tenant_id": tenant_id, "position_id": None, "name": "客服默认", "indicators": WEIGHTS})
    assert r.status_code == 200, r.text
    # 5 points for every kind of violation (the demo's HQ standard is stricter).
    r = await client.put("/api/v1/performance/penalties", json={"tenant_id": tenant_id, "rules": [
        {"violation_type": v, "severity": None, "points": 5}
        for v in ("bribe", "contact", "payment", "concealment", "other")]})
    assert r.status_code == 200, r.text
    r = await client.post("/api/v1/performance/cycles", json={
        "tenant_id": tenant_id, "period": "monthly", "starts_on": starts_on})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def decided_case(db: AsyncSession, tenant: Tenant, agent: Employee, *,
                       at: datetime = IN_MONTH, severity: int = 2, category: str = "bribe",
                       source: str = "screening", sender_role: str = "agent",
                       status: CaseStatus = CaseStatus.closed,
                       decision: str | None = "substantiated") -> Case:
    case = Case(tenant_id=tenant.id, org_unit_id=agent.org_unit_id, agent_employee_id=agent.id,
                title=f"test {category}", status=status, severity=severity, last_alert_at=at,
                triage_due_at=at, decision_due_at=at + timedelta(days=3), decided_at=at,
                decision=decision, closed_at=at if status == CaseStatus.closed else None,
                subject="customer" if sender_role == "customer" else "agent",
                created_at=at - timedelta(hours=1))
    db.add(case)
    await db.flush()
    alert = Alert(tenant_id=tenant.id, org_unit_id=agent.org_unit_id, sender_role=sender_role,
                  agent_employee_id=agent.id, decision="block", category=category,
                  categories=[category], severity=severity, snippet="***", spans=[],
                  source=source, subject="customer" if sender_role == "customer" else "agent",
                  created_at=at - timedelta(hours=1))
    db.add(alert)
    await db.flush()
    db.add(CaseAlert(case_id=case.id, alert_id=alert.id, created_at=at))
    await db.flush()
    return case


async def refusal_conversation(db: AsyncSession, tenant: Tenant, agent: Employee, *,
                               at: datetime = IN_MONTH, csat: int | None = 5) -> Any:
    """A rated conversation in which the customer offers a red envelope twice and the agent
    refuses (screening's categories as the engine sets them)."""
    from probity.models import Conversation, ConversationStatus, Customer, Message, MessageKind

    customer = await db.scalar(select(Customer).where(Customer.tenant_id == tenant.id)
                               .order_by(Customer.id))
    assert customer is not None and agent.org_unit_id is not None
    conv = Conversation(tenant_id=tenant.id, org_unit_id=agent.org_unit_id,
                        customer_id=customer.id, agent_employee_id=agent.id,
                        status=ConversationStatus.closed, last_seq=0, assigned_at=at,
                        closed_at=at + timedelta(minutes=10), csat_score=csat, created_at=at)
    db.add(conv)
    await db.flush()
    lines = [("customer", "block", ["bribe"]), ("agent", "allow", ["refusal"]),
             ("customer", "block", ["bribe"]), ("agent", "allow", ["refusal"]),
             ("agent", "allow", ["refusal"])]  # said twice to the same offer: one episode
    from probity.models.screening import Refusal

    offer = 0
    for seq, (role, decision, cats) in enumerate(lines, 1):
        msg = Message(conversation_id=conv.id, tenant_id=tenant.id, seq=seq, sender_role=role,
                      sender_employee_id=agent.id if role == "agent" else None,
                      kind=MessageKind.text, body="…", decision=decision, categories=cats,
                      severity=3 if decision == "block" else 0, spans=[],
                      created_at=at + timedelta(seconds=30 * seq))
        db.add(msg)
        await db.flush()
        if role == "customer":
            offer = seq
        else:
            db.add(Refusal(tenant_id=tenant.id, org_unit_id=agent.org_unit_id,
                           conversation_id=conv.id, message_id=msg.id, seq=seq,
                           refuser_role="agent", refuser_employee_id=agent.id,
                           customer_id=customer.id, episode=offer, offer_seq=offer,
                           declined=["bribe"], created_at=msg.created_at))
    conv.last_seq = len(lines)
    await db.flush()
    return conv
