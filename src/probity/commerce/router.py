from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from probity.auth.deps import CommerceReader, Session
from probity.commerce import schemas, service

router = APIRouter(prefix="/api/v1", tags=["commerce"])


@router.get("/customers", response_model=list[schemas.CustomerRead])
async def list_customers(session: Session, principal: CommerceReader,
                         q: Annotated[str | None, Query(max_length=100)] = None,
                         limit: Annotated[int, Query(ge=1, le=500)] = 50,
                         offset: Annotated[int, Query(ge=0)] = 0) -> list[schemas.CustomerRead]:
    rows = await service.list_customers(session, principal, q=q, limit=limit, offset=offset)
    return [service.customer_read(c, principal) for c in rows]


@router.get("/customers/{customer_id}", response_model=schemas.CustomerRead)
async def get_customer(customer_id: int, session: Session, principal: CommerceReader
                       ) -> schemas.CustomerRead:
    return service.customer_read(await service.get_customer(session, principal, customer_id),
                                 principal)


@router.get("/customers/{customer_id}/orders", response_model=list[schemas.OrderRead])
async def list_orders(customer_id: int, session: Session, principal: CommerceReader
                      ) -> list[schemas.OrderRead]:
    return [schemas.OrderRead.model_validate(o)
            for o in await service.list_orders(session, principal, customer_id)]


@router.get("/customers/{customer_id}/payments", response_model=list[schemas.PaymentRead])
async def list_payments(customer_id: int, session: Session, principal: CommerceReader
                        ) -> list[schemas.PaymentRead]:
    return [schemas.PaymentRead.model_validate(p)
            for p in await service.list_payments(session, principal, customer_id)]
