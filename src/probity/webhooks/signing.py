"""Standard Webhooks signatures (https://www.standardwebhooks.com/, "Signature scheme").

* The secret is ``whsec_`` + base64 of 24–64 random bytes; the HMAC key is the decoded bytes.
* The signed content is ``{webhook-id}.{webhook-timestamp}.{body}`` (the exact body bytes).
* ``webhook-signature`` is ``v1,<base64 of HMAC-SHA256>``; several space-separated signatures
  are allowed (we send two while a rotated-out secret is still in its grace period).

Pure functions: no database, no web (tests check them against the ``standardwebhooks``
package, an independent implementation of the specification).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["SECRET_PREFIX", "generate_secret", "headers", "secret_key", "sign", "verify"]

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    raw = secret[len(SECRET_PREFIX):] if secret.startswith(SECRET_PREFIX) else secret
    return base64.b64decode(raw)


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every secret given (current first)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in secrets_),
        "content-type": "application/json",
    }


def verify(secret: str, msg_id: str, timestamp: int, body: bytes, signature_header: str) -> bool:
    """True when one of the header's ``v1`` signatures matches (constant-time compare)."""
    expected = sign(secret, msg_id, timestamp, body)
    return any(hmac.compare_digest(expected, part)
               for part in signature_header.split(" ") if part.startswith("v1,"))
