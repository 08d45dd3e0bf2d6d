"""Demo data for finance cross-checks and cases: each subsidiary's own receiving account, one
employee-declared account that a customer paid into, and a rising series of compensations —
the anomaly rules then raise their alerts and group them into cases."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import (
    Customer,
    Order,
    PayeeAccount,
    PayeeKind,
    Payment,
    PaymentMethod,
    Refund,
    Tenant,
    TenantKind,
    User,
)
from probity.models.base import utcnow


async def seed_finance_demo(session: AsyncSession) -> None:
    subs = (await session.scalars(select(Tenant).where(Tenant.kind == TenantKind.subsidiary)
                                  .order_by(Tenant.id))).all()
    for sub in subs:
        session.add(PayeeAccount(tenant_id=sub.id, account_no=f"MCH-{sub.code}-0001",
                                 kind=PayeeKind.company, account_type="merchant_id",
                                 label=f"{sub.name} 官方收款", active=True))
    ecom = next((s for s in subs if s.code == "ECOM"), None)
    agent = await session.scalar(select(User).where(User.username == "agent"))
    if ecom is None or agent is None or agent.employee_id is None:
        await session.flush()
        return
    # The demo agent declared a personal WeChat collection code; a customer paid into it.
    account = "WX-QR-AGENT-0001"
    session.add(PayeeAccount(tenant_id=ecom.id, account_no=account, kind=PayeeKind.employee,
                             account_type="qr_merchant", employee_id=agent.employee_id,
                             label="员工申报的个人收款码", active=True))
    customer = (await session.scalars(select(Customer).where(Customer.tenant_id == ecom.id)
                                      .order_by(Customer.id).offset(10).limit(1))).first()
    order = await session.scalar(select(Order).where(Order.customer_id == customer.id)
                                 .order_by(Order.id).limit(1)) if customer else None
    if customer is None or order is None:
        await session.flush()
        return
    now = utcnow()
    payment = Payment(tenant_id=ecom.id, order_id=order.id, customer_id=customer.id,
                      payment_no=f"P-DEMO-{order.order_no}", amount=Decimal("200.00"),
                      method=PaymentMethod.wechat_pay, payee_account=account,
                      paid_at=now - timedelta(days=2))
    session.add(payment)
    # Small, rising compensations from the same agent to the same customer.
    refunds = [Refund(tenant_id=ecom.id, order_id=order.id, customer_id=customer.id,
                      refund_no=f"CP-DEMO-{i + 1}", amount=Decimal(amount),
                      currency="CNY", reason="物流延迟补偿", status="completed",
                      refunded_at=now - timedelta(days=20 - 5 * i), kind="compensation",
                      approved_by_employee_id=agent.employee_id)
               for i, amount in enumerate(("10.00", "20.00", "30.00"))]
    session.add_all(refunds)
    await session.flush()
    # Ledgered like every payment and refund (verification checks each has its entry).
    from sqlalchemy.orm import class_mapper

    from probity.finance.records import ledger_records

    for kind, rows in (("payments", [payment]), ("refunds", refunds)):
        columns = [c.key for c in class_mapper(type(rows[0])).column_attrs]
        await ledger_records(session, ecom.id, kind,
                             [{c: getattr(r, c) for c in columns} for r in rows])
    from probity.finance.rules import run_rules

    await run_rules(session, ecom.id, only=["payee_not_company", "rising_compensation"])
