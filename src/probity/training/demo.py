"""Demo training: HQ's mandatory compliance course (Markdown, a three-question quiz, pass mark
80 %), assigned to the e-commerce agents — some passed three weeks ago, some overdue, the rest
(the demo agent among them) still open — and to new hires; a draft case study from a closed
case for HR to review. The chat gate stays off in the demo (the group standard `training` can
switch it on and lock it), so the chat demo works for every agent."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import (
    Assignment,
    Case,
    CaseStatus,
    CourseStatus,
    Employee,
    EmploymentStatus,
    QuizAttempt,
    Role,
    RoleAssignment,
    Tenant,
    User,
)
from probity.models.base import utcnow
from probity.training import schemas, service, studies

COURSE_MD = """# 廉洁合规必修课

作为集团客服，你与客户的每一次沟通都**只能**通过官方渠道进行。

## 三条红线

1. 不向客户索要或提供个人微信、QQ、手机号码等联系方式。
2. 不收受红包、礼品或回扣，不引导客户私下付款。
3. 发现客户提出上述要求时，婉拒并通过“自我申报”如实报告。

## 常见情形

| 客户说 | 正确做法 |
| --- | --- |
| “加个微信吧，方便联系” | 婉拒，告知会在官方渠道持续服务 |
| “给你发个红包表示感谢” | 婉拒，感谢客户的认可 |
| “我直接转账给你，便宜点” | 拒绝，说明只能通过官方订单付款 |

> 拒绝并申报的行为会计入你的合规分，是加分项。
"""

QUIZ = [
    schemas.QuestionIn(text="客户要求添加你的个人微信，应该怎么做？",
                       options=["添加微信，方便后续沟通", "婉拒，并继续在官方渠道服务",
                                "把手机号发给客户"], correct=[1]),
    schemas.QuestionIn(text="以下哪些属于违规行为？（多选）",
                       options=["收受客户红包", "引导客户私下转账", "在官方渠道为客户办理退款"],
                       correct=[0, 1]),
    schemas.QuestionIn(text="客户提出私下交易被你拒绝后，还应当做什么？",
                       options=["什么都不用做", "通过自我申报如实报告"], correct=[1]),
]


async def seed_training(session: AsyncSession) -> None:
    hq = await session.scalar(select(Tenant).where(Tenant.code == "HQ"))
    ecom = await session.scalar(select(Tenant).where(Tenant.code == "ECOM"))
    if hq is None or ecom is None:
        return
    course = await service.create_course(session, None, schemas.CourseCreate(
        tenant_id=hq.id, title="廉洁合规必修课", body_md=COURSE_MD, pass_mark=80,
        mandatory=True, status=CourseStatus.published, due_days=14, auto_new_hires=True,
        auto_substantiated=True, questions=QUIZ))
    agents = list((await session.scalars(
        select(Employee).join(User, User.employee_id == Employee.id)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role == Role.agent, Employee.tenant_id == ecom.id,
               Employee.status != EmploymentStatus.left, User.username != "agent")
        .distinct().order_by(Employee.id))).all())
    demo_agent = await session.scalar(select(User.employee_id).where(User.username == "agent"))
    now = utcnow()
    questions = await service.questions_of(session, course.id)
    right = {str(q.id): q.correct for q in questions}
    passed_n, overdue_n = int(len(agents) * 0.4), int(len(agents) * 0.3)
    for n, emp in enumerate(agents):
        if n < passed_n:
            assigned, done = now - timedelta(days=30), now - timedelta(days=21)
            a = Assignment(tenant_id=emp.tenant_id, course_id=course.id, employee_id=emp.id,
                           reason="cohort", source="电商客服全员", assigned_at=assigned,
                           due_at=assigned + timedelta(days=14), completed_at=done,
                           best_score=100, attempts=1, reminded_at=None)
            session.add(a)
            await session.flush()
            session.add(QuizAttempt(assignment_id=a.id, course_id=course.id,
                                    employee_id=emp.id, answers=right, score=100, passed=True,
                                    submitted_at=done))
        elif n < passed_n + overdue_n:
            assigned = now - timedelta(days=30)
            session.add(Assignment(tenant_id=emp.tenant_id, course_id=course.id,
                                   employee_id=emp.id, reason="cohort", source="电商客服全员",
                                   assigned_at=assigned, due_at=assigned + timedelta(days=14),
                                   attempts=0))
        else:
            session.add(Assignment(tenant_id=emp.tenant_id, course_id=course.id,
                                   employee_id=emp.id, reason="cohort", source="电商客服全员",
                                   assigned_at=now, due_at=now + timedelta(days=10),
                                   attempts=0))
    if demo_agent is not None:
        session.add(Assignment(tenant_id=ecom.id, course_id=course.id, employee_id=demo_agent,
                               reason="new_hire", source="入职 30 天内", assigned_at=now,
                               due_at=now + timedelta(days=10), attempts=0))
    await session.flush()
    await service.assign_new_hires(session, None, course)
    closed = await session.scalar(select(Case.id).where(
        Case.status == CaseStatus.closed).order_by(Case.id).limit(1))
    if closed is not None:
        await studies.generate(session, None, closed)
    await session.flush()
