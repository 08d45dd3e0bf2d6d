"""Events emitted by the domains themselves (not by calling ``emit`` in the test): a finance
rule flagging a payment, an employee leaving, a case decided and an appraisal cycle closed reach
a subscribed endpoint (a real HTTP receiver on loopback), signed per Standard Webhooks and
verified with the reference library."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook
from tests.cases.helpers import customers, make_alert, team_agents, tenant
from tests.finance.test_rules import _order, _register_company
from tests.performance.helpers import ids, setup_cycle
from tests.webhooks.conftest import Receiver
from tests.webhooks.test_webhooks import subscribe

from probity.auth.deps import commit
from probity.config import Settings
from probity.finance.rules import run_rules
from probity.jobs.runtime import InlineRuntime
from probity.models import Payment, PaymentMethod
from probity.models.base import utcnow
from probity.models.webhooks import WebhookDelivery


def _events(receiver: Receiver, secret: str) -> list[dict[str, Any]]:
    return [Webhook(secret).verify(g.body, g.headers) for g in receiver.got]


async def test_a_flagged_payment_is_announced(db: AsyncSession, as_user: Any,
                                              receiver: Receiver, jobs: InlineRuntime,
                                              webhook_settings: Settings) -> None:
    hq, ecom = await tenant(db, "HQ"), await tenant(db, "ECOM")
    admin = await as_user("admin")
    ep = await subscribe(admin, hq.id, receiver.url, ["payment.flagged"])
    (c,) = await customers(db, ecom.id, 1)
    await _register_company(db, ecom.id, "MCH-ECOM-0001")
    o = await _order(db, ecom.id, c.id, "WH-1")
    now = utcnow()
    db.add(Payment(tenant_id=ecom.id, order_id=o.id, customer_id=c.id, payment_no="WH-P1",
                   amount=Decimal("10"), method=PaymentMethod.alipay,
                   payee_account="ALIPAY-STRANGER", paid_at=now - timedelta(hours=1)))
    await db.flush()
    await run_rules(db, ecom.id, since=now - timedelta(days=1), only=["payee_not_company"])
    await commit(db)
    await jobs.wait()
    events = _events(receiver, ep["secret"])
    assert [e["type"] for e in events] == ["payment.flagged"], events
    assert events[0]["tenant_id"] == ecom.id
    assert events[0]["data"]["rule"] == "payee_not_company"
    assert events[0]["data"]["payment_no"] == "WH-P1"


async def test_an_employee_leaving_is_announced(db: AsyncSession, as_user: Any,
                                                receiver: Receiver, jobs: InlineRuntime,
                                                webhook_settings: Settings) -> None:
    hq, ecom = await tenant(db, "HQ"), await tenant(db, "ECOM")
    admin = await as_user("admin")
    ep = await subscribe(admin, hq.id, receiver.url, ["employee.left"])
    hr = await as_user("hr")
    hired = date.today() - timedelta(days=30)
    r = await hr.post("/api/v1/employees", json={
        "tenant_id": ecom.id, "employee_no": "WH-LEFT", "name": "离职测试", "hire_date":
        str(hired)})
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    for to, day in (("active", hired + timedelta(days=1)), ("left", date.today())):
        r = await hr.post(f"/api/v1/employees/{eid}/transitions",
                          json={"to_status": to, "effective_date": str(day)})
        assert r.status_code == 201, r.text
    await jobs.wait()
    events = _events(receiver, ep["secret"])
    assert [e["type"] for e in events] == ["employee.left"], events
    assert events[0]["data"]["employee_id"] == eid
    assert json.dumps(events[0]["data"], ensure_ascii=False).find("离职测试") == -1  # no names
    states = set((await db.scalars(select(WebhookDelivery.state).where(
        WebhookDelivery.event_type == "employee.left"))).all())
    assert states == {"delivered"}


async def test_a_decided_case_is_announced(db: AsyncSession, as_user: Any, receiver: Receiver,
                                           jobs: InlineRuntime,
                                           webhook_settings: Settings) -> None:
    """Deciding a case through the case workflow (not ``emit``) delivers ``case.decided``."""
    hq, ecom = await tenant(db, "HQ"), await tenant(db, "ECOM")
    admin = await as_user("admin")
    ep = await subscribe(admin, hq.id, receiver.url, ["case.decided"])
    agent, _ = await team_agents(db, ecom.id)
    (c,) = await customers(db, ecom.id, 1)
    alert = await make_alert(db, ecom, agent, c)
    compliance = await as_user("compliance")
    r = await compliance.post("/api/v1/cases", json={"alert_ids": [alert.id],
                                                     "title": "webhook case"})
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]
    for to, reason in (("triage", None), ("investigating", None),
                       ("substantiated", "私下收款，证据确凿")):
        r = await compliance.post(f"/api/v1/cases/{case_id}/transition",
                                  json={"to": to, **({"reason": reason} if reason else {})})
        assert r.status_code == 200, r.text
    await jobs.wait()
    events = _events(receiver, ep["secret"])
    assert [e["type"] for e in events] == ["case.decided"], events
    assert events[0]["tenant_id"] == ecom.id
    data = events[0]["data"]
    assert data["case_id"] == case_id and data["decision"] == "substantiated"
    assert data["decided_at"]
    states = set((await db.scalars(select(WebhookDelivery.state).where(
        WebhookDelivery.event_type == "case.decided"))).all())
    assert states == {"delivered"}


async def test_a_closed_cycle_is_announced(db: AsyncSession, as_user: Any, receiver: Receiver,
                                           jobs: InlineRuntime,
                                           webhook_settings: Settings) -> None:
    """Closing an appraisal cycle (review, then four-eyes sign-off through the API) delivers
    ``cycle.closed`` with the frozen scores' digest and ledger position."""
    t = await ids(db)
    admin = await as_user("admin")
    ep = await subscribe(admin, t["ecom"].parent_id, receiver.url, ["cycle.closed"])
    hr = await as_user("hr")
    cycle = await setup_cycle(hr, t["ecom"].id)
    admin = await as_user("admin")  # the HQ admin reviews, HR signs off (four eyes)
    r = await admin.post(f"/api/v1/performance/cycles/{cycle['id']}/review")
    assert r.status_code == 200, r.text
    hr = await as_user("hr")
    r = await hr.post(f"/api/v1/performance/cycles/{cycle['id']}/close")
    assert r.status_code == 200, r.text
    closed = r.json()
    await jobs.wait()
    events = _events(receiver, ep["secret"])
    assert [e["type"] for e in events] == ["cycle.closed"], events
    assert events[0]["tenant_id"] == t["ecom"].id
    data = events[0]["data"]
    assert data["cycle_id"] == cycle["id"] and data["employees"] == closed["employees"] > 0
    assert len(data["scores_sha256"]) == 64 and data["ledger_seq"] > 0
