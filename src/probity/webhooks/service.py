"""Webhook subscriptions: create, change, rotate the secret, test, read the delivery log, replay.

Scope: an endpoint belongs to a tenant and hears that tenant's subtree; it is visible to the
holders of ``webhooks.read`` and changed by those of ``webhooks.manage`` whose scope covers its
tenant (anything else is 404, like a missing one). Services flush, never commit; every change
writes its audit row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.permissions import Perm, Principal
from probity.auth.scoping import MAX_ID, tenant_in_scope
from probity.config import get_settings
from probity.errors import Conflict, InvalidInput, NotFound
from probity.models.base import utcnow
from probity.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from probity.webhooks import signing
from probity.webhooks.events import EVENT_TYPES, event_body, queue_delivery
from probity.webhooks.urls import check_url, parse_networks

__all__ = [
    "ROTATION_GRACE",
    "create_endpoint",
    "get_delivery",
    "get_endpoint",
    "list_attempts",
    "list_deliveries",
    "list_endpoints",
    "replay_delivery",
    "replay_failed",
    "rotate_secret",
    "send_test",
    "update_endpoint",
]

# After a rotation the old secret signs too (a second signature) for this long.
ROTATION_GRACE = timedelta(hours=24)


def _check_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENT_TYPES) - {"*"})
    if unknown:
        raise InvalidInput(f"unknown event types: {', '.join(unknown)}", code="unknown_event",
                           template="Unknown event types: {events}",
                           params={"events": ", ".join(unknown)}, allowed=sorted(EVENT_TYPES))
    if not events:
        raise InvalidInput("choose at least one event", code="no_events",
                           template="Choose at least one event.")
    return sorted(set(events))


async def _check_url(url: str) -> str:
    await check_url(url, parse_networks(get_settings().webhook_allowed_networks))
    return url.strip()


def _view(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {"id": endpoint.id, "tenant_id": endpoint.tenant_id, "url": endpoint.url,
            "events": list(endpoint.events)}


async def list_endpoints(session: AsyncSession, principal: Principal, *,
                         tenant_id: int | None = None) -> list[WebhookEndpoint]:
    q = select(WebhookEndpoint).where(
        principal.scope(Perm.webhooks_read).filter(WebhookEndpoint.tenant_id))
    if tenant_id is not None:
        q = q.where(WebhookEndpoint.tenant_id == tenant_id)
    return list((await session.scalars(q.order_by(WebhookEndpoint.id))).all())


async def get_endpoint(session: AsyncSession, principal: Principal, endpoint_id: int,
                       perm: Perm = Perm.webhooks_read) -> WebhookEndpoint:
    endpoint = (await session.get(WebhookEndpoint, endpoint_id)
                if 0 < endpoint_id <= MAX_ID else None)
    if endpoint is None:
        raise NotFound("no such webhook endpoint")
    await tenant_in_scope(session, principal, perm, endpoint.tenant_id, body=False)
    return endpoint


async def create_endpoint(session: AsyncSession, principal: Principal, *, tenant_id: int,
                          url: str, events: list[str], description: str = ""
                          ) -> WebhookEndpoint:
    await tenant_in_scope(session, principal, Perm.webhooks_manage, tenant_id)
    events = _check_events(events)
    url = await _check_url(url)
    now = utcnow()
    endpoint = WebhookEndpoint(tenant_id=tenant_id, url=url, events=events,
                               description=description.strip(),
                               secret=signing.generate_secret(), active=True,
                               consecutive_failures=0, created_by_user_id=principal.user_id,
                               created_at=now, updated_at=now)
    session.add(endpoint)
    await session.flush()
    record_audit(session, principal, "webhook.created", target_type="webhook_endpoint",
                 target_id=endpoint.id, tenant_id=tenant_id, after=_view(endpoint))
    return endpoint


async def update_endpoint(session: AsyncSession, principal: Principal, endpoint_id: int, *,
                          url: str | None = None, events: list[str] | None = None,
                          description: str | None = None, active: bool | None = None
                          ) -> WebhookEndpoint:
    endpoint = await get_endpoint(session, principal, endpoint_id, Perm.webhooks_manage)
    before = {**_view(endpoint), "active": endpoint.active}
    if url is not None:
        endpoint.url = await _check_url(url)
    if events is not None:
        endpoint.events = _check_events(events)
    if description is not None:
        endpoint.description = description.strip()
    if active is not None and active != endpoint.active:
        endpoint.active = active
        if active:  # re-enabled: a fresh start
            endpoint.consecutive_failures = 0
            endpoint.disabled_reason = None
            endpoint.disabled_at = None
        else:
            endpoint.disabled_reason = "manual"
            endpoint.disabled_at = utcnow()
    endpoint.updated_at = utcnow()
    await session.flush()
    record_audit(session, principal, "webhook.updated", target_type="webhook_endpoint",
                 target_id=endpoint.id, tenant_id=endpoint.tenant_id, before=before,
                 after={**_view(endpoint), "active": endpoint.active})
    return endpoint


async def rotate_secret(session: AsyncSession, principal: Principal, endpoint_id: int
                        ) -> WebhookEndpoint:
    """A new secret; the old one keeps signing (second signature) for ROTATION_GRACE."""
    endpoint = await get_endpoint(session, principal, endpoint_id, Perm.webhooks_manage)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = utcnow() + ROTATION_GRACE
    endpoint.secret = signing.generate_secret()
    endpoint.updated_at = utcnow()
    await session.flush()
    record_audit(session, principal, "webhook.secret_rotated", target_type="webhook_endpoint",
                 target_id=endpoint.id, tenant_id=endpoint.tenant_id,
                 after={"previous_valid_until": endpoint.previous_secret_expires_at})
    return endpoint


async def send_test(session: AsyncSession, principal: Principal, endpoint_id: int
                    ) -> WebhookDelivery:
    endpoint = await get_endpoint(session, principal, endpoint_id, Perm.webhooks_manage)
    if not endpoint.active:
        raise Conflict("the endpoint is disabled; enable it first", code="endpoint_disabled",
                       template="The endpoint is disabled; enable it first.")
    body = event_body("webhook.test", endpoint.tenant_id,
                      {"endpoint_id": endpoint.id, "sent_by_user_id": principal.user_id})
    return await queue_delivery(session, endpoint, event_tenant_id=endpoint.tenant_id,
                                event_type="webhook.test", body=body,
                                created_by_user_id=principal.user_id)


async def list_deliveries(session: AsyncSession, principal: Principal, endpoint_id: int, *,
                          state: str | None = None, limit: int = 50, offset: int = 0
                          ) -> list[WebhookDelivery]:
    await get_endpoint(session, principal, endpoint_id)
    q = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if state is not None:
        q = q.where(WebhookDelivery.state == state)
    return list((await session.scalars(q.order_by(WebhookDelivery.id.desc()).limit(limit)
                                       .offset(offset))).all())


async def delivery_counts(session: AsyncSession, endpoint_ids: list[int]
                          ) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {i: {} for i in endpoint_ids}
    if endpoint_ids:
        rows = await session.execute(
            select(WebhookDelivery.endpoint_id, WebhookDelivery.state, func.count())
            .where(WebhookDelivery.endpoint_id.in_(endpoint_ids))
            .group_by(WebhookDelivery.endpoint_id, WebhookDelivery.state))
        for eid, state, n in rows:
            out[int(eid)][str(state)] = int(n)
    return out


async def get_delivery(session: AsyncSession, principal: Principal, delivery_id: int,
                       perm: Perm = Perm.webhooks_read) -> WebhookDelivery:
    delivery = (await session.get(WebhookDelivery, delivery_id)
                if 0 < delivery_id <= MAX_ID else None)
    if delivery is None:
        raise NotFound("no such webhook delivery")
    await tenant_in_scope(session, principal, perm, delivery.tenant_id, body=False)
    return delivery


async def list_attempts(session: AsyncSession, delivery_id: int) -> list[WebhookAttempt]:
    return list((await session.scalars(select(WebhookAttempt).where(
        WebhookAttempt.delivery_id == delivery_id).order_by(WebhookAttempt.attempt))).all())


async def replay_delivery(session: AsyncSession, principal: Principal, delivery_id: int
                          ) -> WebhookDelivery:
    """Send a delivery again as a new delivery of the same message (same webhook-id and body:
    a receiver that already has it dedupes; one that lost it gets it)."""
    original = await get_delivery(session, principal, delivery_id, Perm.webhooks_manage)
    endpoint = await session.get(WebhookEndpoint, original.endpoint_id)
    if endpoint is None or not endpoint.active:
        raise Conflict("the endpoint is disabled; enable it first", code="endpoint_disabled",
                       template="The endpoint is disabled; enable it first.")
    replay = await queue_delivery(session, endpoint, event_tenant_id=original.event_tenant_id,
                                  event_type=original.event_type, body=original.body,
                                  msg_id=original.msg_id, replay_of_id=original.id,
                                  created_by_user_id=principal.user_id)
    record_audit(session, principal, "webhook.replayed", target_type="webhook_delivery",
                 target_id=original.id, tenant_id=original.tenant_id,
                 after={"replay_id": replay.id, "msg_id": original.msg_id})
    return replay


async def replay_failed(session: AsyncSession, principal: Principal, endpoint_id: int, *,
                        since: datetime) -> list[WebhookDelivery]:
    """Replay every delivery of the endpoint that failed or was skipped since ``since`` (e.g.
    after fixing a receiver that was down and got the endpoint disabled)."""
    endpoint = await get_endpoint(session, principal, endpoint_id, Perm.webhooks_manage)
    if not endpoint.active:
        raise Conflict("the endpoint is disabled; enable it first", code="endpoint_disabled",
                       template="The endpoint is disabled; enable it first.")
    originals = (await session.scalars(select(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint.id,
        WebhookDelivery.state.in_(("failed", "skipped")),
        WebhookDelivery.created_at >= since).order_by(WebhookDelivery.id).limit(1000))).all()
    out = []
    for original in originals:
        out.append(await queue_delivery(
            session, endpoint, event_tenant_id=original.event_tenant_id,
            event_type=original.event_type, body=original.body, msg_id=original.msg_id,
            replay_of_id=original.id, created_by_user_id=principal.user_id))
    record_audit(session, principal, "webhook.replayed", target_type="webhook_endpoint",
                 target_id=endpoint.id, tenant_id=endpoint.tenant_id,
                 after={"since": since, "count": len(out)})
    return out
