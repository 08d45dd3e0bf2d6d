"""Clock-in/out and attendance exceptions, leave with balances and approval, overtime.

A clock-in from someone off the rota is recorded, with an `off_rota` exception — never refused.
Leave beyond the balance is refused (422 `insufficient_balance`) and writes nothing.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.attendance import schemas
from probity.attendance.common import (
    check_decider,
    close_request,
    employee_in_scope,
    me,
    pending_request,
    requests_in_scope,
    tenant_zone,
)
from probity.audit.service import record_audit
from probity.auth.permissions import Perm, Principal
from probity.context import client_ip_var
from probity.errors import Conflict, InvalidInput
from probity.models import (
    AttendanceException,
    Employee,
    LeaveBalance,
    LeaveRequest,
    LeaveType,
    OvertimeRequest,
    Punch,
    RequestStatus,
    ShiftAssignment,
)
from probity.models.base import utcnow

GRACE = timedelta(minutes=5)  # late / early-leave tolerance
EARLY_IN = timedelta(hours=2)  # a clock-in this long before a shift counts for it
LATE_OUT = timedelta(hours=6)  # a clock-out this long after a shift still closes it
MISSING_AFTER = timedelta(hours=4)  # no clock-out this long after the end: missing punch

# ---------------------------------------------------------------- clock-in / clock-out


def _exception(a: ShiftAssignment | None, emp: Employee, kind: str, day: date,
               punch: Punch | None = None, minutes: int = 0) -> AttendanceException:
    return AttendanceException(
        tenant_id=emp.tenant_id, org_unit_id=a.org_unit_id if a else emp.org_unit_id,
        employee_id=emp.id, assignment_id=a.id if a else None,
        punch_id=punch.id if punch else None, kind=kind, day=day, minutes=minutes)


async def _punches_for(session: AsyncSession, assignment_id: int) -> set[str]:
    return set((await session.scalars(select(Punch.kind).where(
        Punch.assignment_id == assignment_id))).all())


async def _open_off_rota(session: AsyncSession, employee_id: int) -> bool:
    """Whether the employee's latest punch is a clock-in off the rota (no shift): a clock-out
    now closes that, even when a shift that ended just before has its own clock-out."""
    last = (await session.execute(select(Punch.kind, Punch.assignment_id).where(
        Punch.employee_id == employee_id).order_by(Punch.at.desc(), Punch.id.desc())
        .limit(1))).first()
    return last is not None and last.kind == "in" and last.assignment_id is None


async def clock(session: AsyncSession, principal: Principal, data: schemas.ClockIn,
                now: datetime | None = None) -> tuple[Punch, list[AttendanceException]]:
    emp = await me(session, principal)
    now = now or utcnow()
    tz = await tenant_zone(session, emp.tenant_id)
    local_day = now.astimezone(ZoneInfo(tz)).date()
    if data.kind == "in":
        a = await session.scalar(select(ShiftAssignment).where(
            ShiftAssignment.employee_id == emp.id,
            ShiftAssignment.starts_at <= now + EARLY_IN, ShiftAssignment.ends_at > now)
            .order_by(ShiftAssignment.starts_at).limit(1))
        if a is not None and "in" in await _punches_for(session, a.id):
            raise Conflict("you have already clocked in for this shift",
                           code="already_clocked_in",
                           template="You have already clocked in for this shift")
    else:
        near = (await session.scalars(select(ShiftAssignment).where(
            ShiftAssignment.employee_id == emp.id,
            ShiftAssignment.starts_at <= now + EARLY_IN,
            ShiftAssignment.ends_at >= now - LATE_OUT)
            .order_by(ShiftAssignment.starts_at.desc()).limit(3))).all()
        # The shift that is open (clocked in, not out) if there is one, else the latest.
        a = near[0] if near else None
        for cand in near:
            kinds = await _punches_for(session, cand.id)
            if "in" in kinds and "out" not in kinds:
                a = cand
                break
        if a is not None and "out" in await _punches_for(session, a.id):
            if not await _open_off_rota(session, emp.id):
                raise Conflict("you have already clocked out of this shift",
                               code="already_clocked_out",
                               template="You have already clocked out of this shift")
            a = None  # this clock-out closes the clock-in off the rota
    punch = Punch(tenant_id=emp.tenant_id, employee_id=emp.id,
                  assignment_id=a.id if a else None, kind=data.kind, at=now,
                  source=data.source, ip=client_ip_var.get())
    session.add(punch)
    await session.flush()
    found: list[AttendanceException] = []
    if a is None:
        if data.kind == "in":
            found.append(_exception(None, emp, "off_rota", local_day, punch))
    elif data.kind == "in" and now > a.starts_at + GRACE:
        found.append(_exception(a, emp, "late", a.day, punch,
                                math.ceil((now - a.starts_at).total_seconds() / 60)))
    elif data.kind == "out":
        if "in" not in await _punches_for(session, a.id):
            found.append(_exception(a, emp, "missing_punch", a.day, punch))
        if now < a.ends_at - GRACE:
            found.append(_exception(a, emp, "early_leave", a.day, punch,
                                    math.ceil((a.ends_at - now).total_seconds() / 60)))
    session.add_all(found)
    await session.flush()
    record_audit(session, principal, f"attendance.clock_{data.kind}", target_type="employee",
                 target_id=emp.id, tenant_id=emp.tenant_id,
                 after={"punch_id": punch.id, "assignment_id": punch.assignment_id,
                        "source": data.source, "exceptions": [e.kind for e in found]})
    return punch, found


async def my_punches(session: AsyncSession, principal: Principal, since: datetime
                     ) -> list[Punch]:
    emp = await me(session, principal)
    rows = await session.scalars(select(Punch).where(Punch.employee_id == emp.id,
                                                     Punch.at >= since).order_by(Punch.at))
    return list(rows.all())


async def detect_exceptions(session: AsyncSession, now: datetime,
                            lookback: timedelta = timedelta(days=14)) -> int:
    """For shifts that have ended: no punch at all → `absent` (unless on approved leave that
    day); a clock-in without a clock-out some hours after the end → `missing_punch`. Each is
    recorded once per shift (idempotent; run on a schedule)."""
    rows = (await session.execute(
        select(ShiftAssignment, Employee).join(Employee, Employee.id == ShiftAssignment.employee_id)
        .where(ShiftAssignment.ends_at <= now, ShiftAssignment.ends_at > now - lookback))).all()
    if not rows:
        return 0
    ids = [a.id for a, _ in rows]
    punched: dict[int, set[str]] = {}
    for aid, punch_kind in (await session.execute(select(Punch.assignment_id, Punch.kind).where(
            Punch.assignment_id.in_(ids)))).all():
        if aid is not None:
            punched.setdefault(aid, set()).add(punch_kind)
    known = set((await session.execute(select(
        AttendanceException.assignment_id, AttendanceException.kind).where(
        AttendanceException.assignment_id.in_(ids)))).all())
    leave = (await session.execute(select(LeaveRequest.employee_id, LeaveRequest.start_date,
                                          LeaveRequest.end_date).where(
        LeaveRequest.status == RequestStatus.approved,
        LeaveRequest.employee_id.in_({e.id for _, e in rows})))).all()
    added = 0
    for a, emp in rows:
        if a.day < emp.hire_date or (emp.left_date is not None and a.day > emp.left_date):
            continue  # a shift left on the rota past the leaving day is no absence
        kinds = punched.get(a.id, set())
        on_leave = any(eid == emp.id and s <= a.day <= e for eid, s, e in leave)
        kind: str | None = None
        if not kinds and not on_leave:
            kind = "absent"
        elif "in" in kinds and "out" not in kinds and a.ends_at + MISSING_AFTER <= now:
            kind = "missing_punch"
        if kind and (a.id, kind) not in known:
            session.add(_exception(a, emp, kind, a.day))
            added += 1
    await session.flush()
    return added


async def list_exceptions(session: AsyncSession, principal: Principal, *, start: date,
                          end: date, org_unit_id: int | None = None
                          ) -> list[AttendanceException]:
    scope = principal.scope(Perm.attendance_read)
    q = select(AttendanceException).where(
        scope.filter(AttendanceException.tenant_id, AttendanceException.org_unit_id),
        AttendanceException.day >= start, AttendanceException.day <= end)
    if org_unit_id is not None:
        q = q.where(AttendanceException.org_unit_id == org_unit_id)
    return list((await session.scalars(q.order_by(AttendanceException.day.desc(),
                                                  AttendanceException.id).limit(500))).all())


# ---------------------------------------------------------------- leave


async def set_balance(session: AsyncSession, actor: Principal, data: schemas.BalanceSet
                      ) -> LeaveBalance:
    emp = await employee_in_scope(session, actor, data.employee_id, Perm.attendance_manage)
    bal = await session.scalar(select(LeaveBalance).where(
        LeaveBalance.employee_id == emp.id, LeaveBalance.leave_type == data.leave_type,
        LeaveBalance.year == data.year))
    before = str(bal.entitled_days) if bal else None
    if bal is None:
        bal = LeaveBalance(tenant_id=emp.tenant_id, employee_id=emp.id,
                           leave_type=data.leave_type, year=data.year,
                           entitled_days=data.entitled_days, used_days=Decimal(0))
        session.add(bal)
    else:
        if data.entitled_days < bal.used_days:
            raise InvalidInput("the entitlement is below the days already taken",
                               code="below_used",
                               template="The entitlement is below the days already taken "
                                        "({used})", params={"used": str(bal.used_days)})
        bal.entitled_days = data.entitled_days
    await session.flush()
    record_audit(session, actor, "leave.balance", target_type="employee", target_id=emp.id,
                 tenant_id=emp.tenant_id, before={"entitled": before},
                 after={"type": data.leave_type.value, "year": data.year,
                        "entitled": str(data.entitled_days)})
    return bal


async def balances(session: AsyncSession, employee_id: int, year: int
                   ) -> list[schemas.BalanceRead]:
    rows = (await session.scalars(select(LeaveBalance).where(
        LeaveBalance.employee_id == employee_id, LeaveBalance.year == year))).all()
    pending = dict((await session.execute(
        select(LeaveRequest.leave_type, func.sum(LeaveRequest.days)).where(
            LeaveRequest.employee_id == employee_id, LeaveRequest.status == RequestStatus.requested,
            LeaveRequest.start_date >= date(year, 1, 1),
            LeaveRequest.start_date <= date(year, 12, 31))
        .group_by(LeaveRequest.leave_type))).all())
    out = []
    for t in LeaveType:
        b = next((r for r in rows if r.leave_type == t), None)
        ent = b.entitled_days if b else Decimal(0)
        used = b.used_days if b else Decimal(0)
        pend = Decimal(pending.get(t, 0) or 0)
        out.append(schemas.BalanceRead(employee_id=employee_id, leave_type=t, year=year,
                                       entitled_days=ent, used_days=used, pending_days=pend,
                                       available_days=ent - used - pend))
    return out


def leave_days(start: date, end: date) -> Decimal:
    return Decimal((end - start).days + 1)


async def request_leave(session: AsyncSession, principal: Principal, data: schemas.LeaveCreate
                        ) -> LeaveRequest:
    emp = await me(session, principal)
    days = leave_days(data.start_date, data.end_date)
    if await session.scalar(select(LeaveRequest.id).where(
            LeaveRequest.employee_id == emp.id,
            LeaveRequest.status.in_([RequestStatus.requested, RequestStatus.approved]),
            LeaveRequest.start_date <= data.end_date, LeaveRequest.end_date >= data.start_date)):
        raise InvalidInput("you already have leave on some of these days", code="leave_overlap",
                           template="You already have leave on some of these days")
    bal = next(b for b in await balances(session, emp.id, data.start_date.year)
               if b.leave_type == data.leave_type)
    if days > bal.available_days:
        raise InvalidInput(
            f"{days} day(s) requested, {bal.available_days} available", code="insufficient_balance",
            requested=str(days), available=str(bal.available_days),
            template="{days} day(s) requested but only {available} available",
            params={"days": str(days), "available": str(bal.available_days)})
    req = LeaveRequest(tenant_id=emp.tenant_id, org_unit_id=emp.org_unit_id,
                       employee_id=emp.id, leave_type=data.leave_type,
                       start_date=data.start_date, end_date=data.end_date, days=days,
                       reason=data.reason)
    session.add(req)
    await session.flush()
    record_audit(session, principal, "leave.request", target_type="leave_request",
                 target_id=req.id, tenant_id=req.tenant_id,
                 after={"type": req.leave_type.value, "start": req.start_date,
                        "end": req.end_date, "days": str(days)})
    return req


async def list_leave(session: AsyncSession, principal: Principal, status: str | None = None
                     ) -> list[LeaveRequest]:
    return await requests_in_scope(session, principal, LeaveRequest, status)


async def my_leave(session: AsyncSession, principal: Principal, year: int
                   ) -> tuple[list[schemas.BalanceRead], list[LeaveRequest]]:
    emp = await me(session, principal)
    reqs = await session.scalars(select(LeaveRequest).where(LeaveRequest.employee_id == emp.id)
                                 .order_by(LeaveRequest.start_date.desc()).limit(50))
    return await balances(session, emp.id, year), list(reqs.all())


async def decide_leave(session: AsyncSession, actor: Principal, leave_id: int,
                       data: schemas.Decision) -> LeaveRequest:
    req = await pending_request(session, actor, LeaveRequest, leave_id, "leave request")
    check_decider(actor, req.employee_id, message="you cannot decide your own request")
    if data.approve:
        bal = await session.scalar(select(LeaveBalance).where(
            LeaveBalance.employee_id == req.employee_id, LeaveBalance.leave_type == req.leave_type,
            LeaveBalance.year == req.start_date.year))
        available = (bal.entitled_days - bal.used_days) if bal else Decimal(0)
        if bal is None or req.days > available:
            raise InvalidInput("the balance no longer covers this leave",
                               code="insufficient_balance",
                               template="{days} day(s) requested but only {available} available",
                               params={"days": str(req.days), "available": str(available)})
        bal.used_days += req.days
    status = close_request(req, actor, data.approve)
    record_audit(session, actor, f"leave.{status}", target_type="leave_request",
                 target_id=req.id, tenant_id=req.tenant_id,
                 after={"days": str(req.days), "note": data.note})
    await session.flush()
    return req


# ---------------------------------------------------------------- overtime


async def request_overtime(session: AsyncSession, principal: Principal,
                           data: schemas.OvertimeCreate) -> OvertimeRequest:
    emp = await me(session, principal)
    ot = OvertimeRequest(tenant_id=emp.tenant_id, org_unit_id=emp.org_unit_id,
                         employee_id=emp.id, day=data.day, minutes=data.minutes,
                         reason=data.reason)
    session.add(ot)
    await session.flush()
    record_audit(session, principal, "overtime.request", target_type="overtime_request",
                 target_id=ot.id, tenant_id=ot.tenant_id,
                 after={"day": ot.day, "minutes": ot.minutes})
    return ot


async def my_overtime(session: AsyncSession, principal: Principal) -> list[OvertimeRequest]:
    emp = await me(session, principal)
    rows = await session.scalars(select(OvertimeRequest).where(
        OvertimeRequest.employee_id == emp.id).order_by(OvertimeRequest.id.desc()).limit(50))
    return list(rows.all())


async def list_overtime(session: AsyncSession, principal: Principal, status: str | None = None
                        ) -> list[OvertimeRequest]:
    return await requests_in_scope(session, principal, OvertimeRequest, status)


async def decide_overtime(session: AsyncSession, actor: Principal, ot_id: int,
                          data: schemas.Decision) -> OvertimeRequest:
    ot = await pending_request(session, actor, OvertimeRequest, ot_id, "overtime request")
    check_decider(actor, ot.employee_id, message="you cannot decide your own request")
    status = close_request(ot, actor, data.approve)
    record_audit(session, actor, f"overtime.{status}", target_type="overtime_request",
                 target_id=ot.id, tenant_id=ot.tenant_id, after={"note": data.note})
    await session.flush()
    return ot
