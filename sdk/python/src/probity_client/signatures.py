"""Standard Webhooks signatures (https://www.standardwebhooks.com/) for both directions:

* :func:`verify_webhook` — a receiver checks a webhook Probity sent (``webhook-id``,
  ``webhook-timestamp``, ``webhook-signature`` headers; secret ``whsec_…`` from the endpoint page);
* :func:`signed_headers` — a sender signs a batch for Probity's signed finance feed
  (``Client.post_signed_feed`` does it for you).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from probity_client.errors import ProbityError

__all__ = ["WebhookVerificationError", "sign", "signed_headers", "verify_webhook"]


class WebhookVerificationError(ProbityError):
    """The webhook's signature, timestamp or headers do not check out: do not trust it."""


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">``."""
    mac = hmac.new(_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def signed_headers(secret: str, msg_id: str, body: bytes, timestamp: int | None = None
                   ) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts),
            "webhook-signature": sign(secret, msg_id, ts, body),
            "content-type": "application/json"}


def verify_webhook(secret: str, headers: Mapping[str, str], body: bytes, *,
                   tolerance_s: int = 300) -> dict[str, Any]:
    """Check a delivery from Probity and return its JSON (``type``, ``timestamp``,
    ``tenant_id``, ``data``). Raises :class:`WebhookVerificationError`. Dedupe on
    ``headers["webhook-id"]``: a retry or a replay carries the same id."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp = lower.get("webhook-id"), lower.get("webhook-timestamp")
    signatures = lower.get("webhook-signature")
    if not (msg_id and stamp and signatures):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or "
                                       "webhook-signature header")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not Unix seconds") from None
    if abs(time.time() - timestamp) > tolerance_s:
        raise WebhookVerificationError("webhook-timestamp is outside the tolerance")
    expected = sign(secret, msg_id, timestamp, body)
    if not any(hmac.compare_digest(expected, s) for s in signatures.split(" ")):
        raise WebhookVerificationError("no signature matches")
    data = json.loads(body)
    if not isinstance(data, dict):
        raise WebhookVerificationError("the body is not a JSON object")
    return data
