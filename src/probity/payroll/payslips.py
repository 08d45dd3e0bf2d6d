"""Who sees which payslip, and the payslip as a PDF and a run as a bank-transfer file.

An employee sees their own payslips once the run is approved; `payroll.read` over the
employee's tenant sees any (drafts included). The bank account is shown in full to the
employee and to `payroll.prepare` / `payroll.approve` in scope; masked for other readers
(the auditor). Anything else is 404, like a missing payslip.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Perm, Principal
from probity.csvexport import cell, to_csv
from probity.models import Employee, OrgUnit, PayrollRun, Payslip, RunStatus, Tenant
from probity.payroll.common import fail, month_label
from probity.payroll.runs import get_run

VISIBLE_TO_EMPLOYEE = (RunStatus.approved, RunStatus.closed)


def mask_account(account: str | None) -> str | None:
    if not account:
        return account
    digits = account.replace(" ", "").replace("-", "")
    return "*" * max(len(digits) - 4, 0) + digits[-4:]


@dataclass
class PayslipView:
    slip: Payslip
    run: PayrollRun
    employee_no: str
    name: str
    team: str | None
    tenant: str
    own: bool
    account: str | None  # masked where the viewer may not see it


def _in_scope(principal: Principal, perm: Perm, tenant_path: str, unit_id: int | None) -> bool:
    scope = principal.scope(perm)
    return scope.covers_path(tenant_path) or (unit_id is not None
                                              and unit_id in scope.org_unit_ids)


async def get_payslip(session: AsyncSession, principal: Principal, payslip_id: int
                      ) -> PayslipView:
    row = (await session.execute(
        select(Payslip, PayrollRun, Employee.employee_no, Employee.name, OrgUnit.name,
               Tenant.name, Tenant.path)
        .join(PayrollRun, PayrollRun.id == Payslip.run_id)
        .join(Employee, Employee.id == Payslip.employee_id)
        .join(Tenant, Tenant.id == Payslip.tenant_id)
        .outerjoin(OrgUnit, OrgUnit.id == Payslip.org_unit_id)
        .where(Payslip.id == payslip_id))).first()
    if row is None:
        raise fail("not_found", "no such payslip")
    slip, run, no, name, team, tenant, path = row
    own = principal.employee_id is not None and principal.employee_id == slip.employee_id
    reader = _in_scope(principal, Perm.payroll_read, path, slip.org_unit_id)
    if not reader and not (own and run.status in VISIBLE_TO_EMPLOYEE):
        raise fail("not_found", "no such payslip")
    full = own or any(_in_scope(principal, p, path, slip.org_unit_id)
                      for p in (Perm.payroll_prepare, Perm.payroll_approve))
    return PayslipView(slip, run, no, name, team, tenant, own,
                       slip.bank_account if full else mask_account(slip.bank_account))


async def my_payslips(session: AsyncSession, principal: Principal) -> Sequence[Payslip]:
    if principal.employee_id is None:
        return []
    return (await session.scalars(
        select(Payslip).join(PayrollRun, PayrollRun.id == Payslip.run_id)
        .where(Payslip.employee_id == principal.employee_id,
               PayrollRun.status.in_(VISIBLE_TO_EMPLOYEE))
        .order_by(Payslip.month.desc()))).all()


async def run_payslips(session: AsyncSession, principal: Principal, run_id: int,
                       limit: int = 200, offset: int = 0
                       ) -> tuple[PayrollRun, list[tuple[Payslip, str, str]]]:
    run = await get_run(session, principal, run_id)
    rows = (await session.execute(
        select(Payslip, Employee.employee_no, Employee.name)
        .join(Employee, Employee.id == Payslip.employee_id)
        .where(Payslip.run_id == run.id).order_by(Employee.employee_no)
        .limit(limit).offset(offset))).all()
    return run, [(s, no, name) for s, no, name in rows]


# --- the bank-transfer file ------------------------------------------------------------------

BANK_HEADER = ("employee_no", "name", "bank_account", "amount", "currency", "memo")


async def bank_rows(session: AsyncSession, principal: Principal, run_id: int
                    ) -> tuple[PayrollRun, list[list[object]]]:
    """Approved or closed runs only: a draft may still change."""
    run = await get_run(session, principal, run_id, Perm.payroll_approve)
    if run.status not in VISIBLE_TO_EMPLOYEE:
        raise fail("conflict", "The bank file exists once the run is approved",
                   code="not_approved")
    memo = f"{month_label(run.month)} 工资"
    rows = [[no, name, account or "", net, "CNY", memo] for no, name, account, net in
            await session.execute(
                select(Employee.employee_no, Employee.name, Payslip.bank_account, Payslip.net)
                .join(Employee, Employee.id == Payslip.employee_id)
                .where(Payslip.run_id == run.id, Payslip.net > 0)
                .order_by(Employee.employee_no))]
    return run, rows


def bank_csv(rows: list[list[object]]) -> bytes:
    """UTF-8 with a BOM (Excel on Chinese Windows), every cell formula-guarded."""
    return to_csv(BANK_HEADER, rows).encode("utf-8")


def bank_xlsx(rows: list[list[object]], title: str) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31])
    ws.append(list(BANK_HEADER))
    for r in rows:
        ws.append([float(v) if isinstance(v, Decimal) else cell(v) if isinstance(v, str) else v
                   for v in r])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- PDF -------------------------------------------------------------------------------------

CJK_FONT = "STSong-Light"  # a CID font every PDF reader has: no font file is shipped


def payslip_pdf(view: PayslipView, labels: dict[str, str], items: list[tuple[str, str]]
                ) -> bytes:
    """A one-page A4 payslip. `labels` and `items` come already translated from the page, so
    the PDF speaks the reader's language; Chinese renders with the built-in STSong-Light."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, title=labels["title"], author="Probity",
                            leftMargin=48, rightMargin=48, topMargin=48, bottomMargin=48)
    h = ParagraphStyle("h", fontName=CJK_FONT, fontSize=16, leading=22)
    p = ParagraphStyle("p", fontName=CJK_FONT, fontSize=10, leading=15)
    head: list[Any] = [Paragraph(labels["title"], h), Spacer(1, 6),
                       Paragraph(labels["who"], p), Spacer(1, 12)]
    table = Table([[k, v] for k, v in items], colWidths=[260, 200])
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), CJK_FONT), ("FONTSIZE", (0, 0), (-1, -1), 10),
        ("ALIGN", (1, 0), (1, -1), "RIGHT"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
        ("BACKGROUND", (0, -1), (-1, -1), colors.whitesmoke)]))
    doc.build([*head, table, Spacer(1, 12), Paragraph(labels["footer"], p)])
    return buf.getvalue()
