"""JSON API for webhook subscriptions and their delivery log (webhooks.read / webhooks.manage)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from probity.auth.deps import Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.bounds import DbId, Offset
from probity.webhooks import schemas, service
from probity.webhooks.events import EVENT_TYPES

router = APIRouter(tags=["webhooks"])
Reader = Annotated[Principal, Depends(require(Perm.webhooks_read))]
Manager = Annotated[Principal, Depends(require(Perm.webhooks_manage))]
STATES = "^(pending|retrying|delivered|failed|skipped)$"


def _secret(endpoint: object) -> schemas.EndpointSecret:
    from probity.models.base import utcnow
    from probity.models.webhooks import WebhookEndpoint

    assert isinstance(endpoint, WebhookEndpoint)
    until = endpoint.previous_secret_expires_at
    return schemas.EndpointSecret(endpoint_id=endpoint.id, secret=endpoint.secret,
                                  previous_secret_valid_until=until
                                  if until and until > utcnow() else None)


@router.get("/api/v1/webhooks/event-types", response_model=list[schemas.EventType])
async def event_types(principal: Reader) -> list[schemas.EventType]:
    return [schemas.EventType(type=k, description=v) for k, v in EVENT_TYPES.items()]


@router.get("/api/v1/webhooks/endpoints", response_model=list[schemas.EndpointRead])
async def list_endpoints(session: Session, principal: Reader, tenant_id: DbId | None = None
                         ) -> list[schemas.EndpointRead]:
    rows = await service.list_endpoints(session, principal, tenant_id=tenant_id)
    return [schemas.EndpointRead.model_validate(e) for e in rows]


@router.post("/api/v1/webhooks/endpoints", response_model=schemas.EndpointCreated,
             status_code=201)
async def create_endpoint(body: schemas.EndpointCreate, session: Session, principal: Manager
                          ) -> schemas.EndpointCreated:
    """Subscribe a URL (http/https, public addresses only) to events of a tenant's subtree.
    The answer carries the signing secret."""
    endpoint = await service.create_endpoint(session, principal, tenant_id=body.tenant_id,
                                             url=body.url, events=body.events,
                                             description=body.description)
    await commit(session)
    return schemas.EndpointCreated(**schemas.EndpointRead.model_validate(endpoint).model_dump(),
                                   secret=endpoint.secret)


@router.get("/api/v1/webhooks/endpoints/{endpoint_id}", response_model=schemas.EndpointRead)
async def get_endpoint(endpoint_id: DbId, session: Session, principal: Reader
                       ) -> schemas.EndpointRead:
    return schemas.EndpointRead.model_validate(
        await service.get_endpoint(session, principal, endpoint_id))


@router.patch("/api/v1/webhooks/endpoints/{endpoint_id}", response_model=schemas.EndpointRead)
async def update_endpoint(endpoint_id: DbId, body: schemas.EndpointUpdate, session: Session,
                          principal: Manager) -> schemas.EndpointRead:
    """Change the URL, events or description; ``active: true`` re-enables a disabled endpoint."""
    endpoint = await service.update_endpoint(session, principal, endpoint_id, url=body.url,
                                             events=body.events, description=body.description,
                                             active=body.active)
    await commit(session)
    return schemas.EndpointRead.model_validate(endpoint)


@router.get("/api/v1/webhooks/endpoints/{endpoint_id}/secret",
            response_model=schemas.EndpointSecret)
async def get_secret(endpoint_id: DbId, session: Session, principal: Manager
                     ) -> schemas.EndpointSecret:
    return _secret(await service.get_endpoint(session, principal, endpoint_id,
                                              Perm.webhooks_manage))


@router.post("/api/v1/webhooks/endpoints/{endpoint_id}/rotate-secret",
             response_model=schemas.EndpointSecret)
async def rotate_secret(endpoint_id: DbId, session: Session, principal: Manager
                        ) -> schemas.EndpointSecret:
    """A new secret; for 24 hours deliveries carry a second signature made with the old one."""
    endpoint = await service.rotate_secret(session, principal, endpoint_id)
    await commit(session)
    return _secret(endpoint)


@router.post("/api/v1/webhooks/endpoints/{endpoint_id}/test",
             response_model=schemas.DeliveryRead, status_code=202)
async def send_test(endpoint_id: DbId, session: Session, principal: Manager
                    ) -> schemas.DeliveryRead:
    delivery = await service.send_test(session, principal, endpoint_id)
    await commit(session)
    return schemas.DeliveryRead.model_validate(delivery)


@router.post("/api/v1/webhooks/endpoints/{endpoint_id}/replay",
             response_model=schemas.ReplayResult, status_code=202)
async def replay_failed(endpoint_id: DbId, body: schemas.ReplayFailed, session: Session,
                        principal: Manager) -> schemas.ReplayResult:
    replays = await service.replay_failed(session, principal, endpoint_id, since=body.since)
    await commit(session)
    return schemas.ReplayResult(replayed=len(replays), delivery_ids=[d.id for d in replays])


@router.get("/api/v1/webhooks/endpoints/{endpoint_id}/deliveries",
            response_model=list[schemas.DeliveryRead])
async def list_deliveries(endpoint_id: DbId, session: Session, principal: Reader,
                          state: Annotated[str | None, Query(pattern=STATES)] = None,
                          limit: Annotated[int, Query(ge=1, le=500)] = 50,
                          offset: Offset = 0
                          ) -> list[schemas.DeliveryRead]:
    rows = await service.list_deliveries(session, principal, endpoint_id, state=state,
                                         limit=limit, offset=offset)
    return [schemas.DeliveryRead.model_validate(d) for d in rows]


@router.get("/api/v1/webhooks/deliveries/{delivery_id}", response_model=schemas.DeliveryDetail)
async def get_delivery(delivery_id: DbId, session: Session, principal: Reader
                       ) -> schemas.DeliveryDetail:
    delivery = await service.get_delivery(session, principal, delivery_id)
    attempts = await service.list_attempts(session, delivery.id)
    return schemas.DeliveryDetail(
        **schemas.DeliveryRead.model_validate(delivery).model_dump(), body=delivery.body,
        attempts_log=[schemas.AttemptRead.model_validate(a) for a in attempts])


@router.post("/api/v1/webhooks/deliveries/{delivery_id}/replay",
             response_model=schemas.DeliveryRead, status_code=202)
async def replay_delivery(delivery_id: DbId, session: Session, principal: Manager
                          ) -> schemas.DeliveryRead:
    """Send the message again (same webhook-id and body) as a new delivery."""
    replay = await service.replay_delivery(session, principal, delivery_id)
    await commit(session)
    return schemas.DeliveryRead.model_validate(replay)


