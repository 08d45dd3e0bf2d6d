"""Notice texts for the chat send path (group standards section `notices`), per tenant.

The send path is synchronous where it renders a message for a viewer, so the texts are read
from a small per-process cache: `await warm_notices(session, tenant_id)` (in the async entry
points: sending, history, opening a socket) loads a tenant's effective texts at most every
CACHE_S seconds; `notice_texts(tenant_id)` returns them, or the built-in texts before the first
load. A committed change of the section drops the cache.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from probity.governance.sections import NoticeSettings
from probity.governance.service import effective_settings, on_settings_change

CACHE_S = 5.0
FLAGGED = ("contact", "bribe", "payment")
_texts: dict[int, tuple[float, NoticeSettings]] = {}
_BUILT_IN = NoticeSettings()


def notice_texts(tenant_id: int) -> NoticeSettings:
    hit = _texts.get(tenant_id)
    return hit[1] if hit is not None else _BUILT_IN


async def warm_notices(session: AsyncSession, tenant_id: int) -> NoticeSettings:
    hit = _texts.get(tenant_id)
    if hit is not None and time.monotonic() - hit[0] < CACHE_S:
        return hit[1]
    values = (await effective_settings(session, tenant_id, NoticeSettings)).values
    _texts[tenant_id] = (time.monotonic(), values)
    return values


def _first(categories: Iterable[str]) -> str:
    return next((c for c in categories if c in FLAGGED), "contact")


def customer_notice(texts: NoticeSettings, categories: Iterable[str]) -> str:
    """The official-channel notice a customer sees instead of a blocked message."""
    return str(getattr(texts, f"customer_{_first(categories)}"))


def agent_warning(texts: NoticeSettings, categories: Iterable[str]) -> str:
    """The internal compliance warning an agent sees on a flagged message of their own."""
    return str(getattr(texts, f"agent_{_first(categories)}"))


def sender_notice(texts: NoticeSettings, role: str, categories: Iterable[str]) -> str:
    return (customer_notice(texts, categories) if role == "customer"
            else agent_warning(texts, categories))


def reset() -> None:
    _texts.clear()


async def _changed(_tenant_id: int) -> None:
    _texts.clear()


on_settings_change("notices", _changed)
