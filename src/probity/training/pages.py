"""Training pages: HR's courses (content, quiz, attachments, assignments, effect) and case
studies to review; each employee's own training (mobile first, 390 px) with the quiz."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from probity.auth.deps import Session, require
from probity.auth.deps import commit as commit_tx
from probity.auth.permissions import Perm, Principal
from probity.auth.scoping import tenants_in_scope
from probity.errors import DomainError, NotFound
from probity.i18n import N_
from probity.models import (
    Case,
    CaseStatus,
    CaseStudy,
    CourseStatus,
    Employee,
    EmploymentStatus,
    OrgUnit,
)
from probity.models.base import utcnow
from probity.recruitment.pages import form_error
from probity.training import files, schemas, service, studies
from probity.training.markdown import render_markdown
from probity.web.render import render

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(require(Perm.training_read))]
Manager = Annotated[Principal, Depends(require(Perm.training_manage))]
Learner = Annotated[Principal, Depends(require(Perm.training_self))]

# The quiz syntax by example, in the page's language (the template translates it).
SAMPLE_QUIZ = N_("? The customer asks to add you on WeChat. What do you do?\n- Add them, it is "
                 "easier\n* Decline, and keep serving on the official channel")


async def _status(page: Awaitable[Response], code: int) -> Response:
    resp = await page
    resp.status_code = code
    return resp


async def _act(request: Request, session: Any, action: Callable[[], Awaitable[Any]],
               back: Callable[[str], Awaitable[Response]], ok: str) -> Response:
    """Run a form's action: commit and redirect, or re-render with the message (4xx)."""
    try:
        await action()
        await commit_tx(session)
    except (ValidationError, DomainError) as exc:
        await session.rollback()
        if isinstance(exc, NotFound):
            raise
        code = exc.status_code if isinstance(exc, DomainError) else 422
        return await _status(back(form_error(request, exc)), code)
    return RedirectResponse(ok, status_code=303)


# ---------------------------------------------------------------- HR


@router.get("/training", response_class=HTMLResponse)
async def training_home(request: Request, session: Session, principal: Reader,
                        error: str | None = None) -> Response:
    courses = await service.list_courses(session, principal)
    stats = await service.course_stats(session, [c.id for c in courses])
    case_studies = await studies.list_studies(session, principal)
    can_manage = principal.can(Perm.training_manage)
    tenants = await tenants_in_scope(session, principal, Perm.training_manage) \
        if can_manage else []
    closed: list[Case] = []
    if can_manage and principal.can(Perm.case_read):
        closed = list((await session.scalars(select(Case).where(
            principal.scope(Perm.case_read).filter(Case.tenant_id, Case.org_unit_id),
            Case.status == CaseStatus.closed,
            Case.id.not_in(select(CaseStudy.case_id))).order_by(Case.id.desc()).limit(30)
        )).all())
    return render(request, "training/home.html", courses=courses, stats=stats,
                  studies=case_studies, can_manage=can_manage, tenants=tenants,
                  closed=closed, error=error, sample_quiz=SAMPLE_QUIZ)


@router.post("/training/courses", response_class=HTMLResponse)
async def create_course(request: Request, session: Session, principal: Manager,
                        tenant_id: Annotated[int, Form()], title: Annotated[str, Form()],
                        body_md: Annotated[str, Form()] = "",
                        quiz: Annotated[str, Form()] = "",
                        pass_mark: Annotated[int, Form()] = 80,
                        due_days: Annotated[int, Form()] = 14,
                        mandatory: Annotated[bool, Form()] = False,
                        publish: Annotated[bool, Form()] = False) -> Response:
    made: list[int] = []

    async def act() -> None:
        course = await service.create_course(session, principal, schemas.CourseCreate(
            tenant_id=tenant_id, title=title, body_md=body_md, pass_mark=pass_mark,
            due_days=due_days, mandatory=mandatory,
            status=CourseStatus.published if publish else CourseStatus.draft,
            questions=service.parse_quiz_text(quiz)))
        made.append(course.id)

    resp = await _act(request, session, act,
                      lambda e: training_home(request, session, principal, e), "/training")
    if made:
        resp.headers["location"] = f"/training/courses/{made[0]}"
    return resp


@router.get("/training/courses/{course_id}", response_class=HTMLResponse)
async def course_page(request: Request, course_id: int, session: Session, principal: Reader,
                      error: str | None = None,
                      assigned: Annotated[int | None, Query(ge=0, lt=2**31)] = None,
                      already: Annotated[int | None, Query(ge=0, lt=2**31)] = None
                      ) -> Response:
    course = await service.get_course(session, principal, course_id)
    questions = await service.questions_of(session, course.id)
    rows = await service.list_assignments(session, principal, course.id)
    can_manage = principal.can(Perm.training_manage) and principal.scope(
        Perm.training_manage).covers_path(await _path(session, course.tenant_id))
    can_assign = principal.can(Perm.training_manage) and course.status == CourseStatus.published
    people: list[Employee] = []
    teams: list[OrgUnit] = []
    if can_assign:
        scope = principal.scope(Perm.training_manage)
        people = list((await session.scalars(select(Employee).where(
            scope.filter(Employee.tenant_id, Employee.org_unit_id),
            Employee.status != EmploymentStatus.left).order_by(Employee.employee_no)
            .limit(500))).all())
        teams = list((await session.scalars(select(OrgUnit).where(
            scope.filter(OrgUnit.tenant_id, OrgUnit.id)).order_by(OrgUnit.code))).all())
    eff = await service.effect(session, principal, course.id)
    return render(request, "training/course.html", course=course, questions=questions,
                  body=render_markdown(course.body_md), rows=rows, now=utcnow(),
                  attachments=await files.attachments_of(session, course.id),
                  quiz=service.quiz_text(questions), can_manage=can_manage,
                  can_assign=can_assign, people=people,
                  teams=teams, bands=list(service.TENURE_BANDS), effect=eff, error=error,
                  assigned=assigned, already=already,
                  tenants=await tenants_in_scope(session, principal, Perm.training_manage)
                  if can_assign else [])


async def _path(session: Any, tenant_id: int) -> str:
    from probity.models import Tenant

    return str(await session.scalar(select(Tenant.path).where(Tenant.id == tenant_id)) or "")


@router.post("/training/courses/{course_id}", response_class=HTMLResponse)
async def edit_course(request: Request, course_id: int, session: Session, principal: Manager,
                      title: Annotated[str, Form()], body_md: Annotated[str, Form()] = "",
                      quiz: Annotated[str, Form()] = "",
                      pass_mark: Annotated[int, Form()] = 80,
                      due_days: Annotated[int, Form()] = 14,
                      mandatory: Annotated[bool, Form()] = False,
                      status: Annotated[CourseStatus, Form()] = CourseStatus.draft,
                      auto_new_hires: Annotated[bool, Form()] = False,
                      auto_substantiated: Annotated[bool, Form()] = False) -> Response:
    async def act() -> None:
        await service.update_course(session, principal, course_id, schemas.CourseUpdate(
            title=title, body_md=body_md, pass_mark=pass_mark, due_days=due_days,
            mandatory=mandatory, status=status, auto_new_hires=auto_new_hires,
            auto_substantiated=auto_substantiated,
            questions=service.parse_quiz_text(quiz)))

    return await _act(request, session, act,
                      lambda e: course_page(request, course_id, session, principal, e),
                      f"/training/courses/{course_id}")


@router.post("/training/courses/{course_id}/assign", response_class=HTMLResponse)
async def assign(request: Request, course_id: int, session: Session, principal: Manager,
                 employee_ids: Annotated[list[int] | None, Form()] = None,
                 tenant_id: Annotated[int | None, Form()] = None,
                 team_ids: Annotated[list[int] | None, Form()] = None,
                 tenure_band: Annotated[str, Form()] = "",
                 due: Annotated[str, Form()] = "") -> Response:
    async def act() -> None:
        if tenant_id is not None:
            await service.assign_cohort(session, principal, tenant_id=tenant_id,
                                        course_id=course_id, team_ids=team_ids or None,
                                        tenure_band=tenure_band or None)
            return
        due_at = None
        if due:
            course = await service.get_course(session, principal, course_id)
            from probity.governance.accessors import display_timezone

            tz = ZoneInfo(await display_timezone(session, course.tenant_id))
            due_at = datetime.combine(datetime.strptime(due, "%Y-%m-%d").date(),
                                      time(23, 59), tz)
        await service.assign(session, principal, course_id, schemas.AssignRequest(
            employee_ids=employee_ids or [], due_at=due_at, source=None))

    return await _act(request, session, act,
                      lambda e: course_page(request, course_id, session, principal, e),
                      f"/training/courses/{course_id}")


@router.post("/training/courses/{course_id}/attachments", response_class=HTMLResponse)
async def attach(request: Request, course_id: int, session: Session, principal: Manager,
                 file: UploadFile) -> Response:
    data = await file.read(files.MAX_ATTACHMENT_BYTES + 1)

    async def act() -> None:
        await files.attach(session, principal, course_id, data, file.filename or "",
                           request.app.state.settings.attachments_dir)

    return await _act(request, session, act,
                      lambda e: course_page(request, course_id, session, principal, e),
                      f"/training/courses/{course_id}")


@router.post("/training/case-studies", response_class=HTMLResponse)
async def generate_study(request: Request, session: Session, principal: Manager,
                         case_id: Annotated[int, Form()]) -> Response:
    made: list[int] = []

    async def act() -> None:
        made.append((await studies.generate(session, principal, case_id)).id)

    resp = await _act(request, session, act,
                      lambda e: training_home(request, session, principal, e), "/training")
    if made:
        resp.headers["location"] = f"/training/case-studies/{made[0]}"
    return resp


@router.get("/training/case-studies/{study_id}", response_class=HTMLResponse)
async def study_page(request: Request, study_id: int, session: Session, principal: Reader,
                     error: str | None = None) -> Response:
    study = await studies.get_study(session, principal, study_id)
    return render(request, "training/study.html", study=study,
                  body=render_markdown(study.body_md), error=error,
                  can_manage=principal.can(Perm.training_manage))


@router.post("/training/case-studies/{study_id}", response_class=HTMLResponse)
async def edit_study(request: Request, study_id: int, session: Session, principal: Manager,
                     title: Annotated[str, Form()], body_md: Annotated[str, Form()]
                     ) -> Response:
    async def act() -> None:
        await studies.edit(session, principal, study_id, title, body_md)

    return await _act(request, session, act,
                      lambda e: study_page(request, study_id, session, principal, e),
                      f"/training/case-studies/{study_id}")


@router.post("/training/case-studies/{study_id}/{decision}", response_class=HTMLResponse)
async def review_study(request: Request, study_id: int, decision: str, session: Session,
                       principal: Manager) -> Response:
    if decision not in ("publish", "reject"):
        raise NotFound("no such action")

    async def act() -> None:
        await studies.review(session, principal, study_id, publish=decision == "publish")

    return await _act(request, session, act,
                      lambda e: study_page(request, study_id, session, principal, e),
                      f"/training/case-studies/{study_id}")


# ---------------------------------------------------------------- the employee's own


@router.get("/me/training", response_class=HTMLResponse)
async def my_training(request: Request, session: Session, principal: Learner) -> Response:
    emp = await service.my_employee(session, principal)
    rows = await service.my_assignments(session, principal)
    return render(request, "training/me.html", rows=rows, now=utcnow(),
                  studies=await studies.published_for(session, emp.tenant_id),
                  missing=await service.missing_mandatory(session, emp.tenant_id, emp.id))


@router.get("/me/training/studies/{study_id}", response_class=HTMLResponse)
async def my_study(request: Request, study_id: int, session: Session, principal: Learner
                   ) -> Response:
    emp = await service.my_employee(session, principal)
    study = await studies.my_study(session, emp.tenant_id, study_id)
    return render(request, "training/study.html", study=study,
                  body=render_markdown(study.body_md), error=None, can_manage=False)


@router.get("/me/training/{assignment_id}", response_class=HTMLResponse)
async def my_course(request: Request, assignment_id: int, session: Session,
                    principal: Learner, error: str | None = None,
                    result: int | None = None) -> Response:
    a, c = await service.my_assignment(session, principal, assignment_id)
    return render(request, "training/take.html", a=a, course=c,
                  body=render_markdown(c.body_md),
                  questions=await service.questions_of(session, c.id),
                  attachments=await files.attachments_of(session, c.id), error=error,
                  result=result, now=utcnow())


@router.post("/me/training/{assignment_id}", response_class=HTMLResponse)
async def submit(request: Request, assignment_id: int, session: Session, principal: Learner
                 ) -> Response:
    form = await request.form()
    answers: dict[int, list[int]] = {}
    for key, value in form.multi_items():
        if key.startswith("q") and key[1:].isdigit() and isinstance(value, str) \
                and value.isdigit():
            answers.setdefault(int(key[1:]), []).append(int(value))
    score: list[int] = []

    async def act() -> None:
        attempt = await service.submit_quiz(session, principal, assignment_id,
                                            schemas.QuizSubmit(answers=answers))
        score.append(attempt.score)

    resp = await _act(request, session, act,
                      lambda e: my_course(request, assignment_id, session, principal, e),
                      f"/me/training/{assignment_id}")
    if score:
        resp.headers["location"] = f"/me/training/{assignment_id}?result={score[0]}"
    return resp
