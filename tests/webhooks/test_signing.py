"""Our Standard Webhooks signatures against an independent implementation of the
specification: the `standardwebhooks` package (PyPI, by the specification's authors)."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from probity.webhooks import signing


def test_our_signatures_verify_with_the_reference_library() -> None:
    secret = signing.generate_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    body = '{"type":"alert.created","data":{"id":7,"text":"红包"}}'.encode()
    now = int(time.time())
    headers = signing.headers([secret], "msg_abc", now, body)
    assert Webhook(secret).verify(body, headers) is not None
    # Tampered body, id or timestamp: the reference refuses.
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, {**headers, "webhook-id": "msg_abd"})
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.generate_secret()).verify(body, headers)


def test_the_reference_library_signs_what_we_verify() -> None:
    secret = signing.generate_secret()
    body = b'{"kind":"orders","rows":[{"order_no":"A-1"}]}'
    now = int(time.time())
    from datetime import UTC, datetime

    reference = Webhook(secret).sign("msg_1", datetime.fromtimestamp(now, UTC), body.decode())
    assert signing.sign(secret, "msg_1", now, body) == reference
    assert signing.verify(secret, "msg_1", now, body, reference)
    assert not signing.verify(secret, "msg_1", now + 1, body, reference)


def test_during_rotation_both_secrets_verify() -> None:
    old, new = signing.generate_secret(), signing.generate_secret()
    body = b"{}"
    headers = signing.headers([new, old], "msg_r", int(time.time()), body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(body, headers)
    Webhook(old).verify(body, headers)
