"""Shared helpers of the payroll services: errors with English msgids (translated in
i18n/*/LC_MESSAGES/payroll.po), months, tenant chains and scope look-ups."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Perm, Principal
from probity.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from probity.i18n import Msgid
from probity.models import Employee, PayrollRun, RunStatus, Tenant

KINDS: dict[str, type[DomainError]] = {"invalid": InvalidInput, "forbidden": Forbidden,
                                       "conflict": Conflict, "not_found": NotFound}


def fail(kind: str, template: Msgid, *, code: str | None = None,
         extra: dict[str, Any] | None = None, **params: object) -> DomainError:
    """A DomainError whose message is `template` filled with `params` (English) and whose
    detail is the same msgid translated."""
    return KINDS[kind](template.format(**params), code=code, template=template, params=params,
                       **(extra or {}))


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def month_label(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


async def chain(session: AsyncSession, tenant_id: int) -> list[int]:
    """The tenant and its ancestors, nearest first."""
    path = await session.scalar(select(Tenant.path).where(Tenant.id == tenant_id))
    return [int(p) for p in (path or "").strip("/").split("/") if p][::-1]


async def subtree(session: AsyncSession, tenant_id: int) -> list[int]:
    path = await session.scalar(select(Tenant.path).where(Tenant.id == tenant_id))
    if path is None:
        return []
    return list((await session.scalars(select(Tenant.id).where(
        Tenant.path.startswith(path, autoescape=True)))).all())


async def employee_in_scope(session: AsyncSession, principal: Principal, employee_id: int,
                            perm: Perm, *, body: bool = True) -> Employee:
    scope = principal.scope(perm)
    emp = await session.scalar(select(Employee).where(
        Employee.id == employee_id, scope.filter(Employee.tenant_id, Employee.org_unit_id)))
    if emp is None:
        if body:
            raise fail("invalid", "Unknown employee {id}", code="unknown_employee",
                       id=employee_id)
        raise NotFound("employee not found")
    return emp


async def runs_covering(session: AsyncSession, tenant_id: int, month: date) -> list[PayrollRun]:
    """Runs of `month` on the tenant or an ancestor (a run pays its whole subtree)."""
    ids = await chain(session, tenant_id)
    return list((await session.scalars(select(PayrollRun).where(
        PayrollRun.tenant_id.in_(ids), PayrollRun.month == month))).all())


async def refuse_frozen_month(session: AsyncSession, tenant_id: int, month: date) -> None:
    """409 when the month's run for this tenant is approved or closed."""
    for run in await runs_covering(session, tenant_id, month):
        if run.status in (RunStatus.approved, RunStatus.closed):
            raise fail("conflict", "Payroll for {month} is closed: record a correction as an "
                       "adjustment in a later month", code="month_closed",
                       month=month_label(month))
