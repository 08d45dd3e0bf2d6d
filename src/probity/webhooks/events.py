"""The event catalogue and ``emit``: how other domains announce something to subscribers.

    from probity import webhooks
    await webhooks.emit(session, tenant_id, "case.decided", {"case_id": case.id, ...})

``emit`` runs inside the caller's transaction: it writes one delivery row per subscribed
endpoint (the tenant's own and its ancestors': an HQ endpoint hears the whole group) and
enqueues their jobs, which are sent to the workers only after the caller commits — a rolled-back
change is never announced. With no subscriber it costs two indexed reads and writes nothing;
``Emitter`` makes those reads once per tenant for a run of many events.
Payloads carry ids, codes and numbers — never message text or personal data.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import Tenant
from probity.models.base import utcnow
from probity.models.webhooks import WebhookDelivery, WebhookEndpoint

__all__ = ["EVENT_TYPES", "Emitter", "alert_event", "emit", "event_body", "queue_delivery"]

# type → what it means (English msgid; translated in webhooks.po for the pages).
EVENT_TYPES: dict[str, str] = {
    "alert.created": "An alert was raised (screening, finance rule, report).",
    "case.changed": "A case changed: opened, alert added, status, assignee, severity.",
    "case.decided": "A case was decided (substantiated, unsubstantiated, false positive).",
    "payment.flagged": "A finance rule flagged a payment, refund or payee.",
    "cycle.closed": "An appraisal cycle was signed off and closed.",
    "training.overdue": "An employee's required training is overdue.",
    "employee.left": "An employee left (accounts deactivated, conversations handed over).",
    "webhook.test": "A test event sent from the webhook page.",
}


def alert_event(alert: Any) -> dict[str, Any]:
    """The ``alert.created`` payload: ids and codes, no message text."""
    return {name: getattr(alert, name, None) for name in (
        "id", "tenant_id", "source", "rule", "decision", "category", "categories", "severity",
        "conversation_id", "message_id", "agent_employee_id", "customer_id", "org_unit_id",
        "created_at")}


def event_body(event_type: str, tenant_id: int, payload: dict[str, Any]) -> str:
    """The JSON body (Standard Webhooks' suggested shape: type, timestamp, data)."""
    return json.dumps({"type": event_type, "timestamp": utcnow().isoformat(),
                       "tenant_id": tenant_id, "data": payload},
                      ensure_ascii=False, separators=(",", ":"), default=_jsonable)


def _jsonable(value: Any) -> str:
    """Datetimes and dates as ISO 8601, Decimals and the rest as their text."""
    iso = getattr(value, "isoformat", None)
    return str(iso()) if callable(iso) else str(value)


def _ancestor_ids(path: str, tenant_id: int) -> list[int]:
    ids = {int(p) for p in path.split("/") if p.isdigit()}
    ids.add(tenant_id)
    return sorted(ids)


async def queue_delivery(session: AsyncSession, endpoint: WebhookEndpoint | tuple[int, int],
                         *, event_tenant_id: int, event_type: str, body: str,
                         msg_id: str | None = None, replay_of_id: int | None = None,
                         created_by_user_id: int | None = None) -> WebhookDelivery:
    """A delivery row and its job (sent after commit)."""
    from probity.jobs import enqueue

    endpoint_id, tenant_id = ((endpoint.id, endpoint.tenant_id)
                              if isinstance(endpoint, WebhookEndpoint) else endpoint)
    delivery = WebhookDelivery(endpoint_id=endpoint_id, tenant_id=tenant_id,
                               event_tenant_id=event_tenant_id,
                               msg_id=msg_id or f"msg_{uuid.uuid4().hex}",
                               event_type=event_type, body=body, state="pending", attempts=0,
                               replay_of_id=replay_of_id, created_by_user_id=created_by_user_id,
                               created_at=utcnow())
    session.add(delivery)
    await session.flush()
    await enqueue(session, "webhooks.deliver", params={"delivery_id": delivery.id},
                  tenant_id=tenant_id, key=f"webhook:{delivery.id}:0")
    return delivery


async def _subscribers(session: AsyncSession, tenant_id: int
                       ) -> list[tuple[int, int, list[str]]] | None:
    """The active endpoints that hear ``tenant_id`` (its own and its ancestors'): (endpoint
    id, endpoint tenant id, events); None for an unknown tenant. Two indexed reads."""
    path = await session.scalar(select(Tenant.path).where(Tenant.id == tenant_id))
    if path is None:
        return None
    rows = (await session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.tenant_id, WebhookEndpoint.events)
        .where(WebhookEndpoint.tenant_id.in_(_ancestor_ids(path, tenant_id)),
               WebhookEndpoint.active.is_(True)))).all()
    return [(int(eid), int(tid), list(events or [])) for eid, tid, events in rows]


async def _queue_all(session: AsyncSession, subscribers: list[tuple[int, int, list[str]]],
                     tenant_id: int, event_type: str, payload: dict[str, Any]) -> int:
    targets = [(eid, tid) for eid, tid, events in subscribers
               if event_type in events or "*" in events]
    if not targets:
        return 0
    body = event_body(event_type, tenant_id, payload)
    for target in targets:
        await queue_delivery(session, target, event_tenant_id=tenant_id, event_type=event_type,
                             body=body)
    return len(targets)


def _check_type(event_type: str) -> None:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r} (add it to EVENT_TYPES)")


async def emit(session: AsyncSession, tenant_id: int, event_type: str,
               payload: dict[str, Any]) -> int:
    """Announce ``event_type`` about ``tenant_id`` to its subscribers; returns how many
    deliveries were queued. Call it after your change is flushed, in the same transaction."""
    _check_type(event_type)
    subscribers = await _subscribers(session, tenant_id)
    if not subscribers:
        return 0
    return await _queue_all(session, subscribers, tenant_id, event_type, payload)


class Emitter:
    """``emit`` for the many events of one run in one transaction (an import's alerts and
    their cases): each tenant's subscribers are read once, on its first event, instead of
    twice per event. The deliveries are the same rows and jobs, queued in the same order, and
    their jobs still go to the workers only after the caller commits. Use it only while no
    endpoint changes in the transaction."""

    def __init__(self) -> None:
        self._subscribers: dict[int, list[tuple[int, int, list[str]]] | None] = {}

    async def emit(self, session: AsyncSession, tenant_id: int, event_type: str,
                   payload: dict[str, Any]) -> int:
        _check_type(event_type)
        if tenant_id not in self._subscribers:
            self._subscribers[tenant_id] = await _subscribers(session, tenant_id)
        subscribers = self._subscribers[tenant_id]
        if not subscribers:
            return 0
        return await _queue_all(session, subscribers, tenant_id, event_type, payload)
