"""Onboarding services: a checklist per position copied onto each new hire, the integrity
pledge (versions, electronic signatures recorded in the ledger) and probation-end reminders.

Services flush, never commit; audit rows (and ledger entries) go in the caller's transaction.
"""

from __future__ import annotations

import calendar
import hashlib
import unicodedata
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.permissions import Perm, Principal
from probity.context import client_ip_var
from probity.errors import Conflict, Forbidden, InvalidInput, NotFound
from probity.i18n import deferred
from probity.ledger.service import append_entry
from probity.models import (
    Employee,
    EmploymentStatus,
    Role,
    RoleAssignment,
    Tenant,
    User,
)
from probity.models.base import utcnow
from probity.models.onboarding import (
    ChecklistItem,
    Onboarding,
    OnboardingTask,
    PledgeSignature,
    PledgeVersion,
)
from probity.notify.text import in_app
from probity.onboarding import schemas
from probity.org import service as org_service

# Used when neither the position nor the tenant (nor an ancestor) has a checklist. English
# msgids: pages translate them.
DEFAULT_CHECKLIST: tuple[tuple[str, str], ...] = (
    ("documents", "Copy of ID card and diploma"),
    ("documents", "Signed labour contract"),
    ("account", "System account and role"),
    ("equipment", "Badge, headset and workstation"),
    ("training", "Mandatory compliance course"),
)


def text_sha256(text: str) -> str:
    """The pledge's hash: SHA-256 of its UTF-8 bytes, exactly as stored and shown."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


async def _ancestor_ids(session: AsyncSession, tenant_id: int) -> list[int]:
    """The tenant and its ancestors, nearest first."""
    path = await session.scalar(select(Tenant.path).where(Tenant.id == tenant_id)) or ""
    return [int(p) for p in reversed(path.strip("/").split("/")) if p]


# ---------------------------------------------------------------- checklists


async def set_checklist(session: AsyncSession, actor: Principal, data: schemas.ChecklistSet
                        ) -> list[ChecklistItem]:
    """Replace a position's checklist (or the tenant's default with position_id null). New
    hires get a copy, so changing it never rewrites anyone's onboarding."""
    tenant = await org_service.scoped_tenant(session, actor, data.tenant_id,
                                             Perm.onboarding_manage, as_reference=True)
    if data.position_id is not None:
        await org_service._position_for(session, data.position_id, tenant)
    cond = (ChecklistItem.tenant_id == tenant.id) & (
        ChecklistItem.position_id.is_(None) if data.position_id is None
        else ChecklistItem.position_id == data.position_id)
    before = [f"{c.category}:{c.title}" for c in
              (await session.scalars(select(ChecklistItem).where(cond))).all()]
    await session.execute(delete(ChecklistItem).where(cond))
    items = [ChecklistItem(tenant_id=tenant.id, position_id=data.position_id,
                           category=i.category, title=i.title, sort=n)
             for n, i in enumerate(data.items)]
    session.add_all(items)
    await session.flush()
    record_audit(session, actor, "onboarding.checklist", target_type="position",
                 target_id=data.position_id, tenant_id=tenant.id, before={"items": before},
                 after={"items": [f"{i.category}:{i.title}" for i in items]})
    return items


async def checklist_for(session: AsyncSession, tenant_id: int, position_id: int | None
                        ) -> list[tuple[str, str]]:
    """The position's own checklist in the nearest tenant that has one, else the nearest
    tenant default, else the built-in one."""
    ids = await _ancestor_ids(session, tenant_id)
    rows = (await session.scalars(select(ChecklistItem).where(
        ChecklistItem.tenant_id.in_(ids)).order_by(ChecklistItem.sort))).all()
    rank = {tid: n for n, tid in enumerate(ids)}
    for want_position in ((position_id,) if position_id else ()) + (None,):
        candidates = [r for r in rows if r.position_id == want_position]
        if candidates:
            best = min(rank[r.tenant_id] for r in candidates)
            return [(r.category, r.title) for r in candidates if rank[r.tenant_id] == best]
    return list(DEFAULT_CHECKLIST)


async def start_onboarding(session: AsyncSession, actor: Principal | None, emp: Employee, *,
                           candidate_id: int | None = None, probation_months: int = 3
                           ) -> Onboarding:
    if await session.scalar(select(Onboarding.id).where(Onboarding.employee_id == emp.id)):
        raise Conflict("this employee is already onboarding", code="already_onboarding",
                       template="This employee is already onboarding")
    ob = Onboarding(employee_id=emp.id, tenant_id=emp.tenant_id, candidate_id=candidate_id,
                    probation_end=add_months(emp.hire_date, probation_months))
    session.add(ob)
    await session.flush()
    items = await checklist_for(session, emp.tenant_id, emp.position_id)
    session.add_all([OnboardingTask(onboarding_id=ob.id, category=c, title=t, sort=n)
                     for n, (c, t) in enumerate(items)])
    record_audit(session, actor, "onboarding.start", target_type="employee", target_id=emp.id,
                 tenant_id=emp.tenant_id,
                 after={"probation_end": ob.probation_end, "tasks": len(items)})
    await session.flush()
    return ob


async def get_onboarding(session: AsyncSession, principal: Principal, employee_id: int,
                         perm: Perm = Perm.onboarding_read) -> tuple[Onboarding, Employee]:
    scope = principal.scope(perm)
    row = (await session.execute(
        select(Onboarding, Employee).join(Employee, Employee.id == Onboarding.employee_id)
        .where(Onboarding.employee_id == employee_id,
               scope.filter(Employee.tenant_id, Employee.org_unit_id)))).first()
    if row is None:
        raise NotFound("onboarding not found")
    return row[0], row[1]


async def onboarding_read(session: AsyncSession, ob: Onboarding, emp: Employee
                          ) -> schemas.OnboardingRead:
    tasks = (await session.scalars(select(OnboardingTask).where(
        OnboardingTask.onboarding_id == ob.id).order_by(OnboardingTask.sort))).all()
    current = await current_pledge(session, emp.tenant_id)
    signed = current is not None and bool(await session.scalar(select(PledgeSignature.id).where(
        PledgeSignature.employee_id == emp.id,
        PledgeSignature.pledge_version_id == current.id)))
    return schemas.OnboardingRead(
        id=ob.id, employee_id=emp.id, employee_name=emp.name, tenant_id=ob.tenant_id,
        probation_end=ob.probation_end, completed_at=ob.completed_at,
        tasks=[schemas.TaskRead.model_validate(t) for t in tasks], pledge_signed=signed)


async def list_onboardings(session: AsyncSession, principal: Principal, *,
                           include_completed: bool = False) -> list[tuple[Onboarding, Employee]]:
    scope = principal.scope(Perm.onboarding_read)
    q = (select(Onboarding, Employee).join(Employee, Employee.id == Onboarding.employee_id)
         .where(scope.filter(Employee.tenant_id, Employee.org_unit_id)))
    if not include_completed:
        q = q.where(Onboarding.completed_at.is_(None))
    rows = await session.execute(q.order_by(Onboarding.probation_end, Onboarding.id))
    return [(ob, emp) for ob, emp in rows.all()]


async def complete_task(session: AsyncSession, actor: Principal, employee_id: int, task_id: int
                        ) -> OnboardingTask:
    ob, emp = await get_onboarding(session, actor, employee_id, Perm.onboarding_manage)
    task = await session.scalar(select(OnboardingTask).where(
        OnboardingTask.id == task_id, OnboardingTask.onboarding_id == ob.id))
    if task is None:
        raise NotFound("task not found")
    if task.done_at is None and task.category == "training":
        # The training item is the mandatory compliance course: done when it is passed.
        from probity.training.service import missing_mandatory

        missing = await missing_mandatory(session, emp.tenant_id, emp.id)
        if missing:
            raise Conflict("the mandatory course is not passed yet", code="training_not_passed",
                           template="The mandatory course “{course}” is not passed yet",
                           params={"course": missing[0].title}, course_id=missing[0].id)
    if task.done_at is None:
        task.done_at = utcnow()
        task.done_by_user_id = actor.user_id
        record_audit(session, actor, "onboarding.task_done", target_type="employee",
                     target_id=emp.id, tenant_id=emp.tenant_id,
                     after={"task_id": task.id, "title": task.title})
        await session.flush()
    return task


async def complete_onboarding(session: AsyncSession, actor: Principal, employee_id: int,
                              effective_date: date) -> Onboarding:
    """Every task done and the current pledge signed → the employee becomes active (a dated
    lifecycle transition through the org service)."""
    from probity.org import schemas as org_schemas

    ob, emp = await get_onboarding(session, actor, employee_id, Perm.onboarding_manage)
    if ob.completed_at is not None:
        raise Conflict("onboarding is already complete", code="already_complete",
                       template="Onboarding is already complete")
    state = await onboarding_read(session, ob, emp)
    open_tasks = [t.title for t in state.tasks if t.done_at is None]
    if open_tasks or not state.pledge_signed:
        raise Conflict("onboarding is incomplete", code="onboarding_incomplete",
                       open_tasks=open_tasks, pledge_signed=state.pledge_signed,
                       template="Onboarding is incomplete: {count} open task(s)"
                       if state.pledge_signed else "Onboarding is incomplete: {count} open "
                       "task(s); the integrity pledge is not signed yet",
                       params={"count": len(open_tasks)})
    if emp.status == EmploymentStatus.onboarding:
        await org_service.transition_employee(session, actor, emp.id, org_schemas.TransitionCreate(
            to_status=EmploymentStatus.active, effective_date=effective_date,
            note="onboarding complete"))
    ob.completed_at = utcnow()
    record_audit(session, actor, "onboarding.complete", target_type="employee",
                 target_id=emp.id, tenant_id=emp.tenant_id, after={"onboarding_id": ob.id})
    await session.flush()
    return ob


# ---------------------------------------------------------------- the integrity pledge


async def current_pledge(session: AsyncSession, tenant_id: int) -> PledgeVersion | None:
    """The latest version published by the nearest tenant (itself, else an ancestor: HQ's
    pledge covers every subsidiary that has none of its own)."""
    for tid in await _ancestor_ids(session, tenant_id):
        pv = await session.scalar(select(PledgeVersion).where(PledgeVersion.tenant_id == tid)
                                  .order_by(PledgeVersion.version.desc()).limit(1))
        if pv is not None:
            return pv
    return None


async def publish_pledge(session: AsyncSession, actor: Principal | None,
                         data: schemas.PledgePublish) -> PledgeVersion:
    """A new version: everyone covered by it is asked to sign again (an in-app notification to
    each active employee's account); recorded in the audit trail and the ledger."""
    if actor is not None:
        tenant = await org_service.scoped_tenant(session, actor, data.tenant_id,
                                                 Perm.onboarding_manage, as_reference=True)
    else:
        found = await session.get(Tenant, data.tenant_id)
        if found is None:
            raise InvalidInput(f"unknown tenant {data.tenant_id}", code="unknown_tenant")
        tenant = found
    latest = await session.scalar(select(func.max(PledgeVersion.version)).where(
        PledgeVersion.tenant_id == tenant.id)) or 0
    text = unicodedata.normalize("NFC", data.text.replace("\r\n", "\n"))
    pv = PledgeVersion(tenant_id=tenant.id, version=latest + 1, title=data.title, text=text,
                       text_sha256=text_sha256(text),
                       published_by_user_id=actor.user_id if actor else None)
    session.add(pv)
    await session.flush()
    record_audit(session, actor, "pledge.publish", target_type="pledge_version",
                 target_id=pv.id, tenant_id=tenant.id,
                 after={"version": pv.version, "text_sha256": pv.text_sha256},
                 actor_name=None if actor else "system")
    await append_entry(session, tenant.id, "pledge.published", {
        "pledge_version_id": pv.id, "version": pv.version, "title": pv.title,
        "text_sha256": pv.text_sha256})
    users = (await session.execute(
        select(User.id, Employee.tenant_id).join(Employee, Employee.id == User.employee_id)
        .join(Tenant, Tenant.id == Employee.tenant_id)
        .where(Tenant.path.startswith(tenant.path, autoescape=True),
               Employee.status != EmploymentStatus.left))).all()
    now = utcnow()
    session.add_all([in_app(
        tenant_id=tid, user_id=uid, event="pledge.published",
        title=deferred("Please sign the new integrity pledge (v{version})", version=pv.version),
        body="/me/pledge", created_at=now) for uid, tid in users])
    await session.flush()
    return pv


async def my_pledge(session: AsyncSession, principal: Principal
                    ) -> tuple[Employee, PledgeVersion | None, PledgeSignature | None]:
    if principal.employee_id is None:
        raise NotFound("no employee record is linked to this account")
    emp = await session.get(Employee, principal.employee_id)
    if emp is None:
        raise NotFound("no employee record is linked to this account")
    pv = await current_pledge(session, emp.tenant_id)
    sig = None
    if pv is not None:
        sig = await session.scalar(select(PledgeSignature).where(
            PledgeSignature.employee_id == emp.id, PledgeSignature.pledge_version_id == pv.id))
    return emp, pv, sig


def _same_name(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        return "".join(unicodedata.normalize("NFKC", s).split()).casefold()

    return norm(a) == norm(b)


async def sign_pledge(session: AsyncSession, principal: Principal, data: schemas.PledgeSign,
                      now: datetime | None = None) -> PledgeSignature:
    """The signer's own electronic signature of the current version: their typed name (must
    match their employee record), the time and the SHA-256 of the exact text they saw (must be
    the current version's), appended to the ledger in the same transaction."""
    emp, pv, sig = await my_pledge(session, principal)
    if pv is None or pv.id != data.pledge_version_id:
        raise Conflict("this is not the current pledge version; reload and read it again",
                       code="pledge_outdated",
                       template="This is not the current pledge version; reload and read it "
                                "again")
    if data.text_sha256 != pv.text_sha256:
        raise Conflict("the text you saw is not the current pledge text", code="pledge_changed",
                       template="The text you saw is not the current pledge text; reload and "
                                "read it again")
    if sig is not None:
        raise Conflict("you have already signed this version", code="already_signed",
                       template="You have already signed this version")
    if emp.status == EmploymentStatus.left:
        raise Forbidden("a former employee cannot sign", code="employee_left")
    if not _same_name(data.typed_name, emp.name):
        raise InvalidInput("type your full name exactly as in your employee record",
                           code="name_mismatch",
                           template="Type your full name exactly as in your employee record")
    signed_at = now or utcnow()
    entry = await append_entry(session, emp.tenant_id, "pledge.signed", {
        "employee_id": emp.id, "employee_no": emp.employee_no,
        "pledge_version_id": pv.id, "version": pv.version, "typed_name": data.typed_name,
        "text_sha256": pv.text_sha256, "signed_at": signed_at.isoformat()})
    sig = PledgeSignature(tenant_id=emp.tenant_id, employee_id=emp.id, pledge_version_id=pv.id,
                          user_id=principal.user_id, typed_name=data.typed_name,
                          text_sha256=pv.text_sha256, signed_at=signed_at,
                          ledger_seq=entry.seq, ip=client_ip_var.get())
    session.add(sig)
    await session.flush()
    record_audit(session, principal, "pledge.sign", target_type="employee", target_id=emp.id,
                 tenant_id=emp.tenant_id,
                 after={"pledge_version_id": pv.id, "version": pv.version,
                        "ledger_seq": entry.seq})
    return sig


async def pledge_status(session: AsyncSession, principal: Principal, tenant_id: int
                        ) -> tuple[PledgeVersion | None, list[schemas.PledgeStatusRow]]:
    """Per employee of the tenant (in scope, not left): the latest version they signed and
    whether it is the current one."""
    tenant = await org_service.scoped_tenant(session, principal, tenant_id,
                                             Perm.onboarding_read)
    pv = await current_pledge(session, tenant.id)
    scope = principal.scope(Perm.onboarding_read)
    emps = (await session.scalars(select(Employee).where(
        Employee.tenant_id == tenant.id, Employee.status != EmploymentStatus.left,
        scope.filter(Employee.tenant_id, Employee.org_unit_id)).order_by(Employee.employee_no)
    )).all()
    latest: dict[int, tuple[int, datetime, int]] = {}
    rows = await session.execute(
        select(PledgeSignature.employee_id, PledgeVersion.version, PledgeSignature.signed_at,
               PledgeVersion.id)
        .join(PledgeVersion, PledgeVersion.id == PledgeSignature.pledge_version_id)
        .where(PledgeSignature.employee_id.in_([e.id for e in emps]))
        .order_by(PledgeSignature.signed_at))
    for emp_id, version, signed_at, pv_id in rows.all():
        latest[emp_id] = (version, signed_at, pv_id)
    out = []
    for e in emps:
        got = latest.get(e.id)
        out.append(schemas.PledgeStatusRow(
            employee_id=e.id, employee_no=e.employee_no, name=e.name,
            signed_version=got[0] if got else None, signed_at=got[1] if got else None,
            current=bool(got and pv is not None and got[2] == pv.id)))
    return pv, out


# ---------------------------------------------------------------- probation reminders


async def send_probation_reminders(session: AsyncSession, today: date | datetime,
                                   within_days: int = 7) -> int:
    """In-app reminders, once per new hire, when probation ends within `within_days`: to the
    HR staff over the employee's tenant and to the manager. Returns how many hires were due.
    `today` is a day, or an instant whose day is taken in each employee's tenant zone."""
    first = (today - timedelta(days=1)).date() if isinstance(today, datetime) else today
    last = (today + timedelta(days=1)).date() if isinstance(today, datetime) else today
    found = (await session.execute(
        select(Onboarding, Employee, Tenant.path)
        .join(Employee, Employee.id == Onboarding.employee_id)
        .join(Tenant, Tenant.id == Employee.tenant_id)
        .where(Onboarding.probation_reminded_at.is_(None),
               Onboarding.probation_end >= first,
               Onboarding.probation_end <= last + timedelta(days=within_days),
               Employee.status != EmploymentStatus.left))).all()
    from probity.governance.accessors import display_timezone

    rows = []
    zones: dict[int, ZoneInfo] = {}
    for ob, emp, path in found:
        day = today
        if isinstance(today, datetime):
            if emp.tenant_id not in zones:
                zones[emp.tenant_id] = ZoneInfo(await display_timezone(session, emp.tenant_id))
            day = today.astimezone(zones[emp.tenant_id]).date()
        if day <= ob.probation_end <= day + timedelta(days=within_days):
            rows.append((ob, emp, path))
    if not rows:
        return 0
    hr_users = (await session.execute(
        select(RoleAssignment.user_id, Tenant.path)
        .join(Tenant, Tenant.id == RoleAssignment.tenant_id)
        .where(RoleAssignment.role == Role.hr))).all()
    now = utcnow()
    for ob, emp, path in rows:
        users = {uid for uid, hr_path in hr_users if path.startswith(hr_path)}
        if emp.manager_id is not None:
            mgr_user = await session.scalar(select(User.id).where(
                User.employee_id == emp.manager_id))
            if mgr_user is not None:
                users.add(mgr_user)
        end = ob.probation_end.isoformat()
        session.add_all([in_app(
            tenant_id=emp.tenant_id, user_id=uid, event="probation.ending",
            title=deferred("Probation ends {date}: {name} ({number})", date=end, name=emp.name,
                           number=emp.employee_no),
            body=f"/onboarding/{emp.id}", created_at=now) for uid in sorted(users)])
        ob.probation_reminded_at = now
        record_audit(session, None, "onboarding.probation_reminder", target_type="employee",
                     target_id=emp.id, tenant_id=emp.tenant_id,
                     after={"probation_end": end, "notified": len(users)}, actor_name="system")
    await session.flush()
    return len(rows)
