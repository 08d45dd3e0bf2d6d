"""合规标兵 (Compliance Star): nominated by the tenant's rule when a cycle closes, confirmed (or
declined) by HR; the winner and their team are notified; the honour roll shows confirmed awards
to everyone in the subsidiary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.permissions import Perm, Principal
from probity.i18n import deferred
from probity.models import (
    AppraisalCycle,
    Award,
    AwardStatus,
    Employee,
    Tenant,
    User,
)
from probity.models.base import utcnow
from probity.notify.text import in_app
from probity.performance.engine import EmployeeResult
from probity.performance.errors import fail
from probity.performance.settings import effective_settings


async def nominate(session: AsyncSession, cycle: AppraisalCycle,
                   results: Sequence[EmployeeResult]) -> list[Award]:
    """Nominations by each tenant's rule: at most N violations, at least N refusals, CSAT ≥ x."""
    rules: dict[int, Any] = {}
    out: list[Award] = []
    for r in results:
        if r.tenant_id not in rules:
            rules[r.tenant_id] = await effective_settings(session, r.tenant_id)
        s = rules[r.tenant_id]
        csat = r.facts.service.csat
        if (len(r.facts.cases) <= s.star_max_violations
                and len(r.facts.refusals) >= s.star_min_refusals
                and csat is not None and csat >= s.star_min_csat):
            out.append(Award(tenant_id=r.tenant_id, cycle_id=cycle.id, employee_id=r.employee_id,
                             org_unit_id=r.org_unit_id, kind="compliance_star",
                             status=AwardStatus.nominated, created_at=utcnow(),
                             facts={"violations": len(r.facts.cases),
                                    "refusals": len(r.facts.refusals),
                                    "rebuffed": len(r.facts.rebuffed),
                                    "self_reports": len(r.facts.self_reports),
                                    "csat": round(csat, 2)}))
    session.add_all(out)
    await session.flush()
    return out


async def list_awards(session: AsyncSession, principal: Principal, *,
                      cycle_id: int | None = None, status: str | None = None) -> list[Award]:
    q = select(Award).where(principal.scope(Perm.performance_read).filter(
        Award.tenant_id, Award.org_unit_id))
    if cycle_id is not None:
        q = q.where(Award.cycle_id == cycle_id)
    if status is not None:
        q = q.where(Award.status == status)
    return list((await session.scalars(q.order_by(Award.id.desc()))).all())


async def decide_award(session: AsyncSession, principal: Principal, award_id: int,
                       confirm: bool) -> Award:
    award = await session.scalar(select(Award).where(
        Award.id == award_id,
        principal.scope(Perm.performance_manage).filter(Award.tenant_id, Award.org_unit_id)))
    if award is None:
        raise fail("not_found", "no such nomination")
    if award.status != AwardStatus.nominated:
        raise fail("conflict", "The nomination is already {status}", code="already_decided",
                   status=award.status.value)
    award.status = AwardStatus.confirmed if confirm else AwardStatus.declined
    award.decided_by_user_id = principal.user_id
    award.decided_at = utcnow()
    record_audit(session, principal, "performance.award." + award.status.value,
                 target_type="award", target_id=award.id, tenant_id=award.tenant_id,
                 before={"status": "nominated"},
                 after={"status": award.status.value, "employee_id": award.employee_id,
                        "cycle_id": award.cycle_id})
    if confirm:
        await _notify_award(session, award)
    await session.flush()
    return award


async def _notify_award(session: AsyncSession, award: Award) -> None:
    """The winner and everyone in their team hear about it (in-app)."""
    emp = await session.get(Employee, award.employee_id)
    cycle = await session.get(AppraisalCycle, award.cycle_id)
    if emp is None or cycle is None:
        return
    team = select(Employee.id).where(Employee.org_unit_id == emp.org_unit_id) \
        if emp.org_unit_id is not None else select(Employee.id).where(Employee.id == emp.id)
    users = (await session.execute(select(User.id, User.employee_id).where(
        User.employee_id.in_(team), User.is_active.is_(True)))).all()
    for uid, emp_id in users:
        own = emp_id == emp.id
        title = deferred("You are a Compliance Star for {cycle}", cycle=cycle.name) if own \
            else deferred("{name} is a Compliance Star for {cycle}", cycle=cycle.name,
                          name=emp.name)
        session.add(in_app(
            tenant_id=award.tenant_id, user_id=uid, case_id=None, event="performance.award",
            title=title,
            body=deferred("{violations} violations, {refusals} refusals, CSAT {csat}. See the "
                          "honour roll: /performance/honour-roll",
                          violations=award.facts.get("violations", 0),
                          refusals=award.facts.get("refusals", 0),
                          csat=award.facts.get("csat", "—"))))


async def honour_roll(session: AsyncSession, principal: Principal) -> list[dict[str, Any]]:
    """Confirmed awards in the viewer's subsidiary (everyone employed there sees it); staff with
    performance.read see their whole scope."""
    tenant_ids: set[int] = set()
    if principal.employee_id is not None:
        emp = await session.get(Employee, principal.employee_id)
        if emp is not None:
            path = await session.scalar(select(Tenant.path).where(Tenant.id == emp.tenant_id))
            parts = [p for p in (path or "").strip("/").split("/") if p]
            # The subsidiary is the second level of the tree (HQ is the first).
            sub = f"/{'/'.join(parts[:2])}/" if len(parts) >= 2 else (path or "")
            tenant_ids |= set((await session.scalars(select(Tenant.id).where(
                Tenant.path.startswith(sub, autoescape=True)))).all())
    clauses: list[ColumnElement[bool]] = [Award.tenant_id.in_(tenant_ids)] if tenant_ids else []
    scope = principal.scope(Perm.performance_read)
    if not scope.empty:
        clauses.append(scope.filter(Award.tenant_id, Award.org_unit_id))
    if not clauses:
        return []
    rows = await session.execute(
        select(Award, Employee.name, Employee.employee_no, AppraisalCycle.name)
        .join(Employee, Employee.id == Award.employee_id)
        .join(AppraisalCycle, AppraisalCycle.id == Award.cycle_id)
        .where(Award.status == AwardStatus.confirmed, or_(*clauses))
        .order_by(AppraisalCycle.starts_on.desc(), Employee.name))
    return [{"award_id": a.id, "employee_id": a.employee_id, "name": name,
             "employee_no": no, "cycle": cycle_name, "cycle_id": a.cycle_id,
             "facts": a.facts, "confirmed_at": a.decided_at} for a, name, no, cycle_name in rows]


async def employee_awards(session: AsyncSession, employee_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Award, AppraisalCycle.name).join(AppraisalCycle,
                                                AppraisalCycle.id == Award.cycle_id)
        .where(Award.employee_id == employee_id, Award.status == AwardStatus.confirmed)
        .order_by(Award.id.desc()))
    return [{"award_id": a.id, "kind": a.kind, "cycle": name, "cycle_id": a.cycle_id,
             "facts": a.facts, "confirmed_at": a.decided_at} for a, name in rows]
