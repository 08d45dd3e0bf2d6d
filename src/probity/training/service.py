"""Compliance training services: courses and their quizzes, assignment rules, quiz attempts,
the chat gate, reminders and the effect of training.

A course belongs to a tenant and covers its subtree (HQ's covers the group). Access: managing
needs `training.manage` over the course's tenant, reading `training.read`; an employee sees and
takes only their own assignments (`training.self`). Services flush, never commit; audit rows go
in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.permissions import Perm, Principal
from probity.auth.scoping import tenant_in_scope
from probity.errors import Conflict, InvalidInput, NotFound
from probity.i18n import deferred
from probity.models import (
    Alert,
    Assignment,
    Case,
    CaseStatus,
    Conversation,
    Course,
    CourseStatus,
    Employee,
    EmploymentStatus,
    QuizAttempt,
    QuizQuestion,
    Tenant,
    User,
)
from probity.models.base import utcnow
from probity.notify.text import in_app
from probity.training import schemas

REASONS = ("manual", "new_hire", "cohort", "substantiated_case")
# Tenure bands of issue 11 as analytics names them (`analytics.rollup.tenure_band`): days since
# hiring in [lo, hi).
TENURE_BANDS: dict[str, tuple[int, int | None]] = {
    "lt3m": (0, 91), "3to12m": (91, 365), "1to3y": (365, 1096), "gt3y": (1096, None),
}
SUBSTANTIATED = (CaseStatus.substantiated, CaseStatus.penalty_proposed,
                 CaseStatus.penalty_approved, CaseStatus.closed, CaseStatus.appealed)
VIOLATION_SOURCES = ("screening", "retro_screening")


async def chain(session: AsyncSession, tenant_id: int) -> list[int]:
    """The tenant and its ancestors, nearest first."""
    path = await session.scalar(select(Tenant.path).where(Tenant.id == tenant_id)) or ""
    ids = [int(p) for p in reversed(path.strip("/").split("/")) if p.isdigit()]
    return ids or [tenant_id]


# ---------------------------------------------------------------- courses and quizzes


def check_quiz(questions: Sequence[schemas.QuestionIn]) -> None:
    """Every question needs two options or more and at least one correct answer among them
    (422 naming the question)."""
    for n, q in enumerate(questions, start=1):
        if len(q.options) < 2:
            raise InvalidInput(f"question {n} needs at least two options", code="too_few_options",
                               template="Question {n} needs at least two options",
                               params={"n": n}, question=n)
        if not q.correct:
            raise InvalidInput(f"question {n} has no correct answer", code="no_correct_answer",
                               template="Question {n} has no correct answer", params={"n": n},
                               question=n)
        if any(i < 0 or i >= len(q.options) for i in q.correct):
            raise InvalidInput(f"question {n}: a correct answer is not one of its options",
                               code="invalid_option",
                               template="Question {n}: a correct answer is not one of its "
                                        "options", params={"n": n}, question=n)


async def _scope_paths(session: AsyncSession, principal: Principal, perm: Perm) -> list[str]:
    """The tenant paths `perm` reaches: whole subtrees, and the tenants of single teams."""
    from probity.models import OrgUnit

    scope = principal.scope(perm)
    paths = list(scope.tenant_paths)
    if scope.org_unit_ids:
        paths += list((await session.scalars(select(Tenant.path).join(
            OrgUnit, OrgUnit.tenant_id == Tenant.id).where(
            OrgUnit.id.in_(scope.org_unit_ids)))).all())
    return paths


def _visible(course_path: str, paths: list[str], *, edit: bool) -> bool:
    """A course is edited within one's subtree; it is read (and assigned to one's people) also
    when it comes from above — HQ's course covers every subsidiary."""
    return any(course_path.startswith(p) or (not edit and p.startswith(course_path))
               for p in paths)


async def _course_for(session: AsyncSession, principal: Principal, course_id: int, perm: Perm,
                      *, edit: bool = False) -> Course:
    """A course the principal reaches with `perm` (404 otherwise): with `edit`, one of a tenant
    in their scope; else also one of an ancestor (it covers their people)."""
    row = (await session.execute(select(Course, Tenant.path).join(
        Tenant, Tenant.id == Course.tenant_id).where(Course.id == course_id))).first()
    if row is None or not _visible(row[1], await _scope_paths(session, principal, perm),
                                   edit=edit):
        raise NotFound("course not found")
    return row[0]


async def questions_of(session: AsyncSession, course_id: int) -> list[QuizQuestion]:
    return list((await session.scalars(select(QuizQuestion).where(
        QuizQuestion.course_id == course_id).order_by(QuizQuestion.sort, QuizQuestion.id))).all())


async def _set_questions(session: AsyncSession, course: Course,
                         questions: Sequence[schemas.QuestionIn]) -> None:
    for old in await questions_of(session, course.id):
        await session.delete(old)
    session.add_all([QuizQuestion(course_id=course.id, sort=n, text=q.text,
                                  options=list(q.options), correct=sorted(set(q.correct)))
                     for n, q in enumerate(questions)])
    await session.flush()


async def create_course(session: AsyncSession, actor: Principal | None,
                        data: schemas.CourseCreate) -> Course:
    check_quiz(data.questions)
    if data.status == CourseStatus.published and not data.questions:
        raise InvalidInput("a published course needs a quiz", code="quiz_required",
                           template="A published course needs a quiz")
    if actor is not None:
        tenant = await tenant_in_scope(session, actor, Perm.training_manage, data.tenant_id)
    else:
        found = await session.get(Tenant, data.tenant_id)
        if found is None:
            raise InvalidInput(f"unknown tenant {data.tenant_id}", code="unknown_tenant")
        tenant = found
    course = Course(tenant_id=tenant.id, title=data.title, body_md=data.body_md,
                    pass_mark=data.pass_mark, mandatory=data.mandatory, status=data.status,
                    due_days=data.due_days, auto_new_hires=data.auto_new_hires,
                    auto_substantiated=data.auto_substantiated,
                    created_by_user_id=actor.user_id if actor else None)
    session.add(course)
    await session.flush()
    await _set_questions(session, course, data.questions)
    record_audit(session, actor, "training.course_create", target_type="course",
                 target_id=course.id, tenant_id=tenant.id,
                 after={"title": course.title, "mandatory": course.mandatory,
                        "status": course.status.value, "pass_mark": course.pass_mark,
                        "questions": len(data.questions)},
                 actor_name=None if actor else "system")
    return course


async def update_course(session: AsyncSession, actor: Principal, course_id: int,
                        data: schemas.CourseUpdate) -> Course:
    course = await _course_for(session, actor, course_id, Perm.training_manage, edit=True)
    changes = data.model_dump(exclude_unset=True, exclude={"questions"})
    if data.questions is not None:
        check_quiz(data.questions)
    status = changes.get("status", course.status)
    n_questions = (len(data.questions) if data.questions is not None
                   else len(await questions_of(session, course.id)))
    if status == CourseStatus.published and n_questions == 0:
        raise InvalidInput("a published course needs a quiz", code="quiz_required",
                           template="A published course needs a quiz")
    before = {k: getattr(course, k) for k in changes}
    for k, v in changes.items():
        setattr(course, k, v)
    if data.questions is not None:
        await _set_questions(session, course, data.questions)
        changes["questions"] = len(data.questions)
    course.updated_at = utcnow()
    record_audit(session, actor, "training.course_update", target_type="course",
                 target_id=course.id, tenant_id=course.tenant_id,
                 before={k: getattr(v, "value", v) for k, v in before.items()},
                 after={k: getattr(v, "value", v) for k, v in changes.items()})
    await session.flush()
    return course


async def list_courses(session: AsyncSession, principal: Principal) -> list[Course]:
    """Courses of the tenants in scope and of their ancestors."""
    paths = await _scope_paths(session, principal, Perm.training_read)
    rows = (await session.execute(select(Course, Tenant.path).join(
        Tenant, Tenant.id == Course.tenant_id).order_by(Course.id.desc()))).all()
    return [c for c, path in rows if _visible(path, paths, edit=False)]


async def get_course(session: AsyncSession, principal: Principal, course_id: int) -> Course:
    return await _course_for(session, principal, course_id, Perm.training_read)


async def course_to_assign(session: AsyncSession, principal: Principal, course_id: int
                           ) -> Course:
    """A published course the principal may assign (training.manage over its tenant or a
    descendant; 404 otherwise, 409 `course_not_published`)."""
    course = await _course_for(session, principal, course_id, Perm.training_manage)
    await _published(session, course)
    return course


async def assignable_courses(session: AsyncSession, principal: Principal) -> list[Course]:
    """The published courses the principal may assign, newest first."""
    paths = await _scope_paths(session, principal, Perm.training_manage)
    rows = (await session.execute(select(Course, Tenant.path).join(
        Tenant, Tenant.id == Course.tenant_id).where(
        Course.status == CourseStatus.published).order_by(Course.id.desc()))).all()
    return [c for c, path in rows if _visible(path, paths, edit=False)]


async def course_stats(session: AsyncSession, course_ids: Iterable[int]
                       ) -> dict[int, dict[str, int]]:
    """Per course: assigned, passed, overdue (not passed after the due date)."""
    ids = list(course_ids)
    out = {cid: {"assigned": 0, "passed": 0, "overdue": 0} for cid in ids}
    if not ids:
        return out
    now = utcnow()
    rows = await session.execute(
        select(Assignment.course_id, func.count(),
               func.count(Assignment.completed_at),
               func.sum(case((and_(Assignment.completed_at.is_(None),
                                   Assignment.due_at < now), 1), else_=0)))
        .where(Assignment.course_id.in_(ids)).group_by(Assignment.course_id))
    for cid, n, passed, overdue in rows.all():
        out[cid] = {"assigned": n, "passed": passed, "overdue": int(overdue or 0)}
    return out


# ---------------------------------------------------------------- assignments


async def _published(session: AsyncSession, course: Course) -> None:
    if course.status != CourseStatus.published:
        raise Conflict("only a published course can be assigned", code="course_not_published",
                       template="Only a published course can be assigned")


async def _covers(session: AsyncSession, course: Course, employee_tenant_id: int) -> bool:
    return course.tenant_id in await chain(session, employee_tenant_id)


async def _assign_many(session: AsyncSession, actor: Principal | None, course: Course,
                       employees: Sequence[Employee], *, reason: str, source: str = "",
                       due_at: datetime | None = None,
                       detail: dict[str, Any] | None = None) -> list[Assignment]:
    """Create the assignments that do not exist yet (one per course and employee); existing
    ones are kept as they are. Each new assignee is told in-app."""
    now = utcnow()
    due = due_at or now + timedelta(days=course.due_days)
    have = set((await session.scalars(select(Assignment.employee_id).where(
        Assignment.course_id == course.id,
        Assignment.employee_id.in_([e.id for e in employees])))).all()) if employees else set()
    fresh = [Assignment(tenant_id=e.tenant_id, course_id=course.id, employee_id=e.id,
                        reason=reason, source=source[:200],
                        assigned_by_user_id=actor.user_id if actor else None,
                        assigned_at=now, due_at=due, attempts=0)
             for e in employees if e.id not in have]
    if not fresh:
        return []
    session.add_all(fresh)
    await session.flush()
    users = dict((await session.execute(select(User.employee_id, User.id).where(
        User.employee_id.in_([a.employee_id for a in fresh]), User.is_active.is_(True)))).all())
    session.add_all([in_app(
        tenant_id=a.tenant_id, user_id=users[a.employee_id], event="training.assigned",
        title=deferred("New training: {course}", course=course.title),
        body=f"/me/training/{a.id}", created_at=now) for a in fresh if a.employee_id in users])
    record_audit(session, actor, "training.assign", target_type="course", target_id=course.id,
                 tenant_id=course.tenant_id,
                 after={"reason": reason, "source": source, "employees": len(fresh),
                        "due_at": due, **(detail or {})},
                 actor_name=None if actor else "system")
    await session.flush()
    return fresh


async def assign(session: AsyncSession, actor: Principal, course_id: int,
                 data: schemas.AssignRequest) -> list[Assignment]:
    """Assign a course to named employees. An employee outside the caller's scope, or whom
    the course does not cover (another subsidiary's course), is 422 `unknown_employee`."""
    course = await _course_for(session, actor, course_id, Perm.training_manage)
    await _published(session, course)
    scope = actor.scope(Perm.training_manage)
    found = {e.id: e for e in (await session.scalars(select(Employee).where(
        Employee.id.in_(data.employee_ids), Employee.status != EmploymentStatus.left,
        scope.filter(Employee.tenant_id, Employee.org_unit_id)))).all()}
    for eid in data.employee_ids:
        emp = found.get(eid)
        if emp is None or not await _covers(session, course, emp.tenant_id):
            raise InvalidInput(f"unknown employee {eid}", code="unknown_employee",
                               template="Unknown employee {id}", params={"id": eid},
                               employee_id=eid)
    if data.due_at is not None and data.due_at <= utcnow():
        raise InvalidInput("the due date has passed", code="due_in_past",
                           template="The due date must be in the future")
    return await _assign_many(session, actor, course, list(found.values()), reason="manual",
                              source=data.source or "", due_at=data.due_at)


def tenure_filter(band: str, today: date) -> Any:
    """The SQL condition on Employee.hire_date for a tenure band (422 for an unknown one)."""
    if band not in TENURE_BANDS:
        raise InvalidInput(f"unknown tenure band {band}", code="unknown_tenure_band",
                           template="Unknown tenure band {band}", params={"band": band})
    lo, hi = TENURE_BANDS[band]
    cond = Employee.hire_date <= today - timedelta(days=lo)
    if hi is not None:
        cond = and_(cond, Employee.hire_date > today - timedelta(days=hi))
    return cond


async def cohort_members(session: AsyncSession, actor: Principal | None, *, tenant_id: int,
                         course_id: int, team_ids: Sequence[int] | None = None,
                         tenure_band: str | None = None, today: date | None = None,
                         employee_ids: Sequence[int] | None = None
                         ) -> tuple[Course, list[Employee]]:
    """The published course and the agents of a cohort (as analytics' findings name it): the
    agents of a tenant's subtree the course covers, narrowed to some teams, a tenure band
    and/or the given employees (a finding's time window names the agents who worked in it).
    With an actor, the tenant and teams must be in their `training.manage` scope (422
    `unknown_tenant` / `unknown_org_unit`) and only the agents in that scope are members."""
    from probity.models import OrgUnit, Role, RoleAssignment

    if actor is not None:
        tenant = await tenant_in_scope(session, actor, Perm.training_manage, tenant_id)
        course = await _course_for(session, actor, course_id, Perm.training_manage)
    else:
        found_t = await session.get(Tenant, tenant_id)
        found_c = await session.get(Course, course_id)
        if found_t is None or found_c is None:
            raise InvalidInput("unknown tenant or course", code="unknown_tenant")
        tenant, course = found_t, found_c
    await _published(session, course)
    if course.tenant_id not in await chain(session, tenant.id):
        raise InvalidInput("the course does not cover this subsidiary", code="course_scope",
                           template="The course does not cover this subsidiary")
    q = (select(Employee).join(Tenant, Tenant.id == Employee.tenant_id)
         .where(Tenant.path.startswith(tenant.path, autoescape=True),
                Employee.status != EmploymentStatus.left,
                exists().where(User.employee_id == Employee.id, RoleAssignment.user_id == User.id,
                               RoleAssignment.role == Role.agent)))
    if team_ids:
        units = set((await session.scalars(select(OrgUnit.id).join(
            Tenant, Tenant.id == OrgUnit.tenant_id).where(
            OrgUnit.id.in_(list(team_ids)),
            Tenant.path.startswith(tenant.path, autoescape=True)))).all())
        missing = sorted(set(team_ids) - units)
        if missing:
            raise InvalidInput(f"unknown team {missing[0]}", code="unknown_org_unit",
                               template="Unknown team {id}", params={"id": missing[0]})
        q = q.where(Employee.org_unit_id.in_(list(team_ids)))
    if tenure_band:
        q = q.where(tenure_filter(tenure_band, today or utcnow().date()))
    if employee_ids is not None:
        q = q.where(Employee.id.in_(list(employee_ids)))
    if actor is not None:
        q = q.where(actor.scope(Perm.training_manage).filter(Employee.tenant_id,
                                                              Employee.org_unit_id))
    return course, list((await session.scalars(q.order_by(Employee.id))).all())


async def assign_members(session: AsyncSession, actor: Principal | None, course: Course,
                         employees: Sequence[Employee], *, source: str,
                         due_at: datetime | None = None,
                         detail: dict[str, Any] | None = None) -> list[Assignment]:
    """Assign a course to a cohort's members (from `cohort_members`): new assignments only,
    each assignee told in-app, one audit row (`training.assign`, reason "cohort", with
    `detail`). 422 `due_in_past` for a due date that has passed."""
    if due_at is not None and due_at <= utcnow():
        raise InvalidInput("the due date has passed", code="due_in_past",
                           template="The due date must be in the future")
    return await _assign_many(session, actor, course, employees, reason="cohort",
                              source=source, due_at=due_at, detail=detail)


async def assign_cohort(session: AsyncSession, actor: Principal | None, *, tenant_id: int,
                        course_id: int, team_ids: Sequence[int] | None = None,
                        tenure_band: str | None = None, source: str = "",
                        today: date | None = None, employee_ids: Sequence[int] | None = None,
                        due_at: datetime | None = None) -> list[Assignment]:
    """Assign a course to a cohort (`cohort_members`); existing assignments are kept as they
    are. Returns the new assignments."""
    course, employees = await cohort_members(
        session, actor, tenant_id=tenant_id, course_id=course_id, team_ids=team_ids,
        tenure_band=tenure_band, today=today, employee_ids=employee_ids)
    label = source or ", ".join(x for x in (
        f"teams {','.join(map(str, team_ids))}" if team_ids else "",
        f"tenure {tenure_band}" if tenure_band else "") if x) or "all agents"
    return await assign_members(session, actor, course, employees, source=label, due_at=due_at)


async def assign_new_hires(session: AsyncSession, actor: Principal | None, course: Course,
                           today: date | None = None) -> list[Assignment]:
    """Employees of the course's subtree hired within the tenant's new-hire window."""
    from probity.governance import settings_values
    from probity.training.settings import TrainingSettings

    today = today or utcnow().date()
    tenant = await session.get(Tenant, course.tenant_id)
    if tenant is None:
        return []
    days = (await settings_values(session, tenant.id, TrainingSettings)).new_hire_days
    employees = list((await session.scalars(
        select(Employee).join(Tenant, Tenant.id == Employee.tenant_id)
        .where(Tenant.path.startswith(tenant.path, autoescape=True),
               Employee.status != EmploymentStatus.left,
               Employee.hire_date >= today - timedelta(days=days))
        .order_by(Employee.id))).all())
    return await _assign_many(session, actor, course, employees, reason="new_hire",
                              source=f"hired within {days} days")


async def assign_substantiated(session: AsyncSession, actor: Principal | None, course: Course
                               ) -> list[Assignment]:
    """Agents of the course's subtree with a substantiated case decided after they last
    passed this course (or never passed it): assigned again (a passed assignment reopens)."""
    tenant = await session.get(Tenant, course.tenant_id)
    if tenant is None:
        return []
    rows = (await session.execute(
        select(Employee, func.max(Case.decided_at))
        .join(Case, Case.agent_employee_id == Employee.id)
        .join(Tenant, Tenant.id == Employee.tenant_id)
        .where(Tenant.path.startswith(tenant.path, autoescape=True),
               Employee.status != EmploymentStatus.left, Case.subject == "agent",
               Case.decision == "substantiated", Case.status.in_(list(SUBSTANTIATED)))
        .group_by(Employee.id).order_by(Employee.id))).all()
    existing = {a.employee_id: a for a in (await session.scalars(select(Assignment).where(
        Assignment.course_id == course.id,
        Assignment.employee_id.in_([e.id for e, _d in rows])))).all()} if rows else {}
    now = utcnow()
    fresh: list[Employee] = []
    for emp, decided in rows:
        got = existing.get(emp.id)
        if got is None:
            fresh.append(emp)
        elif got.completed_at is not None and decided is not None and decided > got.completed_at:
            got.completed_at, got.reason = None, "substantiated_case"
            got.assigned_at, got.due_at = now, now + timedelta(days=course.due_days)
            got.reminded_at = got.overdue_notified_at = None
            record_audit(session, actor, "training.reassign", target_type="employee",
                         target_id=emp.id, tenant_id=emp.tenant_id,
                         after={"course_id": course.id, "reason": "substantiated_case"},
                         actor_name=None if actor else "system")
    return await _assign_many(session, actor, course, fresh, reason="substantiated_case",
                              source="substantiated case")


async def list_assignments(session: AsyncSession, principal: Principal, course_id: int
                           ) -> list[tuple[Assignment, Employee]]:
    course = await _course_for(session, principal, course_id, Perm.training_read)
    scope = principal.scope(Perm.training_read)
    rows = await session.execute(
        select(Assignment, Employee).join(Employee, Employee.id == Assignment.employee_id)
        .where(Assignment.course_id == course.id,
               scope.filter(Employee.tenant_id, Employee.org_unit_id))
        .order_by(Assignment.completed_at.is_not(None), Assignment.due_at, Employee.employee_no))
    return [(a, e) for a, e in rows.all()]


# ---------------------------------------------------------------- taking a course


async def my_employee(session: AsyncSession, principal: Principal) -> Employee:
    emp = await session.get(Employee, principal.employee_id) if principal.employee_id else None
    if emp is None or emp.status == EmploymentStatus.left:
        raise NotFound("no employee record is linked to this account")
    return emp


async def my_assignments(session: AsyncSession, principal: Principal
                         ) -> list[tuple[Assignment, Course]]:
    emp = await my_employee(session, principal)
    rows = await session.execute(
        select(Assignment, Course).join(Course, Course.id == Assignment.course_id)
        .where(Assignment.employee_id == emp.id)
        .order_by(Assignment.completed_at.is_not(None), Assignment.due_at))
    return [(a, c) for a, c in rows.all()]


async def my_assignment(session: AsyncSession, principal: Principal, assignment_id: int
                        ) -> tuple[Assignment, Course]:
    emp = await my_employee(session, principal)
    row = (await session.execute(
        select(Assignment, Course).join(Course, Course.id == Assignment.course_id)
        .where(Assignment.id == assignment_id, Assignment.employee_id == emp.id))).first()
    if row is None:
        raise NotFound("assignment not found")
    return row[0], row[1]


def score_quiz(questions: Sequence[QuizQuestion], answers: dict[int, list[int]]) -> int:
    """Percent of questions answered exactly right (the set of chosen options equals the set of
    correct ones), rounded down."""
    if not questions:
        return 0
    right = sum(1 for q in questions if sorted(set(answers.get(q.id, []))) == sorted(q.correct))
    return right * 100 // len(questions)


async def submit_quiz(session: AsyncSession, principal: Principal, assignment_id: int,
                      data: schemas.QuizSubmit) -> QuizAttempt:
    """Score one attempt at the assignment's quiz, record it (append-only) and, on a pass,
    complete the assignment and the onboarding checklist's training item."""
    assignment, course = await my_assignment(session, principal, assignment_id)
    if course.status != CourseStatus.published:
        raise Conflict("this course is not open", code="course_not_published",
                       template="This course is not open")
    questions = await questions_of(session, course.id)
    by_id = {q.id: q for q in questions}
    answers: dict[int, list[int]] = {}
    for qid, chosen in data.answers.items():
        q = by_id.get(qid)
        if q is None:
            raise InvalidInput(f"unknown question {qid}", code="unknown_question",
                               template="Unknown question {id}", params={"id": qid})
        if any(i < 0 or i >= len(q.options) for i in chosen):
            raise InvalidInput(f"question {qid}: not one of its options", code="invalid_option",
                               template="Question {n}: an answer is not one of its options",
                               params={"n": q.sort + 1})
        answers[qid] = sorted(set(chosen))
    score = score_quiz(questions, answers)
    passed = score >= course.pass_mark
    now = utcnow()
    attempt = QuizAttempt(assignment_id=assignment.id, course_id=course.id,
                          employee_id=assignment.employee_id,
                          answers={str(k): v for k, v in answers.items()}, score=score,
                          passed=passed, submitted_at=now)
    session.add(attempt)
    assignment.attempts += 1
    assignment.best_score = max(assignment.best_score or 0, score)
    if passed and assignment.completed_at is None:
        assignment.completed_at = now
        if course.mandatory:
            await _complete_onboarding_training(session, principal, assignment.employee_id)
    await session.flush()
    record_audit(session, principal, "training.quiz", target_type="course", target_id=course.id,
                 tenant_id=assignment.tenant_id,
                 after={"assignment_id": assignment.id, "score": score, "passed": passed,
                        "attempt": assignment.attempts})
    return attempt


async def _complete_onboarding_training(session: AsyncSession, principal: Principal,
                                        employee_id: int) -> None:
    """Passing the mandatory courses ticks the onboarding checklist's training item(s)."""
    from probity.models import Onboarding, OnboardingTask

    emp = await session.get(Employee, employee_id)
    if emp is None or await missing_mandatory(session, emp.tenant_id, employee_id):
        return
    tasks = (await session.scalars(select(OnboardingTask).join(
        Onboarding, Onboarding.id == OnboardingTask.onboarding_id).where(
        Onboarding.employee_id == employee_id, OnboardingTask.category == "training",
        OnboardingTask.done_at.is_(None)))).all()
    for task in tasks:
        task.done_at = utcnow()
        task.done_by_user_id = principal.user_id
        record_audit(session, principal, "onboarding.task_done", target_type="employee",
                     target_id=employee_id, tenant_id=emp.tenant_id,
                     after={"task_id": task.id, "title": task.title, "by": "training"})


# ---------------------------------------------------------------- mandatory courses, the gate


async def mandatory_courses(session: AsyncSession, tenant_id: int) -> list[Course]:
    """Published mandatory courses that cover the tenant (its own and its ancestors')."""
    return list((await session.scalars(select(Course).where(
        Course.tenant_id.in_(await chain(session, tenant_id)), Course.mandatory.is_(True),
        Course.status == CourseStatus.published).order_by(Course.id))).all())


async def missing_mandatory(session: AsyncSession, tenant_id: int, employee_id: int
                            ) -> list[Course]:
    """The mandatory courses the employee has not passed."""
    courses = await mandatory_courses(session, tenant_id)
    if not courses:
        return []
    passed = set((await session.scalars(select(QuizAttempt.course_id).where(
        QuizAttempt.employee_id == employee_id, QuizAttempt.passed.is_(True),
        QuizAttempt.course_id.in_([c.id for c in courses])))).all())
    return [c for c in courses if c.id not in passed]


async def check_chat_gate(session: AsyncSession, tenant_id: int, employee_id: int | None
                          ) -> None:
    """409 `training_required` when the tenant's training standard gates chats and the agent
    has not passed every mandatory course. Called by `chat.conversations.set_availability`."""
    from probity.governance import settings_values
    from probity.training.settings import TrainingSettings

    if not (await settings_values(session, tenant_id, TrainingSettings)).chat_gate:
        return
    missing = (await missing_mandatory(session, tenant_id, employee_id)
               if employee_id is not None else await mandatory_courses(session, tenant_id))
    if missing:
        course = missing[0]
        raise Conflict(f"pass the mandatory course {course.title!r} before taking "
                       "conversations", code="training_required",
                       template="Pass the mandatory course “{course}” before taking "
                                "conversations (My training)",
                       params={"course": course.title}, course_id=course.id,
                       courses=[c.id for c in missing])


# ---------------------------------------------------------------- reminders and overdue


async def send_reminders(session: AsyncSession, now: datetime | None = None
                         ) -> dict[str, int]:
    """Once per assignment: a reminder when the due date is near (the tenant's
    `reminder_days`), and an overdue notice (the employee and HR over them; a
    `training.overdue` webhook event) once it has passed."""
    from probity.governance import settings_values
    from probity.training.settings import TrainingSettings

    now = now or utcnow()
    rows = (await session.execute(
        select(Assignment, Course).join(Course, Course.id == Assignment.course_id)
        .where(Assignment.completed_at.is_(None),
               Assignment.due_at <= now + timedelta(days=60),
               (Assignment.reminded_at.is_(None) | Assignment.overdue_notified_at.is_(None)))
        .order_by(Assignment.id))).all()
    if not rows:
        return {"reminded": 0, "overdue": 0}
    users = dict((await session.execute(select(User.employee_id, User.id).where(
        User.employee_id.in_([a.employee_id for a, _c in rows]),
        User.is_active.is_(True)))).all())
    lead: dict[int, int] = {}
    reminded = overdue = 0
    for a, c in rows:
        if a.tenant_id not in lead:
            lead[a.tenant_id] = (await settings_values(session, a.tenant_id,
                                                       TrainingSettings)).reminder_days
        uid = users.get(a.employee_id)
        if a.due_at <= now and a.overdue_notified_at is None:
            a.overdue_notified_at = now
            a.reminded_at = a.reminded_at or now
            overdue += 1
            if uid is not None:
                session.add(in_app(
                    tenant_id=a.tenant_id, user_id=uid, event="training.overdue",
                    title=deferred("Training overdue: {course}", course=c.title),
                    body=f"/me/training/{a.id}", created_at=now))
            await _emit_overdue(session, a, c)
        elif a.reminded_at is None and a.due_at <= now + timedelta(days=lead[a.tenant_id]):
            a.reminded_at = now
            reminded += 1
            if uid is not None:
                session.add(in_app(
                    tenant_id=a.tenant_id, user_id=uid, event="training.reminder",
                    title=deferred("Training due soon: {course}", course=c.title),
                    body=f"/me/training/{a.id}", created_at=now))
    await session.flush()
    return {"reminded": reminded, "overdue": overdue}


async def _emit_overdue(session: AsyncSession, a: Assignment, c: Course) -> None:
    """The `training.overdue` webhook event (delivered after the job commits)."""
    from probity import webhooks

    await webhooks.emit(session, a.tenant_id, "training.overdue", {
        "assignment_id": a.id, "course_id": c.id, "course": c.title,
        "employee_id": a.employee_id, "due_at": a.due_at.isoformat()})


async def run_rules(session: AsyncSession, today: date | None = None) -> dict[str, int]:
    """The automatic assignment rules of every published course (the daily job)."""
    courses = (await session.scalars(select(Course).where(
        Course.status == CourseStatus.published,
        (Course.auto_new_hires.is_(True) | Course.auto_substantiated.is_(True)))
        .order_by(Course.id))).all()
    new_hires = substantiated = 0
    for course in courses:
        if course.auto_new_hires:
            new_hires += len(await assign_new_hires(session, None, course, today))
        if course.auto_substantiated:
            substantiated += len(await assign_substantiated(session, None, course))
    return {"new_hires": new_hires, "substantiated": substantiated}


# ---------------------------------------------------------------- effect


@dataclass
class Rate:
    violations: int = 0
    conversations: int = 0

    @property
    def per_1000(self) -> float | None:
        return round(self.violations * 1000 / self.conversations, 1) \
            if self.conversations else None


@dataclass
class Effect:
    trained: Rate
    untrained: Rate
    before: Rate
    after: Rate
    trained_people: int
    untrained_people: int
    days: int


async def _rate(session: AsyncSession, employee_ids: list[int], since: datetime,
                until: datetime) -> Rate:
    if not employee_ids or until <= since:
        return Rate()
    v = await session.scalar(select(func.count()).select_from(Alert).where(
        Alert.agent_employee_id.in_(employee_ids), Alert.subject == "agent",
        Alert.source.in_(VIOLATION_SOURCES), Alert.created_at >= since,
        Alert.created_at < until)) or 0
    n = await session.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.agent_employee_id.in_(employee_ids), Conversation.created_at >= since,
        Conversation.created_at < until)) or 0
    return Rate(int(v), int(n))


async def effect(session: AsyncSession, principal: Principal, course_id: int, days: int = 90
                 ) -> Effect:
    """The violation rate (agents' own violations per 1,000 conversations) over the last
    `days` of the employees assigned the course who passed it (trained) against those who have
    not (untrained); and, for the trained, the `days` before each one passed against the days
    after (up to now)."""
    course = await _course_for(session, principal, course_id, Perm.training_read)
    if not 7 <= days <= 365:
        raise InvalidInput("the period is 7 to 365 days", code="invalid_period",
                           template="The period is {lo} to {hi} days",
                           params={"lo": 7, "hi": 365})
    scope = principal.scope(Perm.training_read)
    rows = (await session.execute(
        select(Assignment.employee_id, Assignment.completed_at)
        .join(Employee, Employee.id == Assignment.employee_id)
        .where(Assignment.course_id == course.id,
               scope.filter(Employee.tenant_id, Employee.org_unit_id)))).all()
    now = utcnow()
    since = now - timedelta(days=days)
    trained = [e for e, done in rows if done is not None]
    untrained = [e for e, done in rows if done is None]
    before, after = Rate(), Rate()
    for emp_id, done in rows:
        if done is None:
            continue
        b = await _rate(session, [emp_id], done - timedelta(days=days), done)
        a = await _rate(session, [emp_id], done, min(now, done + timedelta(days=days)))
        before.violations += b.violations
        before.conversations += b.conversations
        after.violations += a.violations
        after.conversations += a.conversations
    return Effect(trained=await _rate(session, trained, since, now),
                  untrained=await _rate(session, untrained, since, now),
                  before=before, after=after, trained_people=len(trained),
                  untrained_people=len(untrained), days=days)


# ---------------------------------------------------------------- the quiz as text (pages)


def parse_quiz_text(text: str) -> list[schemas.QuestionIn]:
    """The page's quiz format: a block per question, blank lines between —
    "? question", then one option a line, "* " for a correct one and "- " for a wrong one."""
    out: list[schemas.QuestionIn] = []
    for n, block in enumerate([b for b in text.replace("\r\n", "\n").split("\n\n")
                               if b.strip()], start=1):
        lines = [ln.strip() for ln in block.strip().split("\n") if ln.strip()]
        if not lines[0].startswith(("?", "？")):
            raise InvalidInput(f"question {n} must start with '?'", code="invalid_quiz",
                               template="Question {n} must start with “?” followed by its text",
                               params={"n": n}, question=n)
        options: list[str] = []
        correct: list[int] = []
        for ln in lines[1:]:
            if ln[:1] not in ("*", "-"):
                raise InvalidInput(f"question {n}: options start with * or -",
                                   code="invalid_quiz",
                                   template="Question {n}: each option starts with “*” "
                                            "(correct) or “-” (wrong)",
                                   params={"n": n}, question=n)
            if ln.startswith("*"):
                correct.append(len(options))
            options.append(ln[1:].strip())
        out.append(schemas.QuestionIn(text=lines[0][1:].strip() or "?", options=options,
                                      correct=correct))
    return out


def quiz_text(questions: Sequence[QuizQuestion]) -> str:
    blocks = []
    for q in questions:
        lines = [f"? {q.text}"] + [f"{'*' if i in q.correct else '-'} {o}"
                                   for i, o in enumerate(q.options)]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
