"""Every imported payment and refund record is its own ledger entry, and the chain verifies."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.cases.helpers import customers, tenant
from tests.finance.test_import import _upload

from probity.ledger.service import verify_tenant
from probity.models import Order
from probity.models.ledger import LedgerEntry


async def test_each_payment_and_refund_is_ledgered(db: AsyncSession, as_user: Any) -> None:
    t = await tenant(db, "ECOM")
    (c,) = await customers(db, t.id, 1)
    order = await db.scalar(select(Order).where(Order.customer_id == c.id).limit(1))
    assert order is not None
    client = await as_user("finance")
    payments = ("payment_no,order_no,customer_no,amount,method,payee_account,paid_at\n"
                f"LP-1,{order.order_no},{c.customer_no},10,alipay,MCH-ECOM-0001,2026-11-20 10:00\n"
                f"LP-2,{order.order_no},{c.customer_no},5,alipay,MCH-ECOM-0001,2026-11-20 11:00\n")
    r = await _upload(client, t.id, "payments", payments, dry_run=False)
    assert r.status_code == 200, r.text
    refunds = ("refund_no,kind,order_no,amount,reason,refunded_at\n"
               f"LR-1,refund,{order.order_no},1,破损,2026-11-21 10:00\n")
    r = await _upload(client, t.id, "refunds", refunds, dry_run=False)
    assert r.status_code == 200, r.text
    rows = (await db.scalars(select(LedgerEntry).where(
        LedgerEntry.tenant_id == t.id,
        LedgerEntry.type.in_(["finance.payment", "finance.refund"])))).all()
    payloads = {json.loads(e.payload)["payment_no" if e.type == "finance.payment" else
                                       "refund_no"]: json.loads(e.payload) for e in rows
                if e.payload}
    assert {"LP-1", "LP-2", "LR-1"} <= set(payloads)
    assert payloads["LP-1"]["amount"] in ("10", "10.00") and payloads["LP-1"]["action"] == "insert"
    result = await verify_tenant(db, t.id)
    assert result.ok, result
