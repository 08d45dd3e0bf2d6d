"""Finance imports: mapping, dry-run preview, per-row errors, all-or-nothing, idempotent
re-import, XLSX, the JSON feed, and the payee registry."""

from __future__ import annotations

import io
import json
from typing import Any

from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.cases.helpers import customers, team_agents, tenant

from probity.models import ImportBatch, LedgerEntry, Order, PayeeAccount, Payment, Refund

ORDERS = """order_no,customer_no,customer_name,item,amount,status,placed_at
T-0001,{c},,耳机,199.00,paid,2026-11-20 10:00:00
T-0002,NEW-CUST-1,王女士,保温杯,59,completed,2026-11-21 11:30
T-0003,NEW-CUST-1,王女士,羽绒服,899.5,created,2026-11-22
"""


async def _upload(client: Any, tenant_id: int, kind: str, content: bytes | str,
                  filename: str = "data.csv", **form: Any) -> Any:
    data = content.encode() if isinstance(content, str) else content
    fields = {"tenant_id": str(tenant_id), "kind": kind,
              **{k: (json.dumps(v) if isinstance(v, dict) else str(v).lower()
                     if isinstance(v, bool) else str(v)) for k, v in form.items()}}
    return await client.post("/api/v1/finance/imports", data=fields,
                             files={"file": (filename, data)})


async def _count(db: AsyncSession, model: Any, tenant_id: int) -> int:
    return int(await db.scalar(select(func.count()).select_from(model).where(
        model.tenant_id == tenant_id)) or 0)


async def test_dry_run_previews_and_writes_nothing(db: AsyncSession, as_user: Any) -> None:
    t = await tenant(db, "ECOM")
    (c,) = await customers(db, t.id, 1)
    client = await as_user("finance")
    before = await _count(db, Order, t.id)
    r = await _upload(client, t.id, "orders", ORDERS.format(c=c.customer_no))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["dry_run"] is True
    assert (body["rows"], body["insert"], body["new_customers"], body["error_count"]) == \
        (3, 3, 1, 0)
    assert body["preview"][0]["order_no"] == "T-0001"
    assert await _count(db, Order, t.id) == before


async def test_commit_then_reimport_is_idempotent(db: AsyncSession, as_user: Any) -> None:
    t = await tenant(db, "ECOM")
    (c,) = await customers(db, t.id, 1)
    client = await as_user("finance")
    before = await _count(db, Order, t.id)
    ledger_before = await _count(db, LedgerEntry, t.id)
    csv_text = ORDERS.format(c=c.customer_no)
    r = await _upload(client, t.id, "orders", csv_text, dry_run=False)
    assert r.status_code == 200, r.text
    assert r.json()["import_id"] and r.json()["insert"] == 3
    assert await _count(db, Order, t.id) == before + 3
    placed = await db.scalar(select(Order.placed_at).where(Order.order_no == "T-0001"))
    assert placed is not None and placed.hour == 2  # 10:00 Shanghai = 02:00 UTC
    again = await _upload(client, t.id, "orders", csv_text, dry_run=False)
    assert again.status_code == 200
    assert (again.json()["insert"], again.json()["unchanged"]) == (0, 3)
    assert await _count(db, Order, t.id) == before + 3
    # A status change on re-import updates the order; nothing else may change.
    changed = csv_text.replace("T-0003,NEW-CUST-1,王女士,羽绒服,899.5,created",
                               "T-0003,NEW-CUST-1,王女士,羽绒服,899.5,paid")
    r = await _upload(client, t.id, "orders", changed, dry_run=False)
    assert (r.json()["update"], r.json()["unchanged"]) == (1, 2)
    conflict = csv_text.replace("199.00", "1.00")
    r = await _upload(client, t.id, "orders", conflict, dry_run=False)
    assert r.status_code == 422 and r.json()["errors"][0]["column"] == "amount"
    batches = (await client.get("/api/v1/finance/imports")).json()
    assert len(batches) >= 3 and batches[0]["kind"] == "orders"
    assert await _count(db, LedgerEntry, t.id) > ledger_before  # one entry per batch


async def test_bad_rows_are_reported_and_nothing_is_half_imported(db: AsyncSession,
                                                                  as_user: Any) -> None:
    t = await tenant(db, "ECOM")
    (c,) = await customers(db, t.id, 1)
    client = await as_user("finance")
    before = await _count(db, Order, t.id)
    bad = (
        "order_no,customer_no,amount,status,placed_at\n"
        f"B-1,{c.customer_no},100,paid,2026-11-20\n"        # fine
        f"B-2,{c.customer_no},-5,paid,2026-11-20\n"         # negative amount
        f"B-3,{c.customer_no},10,paid,1999-01-01\n"         # out-of-range date
        f"B-4,{c.customer_no},10,paid,next tuesday\n"       # not a date
        f"B-1,{c.customer_no},100,paid,2026-11-20\n"        # duplicate row
        f"B-5,{c.customer_no},10,teleported,2026-11-20\n"   # unknown status
        "B-6,NOBODY,10,paid,2026-11-20\n"                   # unknown customer, no name
        f"B-7,{c.customer_no},,paid,2026-11-20\n"           # missing amount
        f"B-8,{c.customer_no},10.123,paid,2026-11-20\n"     # three decimals
    )
    r = await _upload(client, t.id, "orders", bad, dry_run=False)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "row_errors" and body["error_count"] == 8, body["errors"]
    by_row = {e["row"]: e for e in body["errors"]}
    assert by_row[3]["column"] == "amount" and "positive" in by_row[3]["error"]
    assert by_row[4]["column"] == "placed_at" and "out of range" in by_row[4]["error"]
    assert by_row[5]["column"] == "placed_at"
    assert "duplicate of row 2" in by_row[6]["error"]
    assert by_row[7]["column"] == "status"
    assert "unknown customer" in by_row[8]["error"]
    assert by_row[9]["error"] == "required"
    assert "two decimal" in by_row[10]["error"]
    # The same row errors in Chinese, for zh-CN users (the import page shows these).
    assert "正数" in by_row[3]["error_zh"] and "超出范围" in by_row[4]["error_zh"]
    assert "第 2 行" in by_row[6]["error_zh"] and "teleported" in by_row[7]["error_zh"]
    assert "未知客户 NOBODY" in by_row[8]["error_zh"] and by_row[9]["error_zh"] == "必填"
    assert by_row[10]["error_zh"] == "最多两位小数"
    assert "8" in body["detail"] and "未导入" in body["detail"]  # zh-CN by default
    assert await _count(db, Order, t.id) == before
    # File-level problems.
    r = await _upload(client, t.id, "orders", "order_no,customer_no,amount,status,placed_at,"
                      "colour\nX,Y,1,paid,2026-11-20,red\n")
    assert r.status_code == 422 and r.json()["code"] == "unknown_columns"
    assert r.json()["columns"] == ["colour"]
    r = await _upload(client, t.id, "orders", "order_no,amount\nX,1\n")
    assert r.status_code == 422 and r.json()["code"] == "missing_columns"
    r = await _upload(client, t.id, "orders", b"PK\x03\x04garbage", filename="x.xlsx")
    assert r.status_code == 422 and r.json()["code"] == "malformed_file"
    r = await _upload(client, t.id, "orders", b"", filename="x.csv")
    assert r.status_code == 422 and r.json()["code"] == "empty_file"
    r = await _upload(client, t.id, "orders", 'order_no,customer_no\n"unterminated,x\n')
    assert r.status_code in (200, 422)  # csv module may accept it; never a 500
    r = await _upload(client, t.id, "orders", "a\n", filename="x.pdf")
    assert r.status_code == 422 and r.json()["code"] == "unsupported_file"


async def test_column_mapping_aliases_and_ignore(db: AsyncSession, as_user: Any) -> None:
    t = await tenant(db, "ECOM")
    (c,) = await customers(db, t.id, 1)
    client = await as_user("finance")
    content = ("单号,客户编号,金额,状态,下单时间,内部备注\n"
               f"M-1,{c.customer_no},88,paid,2026-11-20 09:00,x\n")
    r = await _upload(client, t.id, "orders", content, mapping={"单号": "order_no"},
                      ignore="内部备注")
    assert r.status_code == 200, r.text
    assert r.json()["insert"] == 1 and r.json()["preview"][0]["amount"] == "88.00"
    r = await _upload(client, t.id, "orders", content, mapping={"单号": "colour"})
    assert r.status_code == 422 and r.json()["code"] == "unknown_field"


async def test_xlsx_payments_and_refunds(db: AsyncSession, as_user: Any) -> None:
    from datetime import datetime

    t = await tenant(db, "ECOM")
    (c,) = await customers(db, t.id, 1)
    agent, _ = await team_agents(db, t.id)
    order = await db.scalar(select(Order).where(Order.customer_id == c.id).limit(1))
    assert order is not None
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["payment_no", "order_no", "customer_no", "amount", "method", "payee_account",
               "paid_at"])
    ws.append(["XP-1", order.order_no, c.customer_no, float(order.amount), "wechat_pay",
               "MCH-ECOM-0001", datetime(2026, 11, 20, 10, 0)])
    buf = io.BytesIO()
    wb.save(buf)
    client = await as_user("finance")
    r = await _upload(client, t.id, "payments", buf.getvalue(), filename="p.xlsx",
                      dry_run=False)
    assert r.status_code == 200, r.text
    assert await db.scalar(select(Payment.amount).where(Payment.payment_no == "XP-1")) == \
        order.amount
    refunds = ("refund_no,kind,order_no,amount,reason,approved_by,refunded_at\n"
               f"XR-1,compensation,{order.order_no},20,延迟发货,{agent.employee_no},"
               "2026-11-21 10:00\n"
               f"XR-2,refund,{order.order_no},{order.amount + 1},多退,,2026-11-21 10:00\n")
    r = await _upload(client, t.id, "refunds", refunds, dry_run=False)
    assert r.status_code == 422 and "exceeds order amount" in r.json()["errors"][0]["error"]
    r = await _upload(client, t.id, "refunds", refunds.splitlines()[0] + "\n" +
                      refunds.splitlines()[1] + "\n", dry_run=False)
    assert r.status_code == 200, r.text
    ref = await db.scalar(select(Refund).where(Refund.refund_no == "XR-1"))
    assert ref is not None and ref.kind == "compensation"
    assert ref.approved_by_employee_id == agent.id


async def test_feed_takes_the_same_rows(db: AsyncSession, as_user: Any) -> None:
    t = await tenant(db, "ECOM")
    (c,) = await customers(db, t.id, 1)
    client = await as_user("finance")
    rows = [{"order_no": "F-1", "customer_no": c.customer_no, "amount": "12.5",
             "status": "paid", "placed_at": "2026-11-20T10:00:00+08:00"}]
    r = await client.post("/api/v1/finance/feed", json={"tenant_id": t.id, "kind": "orders",
                                                        "rows": rows})
    assert r.status_code == 200, r.text
    assert r.json()["insert"] == 1 and r.json()["import_id"]
    r = await client.post("/api/v1/finance/feed", json={"tenant_id": t.id, "kind": "orders",
                                                        "rows": rows})
    assert r.json()["unchanged"] == 1
    r = await client.post("/api/v1/finance/feed", json={
        "tenant_id": t.id, "kind": "orders", "rows": [{**rows[0], "order_no": "F-2",
                                                       "amount": -1}]})
    assert r.status_code == 422 and r.json()["errors"][0]["column"] == "amount"
    home = await tenant(db, "HOME")
    r = await client.post("/api/v1/finance/feed", json={"tenant_id": home.id, "kind": "orders",
                                                        "rows": rows})
    assert r.status_code == 422 and r.json()["code"] == "unknown_tenant"
    # A bearer token works too (the feed is for systems, not people).
    tok = await client.post("/api/v1/tokens", json={"name": "feed"})
    assert tok.status_code in (200, 201), tok.text
    client.cookies.clear()
    client.headers.pop("X-CSRF-Token", None)
    r = await client.post("/api/v1/finance/feed",
                          headers={"Authorization": f"Bearer {tok.json()['token']}"},
                          json={"tenant_id": t.id, "kind": "orders", "rows": rows,
                                "dry_run": True})
    assert r.status_code == 200, r.text
    assert r.json()["unchanged"] == 1
    compliance = await as_user("compliance")
    assert (await compliance.post("/api/v1/finance/feed", json={
        "tenant_id": t.id, "kind": "orders", "rows": rows})).status_code == 403


async def test_payee_registry(db: AsyncSession, as_user: Any) -> None:
    t = await tenant(db, "ECOM")
    agent, _ = await team_agents(db, t.id)
    client = await as_user("finance")
    r = await client.post("/api/v1/finance/payees", json={
        "tenant_id": t.id, "account_no": "MCH-ECOM-0002", "kind": "company"})
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/finance/payees", json={
        "tenant_id": t.id, "account_no": "6222000011112222", "kind": "employee",
        "account_type": "bank_account", "employee_id": agent.id})
    assert r.status_code == 201, r.text
    dup = await client.post("/api/v1/finance/payees", json={
        "tenant_id": t.id, "account_no": "MCH-ECOM-0002", "kind": "company"})
    assert dup.status_code == 409
    nobody = await client.post("/api/v1/finance/payees", json={
        "tenant_id": t.id, "account_no": "X", "kind": "employee"})
    assert nobody.status_code == 422
    check = "/api/v1/finance/payees/check?tenant_id={}&account_no={}"
    assert (await client.get(check.format(t.id, "MCH-ECOM-0002"))).json()["status"] == "company"
    # The demo registers each subsidiary's merchant account.
    assert (await client.get(check.format(t.id, "MCH-ECOM-0001"))).json()["status"] == "company"
    emp = (await client.get(check.format(t.id, "6222000011112222"))).json()
    assert emp["status"] == "employee" and emp["employee_id"] == agent.id
    assert (await client.get(check.format(t.id, "ALIPAY-ME"))).json()["status"] == "unknown"
    # Payees import too (company QR merchant codes).
    r = await _upload(client, t.id, "payees",
                      "account_no,kind,account_type,label\nQR-ECOM-9,company,qr_merchant,门店\n",
                      dry_run=False)
    assert r.status_code == 200, r.text
    assert await _count(db, PayeeAccount, t.id) >= 3
    assert await _count(db, ImportBatch, t.id) >= 1


async def test_a_large_file_passes_the_body_limit(db: AsyncSession, as_user: Any) -> None:
    """Imports may exceed the general 2 MB body limit (up to max_import_bytes)."""
    t = await tenant(db, "ECOM")
    (c,) = await customers(db, t.id, 1)
    client = await as_user("finance")
    rows = "".join(f"BIG-{i:07d},{c.customer_no},{10 + i % 90}.00,paid,2026-11-20 10:00\n"
                   for i in range(60000))
    content = "order_no,customer_no,amount,status,placed_at\n" + rows
    assert len(content) > 2 * 1024 * 1024
    r = await _upload(client, t.id, "orders", content)
    assert r.status_code == 200, r.text[:300]
    assert r.json()["rows"] == 60000 and r.json()["insert"] == 60000
    # Other endpoints keep the general limit.
    big = await client.post("/api/v1/finance/feed", content=b"x" * (3 * 1024 * 1024),
                            headers={"content-type": "application/json"})
    assert big.status_code == 413
