"""Sending one delivery: re-check the URL, sign, POST to the checked address, log the attempt,
schedule the retry (exponential backoff) or give up, and disable an endpoint that keeps failing.

The attempt's log row and the delivery's new state are written in the job's transaction (they
commit together with the job's ``done``); the HTTP call happens before that commit, so a worker
killed between the two may send a message twice — receivers dedupe on ``webhook-id``, as the
Standard Webhooks specification asks.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from probity.config import get_settings
from probity.errors import DomainError
from probity.models import Notification, RoleAssignment, Tenant
from probity.models.base import utcnow
from probity.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from probity.webhooks import signing
from probity.webhooks.urls import Target, check_url, parse_networks

__all__ = ["BACKOFF_S", "MAX_ATTEMPTS", "Outcome", "attempt_delivery", "backoff", "post"]

log = logging.getLogger("probity.webhooks")

# Seconds to wait after attempt n fails (n = 1, 2, …): about 28 hours in all, like Svix's
# schedule; jittered by ±10 %. The retry sweep runs every minute.
BACKOFF_S = (60, 300, 1800, 7200, 18000, 36000, 36000)
MAX_ATTEMPTS = len(BACKOFF_S) + 1
USER_AGENT = "Probity-Webhooks/1.0"


def backoff(attempt: int, *, jitter: bool = True) -> timedelta:
    base = BACKOFF_S[min(attempt, len(BACKOFF_S)) - 1]
    factor = random.uniform(0.9, 1.1) if jitter else 1.0
    return timedelta(seconds=base * factor)


@dataclass
class Outcome:
    status: int | None
    error: str | None
    excerpt: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _pinned_url(url: str, target: Target, address: str) -> str:
    parts = urlsplit(url.strip())
    host = f"[{address}]" if ":" in address else address
    return urlunsplit((target.scheme, f"{host}:{target.port}", parts.path or "/", parts.query,
                       ""))


def _host_header(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


async def post(url: str, secrets: list[str], msg_id: str, body: bytes, *,
               timeout_s: float, allowed: list[Any]) -> Outcome:
    """One signed POST, to the address the URL check resolved (DNS rebinding cannot move it
    to a private address between the check and the connection). Never raises."""
    started = time.monotonic()

    def done(status: int | None, error: str | None, excerpt: str | None = None) -> Outcome:
        return Outcome(status, error, excerpt, int((time.monotonic() - started) * 1000))

    try:
        target = await check_url(url, allowed)
    except DomainError as exc:
        return done(None, f"refused: {exc.code}: {exc.message}"[:300])
    headers = signing.headers(secrets, msg_id, int(time.time()), body)
    headers["user-agent"] = USER_AGENT
    headers["host"] = _host_header(target)
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=False,
                                     trust_env=False) as client:
            response = await client.post(_pinned_url(url, target, target.addresses[0]),
                                         content=body, headers=headers, extensions=extensions)
            excerpt = response.text[:500] if response.content else None
            return done(response.status_code,
                        None if response.is_success else f"HTTP {response.status_code}",
                        excerpt)
    except httpx.TimeoutException:
        return done(None, "timeout")
    except httpx.HTTPError as exc:
        return done(None, f"{exc.__class__.__name__}: {exc}"[:300])


def _secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    out = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and \
            endpoint.previous_secret_expires_at > now:
        out.append(endpoint.previous_secret)
    return out


async def attempt_delivery(session: AsyncSession, delivery_id: int) -> dict[str, Any]:
    """One attempt of one delivery (flush only; the caller commits)."""
    settings = get_settings()
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.state in ("delivered", "failed", "skipped"):
        return {"state": delivery.state if delivery else "missing"}
    endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
    if endpoint is None or not endpoint.active:
        delivery.state = "skipped"
        delivery.last_error = "endpoint disabled"
        delivery.next_attempt_at = None
        await session.flush()
        return {"state": "skipped"}
    now = utcnow()
    outcome = await post(endpoint.url, _secrets(endpoint, now), delivery.msg_id,
                         delivery.body.encode(), timeout_s=settings.webhook_timeout_s,
                         allowed=parse_networks(settings.webhook_allowed_networks))
    delivery.attempts += 1
    session.add(WebhookAttempt(delivery_id=delivery.id, attempt=delivery.attempts,
                               status_code=outcome.status, error=outcome.error,
                               response_excerpt=outcome.excerpt,
                               duration_ms=outcome.duration_ms, created_at=utcnow()))
    delivery.last_status = outcome.status
    delivery.last_error = outcome.error
    if outcome.ok:
        delivery.state = "delivered"
        delivery.delivered_at = utcnow()
        delivery.next_attempt_at = None
        await session.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id)
                              .values(consecutive_failures=0)
                              .execution_options(synchronize_session=False))
        await session.flush()
        return {"state": "delivered", "status": outcome.status}
    if delivery.attempts < MAX_ATTEMPTS:
        delivery.state = "retrying"
        delivery.next_attempt_at = utcnow() + backoff(delivery.attempts)
    else:
        delivery.state = "failed"
        delivery.next_attempt_at = None
    await session.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id)
                          .values(consecutive_failures=WebhookEndpoint.consecutive_failures + 1)
                          .execution_options(synchronize_session=False))
    failures = int(await session.scalar(select(WebhookEndpoint.consecutive_failures).where(
        WebhookEndpoint.id == endpoint.id)) or 0)
    disabled = False
    if failures >= settings.webhook_disable_after:
        disabled = await disable_failing(session, endpoint, failures)
    await session.flush()
    return {"state": delivery.state, "status": outcome.status, "error": outcome.error,
            "disabled": disabled}


async def disable_failing(session: AsyncSession, endpoint: WebhookEndpoint, failures: int
                          ) -> bool:
    """Disable an endpoint after ``failures`` consecutive failed attempts, skip its queued
    deliveries, and tell the people who manage it (in-app notifications)."""
    from probity.audit.service import record_audit
    from probity.auth.permissions import ROLE_PERMISSIONS, Perm

    changed = await session.execute(
        update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id,
                                      WebhookEndpoint.active.is_(True))
        .values(active=False, disabled_reason="failing", disabled_at=utcnow(),
                updated_at=utcnow())
        .execution_options(synchronize_session=False))
    if not getattr(changed, "rowcount", 0):
        return False
    await session.execute(
        update(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id,
                                      WebhookDelivery.state.in_(("pending", "retrying")))
        .values(state="skipped", last_error="endpoint disabled", next_attempt_at=None)
        .execution_options(synchronize_session=False))
    await session.refresh(endpoint)
    record_audit(session, None, "webhook.disabled", target_type="webhook_endpoint",
                 target_id=endpoint.id, tenant_id=endpoint.tenant_id,
                 after={"reason": "failing", "consecutive_failures": failures},
                 actor_name="system")
    path = await session.scalar(select(Tenant.path).where(Tenant.id == endpoint.tenant_id)) or ""
    tenants = {int(p) for p in path.split("/") if p.isdigit()} | {endpoint.tenant_id}
    roles = [r for r, perms in ROLE_PERMISSIONS.items() if Perm.webhooks_manage in perms]
    users = set((await session.scalars(select(RoleAssignment.user_id).where(
        RoleAssignment.role.in_(roles), RoleAssignment.tenant_id.in_(sorted(tenants)),
        RoleAssignment.org_unit_id.is_(None)))).all())
    if endpoint.created_by_user_id:
        users.add(endpoint.created_by_user_id)
    title = f"Webhook 已自动停用 / Webhook disabled: #{endpoint.id}"
    body = (f"连续 {failures} 次投递失败，已停用：{endpoint.url}\n"
            f"{failures} consecutive failed deliveries; disabled: {endpoint.url}\n"
            f"/webhooks/{endpoint.id}")
    for uid in sorted(users):
        session.add(Notification(tenant_id=endpoint.tenant_id, user_id=uid, case_id=None,
                                 event="webhook.disabled", title=title[:200], body=body,
                                 created_at=utcnow()))
    log.warning("webhook endpoint %s disabled after %d consecutive failures", endpoint.id,
                failures)
    return True


async def due_deliveries(session: AsyncSession, limit: int = 500) -> list[tuple[int, int, int]]:
    """(id, attempts, endpoint's tenant) of the deliveries whose retry is due."""
    rows = await session.execute(
        select(WebhookDelivery.id, WebhookDelivery.attempts, WebhookDelivery.tenant_id)
        .where(WebhookDelivery.state == "retrying", WebhookDelivery.next_attempt_at <= utcnow())
        .order_by(WebhookDelivery.next_attempt_at).limit(limit))
    return [(int(a), int(b), int(c)) for a, b, c in rows]
