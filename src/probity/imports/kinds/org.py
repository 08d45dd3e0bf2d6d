"""Org units, positions and employees (issue 14.5 data migration, issue 13.6 HR imports).

Natural keys: a unit's and a position's ``code``, an employee's ``employee_no`` (per tenant).
Re-importing identical rows changes nothing; names, contacts, team, position, manager and a
unit's parent may change; an employee's status, hire date and leave date may not (they are the
lifecycle's, with its dated events) — a different value is a row error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import exists, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from probity.auth.permissions import Perm
from probity.imports.engine import ImportContext
from probity.imports.registry import Field, ImportKind, Row, register_kind, stream_rows
from probity.imports.registry import parsers as p
from probity.models import (
    Employee,
    EmploymentEvent,
    EmploymentStatus,
    OrgUnit,
    OrgUnitKind,
    Position,
    Tenant,
)
from probity.models.base import utcnow

# --- org units -------------------------------------------------------------------------------

MAX_DEPTH = 1000  # a unit tree deeper than this is not a tree (the import refuses cycles)


async def _units(session: AsyncSession, tenant_id: int) -> list[Any]:
    return list((await session.execute(
        select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.kind, OrgUnit.parent_id,
               OrgUnit.max_concurrent).where(OrgUnit.tenant_id == tenant_id))).all())


async def resolve_units(ctx: ImportContext, rows: list[Row]) -> None:
    existing = {u.code: u for u in await _units(ctx.session, ctx.tenant_id)}
    code_of = {u.id: u.code for u in existing.values()}
    parent: dict[str, str | None] = {c: code_of.get(u.parent_id) for c, u in existing.items()}
    for _n, r in rows:
        parent[r["code"]] = r.get("parent_code") or None
    for n, r in rows:
        code, pcode = r["code"], r.get("parent_code") or None
        if pcode is not None and pcode not in parent:
            ctx.plan.error(n, "parent_code", "Unknown org unit {code}.", code=pcode)
            continue
        walk, steps, cyclic = pcode, 0, False
        while walk is not None and steps < 1000:
            if walk == code:
                cyclic = True
                break
            walk, steps = parent.get(walk), steps + 1
        if cyclic:
            ctx.plan.error(n, "parent_code", "The parent chain of {code} loops back to it.",
                           code=code)
            continue
        old = existing.get(code)
        values = {"name": r["name"], "max_concurrent": r["max_concurrent"]}
        if old is None:
            ctx.plan.insert(n, {"code": code, "kind": OrgUnitKind(r["kind"]),
                                "_parent": pcode, **values}, show=r)
            continue
        if old.kind.value != r["kind"]:
            ctx.plan.error(n, "kind", "Differs from the recorded org unit {key}.", key=code)
            continue
        current = {"name": old.name, "max_concurrent": old.max_concurrent}
        if current == values and code_of.get(old.parent_id) == pcode:
            ctx.plan.same()
        else:
            ctx.plan.update(n, {"id": old.id, **values, "_parent": pcode}, show=r)


async def apply_units(ctx: ImportContext) -> None:
    t = ctx.tenant_id
    await ctx.insert(OrgUnit, [{"tenant_id": t, **{k: v for k, v in r.items()
                                                 if not k.startswith("_")}}
                               for r in ctx.plan.inserts])
    ids = {u.code: u.id for u in await _units(ctx.session, t)}
    links = [{"id": ids[r["code"]], "parent_id": ids.get(r["_parent"]) if r["_parent"] else None}
             for r in ctx.plan.inserts if r["_parent"]]
    links += [{"id": r["id"], "name": r["name"], "max_concurrent": r["max_concurrent"],
               "parent_id": ids.get(r["_parent"]) if r["_parent"] else None}
              for r in ctx.plan.updates]
    for link in links:  # few rows; executemany needs the same keys per row
        await ctx.update(OrgUnit, [link])


async def export_units(session: AsyncSession, tenant_id: int) -> AsyncIterator[dict[str, Any]]:
    """Parents first (by depth, from a recursive query), so a file read top to bottom never
    names a unit before it exists; streamed in batches with the parent's code joined."""
    parent = aliased(OrgUnit)
    outside = ~exists().where(parent.id == OrgUnit.parent_id, parent.tenant_id == tenant_id)
    tree = (select(OrgUnit.id, literal(0).label("depth"))
            .where(OrgUnit.tenant_id == tenant_id, OrgUnit.parent_id.is_(None) | outside)
            .cte("unit_tree", recursive=True))
    child = aliased(OrgUnit)
    tree = tree.union_all(select(child.id, tree.c.depth + 1)
                          .join(tree, child.parent_id == tree.c.id)
                          .where(child.tenant_id == tenant_id, tree.c.depth < MAX_DEPTH))
    q = (select(OrgUnit.code, OrgUnit.name, OrgUnit.kind, parent.code.label("parent_code"),
                OrgUnit.max_concurrent)
         .join(tree, tree.c.id == OrgUnit.id)
         .outerjoin(parent, (parent.id == OrgUnit.parent_id) & (parent.tenant_id == tenant_id))
         .order_by(tree.c.depth, OrgUnit.id))
    async for u in stream_rows(session, q):
        yield {"code": u.code, "name": u.name, "kind": u.kind.value,
               "parent_code": u.parent_code, "max_concurrent": u.max_concurrent}


register_kind(ImportKind(
    name="org_units", title="Org units", perm=Perm.org_write, key=("code",), order=10,
    fields=(
        Field("code", p.text(32), aliases=("编码", "部门编码", "unit_code")),
        Field("name", p.text(200), aliases=("名称", "部门名称")),
        Field("kind", p.choice(k.value for k in OrgUnitKind), required=False, default="team",
              aliases=("类型",)),
        Field("parent_code", p.text(32), required=False, aliases=("上级编码", "parent")),
        Field("max_concurrent", p.integer(1, 100), required=False, default=5,
              aliases=("并发上限",)),
    ),
    resolve=resolve_units, apply=apply_units, export=export_units))


# --- positions -------------------------------------------------------------------------------


async def _positions_in_reach(session: AsyncSession, tenant_id: int) -> dict[str, Any]:
    """Position code → row, the tenant's own first, else its nearest ancestor's (HQ defines
    the group-wide positions)."""
    path = await session.scalar(select(Tenant.path).where(Tenant.id == tenant_id)) or ""
    chain = [int(x) for x in path.strip("/").split("/") if x] or [tenant_id]
    rows = (await session.execute(select(Position.code, Position.id, Position.title,
                                         Position.grade, Position.tenant_id).where(
        Position.tenant_id.in_(chain)))).all()
    rank = {t: i for i, t in enumerate(chain)}
    out: dict[str, Any] = {}
    for r in sorted(rows, key=lambda r: rank.get(r.tenant_id, -1)):
        out[r.code] = r  # later (nearer) tenants win
    return out


async def resolve_positions(ctx: ImportContext, rows: list[Row]) -> None:
    reach = await _positions_in_reach(ctx.session, ctx.tenant_id)
    for n, r in rows:
        old = reach.get(r["code"])
        if old is not None and (old.title, old.grade) == (r["title"], r["grade"]):
            ctx.plan.same()  # identical, here or group-wide above
        elif old is None or old.tenant_id != ctx.tenant_id:
            ctx.plan.insert(n, dict(r))
        else:
            ctx.plan.update(n, {"id": old.id, "title": r["title"], "grade": r["grade"]}, show=r)


async def apply_positions(ctx: ImportContext) -> None:
    await ctx.insert(Position, [{"tenant_id": ctx.tenant_id, **r} for r in ctx.plan.inserts])
    await ctx.update(Position, ctx.plan.updates)


async def export_positions(session: AsyncSession, tenant_id: int
                           ) -> AsyncIterator[dict[str, Any]]:
    """The tenant's own positions and the group-wide ones its employees hold."""
    used = select(Employee.position_id).where(Employee.tenant_id == tenant_id)
    async for row in stream_rows(session, select(Position.code, Position.title, Position.grade)
                                 .where((Position.tenant_id == tenant_id)
                                        | Position.id.in_(used)).order_by(Position.id)):
        yield {"code": row.code, "title": row.title, "grade": row.grade}


register_kind(ImportKind(
    name="positions", title="Positions", perm=Perm.org_write, key=("code",), order=20,
    fields=(
        Field("code", p.text(32), aliases=("岗位编码", "编码")),
        Field("title", p.text(200), aliases=("岗位名称", "名称", "name")),
        Field("grade", p.text(16), aliases=("职级",)),
    ),
    resolve=resolve_positions, apply=apply_positions, export=export_positions))


# --- employees -------------------------------------------------------------------------------

_MUTABLE = ("name", "email", "phone", "org_unit_id", "position_id")


async def resolve_employees(ctx: ImportContext, rows: list[Row]) -> None:
    t = ctx.tenant_id
    units = {u.code: u.id for u in await _units(ctx.session, t)}
    positions = {c: r.id for c, r in (await _positions_in_reach(ctx.session, t)).items()}
    existing = await ctx.lookup(
        Employee.employee_no, (r["employee_no"] for _, r in rows), Employee.id, Employee.name,
        Employee.email, Employee.phone, Employee.hire_date, Employee.status,
        Employee.org_unit_id, Employee.position_id, Employee.manager_id, Employee.left_date,
        where=Employee.tenant_id == t)
    managers = await ctx.lookup(Employee.employee_no,
                                (r["manager_no"] for _, r in rows if r.get("manager_no")),
                                Employee.id, where=Employee.tenant_id == t)
    in_file = {r["employee_no"] for _, r in rows}
    no_of = {m.id: no for no, m in managers.items()}
    no_of.update({e.id: no for no, e in existing.items()})
    for n, r in rows:
        unit = units.get(r["org_unit_code"]) if r.get("org_unit_code") else None
        if r.get("org_unit_code") and unit is None:
            ctx.plan.error(n, "org_unit_code", "Unknown org unit {code}.",
                           code=r["org_unit_code"])
            continue
        pos = positions.get(r["position_code"]) if r.get("position_code") else None
        if r.get("position_code") and pos is None:
            ctx.plan.error(n, "position_code", "Unknown position {code}.",
                           code=r["position_code"])
            continue
        mgr = r.get("manager_no") or None
        if mgr is not None and (mgr == r["employee_no"]
                                or (mgr not in managers and mgr not in in_file)):
            ctx.plan.error(n, "manager_no", "Unknown employee {code}.", code=mgr)
            continue
        values = {"name": r["name"], "email": r.get("email") or None,
                  "phone": r.get("phone") or None, "org_unit_id": unit, "position_id": pos}
        old = existing.get(r["employee_no"])
        if old is None:
            ctx.plan.insert(n, {"employee_no": r["employee_no"], **values,
                                "hire_date": r["hire_date"],
                                "status": EmploymentStatus(r["status"]),
                                "left_date": r.get("left_date"), "_manager": mgr}, show=r)
            continue
        fixed = [f for f, a, b in (("hire_date", r["hire_date"], old.hire_date),
                                   ("status", r["status"], old.status.value),
                                   ("left_date", r.get("left_date"), old.left_date)) if a != b]
        if fixed:
            ctx.plan.error(n, fixed[0], "Differs from the recorded employee {key}; status and "
                           "dates change through the employee's lifecycle.",
                           key=r["employee_no"])
            continue
        current = {f: getattr(old, f) for f in _MUTABLE}
        if current == values and no_of.get(old.manager_id) == mgr:
            ctx.plan.same()
        else:
            ctx.plan.update(n, {"id": old.id, **values, "_manager": mgr}, show=r)


async def apply_employees(ctx: ImportContext) -> None:
    t = ctx.tenant_id
    now = utcnow()
    await ctx.insert(Employee, [{"tenant_id": t, "updated_at": now,
                                 **{k: v for k, v in r.items() if not k.startswith("_")}}
                                for r in ctx.plan.inserts])
    nos = [r["employee_no"] for r in ctx.plan.inserts]
    nos += [r["_manager"] for r in ctx.plan.inserts + ctx.plan.updates if r["_manager"]]
    ids = {k: v.id for k, v in (await ctx.lookup(Employee.employee_no, nos, Employee.id,
                                                 where=Employee.tenant_id == t)).items()}
    user_id = ctx.actor.user_id if ctx.actor else None
    events = [{"employee_id": ids[r["employee_no"]], "tenant_id": t, "from_status": None,
               "to_status": r["status"].value, "effective_date": r["hire_date"],
               "to_org_unit_id": r["org_unit_id"], "actor_user_id": user_id,
               "note": f"imported (run {ctx.run.id if ctx.run else '-'})"}
              for r in ctx.plan.inserts]
    await ctx.insert(EmploymentEvent, events)
    links = [{"id": ids[r["employee_no"]], "manager_id": ids[r["_manager"]]}
             for r in ctx.plan.inserts if r["_manager"]]
    if links:
        await ctx.update(Employee, links)
    changes = [{"id": r["id"], "updated_at": now, "manager_id": ids.get(r["_manager"])
                if r["_manager"] else None, **{f: r[f] for f in _MUTABLE}}
               for r in ctx.plan.updates]
    await ctx.update(Employee, changes)


async def export_employees(session: AsyncSession, tenant_id: int
                           ) -> AsyncIterator[dict[str, Any]]:
    """One streamed join (team, position and manager codes), never the table at once."""
    manager = aliased(Employee)
    q = (select(Employee.employee_no, Employee.name, Employee.email, Employee.phone,
                Employee.hire_date, Employee.status, Employee.left_date,
                OrgUnit.code.label("unit_code"), Position.code.label("position_code"),
                manager.employee_no.label("manager_no"))
         .outerjoin(OrgUnit, OrgUnit.id == Employee.org_unit_id)
         .outerjoin(Position, Position.id == Employee.position_id)
         .outerjoin(manager, manager.id == Employee.manager_id)
         .where(Employee.tenant_id == tenant_id).order_by(Employee.id))
    async for e in stream_rows(session, q):
        yield {"employee_no": e.employee_no, "name": e.name, "email": e.email,
               "phone": e.phone, "hire_date": e.hire_date.isoformat(),
               "status": e.status.value, "org_unit_code": e.unit_code,
               "position_code": e.position_code, "manager_no": e.manager_no,
               "left_date": e.left_date.isoformat() if e.left_date else None}


register_kind(ImportKind(
    name="employees", title="Employees", perm=Perm.org_write, key=("employee_no",), order=30,
    fields=(
        Field("employee_no", p.text(32), aliases=("工号", "员工编号")),
        Field("name", p.text(100), aliases=("姓名",)),
        Field("email", p.text(200), required=False, aliases=("邮箱", "e-mail")),
        Field("phone", p.text(32), required=False, aliases=("手机", "电话", "手机号")),
        Field("hire_date", p.day(), aliases=("入职日期",)),
        Field("status", p.choice(s.value for s in EmploymentStatus), required=False,
              default="active", aliases=("状态",)),
        Field("org_unit_code", p.text(32), required=False,
              aliases=("部门编码", "团队编码", "team")),
        Field("position_code", p.text(32), required=False, aliases=("岗位编码",)),
        Field("manager_no", p.text(32), required=False, aliases=("上级工号",)),
        Field("left_date", p.day(), required=False, aliases=("离职日期",)),
    ),
    resolve=resolve_employees, apply=apply_employees, export=export_employees))
