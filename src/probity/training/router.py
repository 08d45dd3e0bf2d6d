"""JSON API of compliance training. Thin: authorise, one service call, commit, return."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, UploadFile
from fastapi.responses import FileResponse

from probity.auth.deps import Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.models import Assignment, Course, Employee
from probity.models.base import utcnow
from probity.training import files, schemas, service, studies
from probity.training.markdown import render_markdown

router = APIRouter(prefix="/api/v1", tags=["training"])

Reader = Annotated[Principal, Depends(require(Perm.training_read))]
Manager = Annotated[Principal, Depends(require(Perm.training_manage))]
Learner = Annotated[Principal, Depends(require(Perm.training_self))]


async def course_detail(session: Session, course: Course) -> schemas.CourseDetail:
    stats = (await service.course_stats(session, [course.id]))[course.id]
    qs = await service.questions_of(session, course.id)
    return schemas.CourseDetail(
        **schemas.CourseRead.model_validate(course).model_dump(),
        questions=[schemas.QuestionKeyRead(id=q.id, text=q.text, options=q.options,
                                           multiple=len(q.correct) > 1, correct=q.correct)
                   for q in qs],
        attachments=[schemas.AttachmentRead.model_validate(a)
                     for a in await files.attachments_of(session, course.id)],
        assigned=stats["assigned"], passed=stats["passed"], overdue=stats["overdue"])


def row(a: Assignment, e: Employee) -> schemas.AssignmentRow:
    return schemas.AssignmentRow(**schemas.TrainingAssignmentRead.model_validate(a).model_dump(),
                                 employee_name=e.name, employee_no=e.employee_no,
                                 overdue=a.completed_at is None and a.due_at < utcnow())


@router.get("/training/courses", response_model=list[schemas.CourseRead])
async def list_courses(session: Session, principal: Reader) -> list[schemas.CourseRead]:
    return [schemas.CourseRead.model_validate(c)
            for c in await service.list_courses(session, principal)]


@router.post("/training/courses", status_code=201, response_model=schemas.CourseDetail)
async def create_course(data: schemas.CourseCreate, session: Session, principal: Manager
                        ) -> schemas.CourseDetail:
    course = await service.create_course(session, principal, data)
    await commit(session)
    return await course_detail(session, course)


@router.get("/training/courses/{course_id}", response_model=schemas.CourseDetail)
async def get_course(course_id: int, session: Session, principal: Reader
                     ) -> schemas.CourseDetail:
    return await course_detail(session, await service.get_course(session, principal, course_id))


@router.patch("/training/courses/{course_id}", response_model=schemas.CourseDetail)
async def update_course(course_id: int, data: schemas.CourseUpdate, session: Session,
                        principal: Manager) -> schemas.CourseDetail:
    course = await service.update_course(session, principal, course_id, data)
    await commit(session)
    return await course_detail(session, course)


@router.post("/training/courses/{course_id}/attachments", status_code=201,
             response_model=schemas.AttachmentRead)
async def attach(course_id: int, file: UploadFile, request: Request, session: Session,
                 principal: Manager) -> schemas.AttachmentRead:
    data = await file.read(files.MAX_ATTACHMENT_BYTES + 1)
    att = await files.attach(session, principal, course_id, data, file.filename or "",
                             request.app.state.settings.attachments_dir)
    await commit(session)
    return schemas.AttachmentRead.model_validate(att)


@router.get("/training/attachments/{attachment_id}")
async def download(attachment_id: int, request: Request, session: Session, principal: Learner
                   ) -> FileResponse:
    path, att = await files.readable_attachment(session, principal, attachment_id,
                                                request.app.state.settings.attachments_dir)
    return FileResponse(path, media_type=att.mime, filename=att.filename,
                        headers={"X-Content-Type-Options": "nosniff",
                                 "Cache-Control": "private, no-store"})


@router.get("/training/courses/{course_id}/assignments",
            response_model=list[schemas.AssignmentRow])
async def assignments(course_id: int, session: Session, principal: Reader
                      ) -> list[schemas.AssignmentRow]:
    return [row(a, e) for a, e in await service.list_assignments(session, principal, course_id)]


@router.post("/training/courses/{course_id}/assignments", status_code=201,
             response_model=list[schemas.TrainingAssignmentRead])
async def assign(course_id: int, data: schemas.AssignRequest, session: Session,
                 principal: Manager) -> list[schemas.TrainingAssignmentRead]:
    made = await service.assign(session, principal, course_id, data)
    await commit(session)
    return [schemas.TrainingAssignmentRead.model_validate(a) for a in made]


@router.post("/training/courses/{course_id}/cohorts", status_code=201,
             response_model=list[schemas.TrainingAssignmentRead])
async def assign_cohort(course_id: int, data: schemas.CohortRequest, session: Session,
                        principal: Manager) -> list[schemas.TrainingAssignmentRead]:
    made = await service.assign_cohort(session, principal, tenant_id=data.tenant_id,
                                       course_id=course_id, team_ids=data.team_ids or None,
                                       tenure_band=data.tenure_band, source=data.source or "")
    await commit(session)
    return [schemas.TrainingAssignmentRead.model_validate(a) for a in made]


@router.get("/training/courses/{course_id}/effect", response_model=schemas.EffectRead)
async def effect(course_id: int, session: Session, principal: Reader, days: int = 90
                 ) -> schemas.EffectRead:
    e = await service.effect(session, principal, course_id, days)

    def rate(r: service.Rate) -> schemas.RateRead:
        return schemas.RateRead(violations=r.violations, conversations=r.conversations,
                                per_1000=r.per_1000)

    return schemas.EffectRead(course_id=course_id, days=e.days, trained=rate(e.trained),
                              untrained=rate(e.untrained), before=rate(e.before),
                              after=rate(e.after), trained_people=e.trained_people,
                              untrained_people=e.untrained_people)


@router.get("/me/training", response_model=list[schemas.MyAssignment])
async def my_training(session: Session, principal: Learner) -> list[schemas.MyAssignment]:
    now = utcnow()
    return [schemas.MyAssignment(**schemas.TrainingAssignmentRead.model_validate(a).model_dump(),
                                 course_title=c.title, mandatory=c.mandatory,
                                 pass_mark=c.pass_mark,
                                 overdue=a.completed_at is None and a.due_at < now)
            for a, c in await service.my_assignments(session, principal)]


@router.get("/me/training/{assignment_id}", response_model=schemas.MyCourse)
async def my_course(assignment_id: int, session: Session, principal: Learner
                    ) -> schemas.MyCourse:
    a, c = await service.my_assignment(session, principal, assignment_id)
    qs = await service.questions_of(session, c.id)
    return schemas.MyCourse(
        assignment=schemas.TrainingAssignmentRead.model_validate(a), course_title=c.title,
        body_html=str(render_markdown(c.body_md)), pass_mark=c.pass_mark,
        questions=[schemas.QuestionRead(id=q.id, text=q.text, options=q.options,
                                        multiple=len(q.correct) > 1) for q in qs],
        attachments=[schemas.AttachmentRead.model_validate(x)
                     for x in await files.attachments_of(session, c.id)])


@router.post("/me/training/{assignment_id}/quiz", status_code=201,
             response_model=schemas.AttemptRead)
async def submit_quiz(assignment_id: int, data: schemas.QuizSubmit, session: Session,
                      principal: Learner) -> schemas.AttemptRead:
    attempt = await service.submit_quiz(session, principal, assignment_id, data)
    await commit(session)
    return schemas.AttemptRead.model_validate(attempt)


@router.get("/training/case-studies", response_model=list[schemas.CaseStudyRead])
async def case_studies(session: Session, principal: Reader) -> list[schemas.CaseStudyRead]:
    return [schemas.CaseStudyRead.model_validate(s)
            for s in await studies.list_studies(session, principal)]


@router.post("/training/case-studies", status_code=201, response_model=schemas.CaseStudyRead)
async def generate_case_study(data: schemas.CaseStudyCreate, session: Session,
                              principal: Manager) -> schemas.CaseStudyRead:
    study = await studies.generate(session, principal, data.case_id)
    await commit(session)
    return schemas.CaseStudyRead.model_validate(study)


@router.patch("/training/case-studies/{study_id}", response_model=schemas.CaseStudyRead)
async def edit_case_study(study_id: int, data: schemas.CaseStudyUpdate, session: Session,
                          principal: Manager) -> schemas.CaseStudyRead:
    study = await studies.edit(session, principal, study_id, data.title, data.body_md)
    await commit(session)
    return schemas.CaseStudyRead.model_validate(study)


@router.post("/training/case-studies/{study_id}/publish", response_model=schemas.CaseStudyRead)
async def publish_case_study(study_id: int, session: Session, principal: Manager
                             ) -> schemas.CaseStudyRead:
    study = await studies.review(session, principal, study_id, publish=True)
    await commit(session)
    return schemas.CaseStudyRead.model_validate(study)


@router.post("/training/case-studies/{study_id}/reject", response_model=schemas.CaseStudyRead)
async def reject_case_study(study_id: int, session: Session, principal: Manager
                            ) -> schemas.CaseStudyRead:
    study = await studies.review(session, principal, study_id, publish=False)
    await commit(session)
    return schemas.CaseStudyRead.model_validate(study)
