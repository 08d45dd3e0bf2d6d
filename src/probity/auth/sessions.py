"""Sessions that really end.

A cookie session is Starlette's signed cookie holding the account id and the *session version*
it was issued under. The version lives in the database (`User.session_version`); logout, a
password change and offboarding bump it, so every cookie issued before stops working on its next
request — a copied cookie cannot be replayed after logout. Bearer tokens end by revocation.

Open WebSockets are told too: `end_sessions` publishes ``{"type": "session_ended"}`` on the
account's channel after commit, and each socket re-checks its principal (`still_valid`) before
acting on a frame, so a socket on another process (with Redis) or a missed event still cannot
act for an ended session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.effects import after_commit
from probity.auth.permissions import Principal
from probity.models import ApiToken, User
from probity.models.base import utcnow

__all__ = [
    "SESSION_ENDED",
    "TOKEN_REVOKED",
    "credential_state",
    "end_sessions",
    "renew_session",
    "revoke_tokens",
    "session_user_id",
    "start_session",
    "still_valid",
    "token_revoked_event",
    "user_channel",
]

Publish = Callable[[str, dict[str, Any]], Awaitable[None]]
SESSION_ENDED: dict[str, Any] = {"type": "session_ended"}
TOKEN_REVOKED = "token_revoked"
UID, VERSION = "uid", "sv"


def user_channel(user_id: int) -> str:
    """The bus channel that reaches every open socket of one account."""
    return f"user:{user_id}"


def start_session(cookie: MutableMapping[str, Any], user: User) -> None:
    """A fresh cookie session (no state carried over from before sign-in)."""
    cookie.clear()
    cookie[UID] = user.id
    cookie[VERSION] = user.session_version


def renew_session(cookie: MutableMapping[str, Any], user: User) -> None:
    """Keep this cookie session (and its CSRF token) under the account's new version."""
    cookie[UID] = user.id
    cookie[VERSION] = user.session_version


def session_user_id(cookie: MutableMapping[str, Any]) -> tuple[int, int] | None:
    """(account id, session version) from a cookie session, or None."""
    uid, version = cookie.get(UID), cookie.get(VERSION)
    if isinstance(uid, int) and isinstance(version, int):
        return uid, version
    return None


async def end_sessions(session: AsyncSession, user_ids: Iterable[int], publish: Publish | None
                       ) -> None:
    """End every cookie session of these accounts (bump their version) and, after commit, tell
    their open sockets to close."""
    ids = sorted(set(user_ids))
    if not ids:
        return
    await session.execute(
        update(User).where(User.id.in_(ids))
        .values(session_version=User.session_version + 1)
        .execution_options(synchronize_session=False))
    for user in session.identity_map.values():
        if isinstance(user, User) and user.id in ids:
            await session.refresh(user, ["session_version"])
    if publish is not None:
        async def tell() -> None:
            for uid in ids:
                await publish(user_channel(uid), SESSION_ENDED)

        after_commit(session, tell)


async def revoke_tokens(session: AsyncSession, user_ids: Iterable[int]) -> list[int]:
    """Revoke every live bearer token of these accounts; returns the ids revoked."""
    ids = sorted(set(user_ids))
    if not ids:
        return []
    tokens = (await session.scalars(select(ApiToken).where(
        ApiToken.user_id.in_(ids), ApiToken.revoked_at.is_(None)))).all()
    now = utcnow()
    for token in tokens:
        token.revoked_at = now
    await session.flush()
    return [t.id for t in tokens]


async def still_valid(session: AsyncSession, principal: Principal) -> bool:
    """Whether the credential this principal was loaded from still stands: the account is
    active and, for a cookie session, its version unchanged; for a token, not revoked or
    expired. One indexed read (two for a token)."""
    valid, _expires = await credential_state(session, principal)
    return valid


async def credential_state(session: AsyncSession, principal: Principal
                           ) -> tuple[bool, datetime | None]:
    """`still_valid`, and until when at the latest (a token's expiry; None: no expiry), for a
    caller that keeps the answer until an event says otherwise (chat sockets)."""
    row = (await session.execute(
        select(User.is_active, User.session_version).where(User.id == principal.user_id)
    )).first()
    if row is None or not row.is_active:
        return False, None
    if principal.token_id is not None:
        token = (await session.execute(
            select(ApiToken.revoked_at, ApiToken.expires_at)
            .where(ApiToken.id == principal.token_id))).first()
        ok = token is not None and token.revoked_at is None and (
            token.expires_at is None or token.expires_at > utcnow())
        return ok, token.expires_at if ok and token is not None else None
    return bool(row.session_version == principal.session_version), None


def token_revoked_event(token_id: int) -> dict[str, Any]:
    """Published on the account's channel when one of its tokens is revoked: the sockets
    opened with that token close (the account's other sessions stay)."""
    return {"type": TOKEN_REVOKED, "token_id": token_id}
