"""Indicators computed from the facts the system records (issue 9, item 2), through the live
scorecard: service indicators from chat (CSAT, first response, resolution), a self-report that
spares the agent the concealment deduction, and the evidence each figure links to."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.performance.helpers import IN_MONTH, decided_case, ids, setup_cycle

from probity.models import (
    Alert,
    Conversation,
    ConversationStatus,
    Customer,
    Message,
    MessageKind,
)
from probity.performance.settings import effective_settings


async def _conversation(db: AsyncSession, t: dict[str, Any], *, at: Any, status: Any,
                        csat: int | None, first_reply_s: int) -> Conversation:
    """A conversation assigned at `at`: the customer writes at once, the agent first answers
    `first_reply_s` later and once more after that."""
    agent = t["agent"]
    customer = await db.scalar(select(Customer).where(Customer.tenant_id == t["ecom"].id)
                               .order_by(Customer.id))
    assert customer is not None
    conv = Conversation(tenant_id=t["ecom"].id, org_unit_id=agent.org_unit_id,
                        customer_id=customer.id, agent_employee_id=agent.id, status=status,
                        last_seq=3, assigned_at=at, created_at=at - timedelta(minutes=1),
                        closed_at=at + timedelta(minutes=20)
                        if status == ConversationStatus.closed else None, csat_score=csat)
    db.add(conv)
    await db.flush()
    for seq, (role, after_s) in enumerate((("customer", 5), ("agent", first_reply_s),
                                           ("agent", first_reply_s + 40)), 1):
        db.add(Message(conversation_id=conv.id, tenant_id=t["ecom"].id, seq=seq,
                       sender_role=role, sender_employee_id=agent.id if role == "agent" else None,
                       kind=MessageKind.text, body="您好", decision="allow", categories=[],
                       severity=0, spans=[], created_at=at + timedelta(seconds=after_s)))
    await db.flush()
    return conv


async def test_service_indicators_come_from_chat(as_user: Any, db: AsyncSession) -> None:
    t = await ids(db)
    cycle = await setup_cycle(await as_user("hr"), t["ecom"].id)
    rated = await _conversation(db, t, at=IN_MONTH, status=ConversationStatus.closed, csat=4,
                                first_reply_s=120)
    await _conversation(db, t, at=IN_MONTH + timedelta(days=1),
                        status=ConversationStatus.active, csat=None, first_reply_s=30)
    # Outside the cycle: not counted.
    await _conversation(db, t, at=IN_MONTH + timedelta(days=40),
                        status=ConversationStatus.closed, csat=1, first_reply_s=3000)
    agent = await as_user("agent")
    card = (await agent.get("/api/v1/me/performance", params={"cycle_id": cycle["id"]})).json()
    target = (await effective_settings(db, t["ecom"].id)).first_response_target_s
    assert card["indicators"]["csat"] == 75.0  # (4 − 1) / 4
    assert card["indicators"]["resolution"] == 50.0  # one of two closed
    mean_first = (120 + 30) / 2
    assert card["indicators"]["first_response"] == pytest.approx(
        min(100.0, 100.0 * target / mean_first))
    assert card["positives"]["rating"] == [{"conversation_id": rated.id, "message_id": None,
                                            "alert_id": None, "value": 4}]


async def test_a_self_report_before_the_decision_is_not_concealment(
        as_user: Any, db: AsyncSession) -> None:
    t = await ids(db)
    cycle = await setup_cycle(await as_user("hr"), t["ecom"].id)
    customer = await db.scalar(select(Customer).where(Customer.tenant_id == t["ecom"].id)
                               .order_by(Customer.id))
    other = await db.scalar(select(Customer).where(
        Customer.tenant_id == t["ecom"].id, Customer.id != (customer.id if customer else 0))
        .order_by(Customer.id))
    assert customer is not None and other is not None
    # Finance uncovers two private payments; the agent had reported the first customer's
    # approach themself (months earlier, before this cycle), not the second's.
    db.add(Alert(tenant_id=t["ecom"].id, org_unit_id=t["agent"].org_unit_id,
                 sender_role="agent", agent_employee_id=t["agent"].id, decision="warn",
                 category="payment", categories=["payment"], severity=1, snippet="…", spans=[],
                 source="self_report", subject="agent", customer_id=customer.id,
                 created_at=IN_MONTH - timedelta(days=60)))
    reported = await decided_case(db, t["ecom"], t["agent"], category="payment",
                                  source="finance")
    reported.customer_id = customer.id
    hidden = await decided_case(db, t["ecom"], t["agent"], category="payment",
                                source="finance")
    hidden.customer_id = other.id
    await db.flush()
    agent = await as_user("agent")
    card = (await agent.get("/api/v1/me/performance", params={"cycle_id": cycle["id"]})).json()
    kinds = sorted((d["case_id"], d["kind"]) for d in card["deductions"])
    assert kinds == sorted([(reported.id, "violation"), (hidden.id, "violation"),
                            (hidden.id, "concealment")])
    # The earlier self-report spares the deduction but is not this cycle's positive evidence.
    assert card["positives"]["self_report"] == []
