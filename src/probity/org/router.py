"""JSON API for the group structure. Thin: authorise, call one service function, return."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from probity.auth.deps import (
    CurrentPrincipal,
    LifecycleManager,
    OrgReader,
    OrgWriter,
    Session,
    commit,
)
from probity.events import get_bus
from probity.org import schemas, service

router = APIRouter(prefix="/api/v1", tags=["org"])


@router.get("/tenants", response_model=list[schemas.TenantRead])
async def list_tenants(session: Session, principal: OrgReader) -> list[schemas.TenantRead]:
    rows = await service.list_tenants(session, principal)
    return [schemas.TenantRead.model_validate(t) for t in rows]


@router.post("/tenants", status_code=201, response_model=schemas.TenantRead)
async def create_tenant(data: schemas.TenantCreate, session: Session, principal: OrgWriter
                        ) -> schemas.TenantRead:
    tenant = await service.create_tenant(session, principal, data)
    await commit(session)
    return schemas.TenantRead.model_validate(tenant)


@router.get("/tenants/{tenant_id}", response_model=schemas.TenantRead)
async def get_tenant(tenant_id: int, session: Session, principal: OrgReader
                     ) -> schemas.TenantRead:
    return schemas.TenantRead.model_validate(
        await service.scoped_tenant(session, principal, tenant_id))


@router.patch("/tenants/{tenant_id}", response_model=schemas.TenantRead)
async def update_tenant(tenant_id: int, data: schemas.TenantUpdate, session: Session,
                        principal: OrgWriter) -> schemas.TenantRead:
    tenant = await service.update_tenant(session, principal, tenant_id, data)
    await commit(session)
    return schemas.TenantRead.model_validate(tenant)


@router.get("/org-units", response_model=list[schemas.OrgUnitRead])
async def list_org_units(session: Session, principal: OrgReader,
                         tenant_id: int | None = None) -> list[schemas.OrgUnitRead]:
    rows = await service.list_org_units(session, principal, tenant_id)
    return [schemas.OrgUnitRead.model_validate(u) for u in rows]


@router.post("/org-units", status_code=201, response_model=schemas.OrgUnitRead)
async def create_org_unit(data: schemas.OrgUnitCreate, session: Session, principal: OrgWriter
                          ) -> schemas.OrgUnitRead:
    unit = await service.create_org_unit(session, principal, data)
    await commit(session)
    return schemas.OrgUnitRead.model_validate(unit)


@router.get("/org-units/{unit_id}", response_model=schemas.OrgUnitRead)
async def get_org_unit(unit_id: int, session: Session, principal: OrgReader
                       ) -> schemas.OrgUnitRead:
    return schemas.OrgUnitRead.model_validate(
        await service.get_org_unit(session, principal, unit_id))


@router.patch("/org-units/{unit_id}", response_model=schemas.OrgUnitRead)
async def update_org_unit(unit_id: int, data: schemas.OrgUnitUpdate, session: Session,
                          principal: OrgWriter) -> schemas.OrgUnitRead:
    unit = await service.update_org_unit(session, principal, unit_id, data)
    await commit(session)
    return schemas.OrgUnitRead.model_validate(unit)


@router.get("/positions", response_model=list[schemas.PositionRead])
async def list_positions(session: Session, principal: OrgReader, tenant_id: int | None = None
                         ) -> list[schemas.PositionRead]:
    rows = await service.list_positions(session, principal, tenant_id)
    return [schemas.PositionRead.model_validate(p) for p in rows]


@router.post("/positions", status_code=201, response_model=schemas.PositionRead)
async def create_position(data: schemas.PositionCreate, session: Session, principal: OrgWriter
                          ) -> schemas.PositionRead:
    pos = await service.create_position(session, principal, data)
    await commit(session)
    return schemas.PositionRead.model_validate(pos)


@router.patch("/positions/{position_id}", response_model=schemas.PositionRead)
async def update_position(position_id: int, data: schemas.PositionUpdate, session: Session,
                          principal: OrgWriter) -> schemas.PositionRead:
    pos = await service.update_position(session, principal, position_id, data)
    await commit(session)
    return schemas.PositionRead.model_validate(pos)


@router.get("/employees", response_model=schemas.Page[schemas.EmployeeRead])
async def list_employees(
    session: Session, principal: OrgReader,
    tenant_id: int | None = None, org_unit_id: int | None = None,
    status: Annotated[str | None, Query(pattern="^(onboarding|active|transferred|left)$")] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> schemas.Page[schemas.EmployeeRead]:
    rows, total = await service.list_employees(
        session, principal, tenant_id=tenant_id, org_unit_id=org_unit_id, status=status, q=q,
        limit=limit, offset=offset)
    return schemas.Page(items=[service.employee_read(e, principal) for e in rows], total=total,
                        limit=limit, offset=offset)


@router.post("/employees", status_code=201, response_model=schemas.EmployeeRead)
async def create_employee(data: schemas.EmployeeCreate, session: Session, principal: OrgWriter
                          ) -> schemas.EmployeeRead:
    emp = await service.create_employee(session, principal, data)
    await commit(session)
    return service.employee_read(emp, principal)


@router.get("/employees/{employee_id}", response_model=schemas.EmployeeRead)
async def get_employee(employee_id: int, session: Session, principal: CurrentPrincipal
                       ) -> schemas.EmployeeRead:
    """Anyone may read their own record; other records need org.read over their scope."""
    emp = await service.get_employee(session, principal, employee_id)
    return service.employee_read(emp, principal)


@router.patch("/employees/{employee_id}", response_model=schemas.EmployeeRead)
async def update_employee(employee_id: int, data: schemas.EmployeeUpdate, session: Session,
                          principal: OrgWriter) -> schemas.EmployeeRead:
    emp = await service.update_employee(session, principal, employee_id, data)
    await commit(session)
    return service.employee_read(emp, principal)


@router.post("/employees/{employee_id}/transitions", status_code=201,
             response_model=schemas.EmploymentEventRead)
async def transition_employee(employee_id: int, data: schemas.TransitionCreate, request: Request,
                              session: Session, principal: LifecycleManager
                              ) -> schemas.EmploymentEventRead:
    event = await service.transition_employee(session, principal, employee_id, data,
                                              get_bus(request.app).publish)
    await commit(session)
    return schemas.EmploymentEventRead.model_validate(event)


@router.get("/employees/{employee_id}/events", response_model=list[schemas.EmploymentEventRead])
async def list_employee_events(employee_id: int, session: Session, principal: OrgReader
                               ) -> list[schemas.EmploymentEventRead]:
    rows = await service.list_events(session, principal, employee_id)
    return [schemas.EmploymentEventRead.model_validate(e) for e in rows]


@router.get("/org-chart", response_model=list[schemas.OrgChartNode])
async def org_chart(session: Session, principal: OrgReader, tenant_id: int | None = None
                    ) -> list[schemas.OrgChartNode]:
    return await service.org_chart(session, principal, tenant_id)
