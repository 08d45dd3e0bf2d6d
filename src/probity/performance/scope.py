"""Who sees which cycles and scorecards: decided by permissions and scopes, in one place.

A cycle belongs to a tenant; a principal reaches it through a tenant subtree grant, or through a
team grant on a team of that tenant. An employee's scorecard is reachable by the employee
themself, or through `performance.read` over the employee's tenant or team. Anything else is
404, exactly like a missing object.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Perm, Principal
from probity.models import AppraisalCycle, Employee, OrgUnit, Tenant
from probity.performance.errors import fail


def cycle_filter(principal: Principal, perm: Perm) -> ColumnElement[bool]:
    scope = principal.scope(perm)
    clauses: list[ColumnElement[bool]] = []
    if scope.tenant_paths:
        clauses.append(AppraisalCycle.tenant_id.in_(
            select(Tenant.id).where(scope.tenant_ids_query())))
    if scope.org_unit_ids:
        clauses.append(AppraisalCycle.tenant_id.in_(
            select(OrgUnit.tenant_id).where(OrgUnit.id.in_(scope.org_unit_ids))))
    return or_(*clauses) if clauses else false()


async def get_cycle(session: AsyncSession, principal: Principal, cycle_id: int,
                    perm: Perm = Perm.performance_read) -> AppraisalCycle:
    cycle = await session.scalar(select(AppraisalCycle).where(
        AppraisalCycle.id == cycle_id, cycle_filter(principal, perm)))
    if cycle is None:
        raise fail("not_found", "no such appraisal cycle")
    return cycle


def employee_filter(principal: Principal, perm: Perm = Perm.performance_read) -> Any:
    return principal.scope(perm).filter(Employee.tenant_id, Employee.org_unit_id)


async def get_employee(session: AsyncSession, principal: Principal, employee_id: int,
                       perm: Perm = Perm.performance_read) -> Employee:
    """The employee themself, or one in the principal's scope for `perm`; else 404."""
    q = select(Employee).where(Employee.id == employee_id)
    if principal.employee_id != employee_id:
        q = q.where(employee_filter(principal, perm))
    emp = await session.scalar(q)
    if emp is None:
        raise fail("not_found", "no such employee")
    return emp
