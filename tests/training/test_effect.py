"""The training effect on a fixture with known answers: the violation rate (agents' own
screening violations per 1,000 conversations) of trained against untrained staff over the
period, and of the trained before against after passing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Grant, Principal
from probity.errors import InvalidInput
from probity.models import (
    Alert,
    Assignment,
    Conversation,
    ConversationStatus,
    Course,
    Customer,
    Employee,
    OrgUnit,
    Role,
    Tenant,
)
from probity.models.base import utcnow
from probity.training import service


async def test_trained_against_untrained_and_before_against_after(db: AsyncSession) -> None:
    tenant = await db.scalar(select(Tenant).where(Tenant.kind == "subsidiary").order_by(Tenant.id))
    assert tenant is not None
    team = await db.scalar(select(OrgUnit.id).where(OrgUnit.tenant_id == tenant.id,
                                                    OrgUnit.kind == "team").order_by(OrgUnit.id))
    customer = await db.scalar(select(Customer.id).where(Customer.tenant_id == tenant.id)
                               .order_by(Customer.id))
    assert team is not None and customer is not None
    now = utcnow()
    course = Course(tenant_id=tenant.id, title="效果测试课程", body_md="正文", pass_mark=80)
    db.add(course)
    trained = Employee(tenant_id=tenant.id, org_unit_id=team, employee_no="EFF-T", name="甲",
                       hire_date=date.today() - timedelta(days=400))
    untrained = Employee(tenant_id=tenant.id, org_unit_id=team, employee_no="EFF-U", name="乙",
                         hire_date=date.today() - timedelta(days=400))
    db.add_all([trained, untrained])
    await db.flush()
    passed_at = now - timedelta(days=20)
    for emp, done in ((trained, passed_at), (untrained, None)):
        db.add(Assignment(tenant_id=tenant.id, course_id=course.id, employee_id=emp.id,
                          reason="manual", assigned_at=now - timedelta(days=60),
                          due_at=now - timedelta(days=46), completed_at=done))

    def conversations(emp: Employee, n: int, days_ago: int) -> None:
        for i in range(n):
            db.add(Conversation(tenant_id=tenant.id, org_unit_id=team, customer_id=customer,
                                agent_employee_id=emp.id, status=ConversationStatus.closed,
                                created_at=now - timedelta(days=days_ago, minutes=i)))

    def violations(emp: Employee, n: int, days_ago: int, **kw: str) -> None:
        for i in range(n):
            db.add(Alert(tenant_id=tenant.id, org_unit_id=team, agent_employee_id=emp.id,
                         sender_role="agent", decision="block", category="contact",
                         categories=["contact"], severity=3, snippet="***", spans=[],
                         created_at=now - timedelta(days=days_ago, minutes=i), **kw))

    # Trained: before passing (21–29 days ago) 10 conversations, 4 violations; after (1–19
    # days ago) 20 conversations, 1 violation — plus a customer's report and a finance alert,
    # which are not the agent's own screening violations.
    conversations(trained, 10, 25)
    violations(trained, 4, 25)
    conversations(trained, 20, 5)
    violations(trained, 1, 5)
    violations(trained, 1, 5, subject="customer")
    violations(trained, 1, 5, source="finance")
    # Untrained: 8 conversations and 6 violations in the last 30 days, 5 conversations long
    # before the period.
    conversations(untrained, 8, 3)
    violations(untrained, 6, 3)
    conversations(untrained, 5, 200)
    await db.flush()

    hr = Principal(user_id=0, username="hr", display_name="hr", tenant_id=tenant.id,
                   employee_id=None, customer_id=None,
                   grants=[Grant(Role.hr, tenant.id, tenant.path)])
    e = await service.effect(db, hr, course.id, days=30)
    assert (e.trained_people, e.untrained_people) == (1, 1)
    # The last 30 days: trained 5 / 30 conversations, untrained 6 / 8.
    assert (e.trained.violations, e.trained.conversations) == (5, 30)
    assert (e.untrained.violations, e.untrained.conversations) == (6, 8)
    assert e.trained.per_1000 == 166.7 and e.untrained.per_1000 == 750.0
    # The trained one: 30 days before passing 4 / 10, after 1 / 20.
    assert (e.before.violations, e.before.conversations) == (4, 10)
    assert (e.after.violations, e.after.conversations) == (1, 20)
    assert e.before.per_1000 == 400.0 and e.after.per_1000 == 50.0
    with pytest.raises(InvalidInput):
        await service.effect(db, hr, course.id, days=3)
