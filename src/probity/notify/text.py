"""In-app notifications whose words follow the reader (issue 15: the English UI is complete).

A producer gives the title (and, when it is text rather than a link, the body) as
`probity.i18n.deferred(msgid, …)`. The row keeps them in `message` and, for the API and older
readers, the title and body rendered in the product's default language; a page shows
`Labels.notice(n)`, in the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from probity.i18n import DEFAULT_LOCALE, render_deferred, translator
from probity.models import Notification
from probity.models.base import utcnow

Deferred = Mapping[str, Any]


def default_text(spec: Deferred) -> str:
    """The text in the product's default language (what the row's `title`/`body` keep)."""
    return render_deferred(spec, translator(DEFAULT_LOCALE))


def in_app(*, tenant_id: int, user_id: int, event: str, title: Deferred,
           body: Deferred | str = "", case_id: int | None = None,
           created_at: datetime | None = None) -> Notification:
    message: dict[str, Any] = {"title": dict(title)}
    if not isinstance(body, str):
        message["body"] = dict(body)
        body = default_text(body)
    return Notification(tenant_id=tenant_id, user_id=user_id, case_id=case_id, event=event,
                        title=default_text(title)[:200], body=body, message=message,
                        created_at=created_at or utcnow())
