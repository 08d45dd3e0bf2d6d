"""Every imported refund record is its own ledger entry; imported payments are leaves of ONE
batch entry (probity-record-batch/v1) whose leaf texts are what their own entries held before;
the chain and the rows verify."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.cases.helpers import customers, tenant
from tests.finance.test_import import _upload

from probity.finance.records import leaf_of_row
from probity.ledger.batch import BATCH_FORMAT, leaf_hashes, root_hash, unpack_leaves
from probity.ledger.service import verify_tenant
from probity.models import Order, Payment
from probity.models.ledger import LedgerBatchLeaves, LedgerEntry


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
    assert "LR-1" in payloads and not {"LP-1", "LP-2"} & set(payloads)
    (batch,) = (await db.scalars(select(LedgerEntry).where(
        LedgerEntry.tenant_id == t.id, LedgerEntry.type == "finance.payment_batch"))).all()
    assert batch.payload is not None
    body = json.loads(batch.payload)
    assert body["format"] == BATCH_FORMAT and body["count"] == 2 and body["record"] == "payment"
    rows = (await db.execute(select(Payment.__table__).where(
        Payment.tenant_id == t.id, Payment.ledger_seq == batch.seq)
        .order_by(Payment.ledger_index))).all()
    assert [(r.payment_no, r.ledger_index) for r in rows] == [("LP-1", 0), ("LP-2", 1)]
    texts = [leaf_of_row(r._mapping) for r in rows]
    assert None not in texts
    leaves = [json.loads(str(text)) for text in texts]
    assert leaves[0]["amount"] in ("10", "10.00") and leaves[0]["action"] == "insert"
    assert leaves[0]["payment_no"] == "LP-1" and len(leaves[0]["_salt"]) == 32
    blob = await db.scalar(select(LedgerBatchLeaves.leaves).where(
        LedgerBatchLeaves.tenant_id == t.id, LedgerBatchLeaves.seq == batch.seq))
    assert blob is not None
    stored = unpack_leaves(blob)
    assert stored == leaf_hashes([str(text) for text in texts])
    assert root_hash(stored).hex() == body["root"]
    result = await verify_tenant(db, t.id)
    assert result.ok, result
