"""JSON API for onboarding and the integrity pledge. Thin: authorise, one service call, commit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from probity.auth.deps import CurrentPrincipal, Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.onboarding import schemas, service
from probity.onboarding.schemas import CompleteRequest

router = APIRouter(prefix="/api/v1", tags=["onboarding"])

Reader = Annotated[Principal, Depends(require(Perm.onboarding_read))]
Manager = Annotated[Principal, Depends(require(Perm.onboarding_manage))]


@router.get("/onboarding", response_model=list[schemas.OnboardingRead])
async def list_onboardings(session: Session, principal: Reader, include_completed: bool = False
                           ) -> list[schemas.OnboardingRead]:
    rows = await service.list_onboardings(session, principal,
                                          include_completed=include_completed)
    return [await service.onboarding_read(session, ob, emp) for ob, emp in rows]


@router.get("/onboarding/{employee_id}", response_model=schemas.OnboardingRead)
async def get_onboarding(employee_id: int, session: Session, principal: Reader
                         ) -> schemas.OnboardingRead:
    ob, emp = await service.get_onboarding(session, principal, employee_id)
    return await service.onboarding_read(session, ob, emp)


@router.post("/onboarding/{employee_id}/tasks/{task_id}/done", response_model=schemas.TaskRead)
async def complete_task(employee_id: int, task_id: int, session: Session, principal: Manager
                        ) -> schemas.TaskRead:
    task = await service.complete_task(session, principal, employee_id, task_id)
    await commit(session)
    return schemas.TaskRead.model_validate(task)


@router.post("/onboarding/{employee_id}/complete", response_model=schemas.OnboardingRead)
async def complete_onboarding(employee_id: int, data: CompleteRequest, session: Session,
                              principal: Manager) -> schemas.OnboardingRead:
    await service.complete_onboarding(session, principal, employee_id, data.effective_date)
    await commit(session)
    ob, emp = await service.get_onboarding(session, principal, employee_id)
    return await service.onboarding_read(session, ob, emp)


@router.put("/onboarding-checklists", response_model=list[schemas.ChecklistItemRead])
async def set_checklist(data: schemas.ChecklistSet, session: Session, principal: Manager
                        ) -> list[schemas.ChecklistItemRead]:
    items = await service.set_checklist(session, principal, data)
    await commit(session)
    return [schemas.ChecklistItemRead.model_validate(i) for i in items]


@router.post("/pledges", status_code=201, response_model=schemas.PledgeRead)
async def publish_pledge(data: schemas.PledgePublish, session: Session, principal: Manager
                         ) -> schemas.PledgeRead:
    pv = await service.publish_pledge(session, principal, data)
    await commit(session)
    return schemas.PledgeRead.model_validate(pv)


@router.get("/pledges/status")
async def pledge_status(tenant_id: int, session: Session, principal: Reader) -> dict[str, Any]:
    pv, rows = await service.pledge_status(session, principal, tenant_id)
    return {"current": schemas.PledgeRead.model_validate(pv).model_dump(mode="json")
            if pv else None,
            "employees": [r.model_dump(mode="json") for r in rows]}


@router.get("/me/pledge")
async def my_pledge(session: Session, principal: CurrentPrincipal) -> dict[str, Any]:
    _emp, pv, sig = await service.my_pledge(session, principal)
    return {"current": schemas.PledgeRead.model_validate(pv).model_dump(mode="json")
            if pv else None,
            "signature": schemas.SignatureRead.model_validate(sig).model_dump(mode="json")
            if sig else None}


@router.post("/me/pledge/sign", status_code=201, response_model=schemas.SignatureRead)
async def sign_pledge(data: schemas.PledgeSign, session: Session, principal: CurrentPrincipal
                      ) -> schemas.SignatureRead:
    sig = await service.sign_pledge(session, principal, data)
    await commit(session)
    return schemas.SignatureRead.model_validate(sig)
