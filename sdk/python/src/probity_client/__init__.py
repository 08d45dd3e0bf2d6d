"""Python client for the Probity (廉盾) API.

    from probity_client import Client
    with Client("http://127.0.0.1:8000", token="pbt_…") as probity:
        for alert in probity.alerts(decision="block"):
            ...

Sync (:class:`Client`) and async (:class:`AsyncClient`) on httpx; errors raise
:class:`APIError` subclasses carrying the RFC 9457 problem details; live alert and chat
streams over WebSockets.
"""

from probity_client.aio import AsyncClient
from probity_client.client import Client
from probity_client.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ProbityError,
    RateLimitedError,
    ServerError,
    StreamClosed,
    ValidationError,
)
from probity_client.signatures import WebhookVerificationError, signed_headers, verify_webhook
from probity_client.streams import AlertStream, AsyncAlertStream, AsyncChatStream, ChatStream

__version__ = "1.0.0"
# The API major version this client speaks (the /api/v1 prefix, docs/openapi/v1.json).
API_VERSION = "1"

__all__ = [
    "API_VERSION",
    "APIError",
    "AlertStream",
    "AsyncAlertStream",
    "AsyncChatStream",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "ChatStream",
    "Client",
    "ConflictError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "ProbityError",
    "RateLimitedError",
    "ServerError",
    "StreamClosed",
    "ValidationError",
    "WebhookVerificationError",
    "signed_headers",
    "verify_webhook",
]
