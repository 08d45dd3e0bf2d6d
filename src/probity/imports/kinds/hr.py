"""Attendance data (issue 13.6): shift templates, rotas and leave balances.

Natural keys: a template's ``code``; a rota entry's (employee, day, shift); a balance's
(employee, leave type, year). A rota entry that overlaps another shift of the same person (in
the file or stored) is a row error, as when a week is published by hand.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.attendance.common import local_span
from probity.auth.permissions import Perm
from probity.imports.engine import ImportContext
from probity.imports.registry import Field, ImportKind, Row, register_kind, stream_rows
from probity.imports.registry import parsers as p
from probity.models import (
    Employee,
    LeaveBalance,
    LeaveType,
    OrgUnit,
    ShiftAssignment,
    ShiftTemplate,
)

# --- shift templates -------------------------------------------------------------------------


async def resolve_templates(ctx: ImportContext, rows: list[Row]) -> None:
    existing = await ctx.lookup(ShiftTemplate.code, (r["code"] for _, r in rows),
                                ShiftTemplate.id, ShiftTemplate.name, ShiftTemplate.start_time,
                                ShiftTemplate.end_time, ShiftTemplate.break_minutes,
                                where=ShiftTemplate.tenant_id == ctx.tenant_id)
    for n, r in rows:
        old = existing.get(r["code"])
        if old is None:
            ctx.plan.insert(n, dict(r))
        elif (old.start_time, old.end_time) != (r["start_time"], r["end_time"]):
            ctx.plan.error(n, "start_time", "Differs from the recorded shift {key}; rota "
                           "entries depend on its hours.", key=r["code"])
        elif (old.name, old.break_minutes) == (r["name"], r["break_minutes"]):
            ctx.plan.same()
        else:
            ctx.plan.update(n, {"id": old.id, "name": r["name"],
                                "break_minutes": r["break_minutes"]}, show=r)


async def apply_templates(ctx: ImportContext) -> None:
    await ctx.insert(ShiftTemplate, [{"tenant_id": ctx.tenant_id, **r}
                                     for r in ctx.plan.inserts])
    await ctx.update(ShiftTemplate, ctx.plan.updates)


async def export_templates(session: AsyncSession, tenant_id: int
                           ) -> AsyncIterator[dict[str, Any]]:
    async for t in stream_rows(session, select(
            ShiftTemplate.code, ShiftTemplate.name, ShiftTemplate.start_time,
            ShiftTemplate.end_time, ShiftTemplate.break_minutes)
            .where(ShiftTemplate.tenant_id == tenant_id).order_by(ShiftTemplate.id)):
        yield {"code": t.code, "name": t.name, "start_time": t.start_time.strftime("%H:%M"),
               "end_time": t.end_time.strftime("%H:%M"), "break_minutes": t.break_minutes}


register_kind(ImportKind(
    name="shift_templates", title="Shift templates", perm=Perm.attendance_manage,
    key=("code",), order=80, fields=(
        Field("code", p.text(32), aliases=("班次编码", "编码")),
        Field("name", p.text(100), aliases=("班次名称", "名称")),
        Field("start_time", p.clock(), aliases=("开始时间", "start")),
        Field("end_time", p.clock(), aliases=("结束时间", "end")),
        Field("break_minutes", p.integer(0, 480), required=False, default=0,
              aliases=("休息分钟",)),
    ),
    resolve=resolve_templates, apply=apply_templates, export=export_templates))


# --- rotas -----------------------------------------------------------------------------------


def _overlaps(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


async def resolve_rotas(ctx: ImportContext, rows: list[Row]) -> None:
    t = ctx.tenant_id
    from probity.governance.accessors import display_timezone

    zone = await display_timezone(ctx.session, t)
    emps = await ctx.lookup(Employee.employee_no, (r["employee_no"] for _, r in rows),
                            Employee.id, Employee.org_unit_id, Employee.hire_date,
                            Employee.left_date, where=Employee.tenant_id == t)
    units = dict((await ctx.session.execute(select(OrgUnit.code, OrgUnit.id).where(
        OrgUnit.tenant_id == t))).all())
    templates = {x.code: x for x in (await ctx.session.scalars(select(ShiftTemplate).where(
        ShiftTemplate.tenant_id == t))).all()}
    days = [r["day"] for _, r in rows]
    stored: dict[int, list[tuple[int, int, Any, tuple[datetime, datetime]]]] = defaultdict(list)
    if rows:
        lo = datetime.combine(min(days) - timedelta(days=2), datetime.min.time(), ctx.tz)
        hi = datetime.combine(max(days) + timedelta(days=3), datetime.min.time(), ctx.tz)
        ids = [e.id for e in emps.values()]
        for i in range(0, len(ids), 2000):
            for a in (await ctx.session.execute(select(
                    ShiftAssignment.id, ShiftAssignment.employee_id, ShiftAssignment.template_id,
                    ShiftAssignment.day, ShiftAssignment.org_unit_id, ShiftAssignment.starts_at,
                    ShiftAssignment.ends_at).where(
                    ShiftAssignment.employee_id.in_(ids[i:i + 2000]),
                    ShiftAssignment.starts_at < hi, ShiftAssignment.ends_at > lo))).all():
                stored[a.employee_id].append((a.id, a.template_id, (a.day, a.org_unit_id),
                                              (a.starts_at, a.ends_at)))
    planned: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for n, r in rows:
        emp = emps.get(r["employee_no"])
        if emp is None:
            ctx.plan.error(n, "employee_no", "Unknown employee {code}.", code=r["employee_no"])
            continue
        tpl = templates.get(r["shift_code"])
        if tpl is None:
            ctx.plan.error(n, "shift_code", "Unknown shift {code}.", code=r["shift_code"])
            continue
        unit = units.get(r["team_code"]) if r.get("team_code") else emp.org_unit_id
        if unit is None:
            ctx.plan.error(n, "team_code", "Unknown org unit {code}.",
                           code=r.get("team_code") or "-")
            continue
        if r["day"] < emp.hire_date or (emp.left_date is not None
                                        and r["day"] > emp.left_date):
            ctx.plan.error(n, "day", "{employee} is not employed on {day}.",
                           employee=r["employee_no"], day=r["day"].isoformat())
            continue
        span = local_span(r["day"], tpl.start_time, tpl.end_time, zone)
        same = next((s for s in stored[emp.id] if s[1] == tpl.id and s[2][0] == r["day"]), None)
        if same is not None:
            if same[2][1] == unit:
                ctx.plan.same()
            else:
                ctx.plan.update(n, {"id": same[0], "org_unit_id": unit}, show=r)
            continue
        if any(_overlaps(span, s[3]) for s in stored[emp.id]) or any(
                _overlaps(span, s) for s in planned[emp.id]):
            ctx.plan.error(n, "day", "Overlaps another shift of {employee} on {day}.",
                           employee=r["employee_no"], day=r["day"].isoformat())
            continue
        planned[emp.id].append(span)
        ctx.plan.insert(n, {"org_unit_id": unit, "employee_id": emp.id, "template_id": tpl.id,
                            "day": r["day"], "starts_at": span[0], "ends_at": span[1]}, show=r)


async def apply_rotas(ctx: ImportContext) -> None:
    user_id = ctx.actor.user_id if ctx.actor else None
    await ctx.insert(ShiftAssignment, [{"tenant_id": ctx.tenant_id,
                                        "created_by_user_id": user_id, **r}
                                       for r in ctx.plan.inserts])
    await ctx.update(ShiftAssignment, ctx.plan.updates)


async def export_rotas(session: AsyncSession, tenant_id: int) -> AsyncIterator[dict[str, Any]]:
    q = (select(Employee.employee_no, ShiftAssignment.day, ShiftTemplate.code, OrgUnit.code)
         .join(Employee, Employee.id == ShiftAssignment.employee_id)
         .join(ShiftTemplate, ShiftTemplate.id == ShiftAssignment.template_id)
         .join(OrgUnit, OrgUnit.id == ShiftAssignment.org_unit_id)
         .where(ShiftAssignment.tenant_id == tenant_id).order_by(ShiftAssignment.id))
    async for no, day, code, team in stream_rows(session, q):
        yield {"employee_no": no, "day": day.isoformat(), "shift_code": code, "team_code": team}


register_kind(ImportKind(
    name="rotas", title="Rotas", perm=Perm.attendance_manage,
    key=("employee_no", "day", "shift_code"), order=90, fields=(
        Field("employee_no", p.text(32), aliases=("工号", "员工编号")),
        Field("day", p.day(), aliases=("日期", "date")),
        Field("shift_code", p.text(32), aliases=("班次编码", "班次", "shift")),
        Field("team_code", p.text(32), required=False, aliases=("团队编码", "team")),
    ),
    resolve=resolve_rotas, apply=apply_rotas, export=export_rotas))


# --- leave balances --------------------------------------------------------------------------


async def resolve_balances(ctx: ImportContext, rows: list[Row]) -> None:
    t = ctx.tenant_id
    emps = await ctx.lookup(Employee.employee_no, (r["employee_no"] for _, r in rows),
                            Employee.id, where=Employee.tenant_id == t)
    existing: dict[tuple[int, str, int], Any] = {}
    ids = [e.id for e in emps.values()]
    for i in range(0, len(ids), 2000):
        for b in (await ctx.session.execute(select(
                LeaveBalance.id, LeaveBalance.employee_id, LeaveBalance.leave_type,
                LeaveBalance.year, LeaveBalance.entitled_days, LeaveBalance.used_days).where(
                LeaveBalance.employee_id.in_(ids[i:i + 2000])))).all():
            existing[(b.employee_id, b.leave_type.value, b.year)] = b
    for n, r in rows:
        emp = emps.get(r["employee_no"])
        if emp is None:
            ctx.plan.error(n, "employee_no", "Unknown employee {code}.", code=r["employee_no"])
            continue
        old = existing.get((emp.id, r["leave_type"], r["year"]))
        values = {"entitled_days": r["entitled_days"], "used_days": r["used_days"]}
        if old is None:
            ctx.plan.insert(n, {"employee_id": emp.id, "leave_type": LeaveType(r["leave_type"]),
                                "year": r["year"], **values}, show=r)
        elif (Decimal(old.entitled_days), Decimal(old.used_days)) == (
                values["entitled_days"], values["used_days"]):
            ctx.plan.same()
        else:
            ctx.plan.update(n, {"id": old.id, **values}, show=r)


async def apply_balances(ctx: ImportContext) -> None:
    await ctx.insert(LeaveBalance, [{"tenant_id": ctx.tenant_id, **r} for r in ctx.plan.inserts])
    await ctx.update(LeaveBalance, ctx.plan.updates)


async def export_balances(session: AsyncSession, tenant_id: int
                          ) -> AsyncIterator[dict[str, Any]]:
    q = (select(Employee.employee_no, LeaveBalance.leave_type, LeaveBalance.year,
                LeaveBalance.entitled_days, LeaveBalance.used_days).join(
        Employee, Employee.id == LeaveBalance.employee_id)
        .where(LeaveBalance.tenant_id == tenant_id).order_by(LeaveBalance.id))
    async for b in stream_rows(session, q):
        yield {"employee_no": b.employee_no, "leave_type": b.leave_type.value, "year": b.year,
               "entitled_days": str(b.entitled_days), "used_days": str(b.used_days)}


register_kind(ImportKind(
    name="leave_balances", title="Leave balances", perm=Perm.attendance_manage,
    key=("employee_no", "leave_type", "year"), order=100, fields=(
        Field("employee_no", p.text(32), aliases=("工号", "员工编号")),
        Field("leave_type", p.choice(t.value for t in LeaveType), aliases=("假期类型", "type")),
        Field("year", p.integer(2000, 2100), aliases=("年度", "年份")),
        Field("entitled_days", p.decimal(1, Decimal(0), Decimal(366)),
              aliases=("应有天数", "额度")),
        Field("used_days", p.decimal(1, Decimal(0), Decimal(366)), required=False,
              default=Decimal("0.0"), aliases=("已用天数",)),
    ),
    resolve=resolve_balances, apply=apply_balances, export=export_balances))
