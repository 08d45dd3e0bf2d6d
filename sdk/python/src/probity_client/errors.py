"""Exceptions. Every error answer of the API is an RFC 9457 problem-details document
(``application/problem+json``); the client raises it as an :class:`APIError` subclass chosen by
the status, carrying every field of the document."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "ProbityError",
    "RateLimitedError",
    "ServerError",
    "StreamClosed",
    "ValidationError",
    "error_from_response",
]


class ProbityError(Exception):
    """Base class of everything this package raises (network errors stay ``httpx`` errors)."""


class APIError(ProbityError):
    """An error answer: the problem details (RFC 9457) of the response.

    ``type``, ``title``, ``status``, ``detail`` and ``instance`` are the RFC's members;
    ``code`` (a stable machine-readable reason such as ``unknown_tenant``) and ``request_id``
    (quote it to support) are Probity's extensions; ``extra`` holds any other member (for
    example ``errors`` on a 422, ``retry_after`` on a 429) and ``problem`` the whole document.
    """

    def __init__(self, status: int, problem: Mapping[str, Any], *,
                 headers: Mapping[str, str] | None = None) -> None:
        self.status = status
        self.problem: dict[str, Any] = dict(problem)
        self.type: str = str(problem.get("type") or "about:blank")
        self.title: str | None = _opt_str(problem.get("title"))
        self.detail: str | None = _opt_str(problem.get("detail"))
        self.instance: str | None = _opt_str(problem.get("instance"))
        self.code: str | None = _opt_str(problem.get("code"))
        self.request_id: str | None = _opt_str(problem.get("request_id"))
        known = {"type", "title", "status", "detail", "instance", "code", "request_id"}
        self.extra: dict[str, Any] = {k: v for k, v in problem.items() if k not in known}
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(self._message())

    def _message(self) -> str:
        text = f"{self.status} {self.code or self.title or 'error'}"
        if self.detail:
            text += f": {self.detail}"
        if self.request_id:
            text += f" (request {self.request_id})"
        return text


class BadRequestError(APIError):
    """400."""


class AuthenticationError(APIError):
    """401: no credential, or a revoked/expired token."""


class PermissionDeniedError(APIError):
    """403: the credential lacks the permission."""


class NotFoundError(APIError):
    """404: missing, or outside the caller's scope (the API does not tell them apart)."""


class ConflictError(APIError):
    """409."""


class PayloadTooLargeError(APIError):
    """413."""


class ValidationError(APIError):
    """422: the input was refused; ``extra.get("errors")`` lists the fields when the request
    did not match the schema."""


class RateLimitedError(APIError):
    """429: retry after :attr:`retry_after` seconds."""

    @property
    def retry_after(self) -> int | None:
        value = self.headers.get("retry-after") or self.extra.get("retry_after")
        try:
            return int(value) if value is not None else None
        except (TypeError, ValueError):
            return None


class ServerError(APIError):
    """5xx."""


class StreamClosed(ProbityError):
    """A WebSocket stream was refused or closed by the server: ``code`` is the HTTP status of a
    refused handshake (403: no permission, 404 …), or the close code of an open socket: 4401
    (the session or token ended), 4403 (no permission), 4404 (not a participant / no such
    conversation), 1000 (normal)."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        self.code = code
        self.reason = reason
        super().__init__(f"stream closed ({code}){': ' + reason if reason else ''}")


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError, 401: AuthenticationError, 403: PermissionDeniedError,
    404: NotFoundError, 409: ConflictError, 413: PayloadTooLargeError, 422: ValidationError,
    429: RateLimitedError,
}


def error_from_response(status: int, headers: Mapping[str, str], body: bytes) -> APIError:
    """The exception for an error answer, from its problem document (or a synthetic one when
    a proxy answered with something else)."""
    problem: dict[str, Any]
    try:
        decoded = json.loads(body) if body else {}
        problem = decoded if isinstance(decoded, dict) else {"detail": str(decoded)}
    except ValueError:
        problem = {"detail": body[:500].decode("utf-8", "replace")}
    problem.setdefault("status", status)
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else APIError)
    return cls(status, problem, headers={k.lower(): v for k, v in headers.items()})


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)
