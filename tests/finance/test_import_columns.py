"""A clean payments file is resolved column by column (`importer._resolve_payments_columns`):
its plan — inserts, row errors, preview, earliest time, unchanged count — is exactly the row
loop's, for clean files and for files whose rows name an unknown customer or order, another
customer's order, or a payment recorded before (those go to the row loop, with its errors)."""

from __future__ import annotations

from typing import Any

import pytest
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
