"""JSON API of the HR duty roster. Thin: authorise, one service call, commit, return."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends

from probity.auth.deps import Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.duty import schemas, service

router = APIRouter(prefix="/api/v1/duty", tags=["duty"])

Reader = Annotated[Principal, Depends(require(Perm.duty_read))]
Manager = Annotated[Principal, Depends(require(Perm.duty_manage))]
AlertReader = Annotated[Principal, Depends(require(Perm.alerts_read))]


@router.get("/roster", response_model=list[schemas.DutyRow])
async def roster(tenant_id: int, since: datetime, until: datetime, session: Session,
                 principal: Reader) -> list[schemas.DutyRow]:
    rows = await service.list_roster(session, principal, tenant_id, since, until)
    return [schemas.DutyRow(id=s.id, tenant_id=s.tenant_id, employee_id=s.employee_id,
                            starts_at=s.starts_at, ends_at=s.ends_at, note=s.note,
                            employee_name=e.name, employee_no=e.employee_no) for s, e in rows]


@router.post("/roster", status_code=201, response_model=list[schemas.DutyRead])
async def add(data: schemas.DutyCreate, session: Session, principal: Manager
              ) -> list[schemas.DutyRead]:
    shifts = await service.add_duty(session, principal, tenant_id=data.tenant_id,
                                    employee_id=data.employee_id, starts_at=data.starts_at,
                                    ends_at=data.ends_at, note=data.note,
                                    repeat_weeks=data.repeat_weeks)
    await commit(session)
    return [schemas.DutyRead.model_validate(s) for s in shifts]


@router.delete("/roster/{shift_id}", status_code=204)
async def remove(shift_id: int, session: Session, principal: Manager) -> None:
    await service.remove_duty(session, principal, shift_id)
    await commit(session)


@router.get("/on-duty", response_model=schemas.OnDutyRead)
async def on_duty(tenant_id: int, at: datetime, session: Session, principal: Reader
                  ) -> schemas.OnDutyRead:
    from probity.auth.scoping import tenant_in_scope

    await tenant_in_scope(session, principal, Perm.duty_read, tenant_id, body=False)
    people = await service.on_duty_people(session, tenant_id, at)
    return schemas.OnDutyRead(at=at, tenant_id=tenant_id, on_duty=service.on_duty_rows(people))


@router.get("/gaps", response_model=list[schemas.GapRead])
async def gaps(tenant_id: int, since: datetime, until: datetime, session: Session,
               principal: Reader) -> list[schemas.GapRead]:
    found = await service.uncovered_windows(session, principal, tenant_id, since, until)
    return [schemas.GapRead(label=g.label, source=g.source, starts_at=g.starts_at,
                            ends_at=g.ends_at, uncovered=g.uncovered) for g in found]


@router.get("/alerts/{alert_id}", response_model=schemas.AlertPeopleRead)
async def alert_people(alert_id: int, session: Session, principal: AlertReader
                       ) -> schemas.AlertPeopleRead:
    """For any alert: who was on shift (attendance) and who was on HR duty when it was
    raised."""
    return await service.alert_people(session, principal, alert_id)
