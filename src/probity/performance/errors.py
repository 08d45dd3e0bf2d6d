"""Performance errors with English msgids, rendered in the caller's locale by the problem
handler (translations in i18n/*/LC_MESSAGES/performance.po)."""

from __future__ import annotations

from typing import Any

from probity.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from probity.i18n import Msgid

KINDS: dict[str, type[DomainError]] = {"invalid": InvalidInput, "forbidden": Forbidden,
                                       "conflict": Conflict, "not_found": NotFound}


def fail(kind: str, template: Msgid, *, code: str | None = None,
         extra: dict[str, Any] | None = None, **params: object) -> DomainError:
    """A DomainError whose message is `template` filled with `params` (English) and whose
    detail is the same msgid translated."""
    cls = KINDS[kind]
    return cls(template.format(**params), code=code, template=template, params=params,
               **(extra or {}))
