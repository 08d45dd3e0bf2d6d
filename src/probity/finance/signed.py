"""The HMAC-signed finance feed: a system posts batches without a bearer token, signing each
with its tenant's secret, using the Standard Webhooks scheme (the same as our outbound
webhooks, so either side can use a Standard Webhooks library):

    webhook-id: <unique message id>          (replay protection: each id is accepted once)
    webhook-timestamp: <unix seconds>        (refused beyond ±feed_tolerance_s, default 300)
    webhook-signature: v1,<base64 HMAC-SHA256(secret, id + "." + timestamp + "." + body)>

The batch runs as the finance user who set the secret (their permissions today: an account
deactivated or stripped of finance.import stops the feed). Failures are 401 with a message
saying which check failed; a reused id is 409.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.permissions import Perm, Principal
from probity.auth.scoping import MAX_ID, tenant_in_scope
from probity.config import get_settings
from probity.errors import Conflict, Unauthenticated
from probity.i18n import Msgid
from probity.models.base import utcnow
from probity.models.webhooks import FeedReceipt, FeedSecret
from probity.webhooks import signing

__all__ = ["feed_secret", "rotate_feed_secret", "verify_signed_feed"]


def _refuse(template: Msgid, code: str, **params: Any) -> Unauthenticated:
    return Unauthenticated(template.format(**params), code=code, template=template,
                           params=params, **params)


async def feed_secret(session: AsyncSession, principal: Principal, tenant_id: int
                      ) -> FeedSecret | None:
    await tenant_in_scope(session, principal, Perm.finance_import, tenant_id, body=False)
    return await session.scalar(select(FeedSecret).where(FeedSecret.tenant_id == tenant_id))


async def rotate_feed_secret(session: AsyncSession, principal: Principal, tenant_id: int
                             ) -> FeedSecret:
    """Set (or replace) the tenant's feed secret; the feed then acts as ``principal``."""
    current = await feed_secret(session, principal, tenant_id)
    if current is None:
        current = FeedSecret(tenant_id=tenant_id, secret="")
        session.add(current)
    current.secret = signing.generate_secret()
    current.created_by_user_id = principal.user_id
    current.created_at = utcnow()
    await session.flush()
    record_audit(session, principal, "finance.feed_secret_set", target_type="tenant",
                 target_id=tenant_id, tenant_id=tenant_id, after={"owner": principal.user_id})
    return current


async def verify_signed_feed(session: AsyncSession, tenant_id: int,
                             headers: Mapping[str, str], body: bytes) -> Principal:
    """Check the signature, the timestamp and the id; record the id; return the principal the
    batch runs as. 401 (which check failed) or 409 (the id was used before)."""
    from probity.auth.service import load_principal

    msg_id = headers.get("webhook-id", "").strip()
    stamp = headers.get("webhook-timestamp", "").strip()
    signature = headers.get("webhook-signature", "").strip()
    if not (msg_id and stamp and signature):
        raise _refuse("The signed feed needs the webhook-id, webhook-timestamp and "
                      "webhook-signature headers.", "signature_missing")
    if len(msg_id) > 100:
        raise _refuse("The webhook-id header is longer than 100 characters.",
                      "signature_invalid")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise _refuse("The webhook-timestamp header must be Unix seconds.",
                      "timestamp_invalid") from None
    now = int(time.time())
    tolerance = get_settings().feed_tolerance_s
    if abs(now - timestamp) > tolerance:
        raise _refuse("The webhook-timestamp is {skew} seconds away from the server's clock "
                      "(at most {tolerance} allowed): sign with the current time.",
                      "timestamp_out_of_tolerance", skew=now - timestamp, tolerance=tolerance)
    secret = (await session.scalar(select(FeedSecret).where(FeedSecret.tenant_id == tenant_id))
              if 0 < tenant_id <= MAX_ID else None)
    if secret is None:
        raise _refuse("No feed secret is set for this tenant: finance sets one first.",
                      "feed_not_configured")
    if not signing.verify(secret.secret, msg_id, timestamp, body, signature):
        raise _refuse("The signature does not match: sign webhook-id.webhook-timestamp.body "
                      "with the tenant's feed secret (HMAC-SHA256, base64, prefixed v1,).",
                      "signature_invalid")
    owner = (await load_principal(session, secret.created_by_user_id)
             if secret.created_by_user_id else None)
    if owner is None or not owner.scope(Perm.finance_import).covers_path(
            await _path(session, tenant_id)):
        raise _refuse("The account that set the feed secret may no longer import for this "
                      "tenant: finance sets a new secret.", "feed_owner_inactive")
    try:
        async with session.begin_nested():
            session.add(FeedReceipt(tenant_id=tenant_id, message_id=msg_id,
                                    received_at=utcnow()))
            await session.flush()
    except IntegrityError:
        raise Conflict("This webhook-id was already received: each signed message is "
                       "accepted once.", code="feed_replayed",
                       template="This webhook-id was already received: each signed message "
                                "is accepted once.") from None
    return owner


async def _path(session: AsyncSession, tenant_id: int) -> str:
    from probity.models import Tenant

    return str(await session.scalar(select(Tenant.path).where(Tenant.id == tenant_id)) or "")
