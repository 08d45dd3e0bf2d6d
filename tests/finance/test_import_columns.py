"""A clean payments file is resolved column by column (`importer._resolve_payments_columns`):
its plan — inserts, row errors, preview, earliest time, unchanged count — is exactly the row
loop's, for clean files and for files whose rows name an unknown customer or order, another
customer's order, or a payment recorded before (those go to the row loop, with its errors)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.cases.helpers import customers, tenant

from probity.finance import importer

HEAD = "payment_no,order_no,customer_no,amount,method,payee_account,paid_at\n"


async def _plan(db: AsyncSession, tenant_id: int, text: str) -> importer.Plan:
    headers, rows = importer.read_table(text.encode(), "p.csv")
    return await importer.plan_import(db, tenant_id, "payments", headers, rows)


def _shape(plan: importer.Plan) -> tuple[Any, ...]:
    return (plan.rows, plan.inserts, plan.errors, plan.error_count, plan.unchanged,
            plan.preview, plan.earliest, plan.updates)


async def test_columns_plan_as_the_row_loop(db: AsyncSession,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    t = await tenant(db, "ECOM")
    c1, c2 = await customers(db, t.id, 2)
    orders = ("order_no,customer_no,amount,status,placed_at\n"
              f"CO-1,{c1.customer_no},100.00,paid,2026-11-01 10:00\n"
              f"CO-2,{c2.customer_no},80.00,paid,2026-11-01 11:00\n")
    headers, rows = importer.read_table(orders.encode(), "o.csv")
    plan = await importer.plan_import(db, t.id, "orders", headers, rows)
    await importer.apply_plan(db, plan, None, source="file", filename="o.csv",
                              sha256="0" * 64, run_rules=False)
    clean = HEAD + "".join(
        f"CP-{i},CO-{1 + i % 2},{(c1, c2)[i % 2].customer_no},{10 + i}.50,alipay,"
        f"MCH-{i % 3},2026-11-0{1 + i % 9} 0{i % 10}:00:00\n" for i in range(25))
    files = {
        "clean": clean,
        "no order column": clean.replace(",CO-1,", ",").replace(",CO-2,", ",").replace(
            "order_no,", ""),
        "unknown customer": clean.replace(f"CP-3,CO-2,{c2.customer_no}", "CP-3,CO-2,NOPE-9"),
        "unknown order": clean.replace("CP-4,CO-1,", "CP-4,CO-77,"),
        "another's order": clean.replace(f"CP-5,CO-2,{c2.customer_no}",
                                         f"CP-5,CO-2,{c1.customer_no}"),
        "blank order": clean.replace("CP-6,CO-1,", "CP-6,,"),
    }
    loops: list[int] = []
    real_loop = importer._payments_loop

    def counted(*args: Any) -> None:
        loops.append(1)
        real_loop(*args)

    monkeypatch.setattr(importer, "_payments_loop", counted)
    for name, text in files.items():
        loops.clear()
        by_columns = _shape(await _plan(db, t.id, text))
        taken = bool(loops)
        with monkeypatch.context() as m:
            m.setattr(importer, "COLUMN_RESOLVERS", {})
            by_rows = _shape(await _plan(db, t.id, text))
        assert by_columns == by_rows, name
        # The clean files never reach the row loop; the others name their rows' errors.
        assert taken == (name not in ("clean", "no order column")), name
        assert (by_columns[3] == 0) == (name in ("clean", "no order column", "blank order")), \
            name
    # Recorded before: every row unchanged (the row loop's idempotence check).
    plan = await _plan(db, t.id, clean)
    await importer.apply_plan(db, plan, None, source="file", filename="p.csv",
                              sha256="1" * 64, run_rules=False)
    loops.clear()
    again = _shape(await _plan(db, t.id, clean))
    with monkeypatch.context() as m:
        m.setattr(importer, "COLUMN_RESOLVERS", {})
        assert again == _shape(await _plan(db, t.id, clean))
    assert again[4] == 25 and not again[1] and loops


class _Salts:
    @staticmethod
    def token_hex(n: int = 32) -> str:
        return "".join(f"{i % 256:02x}" for i in range(n))


async def test_columns_write_what_the_rows_write(db: AsyncSession,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A clean payments file written from its columns (`ledger_batch_columns`,
    `bulk.insert_columns`) stores the same payments, leaves and batch entry payload as the
    row dicts' write (`ledger_batch`, `bulk.insert_rows`)."""

    from probity.ledger import batch
    from probity.models import LedgerEntry, Payment
    from probity.models.ledger import LedgerBatchLeaves

    monkeypatch.setattr(batch, "secrets", _Salts())
    t = await tenant(db, "ECOM")
    (c1,) = await customers(db, t.id, 1)
    text = HEAD.replace("order_no,", "") + "".join(
        f"WP-{i},{c1.customer_no},{3 + i}.25,wechat_pay,MCH-ECOM-0001,2026-11-02 1{i}:00:00\n"
        for i in range(6))

    async def stored(columnar: bool) -> tuple[Any, ...]:
        nested = await db.begin_nested()
        with monkeypatch.context() as m:
            if not columnar:
                m.setattr(importer, "COLUMN_RESOLVERS", {})
            plan = await _plan(db, t.id, text)
            assert (plan.columns is not None) == columnar
            assert plan.insert_count() == plan.summary()["insert"] == 6
            await importer.apply_plan(db, plan, None, source="file", filename="p.csv",
                                      sha256="2" * 64, run_rules=False)
            # The column write never built the plan's row dicts (`Plan.set_columns`).
            assert plan.columns_of is None or not columnar
            assert len(plan.inserts) == 6
        rows = (await db.execute(select(
            Payment.payment_no, Payment.order_id, Payment.customer_id, Payment.amount,
            Payment.currency, Payment.method, Payment.payee_account, Payment.paid_at,
            Payment.ledger_seq, Payment.ledger_index, Payment.ledger_salt)
            .where(Payment.tenant_id == t.id, Payment.payment_no.like("WP-%"))
            .order_by(Payment.id))).all()
        seq = rows[0][8]
        leaves = await db.scalar(select(LedgerBatchLeaves.leaves).where(
            LedgerBatchLeaves.tenant_id == t.id, LedgerBatchLeaves.seq == seq))
        payload = await db.scalar(select(LedgerEntry.payload).where(
            LedgerEntry.tenant_id == t.id, LedgerEntry.seq == seq))
        await nested.rollback()
        return [tuple(r) for r in rows], bytes(leaves or b""), payload

    by_columns, by_rows = await stored(True), await stored(False)
    assert len(by_columns[0]) == 6 and by_columns[1]
    assert by_columns == by_rows


def test_column_inserts_only_while_they_are_the_inserts() -> None:
    """`Plan.inserts` is built from the columns when read (the row loop's dicts, in its key
    order); once it is changed, the write takes the rows, not the stale columns."""
    plan = importer.Plan(tenant_id=1, kind="payments")
    columns = {"payment_no": ["P-1", "P-2"], "amount": [1, 2]}
    plan.set_columns(columns)
    assert plan.insert_count() == 2 and plan.column_inserts() is columns
    assert plan.inserts == [{"payment_no": "P-1", "amount": 1},
                            {"payment_no": "P-2", "amount": 2}]
    assert plan.column_inserts() is columns  # read, unchanged
    plan.inserts.append({"payment_no": "P-3", "amount": 3})
    assert plan.column_inserts() is None and plan.insert_count() == 3
    plan.set_columns(columns)
    plan.inserts = [{"payment_no": "P-9", "amount": 9}]
    assert plan.column_inserts() is None and plan.insert_count() == 1
    assert plan == importer.Plan(tenant_id=1, kind="payments",
                                 inserts=[{"payment_no": "P-9", "amount": 9}])


async def test_lookup_by_scan_as_by_keys(db: AsyncSession,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """`_lookup` reads a tenant's rows and keeps the named ones when the keys are many against
    the rows there, else probes the keys: the same rows either way (known and unknown keys,
    another tenant's rows left out)."""
    from probity.models import Customer

    t = await tenant(db, "ECOM")
    known = await customers(db, t.id, 5)
    keys = {c.customer_no for c in known} | {"NOPE-1", "NOPE-2"}
    other = await db.scalar(select(Customer.customer_no).where(Customer.tenant_id != t.id))
    if other is not None:
        keys.add(other)

    async def found() -> dict[str, Any]:
        return await importer._lookup(db, Customer.customer_no, keys, Customer.id,
                                      where=Customer.tenant_id == t.id)

    monkeypatch.setattr(importer, "SCAN_FROM_KEYS", 10**9)
    by_keys = await found()
    monkeypatch.setattr(importer, "SCAN_FROM_KEYS", 0)
    monkeypatch.setattr(importer, "SCAN_PER_KEY", 10**9)
    by_scan = await found()
    assert by_scan == by_keys
    assert sorted(by_keys) == sorted(c.customer_no for c in known)
    assert by_keys[known[0].customer_no] == (known[0].customer_no, known[0].id)
    monkeypatch.setattr(importer, "SCAN_PER_KEY", 0)  # more rows than that: by keys again
    assert await found() == by_keys
