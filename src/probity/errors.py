"""Domain errors, rendered as RFC 9457 problem details by one handler.

Services raise these; they never raise HTTPException.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from probity.i18n import Msgid


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None,
                 template: Msgid | None = None, params: dict[str, object] | None = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        # An English msgid with {named} parameters: the handler renders it in the caller's
        # locale (zh-CN by default); `message` is the English text for logs and callers.
        self.template = template
        self.params = params or {}
        self.extra = extra

    def localized(self, gettext: Callable[..., str]) -> str:
        return gettext(self.template, **self.params) if self.template else self.message


class NotFound(DomainError):
    """Missing, or outside the caller's scope: the two are indistinguishable on purpose."""

    status_code = 404
    code = "not_found"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class Unauthenticated(DomainError):
    status_code = 401
    code = "unauthenticated"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class InvalidInput(DomainError):
    status_code = 422
    code = "invalid_input"


class TooManyAttempts(DomainError):
    status_code = 429
    code = "too_many_attempts"
