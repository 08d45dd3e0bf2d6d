"""Each importer: insert, idempotent re-import, allowed changes, row errors (row, column,
English and Chinese message), and what each writes besides its rows (events, ledger entries)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.ledger.service import verify_tenant
from probity.models import (
    AuditEntry,
    Customer,
    Employee,
    EmploymentEvent,
    ImportKey,
    ImportRun,
    LeaveBalance,
    LedgerEntry,
    Message,
    OrgUnit,
    Payment,
    Position,
    ShiftAssignment,
    ShiftTemplate,
)

from .helpers import counts, run_kind, tenant_id

UNITS = "code,name,kind,parent_code\nMIG-D,迁移部,department,\nMIG-T1,迁移一组,team,MIG-D\n"
POSITIONS = "岗位编码,岗位名称,职级\nMIG-P1,迁移专员,P3\n"
STAFF = ("工号,姓名,入职日期,部门编码,岗位编码,上级工号,手机\n"
         "M001,赵一,2024-01-02,MIG-T1,MIG-P1,,13800000001\n"
         "M002,钱二,2024-02-03,MIG-T1,MIG-P1,M001,13800000002\n")


async def _org(db: AsyncSession, tid: int) -> None:
    for kind, text in (("org_units", UNITS), ("positions", POSITIONS), ("employees", STAFF)):
        plan = await run_kind(db, kind, tid, text)
        assert plan.error_count == 0, plan.errors


async def test_org_units_positions_employees(db: AsyncSession) -> None:
    tid = await tenant_id(db, "ECOM")
    dry = await run_kind(db, "org_units", tid, UNITS, commit=False)
    assert counts(dry) == {"insert": 2, "update": 0, "unchanged": 0, "errors": 0}
    assert await db.scalar(select(func.count()).where(OrgUnit.code == "MIG-D")) == 0
    await _org(db, tid)
    team = await db.scalar(select(OrgUnit).where(OrgUnit.code == "MIG-T1"))
    dept = await db.scalar(select(OrgUnit).where(OrgUnit.code == "MIG-D"))
    assert team and dept and team.parent_id == dept.id
    m1, m2 = (await db.scalars(select(Employee).where(Employee.employee_no.in_(
        ["M001", "M002"])).order_by(Employee.employee_no))).all()
    assert m2.manager_id == m1.id and m1.org_unit_id == team.id and m1.status.value == "active"
    assert await db.scalar(select(func.count()).where(
        EmploymentEvent.employee_id.in_([m1.id, m2.id]))) == 2
    assert await db.scalar(select(Position.id).where(Position.code == "MIG-P1")) == m1.position_id
    # A second run of the same files changes nothing.
    before = await db.scalar(select(func.count()).select_from(Employee))
    for kind, text in (("org_units", UNITS), ("positions", POSITIONS), ("employees", STAFF)):
        plan = await run_kind(db, kind, tid, text)
        assert counts(plan)["insert"] == counts(plan)["update"] == 0
        assert plan.unchanged == text.count("\n") - 1
    assert await db.scalar(select(func.count()).select_from(Employee)) == before
    # Contacts and names may change; a status may not (the lifecycle owns it).
    plan = await run_kind(db, "employees", tid, STAFF.replace("钱二", "钱小二"))
    assert counts(plan) == {"insert": 0, "update": 1, "unchanged": 1, "errors": 0}
    await db.refresh(m2)
    assert m2.name == "钱小二"
    plan = await run_kind(db, "employees", tid,
                          "工号,姓名,入职日期,状态\nM001,赵一,2024-01-02,left\n")
    assert plan.error_count == 1 and plan.errors[0]["column"] == "status"
    # A loop in the unit tree is a row error.
    plan = await run_kind(db, "org_units", tid, "code,name,parent_code\nMIG-D,迁移部,MIG-T1\n")
    assert plan.errors[0]["column"] == "parent_code"


async def test_row_errors_name_row_column_and_speak_both_languages(db: AsyncSession) -> None:
    tid = await tenant_id(db, "ECOM")
    text = ("工号,姓名,入职日期,部门编码\n"
            "X001,甲,2024-13-01,\n"           # row 2: not a date
            "X002,乙,2024-01-01,NOPE\n"       # row 3: unknown unit
            "X003,,2024-01-01,\n"             # row 4: name missing
            "X002,丙,2024-01-01,\n")          # row 5: duplicate key
    before = await db.scalar(select(func.count()).select_from(Employee))
    plan = await run_kind(db, "employees", tid, text)
    got = {(e["row"], e["column"]) for e in plan.errors}
    assert got == {(2, "hire_date"), (3, "org_unit_code"), (4, "name"), (5, "employee_no")}
    by_row = {e["row"]: e for e in plan.errors}
    assert "Not a date" in by_row[2]["error"] and "日期" in by_row[2]["error_zh"]
    assert "NOPE" in by_row[3]["error_zh"] and "组织" in by_row[3]["error_zh"]
    assert by_row[4]["error_zh"] == "必填。"
    assert "第 3 行" in by_row[5]["error_zh"]
    assert await db.scalar(select(func.count()).select_from(Employee)) == before


async def test_customers_orders_payments_through_finance(db: AsyncSession) -> None:
    tid = await tenant_id(db, "ECOM")
    plan = await run_kind(db, "customers", tid, "客户编号,客户姓名\nMC-1,孙客户\n")
    assert counts(plan)["insert"] == 1
    plan = await run_kind(db, "orders", tid, "order_no,customer_no,amount,status,placed_at\n"
                          "MO-1,MC-1,88.50,paid,2025-06-01 10:00\n")
    assert counts(plan)["insert"] == 1, plan.errors
    pay = ("payment_no,order_no,customer_no,amount,method,payee_account,paid_at\n"
           "MP-1,MO-1,MC-1,88.50,alipay,COMPANY-1,2025-06-01 10:05\n")
    plan = await run_kind(db, "payments", tid, pay)
    assert counts(plan)["insert"] == 1, plan.errors
    p = await db.scalar(select(Payment).where(Payment.payment_no == "MP-1"))
    assert p is not None and p.amount == Decimal("88.50")
    # A leaf of the import's batch entry (probity-record-batch/v1), not an entry of its own.
    assert p.ledger_seq is not None and p.ledger_index == 0 and p.ledger_salt is not None
    assert await db.scalar(select(func.count()).where(
        LedgerEntry.tenant_id == tid, LedgerEntry.type == "finance.payment_batch",
        LedgerEntry.seq == p.ledger_seq)) == 1
    again = await run_kind(db, "payments", tid, pay)
    assert counts(again) == {"insert": 0, "update": 0, "unchanged": 1, "errors": 0}
    bad = await run_kind(db, "payments", tid, pay.replace("88.50", "99.00"))
    assert bad.error_count == 1 and bad.errors[0]["column"] == "payment_no"


async def test_shift_templates_rotas_leave_balances(db: AsyncSession) -> None:
    tid = await tenant_id(db, "ECOM")
    await _org(db, tid)
    plan = await run_kind(db, "shift_templates", tid,
                          "code,name,start_time,end_time\nMIG-A,迁移早班,08:00,16:00\n"
                          "MIG-N,迁移夜班,22:00,06:00\n")
    assert counts(plan)["insert"] == 2
    rota = ("工号,日期,班次编码\nM001,2026-03-02,MIG-A\nM001,2026-03-03,MIG-N\n"
            "M002,2026-03-02,MIG-A\n")
    plan = await run_kind(db, "rotas", tid, rota)
    assert counts(plan) == {"insert": 3, "update": 0, "unchanged": 0, "errors": 0}
    team = await db.scalar(select(OrgUnit.id).where(OrgUnit.code == "MIG-T1"))
    a = await db.scalar(select(ShiftAssignment).join(ShiftTemplate).where(
        ShiftTemplate.code == "MIG-N"))
    assert a is not None and a.org_unit_id == team
    assert a.starts_at.hour == 14 and (a.ends_at - a.starts_at).total_seconds() == 8 * 3600
    assert counts(await run_kind(db, "rotas", tid, rota))["unchanged"] == 3
    # An overlap with a stored shift (night 22:00–06:00 vs. early the next day is fine; a
    # second shift the same morning is not).
    plan = await run_kind(db, "rotas", tid,
                          "工号,日期,班次编码\nM001,2026-03-04,MIG-N\nM001,2026-03-04,MIG-A\n"
                          "M001,2026-03-02,MIG-N\n")
    assert plan.error_count == 0, plan.errors
    plan = await run_kind(db, "rotas", tid, "employee_no,day,shift_code\n"
                          "M002,2026-03-05,MIG-N\nM002,2026-03-06,MIG-N\n"
                          "M002,2026-03-05,MIG-A\n", commit=False)
    assert plan.error_count == 0
    plan = await run_kind(db, "rotas", tid, "employee_no,day,shift_code\n"
                          "M002,2026-03-07,MIG-A\nM009,2026-03-07,MIG-A\n"
                          "M002,2026-03-07,MIG-N\n")
    assert {(e["row"], e["column"]) for e in plan.errors} == {(3, "employee_no")}
    plan = await run_kind(db, "rotas", tid, "employee_no,day,shift_code\n"
                          "M001,2026-03-02,MIG-A\n")  # stored already: unchanged
    assert plan.unchanged == 1
    # A part month: no shift before the hire date or after the leaving day (issue 13 gap 6).
    m2 = await db.scalar(select(Employee).where(Employee.employee_no == "M002"))
    assert m2 is not None
    m2.left_date = date(2026, 3, 10)
    await db.flush()
    plan = await run_kind(db, "rotas", tid, "employee_no,day,shift_code\n"
                          "M002,2026-03-10,MIG-A\nM002,2026-03-11,MIG-A\n", commit=False)
    assert [(e["row"], e["column"]) for e in plan.errors] == [(3, "day")]
    m2.left_date = None
    await db.flush()
    bal = "工号,假期类型,年度,应有天数,已用天数\nM001,annual,2026,10,2.5\nM002,sick,2026,5,\n"
    plan = await run_kind(db, "leave_balances", tid, bal)
    assert counts(plan)["insert"] == 2, plan.errors
    plan = await run_kind(db, "leave_balances", tid, bal.replace(",10,2.5", ",12,2.5"))
    assert counts(plan) == {"insert": 0, "update": 1, "unchanged": 1, "errors": 0}
    b = await db.scalar(select(LeaveBalance).join(Employee).where(Employee.employee_no == "M001"))
    assert b is not None and b.entitled_days == Decimal("12.0") and b.used_days == Decimal("2.5")
    plan = await run_kind(db, "leave_balances", tid,
                          "employee_no,leave_type,year,entitled_days\nM001,vacation,2026,5\n")
    assert plan.errors[0]["column"] == "leave_type"


TRANSCRIPT = ("会话编号,消息编号,团队编码,客户编号,客户姓名,客服工号,发送时间,发送方,内容\n"
              "C-1,1,MIG-T1,MC-9,周客户,M001,2025-05-01 10:00:00,customer,你好，我的订单还没发货\n"
              "C-1,2,MIG-T1,MC-9,周客户,M001,2025-05-01 10:01:00,agent,"
              "加我微信 wx13800000001 私下转账给你返现\n"
              "C-2,1,MIG-T1,MC-9,周客户,,2025-05-02 09:00:00,customer,还在吗\n")


async def test_transcripts_are_messages_marked_imported_and_ledgered(db: AsyncSession) -> None:
    tid = await tenant_id(db, "ECOM")
    await _org(db, tid)
    dry = await run_kind(db, "transcripts", tid, TRANSCRIPT, commit=False)
    assert counts(dry)["insert"] == 3 and dry.extra == {"new_customers": 1, "conversations": 2}
    assert await db.scalar(select(func.count()).select_from(Customer).where(
        Customer.customer_no == "MC-9")) == 0
    plan = await run_kind(db, "transcripts", tid, TRANSCRIPT)
    assert plan.error_count == 0, plan.errors
    msgs = (await db.scalars(select(Message).where(Message.client_id.like("import:%"),
                                                   Message.tenant_id == tid)
                             .order_by(Message.id))).all()
    assert len(msgs) == 3
    assert {m.screening_status for m in msgs} == {"imported"}
    assert [m.seq for m in msgs] == [1, 2, 1] and msgs[1].sender_role == "agent"
    assert await db.scalar(select(func.count()).where(
        LedgerEntry.tenant_id == tid, LedgerEntry.type == "chat.message",
        LedgerEntry.seq >= 0, LedgerEntry.id > 0,
        LedgerEntry.payload_hash != "")) >= 3
    assert await db.scalar(select(func.count()).select_from(ImportKey).where(
        ImportKey.tenant_id == tid)) == 5  # 2 conversations + 3 messages
    again = await run_kind(db, "transcripts", tid, TRANSCRIPT)
    assert counts(again) == {"insert": 0, "update": 0, "unchanged": 3, "errors": 0}
    edited = await run_kind(db, "transcripts", tid, TRANSCRIPT.replace("还在吗", "在吗"))
    assert edited.errors[0]["column"] == "body" and edited.errors[0]["row"] == 4
    # The runs are recorded, audited and ledgered as batches; the ledger and rows agree.
    assert await db.scalar(select(func.count()).where(ImportRun.kind == "transcripts")) == 2
    assert await db.scalar(select(func.count()).where(AuditEntry.action == "import.run")) >= 2
    result = await verify_tenant(db, tid)
    assert result.ok, result.message


async def test_finance_row_errors_in_chinese_through_the_framework(db: AsyncSession) -> None:
    """Orders, payments and refunds keep finance's own checks; their row errors reach the
    framework in English and Chinese (not the English text twice)."""
    tid = await tenant_id(db, "ECOM")
    plan = await run_kind(db, "orders", tid, "订单号,客户编号,金额,状态,下单时间\n"
                          "Z-1,NOBODY,10,paid,2026-11-20\n"
                          "Z-2,NOBODY,-5,paid,2026-11-20\n", commit=False)
    by_row = {e["row"]: e for e in plan.errors}
    assert "unknown customer NOBODY" in by_row[2]["error"]
    assert "未知客户 NOBODY" in by_row[2]["error_zh"]
    assert by_row[3]["column"] == "amount" and by_row[3]["error_zh"] == "必须为正数"
