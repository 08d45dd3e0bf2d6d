"""JSON API for recruitment. Thin: authorise, call one service function, commit, return."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, UploadFile
from fastapi.responses import FileResponse

from probity.auth.deps import Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.recruitment import resumes, schemas, service

router = APIRouter(prefix="/api/v1/recruitment", tags=["recruitment"])

Reader = Annotated[Principal, Depends(require(Perm.recruitment_read))]
Manager = Annotated[Principal, Depends(require(Perm.recruitment_manage))]
Interviewer = Annotated[Principal, Depends(require(Perm.recruitment_interview))]


@router.get("/requisitions", response_model=list[schemas.RequisitionRead])
async def list_requisitions(session: Session, principal: Reader, status: str | None = None
                            ) -> list[schemas.RequisitionRead]:
    rows = await service.list_requisitions(session, principal, status)
    return [schemas.RequisitionRead.model_validate(r) for r in rows]


@router.post("/requisitions", status_code=201, response_model=schemas.RequisitionRead)
async def create_requisition(data: schemas.RequisitionCreate, session: Session,
                             principal: Manager) -> schemas.RequisitionRead:
    req = await service.create_requisition(session, principal, data)
    await commit(session)
    return schemas.RequisitionRead.model_validate(req)


@router.get("/requisitions/{req_id}", response_model=schemas.RequisitionRead)
async def get_requisition(req_id: int, session: Session, principal: Reader
                          ) -> schemas.RequisitionRead:
    return schemas.RequisitionRead.model_validate(
        await service.get_requisition(session, principal, req_id))


@router.post("/requisitions/{req_id}/close", response_model=schemas.RequisitionRead)
async def close_requisition(req_id: int, session: Session, principal: Manager
                            ) -> schemas.RequisitionRead:
    req = await service.close_requisition(session, principal, req_id)
    await commit(session)
    return schemas.RequisitionRead.model_validate(req)


@router.get("/candidates", response_model=list[schemas.CandidateRead])
async def list_candidates(session: Session, principal: Reader,
                          requisition_id: int | None = None, stage: str | None = None
                          ) -> list[schemas.CandidateRead]:
    rows = await service.list_candidates(session, principal, requisition_id=requisition_id,
                                         stage=stage)
    return [service.candidate_read(c, principal) for c in rows]


@router.post("/candidates", status_code=201, response_model=schemas.CandidateRead)
async def create_candidate(data: schemas.CandidateCreate, session: Session, principal: Manager
                           ) -> schemas.CandidateRead:
    cand, dups = await service.create_candidate(session, principal, data)
    await commit(session)
    return service.candidate_read(cand, principal, dups)


@router.get("/candidates/{cand_id}")
async def get_candidate(cand_id: int, session: Session, principal: Reader) -> dict[str, Any]:
    cand = await service.get_candidate(session, principal, cand_id)
    dups = await service.find_duplicates(session, cand.tenant_id, cand.phone, cand.email,
                                         exclude_id=cand.id)
    events, feedback = await service.candidate_history(session, cand)
    return {"candidate": service.candidate_read(cand, principal, dups).model_dump(mode="json"),
            "events": [schemas.CandidateEventRead.model_validate(e).model_dump(mode="json")
                       for e in events],
            "feedback": [schemas.FeedbackRead.model_validate(f).model_dump(mode="json")
                         for f in feedback]}


@router.post("/candidates/{cand_id}/stage", response_model=schemas.CandidateRead)
async def move_candidate(cand_id: int, data: schemas.StageChange, session: Session,
                         principal: Manager) -> schemas.CandidateRead:
    cand = await service.move_candidate(session, principal, cand_id, data)
    await commit(session)
    return service.candidate_read(cand, principal)


@router.post("/candidates/{cand_id}/feedback", status_code=201,
             response_model=schemas.FeedbackRead)
async def add_feedback(cand_id: int, data: schemas.FeedbackCreate, session: Session,
                       principal: Interviewer) -> schemas.FeedbackRead:
    fb = await service.add_feedback(session, principal, cand_id, data)
    await commit(session)
    return schemas.FeedbackRead.model_validate(fb)


@router.post("/candidates/{cand_id}/resume", response_model=schemas.CandidateRead)
async def attach_resume(cand_id: int, file: UploadFile, request: Request, session: Session,
                        principal: Manager) -> schemas.CandidateRead:
    data = await file.read(resumes.MAX_RESUME_BYTES + 1)
    cand = await service.attach_resume(session, principal, cand_id, data, file.filename or "",
                                       request.app.state.settings.attachments_dir)
    await commit(session)
    return service.candidate_read(cand, principal)


@router.get("/candidates/{cand_id}/resume")
async def get_resume(cand_id: int, request: Request, session: Session, principal: Interviewer
                     ) -> FileResponse:
    path, mime, name = await service.resume_file(session, principal, cand_id,
                                                 request.app.state.settings.attachments_dir)
    return FileResponse(path, media_type=mime, filename=name,
                        headers={"X-Content-Type-Options": "nosniff",
                                 "Cache-Control": "private, no-store"})


@router.post("/candidates/{cand_id}/hire")
async def hire_candidate(cand_id: int, data: schemas.HireRequest, session: Session,
                         principal: Manager) -> dict[str, Any]:
    cand, emp = await service.hire_candidate(session, principal, cand_id, data)
    await commit(session)
    return {"candidate": service.candidate_read(cand, principal).model_dump(mode="json"),
            "employee_id": emp.id, "employee_no": emp.employee_no, "status": emp.status.value}
