"""Group structure: tenants, org units, positions, employees and their lifecycle.

Services take the acting principal, narrow every query to its scope, write audit rows in the
same transaction and flush; they never commit.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit, snapshot
from probity.auth.permissions import Perm, Principal
from probity.auth.scoping import tenant_in_scope
from probity.auth.sessions import Publish
from probity.errors import Conflict, InvalidInput, NotFound
from probity.masking import mask_email, mask_phone
from probity.models import (
    Employee,
    EmploymentEvent,
    EmploymentStatus,
    OrgUnit,
    OrgUnitKind,
    Position,
    Role,
    RoleAssignment,
    Tenant,
    User,
)
from probity.models.base import utcnow
from probity.org import schemas

TENANT_FIELDS = ("parent_id", "code", "name", "name_en", "kind", "timezone")
UNIT_FIELDS = ("tenant_id", "parent_id", "code", "name", "kind", "max_concurrent")
POSITION_FIELDS = ("tenant_id", "code", "title", "grade")
EMPLOYEE_FIELDS = ("tenant_id", "employee_no", "name", "org_unit_id", "position_id",
                   "manager_id", "email", "phone", "hire_date", "status", "left_date")

# The employee lifecycle: onboarding → active → transferred → left (transferred may settle back
# to active, or transfer again). `left` is final.
TRANSITIONS: dict[EmploymentStatus, frozenset[EmploymentStatus]] = {
    EmploymentStatus.onboarding: frozenset({EmploymentStatus.active, EmploymentStatus.left}),
    EmploymentStatus.active: frozenset({EmploymentStatus.transferred, EmploymentStatus.left}),
    EmploymentStatus.transferred: frozenset(
        {EmploymentStatus.active, EmploymentStatus.transferred, EmploymentStatus.left}
    ),
    EmploymentStatus.left: frozenset(),
}


# ---------------------------------------------------------------- scope helpers


async def scoped_tenant(
    session: AsyncSession, principal: Principal, tenant_id: int, perm: Perm = Perm.org_read,
    *, as_reference: bool = False,
) -> Tenant:
    """The tenant if `perm` reaches it, or the tenant holds one of the caller's teams (the rule
    is `auth.scoping.tenant_in_scope`); otherwise NotFound, or InvalidInput ``unknown_tenant``
    when the id came from a request body."""
    return await tenant_in_scope(session, principal, perm, tenant_id, body=as_reference,
                                 teams=True)


async def _unit_in_tenant(session: AsyncSession, unit_id: int, tenant: Tenant) -> OrgUnit:
    unit = await session.get(OrgUnit, unit_id)
    if unit is None or unit.tenant_id != tenant.id:
        raise InvalidInput(f"unknown org unit {unit_id} in tenant {tenant.id}",
                           code="unknown_org_unit")
    return unit


async def _position_for(session: AsyncSession, position_id: int, tenant: Tenant) -> Position:
    """Positions are defined by a tenant or any of its ancestors (HQ sets group-wide ones)."""
    pos = await session.get(Position, position_id)
    if pos is None:
        raise InvalidInput(f"unknown position {position_id}", code="unknown_position")
    owner = await session.get(Tenant, pos.tenant_id)
    if owner is None or not tenant.path.startswith(owner.path):
        raise InvalidInput(f"unknown position {position_id}", code="unknown_position")
    return pos


# ---------------------------------------------------------------- tenants


async def list_tenants(session: AsyncSession, principal: Principal) -> list[Tenant]:
    scope = principal.scope(Perm.org_read)
    clause = scope.filter(Tenant.id)
    if scope.org_unit_ids:
        clause = clause | Tenant.id.in_(
            select(OrgUnit.tenant_id).where(OrgUnit.id.in_(scope.org_unit_ids))
        )
    return list((await session.scalars(select(Tenant).where(clause).order_by(Tenant.path))).all())


async def create_tenant(session: AsyncSession, actor: Principal, data: schemas.TenantCreate
                        ) -> Tenant:
    parent = await scoped_tenant(session, actor, data.parent_id, Perm.org_write, as_reference=True)
    if await session.scalar(select(Tenant.id).where(Tenant.code == data.code)):
        raise Conflict(f"tenant code {data.code!r} already exists", code="duplicate_code")
    tenant = Tenant(**data.model_dump())
    session.add(tenant)
    await session.flush()
    tenant.path = f"{parent.path}{tenant.id}/"
    record_audit(session, actor, "tenant.create", target_type="tenant", target_id=tenant.id,
                 tenant_id=tenant.id, after=snapshot(tenant, TENANT_FIELDS))
    await session.flush()
    return tenant


async def update_tenant(session: AsyncSession, actor: Principal, tenant_id: int,
                        data: schemas.TenantUpdate) -> Tenant:
    tenant = await scoped_tenant(session, actor, tenant_id, Perm.org_write)
    return await _apply_update(session, actor, tenant, data.model_dump(exclude_unset=True),
                               TENANT_FIELDS, "tenant", tenant.id)


class _Identified(Protocol):
    @property
    def id(self) -> int: ...


_Row = TypeVar("_Row", bound=_Identified)


async def _apply_update(session: AsyncSession, actor: Principal, obj: _Row,
                        changes: dict[str, Any], fields: tuple[str, ...], kind: str,
                        tenant_id: int) -> _Row:
    before = snapshot(obj, fields)
    for key, value in changes.items():
        setattr(obj, key, value)
    after = snapshot(obj, fields)
    changed = [k for k in fields if before[k] != after[k]]
    if changed:
        if hasattr(obj, "updated_at"):
            obj.updated_at = utcnow()
        record_audit(session, actor, f"{kind}.update", target_type=kind, target_id=obj.id,
                     tenant_id=tenant_id, before={k: before[k] for k in changed},
                     after={k: after[k] for k in changed})
        await session.flush()
    return obj


# ---------------------------------------------------------------- org units and positions


async def list_org_units(session: AsyncSession, principal: Principal, tenant_id: int | None
                         ) -> list[OrgUnit]:
    scope = principal.scope(Perm.org_read)
    q = select(OrgUnit).where(scope.filter(OrgUnit.tenant_id, OrgUnit.id))
    if tenant_id is not None:
        q = q.where(OrgUnit.tenant_id == tenant_id)
    return list((await session.scalars(q.order_by(OrgUnit.tenant_id, OrgUnit.code))).all())


async def get_org_unit(session: AsyncSession, principal: Principal, unit_id: int,
                       perm: Perm = Perm.org_read) -> OrgUnit:
    scope = principal.scope(perm)
    unit = await session.scalar(
        select(OrgUnit).where(OrgUnit.id == unit_id, scope.filter(OrgUnit.tenant_id, OrgUnit.id))
    )
    if unit is None:
        raise NotFound("org unit not found")
    return unit


async def create_org_unit(session: AsyncSession, actor: Principal, data: schemas.OrgUnitCreate
                          ) -> OrgUnit:
    tenant = await scoped_tenant(session, actor, data.tenant_id, Perm.org_write, as_reference=True)
    if data.parent_id is not None:
        await _unit_in_tenant(session, data.parent_id, tenant)
    if await session.scalar(select(OrgUnit.id).where(OrgUnit.tenant_id == tenant.id,
                                                     OrgUnit.code == data.code)):
        raise Conflict(f"org unit code {data.code!r} already exists in this tenant",
                       code="duplicate_code")
    unit = OrgUnit(**data.model_dump())
    session.add(unit)
    await session.flush()
    record_audit(session, actor, "org_unit.create", target_type="org_unit", target_id=unit.id,
                 tenant_id=tenant.id, after=snapshot(unit, UNIT_FIELDS))
    return unit


async def update_org_unit(session: AsyncSession, actor: Principal, unit_id: int,
                          data: schemas.OrgUnitUpdate) -> OrgUnit:
    unit = await get_org_unit(session, actor, unit_id, Perm.org_write)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("parent_id") is not None:
        tenant = await session.get(Tenant, unit.tenant_id)
        assert tenant is not None
        parent = await _unit_in_tenant(session, changes["parent_id"], tenant)
        # Refuse cycles: the new parent must not be the unit or one of its descendants.
        node: OrgUnit | None = parent
        while node is not None:
            if node.id == unit.id:
                raise InvalidInput("an org unit cannot be placed under itself", code="cycle")
            node = await session.get(OrgUnit, node.parent_id) if node.parent_id else None
    return await _apply_update(session, actor, unit, changes, UNIT_FIELDS, "org_unit",
                               unit.tenant_id)


async def list_positions(session: AsyncSession, principal: Principal, tenant_id: int | None
                         ) -> list[Position]:
    scope = principal.scope(Perm.org_read)
    clause = scope.filter(Position.tenant_id)
    if scope.org_unit_ids:
        clause = clause | Position.tenant_id.in_(
            select(OrgUnit.tenant_id).where(OrgUnit.id.in_(scope.org_unit_ids)))
    q = select(Position).where(clause)
    if tenant_id is not None:
        q = q.where(Position.tenant_id == tenant_id)
    return list((await session.scalars(q.order_by(Position.tenant_id, Position.code))).all())


async def create_position(session: AsyncSession, actor: Principal, data: schemas.PositionCreate
                          ) -> Position:
    tenant = await scoped_tenant(session, actor, data.tenant_id, Perm.org_write, as_reference=True)
    if await session.scalar(select(Position.id).where(Position.tenant_id == tenant.id,
                                                      Position.code == data.code)):
        raise Conflict(f"position code {data.code!r} already exists in this tenant",
                       code="duplicate_code")
    pos = Position(**data.model_dump())
    session.add(pos)
    await session.flush()
    record_audit(session, actor, "position.create", target_type="position", target_id=pos.id,
                 tenant_id=tenant.id, after=snapshot(pos, POSITION_FIELDS))
    return pos


async def update_position(session: AsyncSession, actor: Principal, position_id: int,
                          data: schemas.PositionUpdate) -> Position:
    scope = actor.scope(Perm.org_write)
    pos = await session.scalar(select(Position).where(Position.id == position_id,
                                                      scope.filter(Position.tenant_id)))
    if pos is None:
        raise NotFound("position not found")
    return await _apply_update(session, actor, pos, data.model_dump(exclude_unset=True),
                               POSITION_FIELDS, "position", pos.tenant_id)


# ---------------------------------------------------------------- employees


def employee_read(e: Employee, viewer: Principal, today: date | None = None
                  ) -> schemas.EmployeeRead:
    """The read schema, with contact details masked for roles that do not manage people."""
    today = today or date.today()
    end = e.left_date or today
    full = viewer.can(Perm.org_write) or viewer.employee_id == e.id
    return schemas.EmployeeRead(
        id=e.id, tenant_id=e.tenant_id, employee_no=e.employee_no, name=e.name,
        org_unit_id=e.org_unit_id, position_id=e.position_id, manager_id=e.manager_id,
        email=e.email if full else mask_email(e.email),
        phone=e.phone if full else mask_phone(e.phone),
        hire_date=e.hire_date, status=e.status, left_date=e.left_date,
        tenure_days=max((end - e.hire_date).days, 0),
    )


async def list_employees(
    session: AsyncSession, principal: Principal, *, tenant_id: int | None = None,
    org_unit_id: int | None = None, status: str | None = None, q: str | None = None,
    limit: int = 50, offset: int = 0,
) -> tuple[list[Employee], int]:
    scope = principal.scope(Perm.org_read)
    base = select(Employee).where(scope.filter(Employee.tenant_id, Employee.org_unit_id))
    if tenant_id is not None:
        base = base.where(Employee.tenant_id.in_(
            select(Tenant.id).where(Tenant.path.startswith(
                select(Tenant.path).where(Tenant.id == tenant_id).scalar_subquery()))))
    if org_unit_id is not None:
        base = base.where(Employee.org_unit_id == org_unit_id)
    if status:
        base = base.where(Employee.status == EmploymentStatus(status))
    if q:
        # % and _ in the search are literal characters, not wildcards.
        base = base.where(Employee.name.contains(q, autoescape=True)
                          | Employee.employee_no.contains(q, autoescape=True))
    total = await session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = await session.scalars(base.order_by(Employee.tenant_id, Employee.employee_no)
                                 .limit(limit).offset(offset))
    return list(rows.all()), total


async def get_employee(session: AsyncSession, principal: Principal, employee_id: int,
                       perm: Perm = Perm.org_read) -> Employee:
    scope = principal.scope(perm)
    q = select(Employee).where(Employee.id == employee_id)
    if principal.employee_id != employee_id or perm != Perm.org_read:
        q = q.where(scope.filter(Employee.tenant_id, Employee.org_unit_id))
    emp = await session.scalar(q)
    if emp is None:
        raise NotFound("employee not found")
    return emp


async def _check_manager(session: AsyncSession, actor: Principal, manager_id: int,
                         employee_id: int | None = None) -> None:
    scope = actor.scope(Perm.org_read)
    mgr = await session.scalar(select(Employee).where(
        Employee.id == manager_id, scope.filter(Employee.tenant_id, Employee.org_unit_id)))
    if mgr is None:
        raise InvalidInput(f"unknown manager employee {manager_id}", code="unknown_employee")
    if employee_id is not None and manager_id == employee_id:
        raise InvalidInput("an employee cannot be their own manager", code="cycle")


async def create_employee(session: AsyncSession, actor: Principal, data: schemas.EmployeeCreate
                          ) -> Employee:
    tenant = await scoped_tenant(session, actor, data.tenant_id, Perm.org_write, as_reference=True)
    if data.org_unit_id is not None:
        await _unit_in_tenant(session, data.org_unit_id, tenant)
    if data.position_id is not None:
        await _position_for(session, data.position_id, tenant)
    if data.manager_id is not None:
        await _check_manager(session, actor, data.manager_id)
    if await session.scalar(select(Employee.id).where(Employee.tenant_id == tenant.id,
                                                      Employee.employee_no == data.employee_no)):
        raise Conflict(f"employee number {data.employee_no!r} already exists in this tenant",
                       code="duplicate_employee_no")
    emp = Employee(**data.model_dump(), status=EmploymentStatus.onboarding)
    session.add(emp)
    await session.flush()
    session.add(EmploymentEvent(
        employee_id=emp.id, tenant_id=emp.tenant_id, from_status=None,
        to_status=EmploymentStatus.onboarding.value, effective_date=data.hire_date,
        to_org_unit_id=emp.org_unit_id, actor_user_id=actor.user_id, note="hired"))
    record_audit(session, actor, "employee.create", target_type="employee", target_id=emp.id,
                 tenant_id=emp.tenant_id, after=snapshot(emp, EMPLOYEE_FIELDS))
    await session.flush()
    return emp


async def update_employee(session: AsyncSession, actor: Principal, employee_id: int,
                          data: schemas.EmployeeUpdate) -> Employee:
    emp = await get_employee(session, actor, employee_id, Perm.org_write)
    changes = data.model_dump(exclude_unset=True)
    tenant = await session.get(Tenant, emp.tenant_id)
    assert tenant is not None
    if changes.get("position_id") is not None:
        await _position_for(session, changes["position_id"], tenant)
    if changes.get("manager_id") is not None:
        await _check_manager(session, actor, changes["manager_id"], emp.id)
    return await _apply_update(session, actor, emp, changes, EMPLOYEE_FIELDS, "employee",
                               emp.tenant_id)


async def transition_employee(session: AsyncSession, actor: Principal, employee_id: int,
                              data: schemas.TransitionCreate, publish: Publish | None = None
                              ) -> EmploymentEvent:
    """Move an employee along the lifecycle; each transition is dated, evented and audited.
    Leaving shuts the employee's accounts at once (`offboarding.offboard`)."""
    emp = await get_employee(session, actor, employee_id, Perm.employee_lifecycle)
    if data.to_status not in TRANSITIONS[emp.status]:
        raise Conflict(f"cannot go from {emp.status.value} to {data.to_status.value}",
                       code="invalid_transition")
    last = await session.scalar(select(func.max(EmploymentEvent.effective_date))
                                .where(EmploymentEvent.employee_id == emp.id))
    floor = max(d for d in (emp.hire_date, last) if d is not None)
    if data.effective_date < floor:
        raise InvalidInput(f"effective_date must be on or after {floor.isoformat()}",
                           code="date_out_of_range")
    if data.effective_date > date.today() + timedelta(days=366):
        raise InvalidInput("effective_date is more than a year ahead", code="date_out_of_range")
    tenant = await session.get(Tenant, emp.tenant_id)
    assert tenant is not None
    to_unit = emp.org_unit_id
    if data.to_status == EmploymentStatus.transferred:
        if data.to_org_unit_id is None:
            raise InvalidInput("a transfer needs to_org_unit_id", code="missing_org_unit")
        await _unit_in_tenant(session, data.to_org_unit_id, tenant)
        if data.to_org_unit_id == emp.org_unit_id:
            raise InvalidInput("the employee is already in that org unit", code="same_org_unit")
        to_unit = data.to_org_unit_id
    elif data.to_org_unit_id is not None:
        raise InvalidInput("to_org_unit_id is only for transfers", code="unexpected_org_unit")
    before = snapshot(emp, ("status", "org_unit_id", "left_date"))
    event = EmploymentEvent(
        employee_id=emp.id, tenant_id=emp.tenant_id, from_status=emp.status.value,
        to_status=data.to_status.value, effective_date=data.effective_date,
        from_org_unit_id=emp.org_unit_id, to_org_unit_id=to_unit, note=data.note,
        actor_user_id=actor.user_id)
    emp.status = data.to_status
    emp.org_unit_id = to_unit
    emp.updated_at = utcnow()
    if data.to_status == EmploymentStatus.left:
        emp.left_date = data.effective_date
    session.add(event)
    await session.flush()
    record_audit(session, actor, f"employee.{data.to_status.value}", target_type="employee",
                 target_id=emp.id, tenant_id=emp.tenant_id, before=before,
                 after=snapshot(emp, ("status", "org_unit_id", "left_date"))
                 | {"effective_date": data.effective_date, "event_id": event.id})
    if data.to_status == EmploymentStatus.left:
        from probity.org.offboarding import offboard

        await offboard(session, actor, emp, publish)
    return event


async def list_events(session: AsyncSession, principal: Principal, employee_id: int
                      ) -> list[EmploymentEvent]:
    emp = await get_employee(session, principal, employee_id)
    q = select(EmploymentEvent).where(EmploymentEvent.employee_id == emp.id)
    return list((await session.scalars(q.order_by(EmploymentEvent.id))).all())


# ---------------------------------------------------------------- org chart


async def org_chart(session: AsyncSession, principal: Principal, tenant_id: int | None = None
                    ) -> list[schemas.OrgChartNode]:
    """Tenants → departments → teams, with active headcount and the team lead's name."""
    tenants = await list_tenants(session, principal)
    if tenant_id is not None:
        root = next((t for t in tenants if t.id == tenant_id), None)
        if root is None:
            raise NotFound("tenant not found")
        tenants = [t for t in tenants if t.path.startswith(root.path)]
    ids = [t.id for t in tenants]
    units = list((await session.scalars(select(OrgUnit).where(OrgUnit.tenant_id.in_(ids))
                                        .order_by(OrgUnit.code))).all())
    scope = principal.scope(Perm.org_read)
    if not scope.tenant_paths:
        units = [u for u in units if u.id in scope.org_unit_ids]
    counts: dict[int | None, int] = {
        unit_id: n for unit_id, n in await session.execute(
            select(Employee.org_unit_id, func.count()).where(
                Employee.tenant_id.in_(ids), Employee.status != EmploymentStatus.left)
            .group_by(Employee.org_unit_id))}
    leads: dict[int | None, str] = {
        unit_id: name for unit_id, name in await session.execute(
            select(RoleAssignment.org_unit_id, User.display_name)
            .join(User, User.id == RoleAssignment.user_id)
            .where(RoleAssignment.role == Role.team_lead,
                   RoleAssignment.org_unit_id.is_not(None)))}
    unit_nodes = {u.id: schemas.OrgChartNode(type="unit", id=u.id, name=u.name, kind=u.kind.value,
                                              headcount=counts.get(u.id, 0),
                                              lead=leads.get(u.id)) for u in units}
    by_tenant: dict[int, list[schemas.OrgChartNode]] = defaultdict(list)
    for u in units:
        node = unit_nodes[u.id]
        if u.parent_id and u.parent_id in unit_nodes:
            unit_nodes[u.parent_id].children.append(node)
        else:
            by_tenant[u.tenant_id].append(node)
    for u in units:  # departments count their teams' people
        if u.kind == OrgUnitKind.department:
            node = unit_nodes[u.id]
            node.headcount += sum(c.headcount for c in node.children)
    tenant_nodes = {t.id: schemas.OrgChartNode(type="tenant", id=t.id, name=t.name,
                                                kind=t.kind.value, headcount=0,
                                                children=list(by_tenant.get(t.id, [])))
                    for t in tenants}
    roots: list[schemas.OrgChartNode] = []
    for t in tenants:
        node = tenant_nodes[t.id]
        if t.parent_id in tenant_nodes:
            tenant_nodes[t.parent_id].children.append(node)
        else:
            roots.append(node)

    def total(n: schemas.OrgChartNode) -> int:
        if n.type == "tenant":
            n.headcount = sum(total(c) for c in n.children)
        return n.headcount

    for r in roots:
        total(r)
    return roots
