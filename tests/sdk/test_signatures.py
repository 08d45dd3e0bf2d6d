"""The SDK's Standard Webhooks helpers against the `standardwebhooks` reference library."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from probity_client import WebhookVerificationError, signed_headers, verify_webhook
from standardwebhooks.webhooks import Webhook

from probity.webhooks import signing


def test_verify_webhook_accepts_what_probity_and_the_reference_sign() -> None:
    secret = signing.generate_secret()
    body = json.dumps({"type": "case.decided", "data": {"case_id": 3}}).encode()
    now = int(time.time())
    ours = signing.headers([secret], "msg_1", now, body)
    assert verify_webhook(secret, ours, body)["data"] == {"case_id": 3}
    ref = {"webhook-id": "msg_2", "webhook-timestamp": str(now),
           "webhook-signature": Webhook(secret).sign("msg_2", datetime.fromtimestamp(now, UTC),
                                                     body.decode())}
    assert verify_webhook(secret, ref, body)["type"] == "case.decided"
    with pytest.raises(WebhookVerificationError):
        verify_webhook(secret, ours, body + b" ")
    with pytest.raises(WebhookVerificationError):
        verify_webhook(secret, signing.headers([secret], "msg_3", now - 3600, body), body)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(secret, {}, body)


def test_signed_headers_verify_with_the_reference() -> None:
    secret = signing.generate_secret()
    body = b'{"kind":"orders","rows":[]}'
    Webhook(secret).verify(body, signed_headers(secret, "feed-1", body))
