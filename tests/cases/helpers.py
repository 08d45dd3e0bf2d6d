"""Factories for case and finance tests: tenants, agents, customers and alerts of the demo group."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import Alert, Customer, Employee, EmploymentStatus, Tenant
from probity.models.base import utcnow


async def tenant(db: AsyncSession, code: str) -> Tenant:
    t = await db.scalar(select(Tenant).where(Tenant.code == code))
    assert t is not None
    return t


async def team_agents(db: AsyncSession, tenant_id: int, n: int = 2) -> list[Employee]:
    """n active employees of the tenant's largest team."""
    unit = (await db.execute(
        select(Employee.org_unit_id, func.count()).where(
            Employee.tenant_id == tenant_id, Employee.org_unit_id.is_not(None),
            Employee.status == EmploymentStatus.active)
        .group_by(Employee.org_unit_id).order_by(func.count().desc()).limit(1))).first()
    assert unit is not None
    emps = (await db.scalars(select(Employee).where(
        Employee.org_unit_id == unit[0], Employee.status == EmploymentStatus.active)
        .order_by(Employee.id).limit(n))).all()
    assert len(emps) == n, f"team has {len(emps)} < {n} employees"
    return list(emps)


async def customers(db: AsyncSession, tenant_id: int, n: int = 2) -> list[Customer]:
    return list((await db.scalars(select(Customer).where(Customer.tenant_id == tenant_id)
                                  .order_by(Customer.id).limit(n))).all())


async def make_alert(db: AsyncSession, t: Tenant, agent: Employee | None,
                     customer: Customer | None, *, at: datetime | None = None,
                     severity: int = 2, source: str = "finance", rule: str | None = "test",
                     **extra: Any) -> Alert:
    alert = Alert(tenant_id=t.id, org_unit_id=agent.org_unit_id if agent else None,
                  conversation_id=None, message_id=None, sender_role="system",
                  agent_employee_id=agent.id if agent else None, decision="warn",
                  category="payment", categories=["payment"], severity=severity,
                  snippet="test alert", spans=[], source=source, rule=rule,
                  customer_id=customer.id if customer else None, evidence={"test": True},
                  created_at=at or utcnow(), **extra)
    db.add(alert)
    await db.flush()
    return alert
