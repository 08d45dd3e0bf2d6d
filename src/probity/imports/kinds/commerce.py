"""Customers, and historical orders, payments and refunds.

Orders, payments and refunds keep finance's own checks: their fields are finance's
(`finance.importer.SPECS`), and their natural keys are resolved and written by finance's
resolvers and `apply_plan` (the finance import batch; one `finance.refund` ledger entry per
refund, one `finance.payment_batch` entry committing to all the payments as Merkle leaves).
The framework adds the reading (JSONL, encoding detection), saved
mappings, the job and the pages. Anomaly rules are not run on a migration (history would flood
the alert feed); `probity finance rules` runs them on demand.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Perm
from probity.finance import importer as fin
from probity.imports.engine import ImportContext
from probity.imports.plan import MAX_ERRORS
from probity.imports.registry import (
    Field,
    ImportKind,
    Row,
    register_kind,
    stream_rows,
)
from probity.imports.registry import parsers as p
from probity.models import Customer, Employee, Order, Payment, Refund


def _iso(v: datetime) -> str:
    return v.isoformat()


# --- customers -------------------------------------------------------------------------------


async def resolve_customers(ctx: ImportContext, rows: list[Row]) -> None:
    existing = await ctx.lookup(Customer.customer_no, (r["customer_no"] for _, r in rows),
                                Customer.id, Customer.name, Customer.phone,
                                where=Customer.tenant_id == ctx.tenant_id)
    for n, r in rows:
        old = existing.get(r["customer_no"])
        values = {"name": r["name"], "phone": r.get("phone") or None}
        if old is None:
            ctx.plan.insert(n, {"customer_no": r["customer_no"], **values})
        elif (old.name, old.phone) == (values["name"], values["phone"]):
            ctx.plan.same()
        else:
            ctx.plan.update(n, {"id": old.id, **values}, show=r)


async def apply_customers(ctx: ImportContext) -> None:
    await ctx.insert(Customer, [{"tenant_id": ctx.tenant_id, **r} for r in ctx.plan.inserts])
    await ctx.update(Customer, ctx.plan.updates)


async def export_customers(session: AsyncSession, tenant_id: int
                           ) -> AsyncIterator[dict[str, Any]]:
    async for c in stream_rows(session, select(Customer.customer_no, Customer.name,
                                               Customer.phone)
                               .where(Customer.tenant_id == tenant_id).order_by(Customer.id)):
        yield {"customer_no": c.customer_no, "name": c.name, "phone": c.phone}


register_kind(ImportKind(
    name="customers", title="Customers", perm=Perm.finance_import, key=("customer_no",),
    order=40, fields=(
        Field("customer_no", p.text(32), aliases=("客户编号",)),
        Field("name", p.text(100), aliases=("客户姓名", "姓名")),
        Field("phone", p.text(32), required=False, aliases=("手机", "电话")),
    ),
    resolve=resolve_customers, apply=apply_customers, export=export_customers))


# --- finance kinds through finance's own pipeline ----------------------------------------------


async def resolve_finance(ctx: ImportContext, rows: list[Row]) -> None:
    fplan = fin.Plan(tenant_id=ctx.tenant_id, kind=ctx.kind.name, rows=ctx.plan.rows)
    await fin.RESOLVERS[ctx.kind.name](ctx.session, fplan, rows, None)
    # Finance's row errors come in English and Chinese already (finance.po).
    room = max(MAX_ERRORS - len(ctx.plan.errors), 0)
    ctx.plan.errors.extend(fplan.errors[:room])
    ctx.plan.error_count += fplan.error_count
    ctx.plan.inserts, ctx.plan.updates = fplan.inserts, fplan.updates
    ctx.plan.unchanged += fplan.unchanged
    ctx.plan.preview = [{k: (str(v) if v is not None else None) for k, v in r.items()}
                        for r in fplan.preview]
    if fplan.new_customers:
        ctx.plan.extra["new_customers"] = len(fplan.new_customers)
    ctx.state["finance_plan"] = fplan


async def apply_finance(ctx: ImportContext) -> None:
    run = ctx.run
    assert run is not None
    await fin.apply_plan(ctx.session, ctx.state["finance_plan"], ctx.actor, source="import",
                         filename=run.filename, sha256=run.sha256, run_rules=False)


async def export_orders(session: AsyncSession, tenant_id: int) -> AsyncIterator[dict[str, Any]]:
    q = (select(Order.order_no, Customer.customer_no, Customer.name, Order.item, Order.amount,
                Order.currency, Order.status, Order.placed_at, Order.contact_phone)
         .join(Customer, Customer.id == Order.customer_id).where(Order.tenant_id == tenant_id)
         .order_by(Order.id))
    async for o in stream_rows(session, q):
        yield {"order_no": o.order_no, "customer_no": o.customer_no, "customer_name": o.name,
               "item": o.item, "amount": str(o.amount), "currency": o.currency,
               "status": o.status.value, "placed_at": _iso(o.placed_at),
               "contact_phone": o.contact_phone}


async def export_payments(session: AsyncSession, tenant_id: int
                          ) -> AsyncIterator[dict[str, Any]]:
    q = (select(Payment.payment_no, Order.order_no, Customer.customer_no, Payment.amount,
                Payment.currency, Payment.method, Payment.payee_account, Payment.paid_at)
         .join(Customer, Customer.id == Payment.customer_id)
         .outerjoin(Order, Order.id == Payment.order_id)
         .where(Payment.tenant_id == tenant_id).order_by(Payment.id))
    async for pay in stream_rows(session, q):
        yield {"payment_no": pay.payment_no, "order_no": pay.order_no,
               "customer_no": pay.customer_no, "amount": str(pay.amount),
               "currency": pay.currency, "method": pay.method.value,
               "payee_account": pay.payee_account, "paid_at": _iso(pay.paid_at)}


async def export_refunds(session: AsyncSession, tenant_id: int
                         ) -> AsyncIterator[dict[str, Any]]:
    q = (select(Refund.refund_no, Refund.kind, Order.order_no, Refund.amount, Refund.currency,
                Refund.reason, Employee.employee_no, Refund.refunded_at)
         .outerjoin(Order, Order.id == Refund.order_id)
         .outerjoin(Employee, Employee.id == Refund.approved_by_employee_id)
         .where(Refund.tenant_id == tenant_id).order_by(Refund.id))
    async for r in stream_rows(session, q):
        yield {"refund_no": r.refund_no, "kind": r.kind, "order_no": r.order_no,
               "amount": str(r.amount), "currency": r.currency, "reason": r.reason,
               "approved_by": r.employee_no, "refunded_at": _iso(r.refunded_at)}


for _name, _title, _order, _export in (
        ("orders", "Orders", 50, export_orders), ("payments", "Payments", 60, export_payments),
        ("refunds", "Refunds and compensations", 70, export_refunds)):
    register_kind(ImportKind(
        name=_name, title=_title, perm=Perm.finance_import, key=(fin.SPECS[_name].key,),
        order=_order, fields=fin.IMPORT_FIELDS[_name], resolve=resolve_finance, apply=apply_finance,
        export=_export))
