"""Salary assignments from a CSV or XLSX file (issue 13 part 6, "salaries").

The finance importer's pipeline and readers (`finance.importer`: read_table, resolve_columns,
Field/Spec, per-row errors): read → map columns (aliases in Chinese, or a `mapping`) → validate
every row → resolve employees by number in the caller's `payroll.prepare` scope, cities,
structures, the minimum wage and frozen months → a dry-run plan, or an all-or-nothing write.
Idempotent: a row identical to the stored assignment is "unchanged"; a changed one updates it.
When the shared import framework (probity.imports) lands, this spec moves onto it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.permissions import Perm, Principal
from probity.auth.scoping import tenant_in_scope
from probity.errors import InvalidInput
from probity.finance.importer import (
    MAX_ERRORS,
    MAX_IMPORT_ROWS,
    PREVIEW_ROWS,
    Field,
    RowError,
    Spec,
    _text,
    read_table,
    resolve_columns,
)
from probity.models import Employee, Position, SalaryAssignment, Tenant
from probity.models.base import utcnow
from probity.payroll.common import runs_covering
from probity.payroll.tables import cities_for, structures_for


def parse_month(v: Any) -> date:
    if isinstance(v, date):
        return v.replace(day=1)
    s = str(v).strip().replace("/", "-").replace("年", "-").replace("月", "")
    try:
        y, m = (int(x) for x in s.split("-")[:2])
        return date(y, m, 1)
    except ValueError:
        raise RowError(f"not a month (YYYY-MM): {str(v)[:20]!r}") from None


def parse_money(v: Any) -> Decimal:
    try:
        d = Decimal(str(v).strip().replace(",", "").replace("¥", "").replace("￥", ""))
    except ArithmeticError:
        raise RowError(f"not an amount: {str(v)[:40]!r}") from None
    if not d.is_finite() or d < 0 or d > 10_000_000 or d != d.quantize(Decimal("0.01")):
        raise RowError("an amount from 0 to 10,000,000 with at most two decimals")
    return d.quantize(Decimal("0.01"))


def parse_account(v: Any) -> str:
    s = str(v).strip()
    if s and (len(s) > 40 or not all(c.isdigit() or c in " -" for c in s)):
        raise RowError("a bank account is digits, spaces and dashes (at most 40)")
    return s


SALARIES = Spec("salaries", "employee_no", (
    Field("employee_no", _text(32), aliases=("员工编号", "工号")),
    Field("effective_from", parse_month, aliases=("生效月份", "月份", "month")),
    Field("city", _text(32), aliases=("城市", "社保城市")),
    Field("grade", _text(16), required=False, aliases=("职级",)),
    Field("base", parse_money, required=False, aliases=("基本工资",)),
    Field("additional_deduction", parse_money, required=False, default=Decimal("0.00"),
          aliases=("专项附加扣除",)),
    Field("bank_name", _text(100), required=False, aliases=("开户行",)),
    Field("bank_account", parse_account, required=False, aliases=("银行账号", "账号")),
))


@dataclass
class SalaryPlan:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    preview: list[dict[str, Any]] = field(default_factory=list)
    writes: list[dict[str, Any]] = field(default_factory=list)

    def error(self, line: int, column: str | None, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"row": line, "column": column, "message": message})

    def summary(self) -> dict[str, Any]:
        return {"kind": "salaries", "rows": self.rows, "inserted": self.inserted,
                "updated": self.updated, "unchanged": self.unchanged,
                "error_count": self.error_count, "errors": self.errors,
                "preview": self.preview}


def parse_rows(data: bytes, filename: str, mapping: dict[str, str] | None
               ) -> tuple[list[tuple[int, dict[str, Any]]], SalaryPlan]:
    """CPU work (in a thread): read, map and validate each row's values."""
    headers, rows = read_table(data, filename)
    columns = resolve_columns(SALARIES, headers, mapping)
    fields = SALARIES.by_name()
    plan = SalaryPlan()
    parsed: list[tuple[int, dict[str, Any]]] = []
    it: Iterator[list[Any]] = rows
    for line, raw in enumerate(it, start=2):
        if not any(str(v).strip() for v in raw):
            continue
        plan.rows += 1
        if plan.rows > MAX_IMPORT_ROWS:
            raise InvalidInput(f"more than {MAX_IMPORT_ROWS} rows", code="too_many_rows")
        values: dict[str, Any] = {}
        ok = True
        for col, value in zip(columns, raw, strict=False):
            if col is None:
                continue
            f = fields[col]
            if str(value).strip() == "":
                continue
            try:
                values[col] = f.parse(value) if f.parse else value
            except RowError as exc:
                plan.error(line, col, str(exc))
                ok = False
        for f in SALARIES.fields:
            if f.name not in values:
                if f.required:
                    plan.error(line, f.name, "required")
                    ok = False
                else:
                    values[f.name] = f.default
        if ok:
            parsed.append((line, values))
    return parsed, plan


async def import_salaries(session: AsyncSession, principal: Principal, *, tenant_id: int,
                          data: bytes, filename: str, mapping: dict[str, str] | None = None,
                          dry_run: bool = True) -> dict[str, Any]:
    tenant = await tenant_in_scope(session, principal, Perm.payroll_prepare, tenant_id)
    parsed, plan = await asyncio.to_thread(parse_rows, data, filename, mapping)
    subtree = list((await session.scalars(select(Tenant.id).where(
        Tenant.path.startswith(tenant.path, autoescape=True)))).all())
    scope = principal.scope(Perm.payroll_prepare)
    numbers = {v["employee_no"] for _l, v in parsed}
    emps = {no: (eid, tid, pos) for no, eid, tid, pos in await session.execute(
        select(Employee.employee_no, Employee.id, Employee.tenant_id, Employee.position_id)
        .where(Employee.tenant_id.in_(subtree), Employee.employee_no.in_(numbers),
               scope.filter(Employee.tenant_id, Employee.org_unit_id)))}
    grades = dict((await session.execute(select(Position.id, Position.grade))).all())
    cities = {tid: await cities_for(session, tid) for tid in {t for _e, t, _p in emps.values()}}
    structures = {tid: {s.grade: s for s in await structures_for(session, tid)}
                  for tid in cities}
    existing = {(a.employee_id, a.effective_from): a for a in (await session.scalars(
        select(SalaryAssignment).where(SalaryAssignment.employee_id.in_(
            [e for e, _t, _p in emps.values()])))).all()}
    frozen: dict[tuple[int, date], bool] = {}
    seen: set[tuple[str, date]] = set()
    for line, v in parsed:
        key = (v["employee_no"], v["effective_from"])
        if key in seen:
            plan.error(line, "employee_no", "the same employee and month twice in the file")
            continue
        seen.add(key)
        if v["employee_no"] not in emps:
            plan.error(line, "employee_no", f"unknown employee {v['employee_no']}")
            continue
        emp_id, tid, pos = emps[v["employee_no"]]
        city = cities[tid].get(v["city"]) or next(
            (c for c in cities[tid].values() if c.name == v["city"]), None)  # 杭州 or hangzhou
        if city is None:
            plan.error(line, "city", f"unknown city {v['city']}")
            continue
        grade = v["grade"] or (grades.get(pos) if pos is not None else None)
        structure = structures[tid].get(grade) if grade else None
        base = v["base"] if v["base"] is not None else (structure.base if structure else None)
        if base is None:
            plan.error(line, "base", f"no salary structure for grade {grade or '-'}: give base")
            continue
        if base < city.minimum_wage:
            plan.error(line, "base", f"{base} is below the minimum wage of {city.name}: "
                       f"{city.minimum_wage} a month")
            continue
        fkey = (tid, v["effective_from"])
        if fkey not in frozen:
            frozen[fkey] = any(r.status.value in ("approved", "closed")
                               for r in await runs_covering(session, tid, v["effective_from"]))
        if frozen[fkey]:
            plan.error(line, "effective_from", "the payroll of this month is closed")
            continue
        allowances = list(structure.allowances) if structure is not None else []
        row = {"tenant_id": tid, "employee_id": emp_id, "effective_from": v["effective_from"],
               "grade": grade, "base": base, "allowances": allowances,
               "allowances_total": sum((Decimal(str(a["amount"])) for a in allowances),
                                       Decimal("0.00")),
               "city": city.city, "additional_deduction": v["additional_deduction"],
               "bank_name": v["bank_name"] or None, "bank_account": v["bank_account"] or None}
        old = existing.get((emp_id, v["effective_from"]))
        if old is not None and all(getattr(old, k) == row[k] for k in (
                "grade", "base", "city", "additional_deduction", "bank_name", "bank_account",
                "allowances_total")):
            plan.unchanged += 1
            continue
        if old is None:
            plan.inserted += 1
        else:
            plan.updated += 1
        plan.writes.append(row)
        if len(plan.preview) < PREVIEW_ROWS:
            plan.preview.append({"row": line, "employee_no": v["employee_no"],
                                 "effective_from": v["effective_from"].isoformat(),
                                 "base": str(base), "city": city.city,
                                 "action": "update" if old is not None else "insert"})
    if dry_run:
        return plan.summary() | {"dry_run": True}
    if plan.error_count:
        raise InvalidInput(f"{plan.error_count} row(s) have errors: nothing was imported",
                           code="row_errors", **(plan.summary() | {"dry_run": False}))
    now = utcnow()
    for row in plan.writes:
        old = existing.get((row["employee_id"], row["effective_from"]))
        if old is None:
            session.add(SalaryAssignment(created_at=now, created_by_user_id=principal.user_id,
                                         **row))
        else:
            for k, val in row.items():
                setattr(old, k, val)
    await session.flush()
    record_audit(session, principal, "payroll.import", target_type="tenant",
                 target_id=tenant.id, tenant_id=tenant.id,
                 after={"kind": "salaries", "filename": filename[:200], "rows": plan.rows,
                        "inserted": plan.inserted, "updated": plan.updated,
                        "unchanged": plan.unchanged})
    return plan.summary() | {"dry_run": False}
