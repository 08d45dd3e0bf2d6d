"""JSON API for shifts and attendance. Thin: authorise, one service call, commit, return."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from probity.attendance import people, rota, schemas, service
from probity.attendance.common import local_today
from probity.auth.deps import Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.models.base import utcnow

router = APIRouter(prefix="/api/v1/attendance", tags=["attendance"])

Self = Annotated[Principal, Depends(require(Perm.attendance_self))]
Reader = Annotated[Principal, Depends(require(Perm.attendance_read))]
Manager = Annotated[Principal, Depends(require(Perm.attendance_manage))]


@router.get("/shift-templates", response_model=list[schemas.TemplateRead])
async def list_templates(tenant_id: int, session: Session, principal: Reader
                         ) -> list[schemas.TemplateRead]:
    from probity.org.service import scoped_tenant

    tenant = await scoped_tenant(session, principal, tenant_id, Perm.attendance_read)
    return [schemas.TemplateRead.model_validate(t)
            for t in await rota.templates_for(session, tenant.id)]


@router.post("/shift-templates", status_code=201, response_model=schemas.TemplateRead)
async def create_template(data: schemas.TemplateCreate, session: Session, principal: Manager
                          ) -> schemas.TemplateRead:
    tpl = await rota.create_template(session, principal, data)
    await commit(session)
    return schemas.TemplateRead.model_validate(tpl)


@router.post("/rota", status_code=201, response_model=list[schemas.AssignmentRead])
async def publish_week(data: schemas.RotaWeek, session: Session, principal: Manager
                       ) -> list[schemas.AssignmentRead]:
    rows = await rota.publish_week(session, principal, data)
    await commit(session)
    return [schemas.AssignmentRead.model_validate(a) for a in rows]


@router.get("/rota", response_model=list[schemas.AssignmentRead])
async def team_rota(org_unit_id: int, week_start: date, session: Session, principal: Reader
                    ) -> list[schemas.AssignmentRead]:
    rows = await rota.team_rota(session, principal, org_unit_id, week_start)
    return [schemas.AssignmentRead.model_validate(a) for a in rows]


@router.delete("/rota/{assignment_id}", status_code=204)
async def remove_shift(assignment_id: int, session: Session, principal: Manager) -> None:
    await rota.remove_assignment(session, principal, assignment_id)
    await commit(session)


@router.get("/me/schedule", response_model=list[schemas.AssignmentRead])
async def my_schedule(session: Session, principal: Self, start: date | None = None,
                      end: date | None = None) -> list[schemas.AssignmentRead]:
    start = start or await local_today(session, principal.tenant_id) - timedelta(days=1)
    rows = await rota.my_schedule(session, principal, start, end or start + timedelta(days=14))
    return [schemas.AssignmentRead.model_validate(a) for a in rows]


@router.post("/me/clock", status_code=201, response_model=schemas.ClockResult)
async def clock(data: schemas.ClockIn, session: Session, principal: Self
                ) -> schemas.ClockResult:
    punch, found = await service.clock(session, principal, data)
    await commit(session)
    return schemas.ClockResult(
        punch=schemas.PunchRead.model_validate(punch),
        exceptions=[schemas.ExceptionRead.model_validate(e) for e in found])


@router.get("/me/punches", response_model=list[schemas.PunchRead])
async def my_punches(session: Session, principal: Self, days: int = Query(7, ge=1, le=62)
                     ) -> list[schemas.PunchRead]:
    rows = await service.my_punches(session, principal, utcnow() - timedelta(days=days))
    return [schemas.PunchRead.model_validate(p) for p in rows]


@router.post("/me/swaps", status_code=201, response_model=schemas.SwapRead)
async def request_swap(data: schemas.SwapCreate, session: Session, principal: Self
                       ) -> schemas.SwapRead:
    swap = await rota.request_swap(session, principal, data)
    await commit(session)
    return schemas.SwapRead.model_validate(swap)


@router.get("/me/leave")
async def my_leave(session: Session, principal: Self, year: int | None = None
                   ) -> dict[str, Any]:
    year = year or (await local_today(session, principal.tenant_id)).year
    bals, reqs = await service.my_leave(session, principal, year)
    return {"balances": [b.model_dump(mode="json") for b in bals],
            "requests": [schemas.LeaveRead.model_validate(r).model_dump(mode="json")
                         for r in reqs]}


@router.post("/me/leave", status_code=201, response_model=schemas.LeaveRead)
async def request_leave(data: schemas.LeaveCreate, session: Session, principal: Self
                        ) -> schemas.LeaveRead:
    req = await service.request_leave(session, principal, data)
    await commit(session)
    return schemas.LeaveRead.model_validate(req)


@router.put("/leave-balances", response_model=schemas.BalanceRead)
async def set_balance(data: schemas.BalanceSet, session: Session, principal: Manager
                      ) -> schemas.BalanceRead:
    bal = await service.set_balance(session, principal, data)
    await commit(session)
    return schemas.BalanceRead.model_validate(bal).model_copy(
        update={"available_days": bal.entitled_days - bal.used_days})


@router.post("/me/overtime", status_code=201, response_model=schemas.OvertimeRead)
async def request_overtime(data: schemas.OvertimeCreate, session: Session, principal: Self
                           ) -> schemas.OvertimeRead:
    ot = await service.request_overtime(session, principal, data)
    await commit(session)
    return schemas.OvertimeRead.model_validate(ot)


@router.get("/exceptions", response_model=list[schemas.ExceptionRead])
async def list_exceptions(session: Session, principal: Reader, start: date, end: date,
                          org_unit_id: int | None = None) -> list[schemas.ExceptionRead]:
    rows = await service.list_exceptions(session, principal, start=start, end=end,
                                         org_unit_id=org_unit_id)
    return [schemas.ExceptionRead.model_validate(e) for e in rows]


@router.get("/on-shift", response_model=schemas.OnShiftRead)
async def on_shift(at: datetime, session: Session, principal: Reader,
                   tenant_id: int | None = None, org_unit_id: int | None = None
                   ) -> schemas.OnShiftRead:
    rows = await rota.on_shift(session, principal, at, tenant_id=tenant_id,
                               org_unit_id=org_unit_id)
    return schemas.OnShiftRead(at=at, tenant_id=tenant_id, org_unit_id=org_unit_id,
                               on_shift=rows)


@router.get("/on-shift/messages/{message_id}", response_model=people.MessagePeopleRead)
async def on_shift_for_message(message_id: int, session: Session, principal: Reader
                               ) -> people.MessagePeopleRead:
    """Who was on shift in the conversation's team and who was on HR duty when a message was
    sent (the conversation in the caller's chat.supervise scope; never the message's text)."""
    return await people.message_people(session, principal, message_id)


@router.get("/on-shift/alerts/{alert_id}", response_model=schemas.OnShiftRead)
async def on_shift_for_alert(alert_id: int, session: Session, principal: Reader
                             ) -> schemas.OnShiftRead:
    return await rota.on_shift_for_alert(session, principal, alert_id)


# ---------------------------------------------------------------- requests: list and decide
#
# Leave, swaps and overtime have the same two endpoints (a scoped list by status; a decision by
# somebody else), registered here from one definition instead of three copies. Names, paths and
# path parameters are those the API has always had (operation ids unchanged).


def _request_endpoints(path: str, param: str, noun: str,
                       lister: Callable[..., Awaitable[Sequence[Any]]],
                       decider: Callable[..., Awaitable[Any]], read: type[BaseModel]) -> None:
    async def list_requests(session: Session, principal: Reader, status: str | None = None
                            ) -> list[Any]:
        return [read.model_validate(r) for r in await lister(session, principal, status)]

    async def decide_request(item_id: int, data: schemas.Decision, session: Session,
                             principal: Manager) -> Any:
        row = await decider(session, principal, item_id, data)
        await commit(session)
        return read.model_validate(row)

    # The path parameter keeps its own name (leave_id, swap_id, ot_id): annotations are strings
    # here (postponed evaluation), so the alias is set on the signature as an object.
    sig = inspect.signature(decide_request)
    decide_request.__signature__ = sig.replace(parameters=[  # type: ignore[attr-defined]
        p.replace(annotation=Annotated[int, Path(alias=param)]) if p.name == "item_id" else p
        for p in sig.parameters.values()])

    router.add_api_route(path, list_requests, methods=["GET"],
                         response_model=list[read],  # type: ignore[valid-type]
                         name=f"list_{noun}")
    router.add_api_route(f"{path}/{{{param}}}/decide", decide_request, methods=["POST"],
                         response_model=read, name=f"decide_{noun.rstrip('s')}")


_request_endpoints("/swaps", "swap_id", "swaps", rota.list_swaps, rota.decide_swap,
                   schemas.SwapRead)
_request_endpoints("/leave", "leave_id", "leave", service.list_leave, service.decide_leave,
                   schemas.LeaveRead)
_request_endpoints("/overtime", "ot_id", "overtime", service.list_overtime,
                   service.decide_overtime, schemas.OvertimeRead)
