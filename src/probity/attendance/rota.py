"""Shift templates, weekly rotas per team, shift swaps with approval, and who was on shift.

An employee is never on two overlapping shifts: a rota or a swap that would do that is refused
(422 `shift_overlap`) and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.attendance import schemas
from probity.attendance.common import (
    check_decider,
    close_request,
    local_span,
    me,
    pending_request,
    requests_in_scope,
    tenant_zone,
    unit_in_scope,
)
from probity.audit.service import record_audit
from probity.auth.permissions import Perm, Principal
from probity.errors import Conflict, InvalidInput, NotFound
from probity.models import (
    Alert,
    Employee,
    EmploymentStatus,
    Punch,
    RequestStatus,
    ShiftAssignment,
    ShiftSwap,
    ShiftTemplate,
    Tenant,
)
from probity.models.base import utcnow
from probity.org import service as org_service

# ---------------------------------------------------------------- templates


async def create_template(session: AsyncSession, actor: Principal,
                          data: schemas.TemplateCreate) -> ShiftTemplate:
    tenant = await org_service.scoped_tenant(session, actor, data.tenant_id,
                                             Perm.attendance_manage, as_reference=True)
    if await session.scalar(select(ShiftTemplate.id).where(
            ShiftTemplate.tenant_id == tenant.id, ShiftTemplate.code == data.code)):
        raise Conflict(f"shift template {data.code!r} already exists", code="duplicate_code",
                       template="Shift template {code} already exists",
                       params={"code": data.code})
    tpl = ShiftTemplate(**data.model_dump())
    session.add(tpl)
    await session.flush()
    record_audit(session, actor, "shift_template.create", target_type="shift_template",
                 target_id=tpl.id, tenant_id=tenant.id,
                 after={"code": tpl.code, "start": tpl.start_time, "end": tpl.end_time})
    return tpl


async def templates_for(session: AsyncSession, tenant_id: int) -> list[ShiftTemplate]:
    """A tenant's own templates and its ancestors' (HQ may define group-wide shifts)."""
    path = await session.scalar(select(Tenant.path).where(Tenant.id == tenant_id)) or ""
    ids = [int(p) for p in path.strip("/").split("/") if p]
    rows = await session.scalars(select(ShiftTemplate).where(ShiftTemplate.tenant_id.in_(ids))
                                 .order_by(ShiftTemplate.start_time, ShiftTemplate.code))
    return list(rows.all())


# ---------------------------------------------------------------- rota


def _overlaps(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


async def _existing_overlap(session: AsyncSession, employee_id: int, starts: datetime,
                            ends: datetime, exclude: Iterable[int] = ()
                            ) -> ShiftAssignment | None:
    q = select(ShiftAssignment).where(ShiftAssignment.employee_id == employee_id,
                                      ShiftAssignment.starts_at < ends,
                                      ShiftAssignment.ends_at > starts)
    ex = list(exclude)
    if ex:
        q = q.where(ShiftAssignment.id.not_in(ex))
    return await session.scalar(q.limit(1))


def _overlap_error(emp: Employee, day: date) -> InvalidInput:
    return InvalidInput(
        f"{emp.name} ({emp.employee_no}) would be on two overlapping shifts on {day}",
        code="shift_overlap", employee_id=emp.id, day=day.isoformat(),
        template="{name} would be on two overlapping shifts on {day}",
        params={"name": emp.name, "day": day.isoformat()})


async def publish_week(session: AsyncSession, actor: Principal, data: schemas.RotaWeek
                       ) -> list[ShiftAssignment]:
    """Add a team's shifts for one week, all or nothing."""
    unit = await unit_in_scope(session, actor, data.org_unit_id, Perm.attendance_manage)
    tz = await tenant_zone(session, unit.tenant_id)
    templates = {t.id: t for t in await templates_for(session, unit.tenant_id)}
    members = {e.id: e for e in (await session.scalars(select(Employee).where(
        Employee.org_unit_id == unit.id, Employee.status != EmploymentStatus.left))).all()}
    week_end = data.week_start + timedelta(days=6)
    planned: dict[int, list[tuple[datetime, datetime]]] = {}
    rows: list[ShiftAssignment] = []
    for n, entry in enumerate(data.entries):
        emp = members.get(entry.employee_id)
        if emp is None:
            raise InvalidInput(f"entries[{n}]: employee {entry.employee_id} is not in this team",
                               code="not_in_team", index=n,
                               template="Entry {n}: employee {id} is not in this team",
                               params={"n": n + 1, "id": entry.employee_id})
        if not data.week_start <= entry.day <= week_end:
            raise InvalidInput(f"entries[{n}]: {entry.day} is outside the week",
                               code="outside_week", index=n,
                               template="Entry {n}: {day} is outside the week",
                               params={"n": n + 1, "day": entry.day.isoformat()})
        if entry.day < emp.hire_date or (emp.left_date is not None
                                         and entry.day > emp.left_date):
            # A part month: the rota covers only the days employed (as pay does).
            raise InvalidInput(f"entries[{n}]: {emp.name} is not employed on {entry.day}",
                               code="not_employed", index=n,
                               template="Entry {n}: {name} is not employed on {day}",
                               params={"n": n + 1, "name": emp.name,
                                       "day": entry.day.isoformat()})
        tpl = templates.get(entry.template_id)
        if tpl is None:
            raise InvalidInput(f"entries[{n}]: unknown shift template {entry.template_id}",
                               code="unknown_template", index=n,
                               template="Entry {n}: unknown shift template {id}",
                               params={"n": n + 1, "id": entry.template_id})
        span = local_span(entry.day, tpl.start_time, tpl.end_time, tz)
        if any(_overlaps(span, other) for other in planned.get(emp.id, [])) or \
                await _existing_overlap(session, emp.id, *span):
            raise _overlap_error(emp, entry.day)
        planned.setdefault(emp.id, []).append(span)
        rows.append(ShiftAssignment(
            tenant_id=unit.tenant_id, org_unit_id=unit.id, employee_id=emp.id,
            template_id=tpl.id, day=entry.day, starts_at=span[0], ends_at=span[1],
            created_by_user_id=actor.user_id))
    session.add_all(rows)
    await session.flush()
    record_audit(session, actor, "rota.publish", target_type="org_unit", target_id=unit.id,
                 tenant_id=unit.tenant_id,
                 after={"week_start": data.week_start, "shifts": len(rows)})
    return rows


async def team_rota(session: AsyncSession, principal: Principal, org_unit_id: int,
                    week_start: date) -> list[ShiftAssignment]:
    unit = await unit_in_scope(session, principal, org_unit_id, Perm.attendance_read,
                               body=False)
    rows = await session.scalars(select(ShiftAssignment).where(
        ShiftAssignment.org_unit_id == unit.id, ShiftAssignment.day >= week_start,
        ShiftAssignment.day < week_start + timedelta(days=7))
        .order_by(ShiftAssignment.day, ShiftAssignment.starts_at, ShiftAssignment.employee_id))
    return list(rows.all())


async def remove_assignment(session: AsyncSession, actor: Principal, assignment_id: int,
                            now: datetime | None = None) -> None:
    """Take a shift off the rota before it starts (a started shift is history)."""
    scope = actor.scope(Perm.attendance_manage)
    a = await session.scalar(select(ShiftAssignment).where(
        ShiftAssignment.id == assignment_id,
        scope.filter(ShiftAssignment.tenant_id, ShiftAssignment.org_unit_id)))
    if a is None:
        raise NotFound("shift not found")
    if a.starts_at <= (now or utcnow()):
        raise Conflict("a shift that has started stays on the rota", code="shift_started",
                       template="A shift that has started stays on the rota")
    if await session.scalar(select(ShiftSwap.id).where(or_(
            ShiftSwap.assignment_id == a.id, ShiftSwap.target_assignment_id == a.id))):
        raise Conflict("this shift has a swap request", code="shift_has_swap",
                       template="This shift has a swap request")
    record_audit(session, actor, "rota.remove", target_type="shift_assignment", target_id=a.id,
                 tenant_id=a.tenant_id, before={"employee_id": a.employee_id, "day": a.day,
                                                "template_id": a.template_id})
    await session.delete(a)
    await session.flush()


async def my_schedule(session: AsyncSession, principal: Principal, start: date, end: date
                      ) -> list[ShiftAssignment]:
    emp = await me(session, principal)
    rows = await session.scalars(select(ShiftAssignment).where(
        ShiftAssignment.employee_id == emp.id, ShiftAssignment.day >= start,
        ShiftAssignment.day <= end).order_by(ShiftAssignment.starts_at))
    return list(rows.all())


# ---------------------------------------------------------------- swaps


async def my_swaps(session: AsyncSession, principal: Principal) -> list[ShiftSwap]:
    """The swaps one has asked for or been asked to take, newest first."""
    emp = await me(session, principal)
    rows = await session.scalars(select(ShiftSwap).where(or_(
        ShiftSwap.requester_id == emp.id, ShiftSwap.target_employee_id == emp.id))
        .order_by(ShiftSwap.id.desc()).limit(50))
    return list(rows.all())


async def request_swap(session: AsyncSession, principal: Principal, data: schemas.SwapCreate,
                       now: datetime | None = None) -> ShiftSwap:
    """Hand one's own future shift to a teammate, or exchange it for one of theirs."""
    emp = await me(session, principal)
    now = now or utcnow()
    mine = await session.get(ShiftAssignment, data.assignment_id)
    if mine is None or mine.employee_id != emp.id:
        raise InvalidInput("that is not one of your shifts", code="unknown_shift",
                           template="That is not one of your shifts")
    if mine.starts_at <= now:
        raise Conflict("a shift that has started cannot be swapped", code="shift_started",
                       template="A shift that has started cannot be swapped")
    target = await session.get(Employee, data.target_employee_id)
    if target is None or target.org_unit_id != mine.org_unit_id or target.id == emp.id or \
            target.status == EmploymentStatus.left:
        raise InvalidInput("swap with a colleague of the same team", code="not_in_team",
                           template="Swap with a colleague of the same team")
    if data.target_assignment_id is not None:
        theirs = await session.get(ShiftAssignment, data.target_assignment_id)
        if theirs is None or theirs.employee_id != target.id or theirs.starts_at <= now:
            raise InvalidInput("that is not one of your colleague's upcoming shifts",
                               code="unknown_shift",
                               template="That is not one of your colleague's upcoming shifts")
    if await session.scalar(select(ShiftSwap.id).where(
            ShiftSwap.assignment_id == mine.id, ShiftSwap.status == RequestStatus.requested)):
        raise Conflict("this shift already has a pending swap", code="swap_pending",
                       template="This shift already has a pending swap")
    swap = ShiftSwap(tenant_id=mine.tenant_id, org_unit_id=mine.org_unit_id,
                     requester_id=emp.id, assignment_id=mine.id, target_employee_id=target.id,
                     target_assignment_id=data.target_assignment_id, reason=data.reason)
    session.add(swap)
    await session.flush()
    record_audit(session, principal, "shift_swap.request", target_type="shift_swap",
                 target_id=swap.id, tenant_id=swap.tenant_id,
                 after={"assignment_id": mine.id, "target_employee_id": target.id,
                        "target_assignment_id": data.target_assignment_id})
    return swap


async def list_swaps(session: AsyncSession, principal: Principal, status: str | None = None
                     ) -> list[ShiftSwap]:
    return await requests_in_scope(session, principal, ShiftSwap, status)


async def decide_swap(session: AsyncSession, actor: Principal, swap_id: int,
                      data: schemas.Decision) -> ShiftSwap:
    swap = await pending_request(session, actor, ShiftSwap, swap_id, "swap")
    check_decider(actor, swap.requester_id, swap.target_employee_id,
                  message="you cannot approve a swap you are part of")
    if data.approve:
        mine = await session.get(ShiftAssignment, swap.assignment_id)
        theirs = (await session.get(ShiftAssignment, swap.target_assignment_id)
                  if swap.target_assignment_id else None)
        assert mine is not None
        moved = [(mine, swap.target_employee_id)]
        if theirs is not None:
            moved.append((theirs, swap.requester_id))
        exclude = [a.id for a, _ in moved]
        for a, to in moved:
            if await _existing_overlap(session, to, a.starts_at, a.ends_at, exclude):
                emp = await session.get(Employee, to)
                assert emp is not None
                raise _overlap_error(emp, a.day)
        for a, to in moved:
            a.employee_id = to
    status = close_request(swap, actor, data.approve)
    record_audit(session, actor, f"shift_swap.{status}", target_type="shift_swap",
                 target_id=swap.id, tenant_id=swap.tenant_id, after={"note": data.note})
    await session.flush()
    return swap


# ---------------------------------------------------------------- who was on shift


async def on_shift(session: AsyncSession, principal: Principal, at: datetime, *,
                   tenant_id: int | None = None, org_unit_id: int | None = None
                   ) -> list[schemas.OnShiftRow]:
    """Everyone on the rota at `at` (within the caller's scope), with whether they had
    clocked in for that shift by then."""
    if at.tzinfo is None:
        raise InvalidInput("give the time with its offset (e.g. 2026-12-05T19:00+08:00)",
                           code="naive_time",
                           template="Give the time with its offset (e.g. "
                                    "2026-12-05T19:00+08:00)")
    at = at.astimezone(UTC)
    scope = principal.scope(Perm.attendance_read)
    q = (select(ShiftAssignment, Employee)
         .join(Employee, Employee.id == ShiftAssignment.employee_id)
         .where(ShiftAssignment.starts_at <= at, ShiftAssignment.ends_at > at,
                scope.filter(ShiftAssignment.tenant_id, ShiftAssignment.org_unit_id)))
    if tenant_id is not None:
        q = q.where(ShiftAssignment.tenant_id == tenant_id)
    if org_unit_id is not None:
        q = q.where(ShiftAssignment.org_unit_id == org_unit_id)
    rows = (await session.execute(q.order_by(ShiftAssignment.org_unit_id,
                                             Employee.employee_no))).all()
    ids = [a.id for a, _ in rows]
    clocked = set((await session.scalars(select(Punch.assignment_id).where(
        Punch.assignment_id.in_(ids), Punch.kind == "in", Punch.at <= at))).all()) if ids else set()
    return [schemas.OnShiftRow(
        employee_id=e.id, employee_no=e.employee_no, name=e.name, org_unit_id=a.org_unit_id,
        assignment_id=a.id, starts_at=a.starts_at, ends_at=a.ends_at,
        clocked_in=a.id in clocked) for a, e in rows]


async def on_shift_read(session: AsyncSession, principal: Principal, at: datetime, *,
                        tenant_id: int, org_unit_id: int | None,
                        agent_employee_id: int | None) -> schemas.OnShiftRead:
    """Who was on shift in a team at `at`, and whether the agent something is about was on the
    rota then (for an alert, a message)."""
    rows = await on_shift(session, principal, at, tenant_id=tenant_id, org_unit_id=org_unit_id)
    agent_on = None
    if agent_employee_id is not None:
        agent_on = bool(await session.scalar(select(ShiftAssignment.id).where(and_(
            ShiftAssignment.employee_id == agent_employee_id,
            ShiftAssignment.starts_at <= at, ShiftAssignment.ends_at > at))))
    return schemas.OnShiftRead(at=at, tenant_id=tenant_id, org_unit_id=org_unit_id,
                               on_shift=rows, agent_employee_id=agent_employee_id,
                               agent_on_shift=agent_on)


async def on_shift_for_alert(session: AsyncSession, principal: Principal, alert_id: int
                             ) -> schemas.OnShiftRead:
    """Who was on shift in the alert's team when it was raised, and whether the agent it is
    about was on the rota then. The alert must be in the caller's alerts scope (404)."""
    scope = principal.scope(Perm.alerts_read)
    alert = await session.scalar(select(Alert).where(
        Alert.id == alert_id, scope.filter(Alert.tenant_id, Alert.org_unit_id)))
    if alert is None:
        raise NotFound("alert not found")
    unit = alert.org_unit_id
    if unit is None and alert.agent_employee_id is not None:
        unit = await session.scalar(select(Employee.org_unit_id).where(
            Employee.id == alert.agent_employee_id))
    return await on_shift_read(session, principal, alert.created_at, tenant_id=alert.tenant_id,
                               org_unit_id=unit, agent_employee_id=alert.agent_employee_id)
