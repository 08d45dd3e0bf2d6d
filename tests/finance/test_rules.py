"""Anomaly rules: each raises an explained alert referencing its evidence, once, into a case."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.cases.helpers import customers, make_alert, team_agents, tenant

from probity.finance.rules import robust_z, run_rules
from probity.models import (
    Alert,
    CaseAlert,
    Order,
    OrderStatus,
    PayeeAccount,
    PayeeKind,
    Payment,
    PaymentMethod,
    Refund,
)
from probity.models.base import utcnow


def test_robust_z() -> None:
    values = [100.0, 110.0, 90.0, 105.0, 95.0, 5000.0]
    z = robust_z(values, 5000.0)
    assert z is not None and z > 100
    assert abs(robust_z(values, 100.0) or 0) < 1
    assert robust_z([5.0, 5.0, 5.0], 5.0) is None


async def _register_company(db: AsyncSession, tenant_id: int, account: str) -> None:
    if await db.scalar(select(PayeeAccount.id).where(PayeeAccount.tenant_id == tenant_id,
                                                     PayeeAccount.account_no == account)):
        return  # the demo registers each subsidiary's merchant account
    db.add(PayeeAccount(tenant_id=tenant_id, account_no=account, kind=PayeeKind.company,
                        account_type="merchant_id", active=True))
    await db.flush()


async def _order(db: AsyncSession, tenant_id: int, customer_id: int, no: str,
                 amount: str = "300", status: OrderStatus = OrderStatus.paid) -> Order:
    o = Order(tenant_id=tenant_id, customer_id=customer_id, order_no=no, item="x",
              amount=Decimal(amount), status=status, placed_at=utcnow() - timedelta(days=1))
    db.add(o)
    await db.flush()
    return o


async def _rule_alerts(db: AsyncSession, tenant_id: int, rule: str) -> list[Alert]:
    return list((await db.scalars(select(Alert).where(Alert.tenant_id == tenant_id,
                                                      Alert.rule == rule))).all())


async def test_payment_to_a_non_company_payee(db: AsyncSession) -> None:
    t = await tenant(db, "ECOM")
    agent, _ = await team_agents(db, t.id)
    (c,) = await customers(db, t.id, 1)
    await _register_company(db, t.id, "MCH-ECOM-0001")
    db.add(PayeeAccount(tenant_id=t.id, account_no="WX-AGENT", kind=PayeeKind.employee,
                        account_type="qr_merchant", employee_id=agent.id, active=True))
    o = await _order(db, t.id, c.id, "R-1")
    now = utcnow()
    for no, acct in (("RP-1", "MCH-ECOM-0001"), ("RP-2", "ALIPAY-STRANGER"),
                     ("RP-3", "WX-AGENT")):
        db.add(Payment(tenant_id=t.id, order_id=o.id, customer_id=c.id, payment_no=no,
                       amount=Decimal("10"), method=PaymentMethod.alipay, payee_account=acct,
                       paid_at=now - timedelta(hours=1)))
    await db.flush()
    new = await run_rules(db, t.id, since=now - timedelta(days=1), only=["payee_not_company"])
    by_no = {a.evidence["payment_no"]: a for a in new if a.evidence}
    assert set(by_no) == {"RP-2", "RP-3"}
    assert by_no["RP-2"].evidence["payee_kind"] == "unknown"
    assert by_no["RP-3"].severity == 4 and by_no["RP-3"].agent_employee_id == agent.id
    assert "not a company account" in by_no["RP-2"].snippet
    # Each alert went into a case; a re-run raises nothing new.
    assert await db.scalar(select(CaseAlert.case_id).where(
        CaseAlert.alert_id == by_no["RP-3"].id))
    assert await run_rules(db, t.id, since=now - timedelta(days=1),
                           only=["payee_not_company"]) == []


async def test_offline_paid_without_receipt(db: AsyncSession) -> None:
    t = await tenant(db, "ECOM")
    (c,) = await customers(db, t.id, 1)
    await _register_company(db, t.id, "MCH-ECOM-0001")
    bad = await _order(db, t.id, c.id, "OFF-1")
    good = await _order(db, t.id, c.id, "OFF-2")
    now = utcnow()
    for o, no in ((bad, "OP-1"), (bad, "OP-1b"), (good, "OP-2")):  # OFF-1: two, one alert
        db.add(Payment(tenant_id=t.id, order_id=o.id, customer_id=c.id, payment_no=no,
                       amount=o.amount, method=PaymentMethod.offline, payee_account="现金",
                       paid_at=now))
    db.add(Payment(tenant_id=t.id, order_id=good.id, customer_id=c.id, payment_no="OP-3",
                   amount=good.amount, method=PaymentMethod.bank_transfer,
                   payee_account="MCH-ECOM-0001", paid_at=now))
    await db.flush()
    new = await run_rules(db, t.id, since=now - timedelta(days=3),
                          only=["offline_paid_no_receipt"])
    assert [a.evidence["order_no"] for a in new if a.evidence] == ["OFF-1"]
    assert new[0].evidence is not None and new[0].evidence["received"] == "0.00"


async def test_refund_outlier_against_team_peers(db: AsyncSession) -> None:
    t = await tenant(db, "ECOM")
    agents = await team_agents(db, t.id, 6)
    (c,) = await customers(db, t.id, 1)
    o = await _order(db, t.id, c.id, "RO-1", amount="99999")
    now = utcnow()
    amounts = ["100", "120", "90", "110", "95", "4000"]
    for i, (agent, amount) in enumerate(zip(agents, amounts, strict=True)):
        db.add(Refund(tenant_id=t.id, order_id=o.id, customer_id=c.id, refund_no=f"RO-R{i}",
                      amount=Decimal(amount), reason="x", refunded_at=now - timedelta(days=2),
                      kind="refund", approved_by_employee_id=agent.id))
    await db.flush()
    new = await run_rules(db, t.id, only=["refund_outlier"])
    assert [a.agent_employee_id for a in new] == [agents[-1].id]
    ev = new[0].evidence
    assert ev is not None and ev["robust_z"] > 3.5 and ev["peers"] >= 6
    assert "robust z" in new[0].snippet
    # Raise the threshold (configurable): nothing more is flagged.
    from probity.finance.rules import set_rule

    await set_rule(db, t.id, "refund_outlier", None, {"threshold": 1000})
    db.add(Refund(tenant_id=t.id, order_id=o.id, customer_id=c.id, refund_no="RO-R9",
                  amount=Decimal("10"), reason="x", refunded_at=now, kind="refund",
                  approved_by_employee_id=agents[-1].id))
    await db.flush()
    assert await run_rules(db, t.id, only=["refund_outlier"]) == []


async def test_refund_after_a_flagged_conversation(db: AsyncSession) -> None:
    t = await tenant(db, "ECOM")
    agent, other = await team_agents(db, t.id)
    (c,) = await customers(db, t.id, 1)
    o = await _order(db, t.id, c.id, "RF-1")
    now = utcnow()
    flag = await make_alert(db, t, agent, c, at=now - timedelta(hours=5), source="screening",
                            rule=None)
    db.add_all([
        Refund(tenant_id=t.id, order_id=o.id, customer_id=c.id, refund_no="RF-R1",
               amount=Decimal("50"), reason="x", refunded_at=now, kind="compensation",
               approved_by_employee_id=agent.id),
        Refund(tenant_id=t.id, order_id=o.id, customer_id=c.id, refund_no="RF-R2",
               amount=Decimal("50"), reason="x", refunded_at=now, kind="compensation",
               approved_by_employee_id=other.id),  # another agent: not flagged
    ])
    await db.flush()
    new = await run_rules(db, t.id, since=now - timedelta(days=1), only=["refund_after_flag"])
    assert [a.evidence["refund_no"] for a in new if a.evidence] == ["RF-R1"]
    assert new[0].evidence is not None and new[0].evidence["flagged_alert_id"] == flag.id
    # Grouped with the screening alert: same agent and customer, within the window.
    case_ids = {await db.scalar(select(CaseAlert.case_id).where(CaseAlert.alert_id == a))
                for a in (new[0].id,)}
    assert all(case_ids)


async def test_rising_compensation_for_one_pairing(db: AsyncSession) -> None:
    t = await tenant(db, "ECOM")
    agent, _ = await team_agents(db, t.id)
    c1, c2 = await customers(db, t.id, 2)
    o1 = await _order(db, t.id, c1.id, "RC-1")
    o2 = await _order(db, t.id, c2.id, "RC-2")
    now = utcnow()
    for i, amount in enumerate(["20", "50", "120"]):
        db.add(Refund(tenant_id=t.id, order_id=o1.id, customer_id=c1.id, refund_no=f"RC-A{i}",
                      amount=Decimal(amount), reason="x", kind="compensation",
                      refunded_at=now - timedelta(days=10 - i),
                      approved_by_employee_id=agent.id))
    for i, amount in enumerate(["50", "20", "120"]):  # not rising
        db.add(Refund(tenant_id=t.id, order_id=o2.id, customer_id=c2.id, refund_no=f"RC-B{i}",
                      amount=Decimal(amount), reason="x", kind="compensation",
                      refunded_at=now - timedelta(days=10 - i),
                      approved_by_employee_id=agent.id))
    await db.flush()
    new = await run_rules(db, t.id, only=["rising_compensation"])
    assert [(a.agent_employee_id, a.customer_id) for a in new] == [(agent.id, c1.id)]
    assert new[0].evidence is not None and new[0].evidence["amounts"] == \
        ["20.00", "50.00", "120.00"]


async def test_rules_api(db: AsyncSession, as_user: Any) -> None:
    t = await tenant(db, "ECOM")
    client = await as_user("compliance")
    rules = (await client.get(f"/api/v1/finance/rules?tenant_id={t.id}")).json()
    names = {r["name"] for r in rules}
    assert {"payee_not_company", "refund_outlier", "rising_compensation"} <= names
    assert all(r["explains"] for r in rules)
    r = await client.put("/api/v1/finance/rules/payee_not_company",
                         json={"tenant_id": t.id, "enabled": False})
    assert r.status_code == 200 and r.json()["enabled"] is False
    r = await client.put("/api/v1/finance/rules/refund_outlier",
                         json={"tenant_id": t.id, "params": {"colour": 1}})
    assert r.status_code == 422
    r = await client.put("/api/v1/finance/rules/nope", json={"tenant_id": t.id})
    assert r.status_code == 422
    (c,) = await customers(db, t.id, 1)
    db.add(Payment(tenant_id=t.id, order_id=None, customer_id=c.id, payment_no="API-P1",
                   amount=Decimal("10"), method=PaymentMethod.alipay, payee_account="STRANGER",
                   paid_at=utcnow()))
    await db.flush()
    before = len(await _rule_alerts(db, t.id, "payee_not_company"))
    r = await client.post("/api/v1/finance/rules/run", json={"tenant_id": t.id})
    assert r.status_code == 200, r.text
    # payee_not_company is disabled: the payment to an unknown account raises nothing.
    assert len(await _rule_alerts(db, t.id, "payee_not_company")) == before
    r = await client.post("/api/v1/finance/rules/run",
                          json={"tenant_id": t.id, "since": "2026-11-01T00:00:00"})
    assert r.status_code == 422
    finance = await as_user("finance")
    assert (await finance.post("/api/v1/finance/rules/run",
                               json={"tenant_id": t.id})).status_code == 403


async def test_demo_raises_finance_alerts_into_cases(db: AsyncSession) -> None:
    t = await tenant(db, "ECOM")
    rules = {a.rule for a in (await db.scalars(select(Alert).where(
        Alert.tenant_id == t.id, Alert.source == "finance"))).all()}
    assert {"payee_not_company", "rising_compensation"} <= rules
    in_cases = await db.scalar(select(CaseAlert.id).join(Alert, Alert.id == CaseAlert.alert_id)
                               .where(Alert.tenant_id == t.id).limit(1))
    assert in_cases


async def test_an_employee_declares_an_account_and_a_payment_to_it_names_them(
        db: AsyncSession, as_user: Any) -> None:
    t = await tenant(db, "ECOM")
    agent = await as_user("agent")
    r = await agent.post("/api/v1/me/payee-accounts", json={
        "account_no": "6222-0000-AGENT", "account_type": "bank_account", "label": "工资卡"})
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "employee"
    emp_id = r.json()["employee_id"]
    assert (await agent.post("/api/v1/me/payee-accounts", json={
        "account_no": "6222-0000-AGENT"})).status_code == 409
    mine = [a["account_no"] for a in (await agent.get("/api/v1/me/payee-accounts")).json()]
    assert "6222-0000-AGENT" in mine  # with the demo's declared WeChat code
    customer = await as_user("customer")
    assert (await customer.post("/api/v1/me/payee-accounts",
                                json={"account_no": "X"})).status_code == 403
    (c,) = await customers(db, t.id, 1)
    now = utcnow()
    db.add(Payment(tenant_id=t.id, order_id=None, customer_id=c.id, payment_no="DECL-1",
                   amount=Decimal("88"), method=PaymentMethod.bank_transfer,
                   payee_account="6222-0000-AGENT", paid_at=now))
    await db.flush()
    new = await run_rules(db, t.id, since=now - timedelta(hours=1), only=["payee_not_company"])
    assert [(a.agent_employee_id, a.severity) for a in new] == [(emp_id, 4)]
