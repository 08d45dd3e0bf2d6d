"""Salary assignments through the shared import framework (issue 13 part 6, "salaries"):
upload a CSV/XLSX/JSONL file at /imports (or `probity import file --kind salaries`), map its
columns, dry run, then all rows or none — with saved mappings, jobs with progress, the audit
row and the `import.batch` ledger entry all from `probity.imports`.

What this module adds is the payroll checks, each a row error in English and Chinese: the
employee is the tenant's, the city has a social-insurance table in force, the base pay (given,
or the grade's structure) is not below the city's minimum wage, and the month is not frozen by
an approved or closed run. Natural key: (employee, month). Re-importing the same file changes
nothing; a changed row updates that month's assignment.

Not exported with the tenant: an assignment needs the city tables and structures in force,
which are inherited from HQ and are not part of a subsidiary's package.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Perm, Principal
from probity.imports.engine import ImportContext
from probity.imports.registry import Env, Field, ImportKind, Row, RowError, register_kind
from probity.imports.registry import parsers as p
from probity.models import Employee, Position, RunStatus, SalaryAssignment
from probity.payroll.common import runs_covering
from probity.payroll.tables import cities_for, structures_for

ZERO = Decimal("0.00")
COMPARED = ("grade", "base", "allowances_total", "city", "additional_deduction", "bank_name",
            "bank_account")


def parse_month(v: Any, env: Env) -> date:
    """2026-03, 2026/3, 2026年3月, or a date (its month)."""
    if isinstance(v, datetime | date):
        return date(v.year, v.month, 1)
    s = str(v).strip().replace("/", "-").replace("年", "-").replace("月", "")
    try:
        y, m = (int(x) for x in s.split("-")[:2])
        month = date(y, m, 1)
    except ValueError:
        raise RowError("Not a month: {value} (use YYYY-MM).", value=str(v)[:20]) from None
    if not 2000 <= month.year <= 2100:
        raise RowError("Date out of range: {value}.", value=str(v)[:20])
    return month


def parse_account(v: Any, env: Env) -> str:
    s = str(v).strip()
    if len(s) > 40 or not all(c.isdigit() or c in " -" for c in s):
        raise RowError("A bank account is digits, spaces and dashes (at most 40).")
    return s


FIELDS = (
    Field("employee_no", p.text(32), aliases=("员工编号", "工号")),
    Field("effective_from", parse_month, aliases=("生效月份", "月份", "month")),
    Field("city", p.text(32), aliases=("城市", "社保城市")),
    Field("grade", p.text(16), required=False, aliases=("职级",)),
    Field("base", p.decimal(2, ZERO, Decimal("10000000")), required=False,
          aliases=("基本工资",)),
    Field("additional_deduction", p.decimal(2, ZERO, Decimal("1000000")), required=False,
          default=ZERO, aliases=("专项附加扣除",)),
    Field("bank_name", p.text(100), required=False, aliases=("开户行",)),
    Field("bank_account", parse_account, required=False, aliases=("银行账号", "账号")),
)


async def resolve_salaries(ctx: ImportContext, rows: list[Row]) -> None:
    t = ctx.tenant_id
    emps = await ctx.lookup(Employee.employee_no, (r["employee_no"] for _, r in rows),
                            Employee.id, Employee.position_id, where=Employee.tenant_id == t)
    grades = dict((await ctx.session.execute(select(Position.id, Position.grade).where(
        Position.id.in_({e.position_id for e in emps.values() if e.position_id}))
    )).all()) if emps else {}
    cities = await cities_for(ctx.session, t)
    by_name = {c.name: c for c in cities.values()}
    structures = {s.grade: s for s in await structures_for(ctx.session, t)}
    existing: dict[tuple[int, date], SalaryAssignment] = {}
    ids = [e.id for e in emps.values()]
    for i in range(0, len(ids), 2000):
        for a in (await ctx.session.scalars(select(SalaryAssignment).where(
                SalaryAssignment.employee_id.in_(ids[i:i + 2000])))).all():
            existing[(a.employee_id, a.effective_from)] = a
    frozen: dict[date, bool] = {}
    for n, r in rows:
        emp = emps.get(r["employee_no"])
        if emp is None:
            ctx.plan.error(n, "employee_no", "Unknown employee {code}.", code=r["employee_no"])
            continue
        city = cities.get(r["city"]) or by_name.get(r["city"])  # hangzhou or 杭州
        if city is None:
            ctx.plan.error(n, "city", "Unknown city {city}: add its social insurance table "
                           "first.", city=r["city"])
            continue
        grade = r.get("grade") or (grades.get(emp.position_id) if emp.position_id else None)
        structure = structures.get(grade) if grade else None
        base = r.get("base")
        if base is None:
            if structure is None:
                ctx.plan.error(n, "base", "No salary structure for grade {grade}: give the "
                               "base pay.", grade=grade or "-")
                continue
            base = Decimal(structure.base)
        if base < city.minimum_wage:
            ctx.plan.error(n, "base", "{base} is below the minimum wage of {city}: {minimum} "
                           "a month.", base=str(base), city=city.name,
                           minimum=str(city.minimum_wage))
            continue
        month = r["effective_from"]
        if month not in frozen:
            frozen[month] = any(run.status in (RunStatus.approved, RunStatus.closed)
                                for run in await runs_covering(ctx.session, t, month))
        if frozen[month]:
            ctx.plan.error(n, "effective_from", "The payroll of {month} is closed: correct it "
                           "with an adjustment in a later month.",
                           month=month.isoformat()[:7])
            continue
        allowances = list(structure.allowances) if structure is not None else []
        values: dict[str, Any] = {
            "grade": grade, "base": base, "allowances": allowances,
            "allowances_total": sum((Decimal(str(a["amount"])) for a in allowances), ZERO),
            "city": city.city, "additional_deduction": r["additional_deduction"],
            "bank_name": r.get("bank_name") or None, "bank_account": r.get("bank_account") or None}
        show = {"employee_no": r["employee_no"], "effective_from": month.isoformat()[:7],
                "city": city.name, "grade": grade, "base": base,
                "additional_deduction": r["additional_deduction"]}
        old = existing.get((emp.id, month))
        if old is None:
            ctx.plan.insert(n, {"employee_id": emp.id, "effective_from": month, **values},
                            show=show)
        elif all(getattr(old, k) == values[k] for k in COMPARED):
            ctx.plan.same()
        else:
            ctx.plan.update(n, {"id": old.id, **values}, show=show)


async def apply_salaries(ctx: ImportContext) -> None:
    user_id = ctx.actor.user_id if ctx.actor else None
    await ctx.insert(SalaryAssignment, [{"tenant_id": ctx.tenant_id,
                                         "created_by_user_id": user_id, **r}
                                        for r in ctx.plan.inserts])
    await ctx.update(SalaryAssignment, ctx.plan.updates)


async def import_now(session: AsyncSession, principal: Principal, *, tenant_id: int, data: bytes,
                     filename: str, mapping: dict[str, str] | None, dry_run: bool
                     ) -> dict[str, Any]:
    """The `salaries` kind run in the caller's request and transaction (the deprecated
    `/api/v1/payroll/imports/salaries`): the framework's checks, plan, audit and ledger entry."""
    from probity.imports.engine import apply_import, digest, plan_import
    from probity.imports.reading import read_table
    from probity.imports.service import import_tenant

    await import_tenant(session, principal, tenant_id, SALARIES)
    table = await asyncio.to_thread(read_table, data, filename)
    ctx = await plan_import(session, SALARIES.name, tenant_id, table, mapping=mapping,
                            actor=principal)
    summary = ctx.plan.summary()
    legacy = {"inserted": summary["insert"], "updated": summary["update"]}
    if dry_run:
        return summary | legacy | {"dry_run": True}
    await apply_import(ctx, source="api", filename=filename, sha256=digest(data))
    return summary | legacy | {"dry_run": False}


SALARIES = register_kind(ImportKind(
    name="salaries", title="Salaries", perm=Perm.payroll_prepare,
    key=("employee_no", "effective_from"), order=120, fields=FIELDS,
    resolve=resolve_salaries, apply=apply_salaries, export=None))
