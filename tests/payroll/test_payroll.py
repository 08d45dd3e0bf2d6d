"""Payroll: structures and assignments (minimum wage), runs computed by a job, four eyes,
closed months (409, and immutable in the database), totals that reconcile to the bonus list and
the penalties, who sees which payslip, the PDF and the bank files."""

from __future__ import annotations

import base64
import io
import re
import zlib
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.service import load_principal
from probity.jobs.runtime import InlineRuntime
from probity.models import (
    AuditEntry,
    Employee,
    LedgerEntry,
    PayrollAdjustment,
    PayrollRun,
    Payslip,
    PerformanceLine,
    RunStatus,
    SalaryAssignment,
    Tenant,
    User,
)
from probity.payroll.common import next_month
from probity.performance.bonus import bonus_list

D = Decimal


async def _runs(db: AsyncSession) -> tuple[PayrollRun, PayrollRun]:
    runs = (await db.scalars(select(PayrollRun).order_by(PayrollRun.month))).all()
    closed = next(r for r in runs if r.status == RunStatus.closed)
    draft = next(r for r in runs if r.status == RunStatus.draft)
    return closed, draft


async def _user_employee(db: AsyncSession, username: str) -> int:
    emp = await db.scalar(select(User.employee_id).where(User.username == username))
    assert emp is not None
    return emp


async def test_salary_below_the_city_minimum_wage_is_422_and_writes_nothing(
        as_user: Any, db: AsyncSession) -> None:
    c: httpx.AsyncClient = await as_user("hr")
    emp = await _user_employee(db, "agent")
    before = await db.scalar(select(func.count()).select_from(SalaryAssignment))
    month = next_month(next_month(date.today().replace(day=1)))
    r = await c.post("/api/v1/payroll/assignments", json={
        "employee_id": emp, "effective_from": month.isoformat(), "city": "hangzhou",
        "base": "2000.00"})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "below_minimum_wage"
    assert "杭州" in body["detail"] and "2490" in body["detail"]
    assert body["minimum_wage"] == "2490.00" and body["city"] == "hangzhou"
    assert await db.scalar(select(func.count()).select_from(SalaryAssignment)) == before
    # In English too, and an accepted one takes the grade's structure.
    r = await c.post("/api/v1/payroll/assignments", json={
        "employee_id": emp, "effective_from": month.isoformat(), "city": "beijing",
        "base": "2000.00"}, headers={"Accept-Language": "en"})
    assert r.status_code == 422 and "minimum wage" in r.json()["detail"]
    r = await c.post("/api/v1/payroll/assignments", json={
        "employee_id": emp, "effective_from": month.isoformat(), "city": "hangzhou",
        "additional_deduction": "2000.00"})
    assert r.status_code == 201, r.text
    assert r.json()["base"] == "5200.00" and r.json()["allowances_total"] == "600.00"
    # Unknown city, a month not given as its first day, an agent: refused.
    r = await c.post("/api/v1/payroll/assignments", json={
        "employee_id": emp, "effective_from": month.isoformat(), "city": "atlantis"})
    assert r.status_code == 422 and r.json()["code"] == "unknown_city"
    r = await c.post("/api/v1/payroll/assignments", json={
        "employee_id": emp, "effective_from": "2026-01-15", "city": "hangzhou"})
    assert r.status_code == 422
    agent = await as_user("agent")
    r = await agent.post("/api/v1/payroll/assignments", json={
        "employee_id": emp, "effective_from": month.isoformat(), "city": "hangzhou"})
    assert r.status_code == 403


async def test_a_run_is_computed_by_a_job_and_approved_by_someone_else(
        shared_jobs: InlineRuntime, as_user: Any, db: AsyncSession) -> None:
    _closed, draft = await _runs(db)
    admin = await as_user("admin")
    # The admin recomputes the draft: now the admin is its preparer.
    r = await admin.post("/api/v1/payroll/runs", json={"tenant_id": draft.tenant_id,
                                                       "month": draft.month.isoformat()})
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "computing" and r.json()["job_id"]
    job_id = r.json()["job_id"]
    await shared_jobs.wait()
    r = await admin.get(f"/api/v1/payroll/runs/{draft.id}")
    assert r.json()["status"] == "draft" and r.json()["employees"] > 50
    r = await admin.get(f"/api/v1/jobs/{job_id}")
    assert r.json()["state"] == "done", r.text
    # Four eyes: the preparer cannot approve, whatever their permissions.
    r = await admin.post(f"/api/v1/payroll/runs/{draft.id}/approve")
    assert r.status_code == 403 and r.json()["code"] == "four_eyes"
    assert "四眼" in r.json()["detail"]
    # Bank file only once approved; HR may not approve at all.
    fin = await as_user("finance")
    r = await fin.get(f"/api/v1/payroll/runs/{draft.id}/bank-file")
    assert r.status_code == 409
    hr = await as_user("hr")
    assert (await hr.post(f"/api/v1/payroll/runs/{draft.id}/approve")).status_code == 403
    fin = await as_user("finance")
    r = await fin.post(f"/api/v1/payroll/runs/{draft.id}/approve")
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    seq = r.json()["ledger_seq"]
    entry = await db.scalar(select(LedgerEntry).where(LedgerEntry.tenant_id == draft.tenant_id,
                                                      LedgerEntry.seq == seq))
    assert entry is not None and entry.type == "payroll.run_approved"
    # Approved: no new adjustment, no recompute (409).
    hr = await as_user("hr")
    emp = await _user_employee(db, "agent")
    r = await hr.post("/api/v1/payroll/adjustments", json={
        "employee_id": emp, "month": draft.month.isoformat(), "amount": "10.00",
        "reason": "x"})
    assert r.status_code == 409 and r.json()["code"] == "month_closed"
    r = await hr.post("/api/v1/payroll/runs", json={"tenant_id": draft.tenant_id,
                                                    "month": draft.month.isoformat()})
    assert r.status_code == 409 and r.json()["code"] == "month_closed"
    fin = await as_user("finance")
    r = await fin.post(f"/api/v1/payroll/runs/{draft.id}/close")
    assert r.status_code == 200 and r.json()["status"] == "closed"
    actions = set((await db.scalars(select(AuditEntry.action).where(
        AuditEntry.target_type == "payroll_run",
        AuditEntry.target_id == str(draft.id)))).all())
    assert {"payroll.run.recompute", "payroll.run.approve", "payroll.run.close"} <= actions
    # The bank files: CSV with a UTF-8 BOM, XLSX readable; the net pay of every payslip.
    r = await fin.get(f"/api/v1/payroll/runs/{draft.id}/bank-file?format=csv")
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    lines = r.content.decode("utf-8-sig").strip().splitlines()
    total = await db.scalar(select(func.sum(Payslip.net)).where(Payslip.run_id == draft.id,
                                                                Payslip.net > 0))
    assert sum(D(x.split(",")[3]) for x in lines[1:]) == total
    assert "工资" in lines[1]
    r = await fin.get(f"/api/v1/payroll/runs/{draft.id}/bank-file?format=xlsx")
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(r.content), read_only=True).active
    assert ws is not None and len(list(ws.iter_rows())) == len(lines)
    # The next month now builds on it: its tax carries the cumulative figures.
    hr = await as_user("hr")
    r = await hr.post("/api/v1/payroll/runs", json={
        "tenant_id": draft.tenant_id, "month": next_month(draft.month).isoformat()})
    assert r.status_code == 202, r.text
    await shared_jobs.wait()
    later = await db.scalar(select(Payslip).where(
        Payslip.run_id == r.json()["id"], Payslip.employee_id == emp))
    earlier = await db.scalar(select(Payslip).where(Payslip.run_id == draft.id,
                                                    Payslip.employee_id == emp))
    assert later is not None and earlier is not None
    if later.month.year == earlier.month.year:
        assert later.tax_months == earlier.tax_months + 1
        assert D(later.lines["tax"]["already_withheld"]) >= earlier.tax


async def test_a_run_over_a_closed_month_is_409(as_user: Any, db: AsyncSession) -> None:
    closed, _draft = await _runs(db)
    for user in ("hr", "admin"):
        c = await as_user(user)
        r = await c.post("/api/v1/payroll/runs", json={"tenant_id": closed.tenant_id,
                                                       "month": closed.month.isoformat()})
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "month_closed"
        assert closed.month.isoformat()[:7] in r.json()["detail"]
    # A correction of the closed month goes into a later one.
    emp = await _user_employee(db, "agent")
    r = await c.post("/api/v1/payroll/adjustments", json={
        "employee_id": emp, "month": closed.month.isoformat(), "amount": "-50.00",
        "reason": "多发"})
    assert r.status_code == 409 and r.json()["code"] == "month_closed"
    r = await c.post("/api/v1/payroll/adjustments", json={
        "employee_id": emp, "month": next_month(closed.month).isoformat(), "amount": "-50.00",
        "reason": "多发", "corrects_month": closed.month.isoformat()})
    assert r.status_code == 201, r.text
    # The closed month's run cannot be approved or closed again either.
    fin = await as_user("finance")
    assert (await fin.post(f"/api/v1/payroll/runs/{closed.id}/close")).status_code == 409
    assert (await fin.post(f"/api/v1/payroll/runs/{closed.id}/approve")).status_code == 409


async def test_closed_runs_are_immutable_in_the_database(db: AsyncSession) -> None:
    """The triggers refuse any change to a closed run and its payslips, from any path."""
    closed, draft = await _runs(db)
    for stmt in (
            "UPDATE payslips SET net = 0 WHERE run_id = :r",
            "DELETE FROM payslips WHERE run_id = :r",
            "UPDATE payroll_runs SET status = 'draft' WHERE id = :r",
            "DELETE FROM payroll_runs WHERE id = :r",
            "INSERT INTO payslips (run_id, tenant_id, employee_id, month, city, base, "
            "allowances, bonus, penalty, attendance_deduction, adjustments, gross, "
            "si_employee, hf_employee, si_employer, hf_employer, additional_deduction, "
            "tax_months, cumulative_taxable, tax, net, lines, created_at) "
            "SELECT CAST(:r AS INTEGER), tenant_id, employee_id, month, city, base, allowances, "
            "bonus, "
            "penalty, attendance_deduction, adjustments, gross, si_employee, hf_employee, "
            "si_employer, hf_employer, additional_deduction, tax_months, cumulative_taxable, "
            "tax, net, lines, created_at FROM payslips WHERE run_id = :d AND employee_id NOT IN "
            "(SELECT employee_id FROM payslips WHERE run_id = :r) LIMIT 1",
            "DELETE FROM payroll_adjustments"):
        with pytest.raises(Exception, match=r"immutable|append-only"):
            async with db.begin_nested():
                await db.execute(text(stmt), {"r": closed.id, "d": draft.id})
    # A draft's payslips may still change (recompute).
    async with db.begin_nested():
        await db.execute(text("UPDATE payslips SET net = net WHERE run_id = :r"),
                         {"r": draft.id})
    n = await db.scalar(select(func.count()).select_from(Payslip).where(
        Payslip.run_id == closed.id))
    assert n == closed.employees > 0


async def test_totals_reconcile_to_the_bonus_list_and_the_penalties(db: AsyncSession) -> None:
    """What the closed run paid as bonus is the bonus list of the cycles it paid; its penalties
    are the penalty points of those cycles (per the penalty standard) at the payroll rate."""
    closed, draft = await _runs(db)
    admin_id = await db.scalar(select(User.id).where(User.username == "admin"))
    assert admin_id is not None
    admin = await load_principal(db, admin_id)
    assert admin is not None
    for run in (closed, draft):
        assert run.cycle_ids, "the demo run pays a closed appraisal cycle"
        slips = {s.employee_id: s for s in (await db.scalars(select(Payslip).where(
            Payslip.run_id == run.id))).all()}
        listed: dict[int, Decimal] = {}
        for cycle_id in run.cycle_ids:
            for line in await bonus_list(db, admin, cycle_id):
                listed[line.employee_id] = listed.get(line.employee_id, D(0)) + line.total
        paid_bonus = sum((s.bonus for s in slips.values()), D(0))
        # Everyone on the bonus list with something to pay has a payslip that pays it.
        unpaid = [e for e, v in listed.items() if v and (e not in slips or slips[e].bonus != v)]
        assert not unpaid, (run.month, unpaid)
        assert paid_bonus == sum((v for e, v in listed.items() if e in slips), D(0))
        assert D(run.totals["bonus"]) == paid_bonus > 0
        points = await db.scalar(select(func.coalesce(func.sum(PerformanceLine.points), 0))
                                 .where(PerformanceLine.cycle_id.in_(run.cycle_ids),
                                        PerformanceLine.kind.in_(
                                            ["violation", "concealment", "adjustment"]),
                                        PerformanceLine.employee_id.in_(list(slips))))
        paid_penalty = sum((s.penalty for s in slips.values()), D(0))
        assert paid_penalty == -int(points or 0) * D("50.00")
        assert D(run.totals["penalty"]) == paid_penalty
        # And every payslip adds up.
        for s in slips.values():
            assert s.gross == (s.base + s.allowances + s.overtime + s.bonus - s.penalty
                               - s.attendance_deduction + s.deduction_waived + s.adjustments)
            assert s.net == s.gross - s.si_employee - s.hf_employee - s.tax
        assert D(run.totals["net"]) == sum((s.net for s in slips.values()), D(0))
    assert any(s.penalty for s in (await db.scalars(select(Payslip))).all())
    # The demo's correction of the closed month is paid in the draft.
    adj = await db.scalar(select(PayrollAdjustment).where(PayrollAdjustment.month == draft.month))
    assert adj is not None
    slip = await db.scalar(select(Payslip).where(Payslip.run_id == draft.id,
                                                 Payslip.employee_id == adj.employee_id))
    assert slip is not None and slip.adjustments == adj.amount


async def test_who_sees_which_payslip(as_user: Any, db: AsyncSession) -> None:
    closed, draft = await _runs(db)
    me = await _user_employee(db, "agent")
    mine = await db.scalar(select(Payslip).where(Payslip.run_id == closed.id,
                                                 Payslip.employee_id == me))
    other = await db.scalar(select(Payslip).where(Payslip.run_id == closed.id,
                                                  Payslip.employee_id != me))
    my_draft = await db.scalar(select(Payslip).where(Payslip.run_id == draft.id,
                                                     Payslip.employee_id == me))
    assert mine is not None and other is not None and my_draft is not None
    agent = await as_user("agent")
    r = await agent.get("/api/v1/me/payslips")
    assert [s["id"] for s in r.json()] == [mine.id]  # the draft is not shown yet
    r = await agent.get(f"/api/v1/payroll/payslips/{mine.id}")
    assert r.status_code == 200 and r.json()["bank_account"] == mine.bank_account
    assert (await agent.get(f"/payroll/payslips/{mine.id}")).status_code == 200
    for url in (f"/api/v1/payroll/payslips/{other.id}", f"/payroll/payslips/{other.id}",
                f"/payroll/payslips/{other.id}/pdf", f"/api/v1/payroll/payslips/{my_draft.id}"):
        assert (await agent.get(url)).status_code == 404, url
    lead = await as_user("lead")
    assert (await lead.get(f"/api/v1/payroll/payslips/{mine.id}")).status_code == 404
    assert (await lead.get("/payroll")).status_code == 403
    # Payroll staff in scope see it; the auditor reads it with the account masked.
    hr = await as_user("hr")
    r = await hr.get(f"/api/v1/payroll/payslips/{mine.id}")
    assert r.status_code == 200 and r.json()["bank_account"] == mine.bank_account
    auditor = await as_user("auditor")
    r = await auditor.get(f"/api/v1/payroll/payslips/{mine.id}")
    assert r.status_code == 200
    assert r.json()["bank_account"].startswith("****") and r.json()["bank_account"][-4:] == \
        mine.bank_account.replace(" ", "")[-4:]
    r = await auditor.get(f"/api/v1/payroll/runs/{closed.id}/payslips")
    assert r.status_code == 200 and all("*" in (s["bank_account"] or "*") for s in r.json())
    assert (await auditor.post(f"/api/v1/payroll/runs/{draft.id}/approve")).status_code == 403
    # Out of scope: HR of the e-commerce subsidiary does not see another subsidiary's runs.
    other_tenant = await db.scalar(select(Tenant.id).where(Tenant.code == "HOME"))
    if other_tenant is not None:
        hr = await as_user("hr")
        r = await hr.post("/api/v1/payroll/runs", json={"tenant_id": other_tenant,
                                                        "month": "2026-01-01"})
        assert r.status_code == 422 and r.json()["code"] == "unknown_tenant"


async def test_the_payslip_pdf_embeds_chinese(as_user: Any, db: AsyncSession) -> None:
    closed, _draft = await _runs(db)
    me = await _user_employee(db, "agent")
    mine = await db.scalar(select(Payslip).where(Payslip.run_id == closed.id,
                                                 Payslip.employee_id == me))
    assert mine is not None
    agent = await as_user("agent")
    r = await agent.get(f"/payroll/payslips/{mine.id}/pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    pdf = r.content
    assert pdf.startswith(b"%PDF") and b"STSong-Light" in pdf and b"UniGB-UCS2-H" in pdf
    # The text is in the page's content stream as UCS-2 (big-endian) string literals: find
    # 工资条 (the title), the employee's name, 实发工资 and 个人所得税 there.
    body = _page_text(pdf)
    name = await db.scalar(select(Employee.name).where(Employee.id == me))
    assert name is not None
    for word in ("工资条", name, "实发工资", "个人所得税"):
        assert word.encode("utf-16-be") in body, word


def _page_text(pdf: bytes) -> bytes:
    """The content streams (ASCII85 + Flate, as reportlab writes them) with the PDF string
    escapes (octal, backslash, parentheses) undone."""
    out = b""
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        raw = m.group(1).strip()
        try:
            data = zlib.decompress(base64.a85decode(raw[:-2] if raw.endswith(b"~>") else raw))
        except (ValueError, zlib.error):
            continue
        out += re.sub(rb"\\([0-7]{1,3}|.)", lambda e: bytes([int(e.group(1), 8)])
                      if e.group(1)[:1].isdigit() else e.group(1), data, flags=re.S)
    return out


async def test_pages(as_user: Any, db: AsyncSession) -> None:
    closed, draft = await _runs(db)
    hr = await as_user("hr")
    r = await hr.get("/payroll")
    assert r.status_code == 200 and "薪资" in r.text and "杭州" in r.text
    r = await hr.get(f"/payroll/runs/{closed.id}")
    assert r.status_code == 200 and "已关账" in r.text
    fin = await as_user("finance")
    r = await fin.get(f"/payroll/runs/{draft.id}")
    assert "审批通过" in r.text
    agent = await as_user("agent")
    r = await agent.get("/me/payslips")
    assert r.status_code == 200 and "工资条" in r.text


async def _import(client: Any, jobs: InlineRuntime, tenant: int, data: bytes, *,
                  dry_run: bool) -> dict[str, Any]:
    r = await client.post("/api/v1/imports/uploads",
                          data={"tenant_id": str(tenant), "kind": "salaries"},
                          files={"file": ("salaries.csv", data)})
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/imports", json={"upload_id": r.json()["upload_id"],
                                                   "dry_run": dry_run})
    assert r.status_code == 202, r.text
    await jobs.wait()
    view: dict[str, Any] = (await client.get(f"/api/v1/imports/jobs/{r.json()['id']}")).json()
    return view


async def test_salary_import_dry_run_row_errors_and_idempotent_reimport(
        shared_jobs: InlineRuntime, as_user: Any, db: AsyncSession) -> None:
    """Salaries on the shared import framework: row errors in Chinese and English, all or
    nothing, an idempotent re-import."""
    tenant = await db.scalar(select(Tenant.id).where(Tenant.code == "ECOM"))
    assert tenant is not None
    emp_ids = [await _user_employee(db, "agent"), await _user_employee(db, "lead")]
    by_id = dict((await db.execute(select(Employee.id, Employee.employee_no).where(
        Employee.id.in_(emp_ids)))).all())
    numbers = [by_id[e] for e in emp_ids]  # the agent's, the team lead's
    month = next_month(next_month(date.today().replace(day=1)))
    label = month.isoformat()[:7]
    closed, _draft = await _runs(db)
    bad = ("员工编号,生效月份,城市,基本工资,专项附加扣除,银行账号\n"
           f"{numbers[0]},{label},火星,6000,1000,6222 0000 1111\n"
           f"{numbers[1]},{label},hangzhou,1000,0,6222 0000 2222\n"
           f"NOBODY,{label},hangzhou,6000,0,\n"
           f"{numbers[0]},2026-13,hangzhou,6000,0,\n"
           f"{numbers[1]},{closed.month.isoformat()[:7]},hangzhou,6000,0,\n"
           f"{numbers[0]},{label},hangzhou,6000,0,abc\n").encode("utf-8-sig")
    hr = await as_user("hr")
    before = await db.scalar(select(func.count()).select_from(SalaryAssignment))
    view = await _import(hr, shared_jobs, tenant, bad, dry_run=True)
    assert view["state"] == "done", view
    errors = {(e["row"], e["column"]): e for e in view["result"]["errors"]}
    assert {(2, "city"), (3, "base"), (4, "employee_no"), (5, "effective_from"),
            (6, "effective_from"), (7, "bank_account")} <= set(errors), errors
    assert "火星" in errors[(2, "city")]["error_zh"] and "社保" in errors[(2, "city")]["error_zh"]
    assert "Unknown city" in errors[(2, "city")]["error"]
    assert "最低工资" in errors[(3, "base")]["error_zh"] and "2490" in errors[(3, "base")][
        "error_zh"]
    assert "关账" in errors[(6, "effective_from")]["error_zh"]
    view = await _import(hr, shared_jobs, tenant, bad, dry_run=False)
    assert view["result"]["committed"] is False and view["result"]["error_count"] >= 6
    assert await db.scalar(select(func.count()).select_from(SalaryAssignment)) == before
    good = ("员工编号,生效月份,城市,基本工资,专项附加扣除,银行账号\n"
            f"{numbers[0]},{label},杭州,6000,1000,6222 0000 1111\n"
            f"{numbers[1]},{label},hangzhou,,0,6222 0000 2222\n").encode()
    view = await _import(hr, shared_jobs, tenant, good, dry_run=False)
    assert (view["result"]["insert"], view["result"]["unchanged"]) == (2, 0), view
    row = await db.scalar(select(SalaryAssignment).where(
        SalaryAssignment.employee_id == emp_ids[1], SalaryAssignment.effective_from == month))
    assert row is not None and row.base == D("12000.00")  # the team lead's grade M1
    assert row.allowances_total > 0 and row.created_by_user_id is not None
    view = await _import(hr, shared_jobs, tenant, good, dry_run=False)
    assert (view["result"]["insert"], view["result"]["update"],
            view["result"]["unchanged"]) == (0, 0, 2)
    changed = good.replace(b"6000,1000", b"6500,1000")
    view = await _import(hr, shared_jobs, tenant, changed, dry_run=False)
    assert (view["result"]["insert"], view["result"]["update"]) == (0, 1)
    assert await db.scalar(select(func.count()).select_from(SalaryAssignment)) == before + 2
    assert await db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "import.run")) >= 3
    # An agent may not import salaries.
    agent = await as_user("agent")
    r = await agent.post("/api/v1/imports/uploads", data={"tenant_id": str(tenant),
                                                          "kind": "salaries"},
                         files={"file": ("s.csv", good)})
    assert r.status_code in (403, 404)


async def test_the_deprecated_salary_import_endpoint_runs_the_framework_kind(
        as_user: Any, db: AsyncSession) -> None:
    tenant = await db.scalar(select(Tenant.id).where(Tenant.code == "ECOM"))
    emp = await _user_employee(db, "agent")
    number = await db.scalar(select(Employee.employee_no).where(Employee.id == emp))
    label = next_month(next_month(date.today().replace(day=1))).isoformat()[:7]
    hr = await as_user("hr")
    data = (f"员工编号,生效月份,城市,基本工资\n{number},{label},hangzhou,1000\n").encode()
    form = {"tenant_id": str(tenant)}
    r = await hr.post("/api/v1/payroll/imports/salaries", data=form,
                      files={"file": ("s.csv", data, "text/csv")})
    assert r.status_code == 200 and r.json()["dry_run"] is True
    assert "最低工资" in r.json()["errors"][0]["error_zh"]
    r = await hr.post("/api/v1/payroll/imports/salaries", data=form | {"dry_run": "false"},
                      files={"file": ("s.csv", data, "text/csv")})
    assert r.status_code == 422 and r.json()["code"] == "row_errors"
    good = data.replace(b",1000", b",6000")
    r = await hr.post("/api/v1/payroll/imports/salaries", data=form | {"dry_run": "false"},
                      files={"file": ("s.csv", good, "text/csv")})
    assert r.status_code == 200 and r.json()["inserted"] == 1, r.text
