"""Sign-in with a lockout that holds under parallel attempts, sign-out, password change.

A sign-in runs in two short transactions. First `reserve_attempt` counts the attempt with one
atomic ``UPDATE … SET failed_logins = failed_logins + 1 WHERE failed_logins < threshold AND not
locked`` — the database serialises it, so however many guesses arrive at once, at most
`lockout_threshold` of them ever reach the password check. The caller commits, checks the
password off the event loop, then `finish_attempt` resets the count on success or locks the
account when the reserved attempt was the last one. On SQLite the write is the transaction's
first statement, so concurrent sign-ins wait on the busy timeout instead of failing with
"database is locked".
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.passwords import check_password_policy, hash_password, verify_password
from probity.auth.permissions import Principal
from probity.auth.sessions import Publish, end_sessions, renew_session, session_user_id
from probity.config import Settings
from probity.errors import InvalidInput, TooManyAttempts, Unauthenticated
from probity.models import User
from probity.models.base import utcnow

__all__ = ["Attempt", "change_password", "finish_attempt", "reserve_attempt", "sign_out"]

# While every attempt of the budget is still being checked, further ones wait this long.
IN_FLIGHT_RETRY_S = 5


@dataclass(frozen=True)
class Attempt:
    """A reserved sign-in attempt: the account (None when unknown or inactive) and how many
    failures it carries counting this attempt."""

    user_id: int | None
    password_hash: str | None
    count: int
    tenant_id: int | None = None


def _locked(until: datetime) -> TooManyAttempts:
    wait = max(1, math.ceil((until - utcnow()).total_seconds()))
    return TooManyAttempts(
        "too many failed sign-ins; the account is locked until "
        f"{until.isoformat(timespec='seconds')}", retry_after=wait)


async def reserve_attempt(session: AsyncSession, settings: Settings, username: str) -> Attempt:
    """Count one attempt against the account, atomically, before any password is checked.
    A locked account (or one whose whole budget is being checked right now) is refused with
    429 and a Retry-After."""
    now = utcnow()
    row = (await session.execute(
        update(User)
        .where(User.username == username, User.is_active.is_(True),
               or_(User.locked_until.is_(None), User.locked_until <= now),
               User.failed_logins < settings.lockout_threshold)
        .values(failed_logins=User.failed_logins + 1)
        .returning(User.id, User.password_hash, User.failed_logins, User.tenant_id)
        .execution_options(synchronize_session=False))).first()
    if row is not None:
        return Attempt(row.id, row.password_hash, row.failed_logins, row.tenant_id)
    user = (await session.execute(
        select(User.id, User.is_active, User.locked_until)
        .where(User.username == username))).first()
    if user is None or not user.is_active:
        return Attempt(None, None, 0)
    if user.locked_until is not None and user.locked_until > now:
        raise _locked(user.locked_until)
    raise TooManyAttempts("too many sign-in attempts at once; try again shortly",
                          retry_after=IN_FLIGHT_RETRY_S)


async def check_password(attempt: Attempt, password: str) -> bool:
    """The argon2 check, in a worker thread (it costs tens of milliseconds of CPU)."""
    return await asyncio.to_thread(verify_password, password, attempt.password_hash) and (
        attempt.user_id is not None)


async def finish_attempt(session: AsyncSession, settings: Settings, username: str,
                         attempt: Attempt, ok: bool) -> User:
    """Record the outcome: on success the count resets and the account is returned; on a failure
    the reserved count stands, and the attempt that used the last of the budget locks the
    account (each further lock doubles, capped at a day). Failures raise 401 or 429."""
    if attempt.user_id is None:
        raise Unauthenticated("wrong username or password", code="bad_credentials")
    now = utcnow()
    if ok:
        await session.execute(
            update(User).where(User.id == attempt.user_id)
            .values(failed_logins=0, lockouts=0, locked_until=None)
            .execution_options(synchronize_session=False))
        user = await session.get(User, attempt.user_id, populate_existing=True)
        assert user is not None
        record_audit(session, None, "auth.login", target_type="user", target_id=user.id,
                     tenant_id=user.tenant_id, actor_name=username)
        await session.flush()
        return user
    # Writes first: on SQLite a transaction that reads before writing can lose its snapshot to
    # a concurrent writer ("database is locked") instead of waiting its turn.
    locked_until: datetime | None = None
    if attempt.count >= settings.lockout_threshold:
        lockouts = await session.scalar(
            update(User).where(User.id == attempt.user_id)
            .values(lockouts=User.lockouts + 1, failed_logins=0)
            .returning(User.lockouts).execution_options(synchronize_session=False)) or 1
        seconds = min(settings.lockout_s * 2 ** min(lockouts - 1, 6), 86400)
        locked_until = now + timedelta(seconds=seconds)
        await session.execute(
            update(User).where(User.id == attempt.user_id).values(locked_until=locked_until)
            .execution_options(synchronize_session=False))
    record_audit(session, None, "auth.locked" if locked_until else "auth.login_failed",
                 target_type="user", target_id=attempt.user_id, tenant_id=attempt.tenant_id,
                 actor_name=username,
                 after={"locked_until": locked_until} if locked_until else None)
    await session.flush()
    if locked_until is not None:
        raise _locked(locked_until)
    raise Unauthenticated("wrong username or password", code="bad_credentials")


async def sign_out(session: AsyncSession, cookie: MutableMapping[str, Any],
                   principal: Principal | None, publish: Publish | None) -> None:
    """End the cookie's session for good: the account's session version moves on, so this
    cookie (and any copy of it) no longer signs anyone in."""
    ids = session_user_id(cookie)
    cookie.clear()
    user_id = ids[0] if ids else (principal.user_id if principal and not principal.via_token
                                  else None)
    if user_id is None:
        return
    await end_sessions(session, [user_id], publish)
    user = await session.get(User, user_id)
    record_audit(session, principal, "auth.logout", target_type="user", target_id=user_id,
                 tenant_id=user.tenant_id if user else None)
    await session.flush()


async def change_password(session: AsyncSession, settings: Settings, principal: Principal,
                          cookie: MutableMapping[str, Any], current: str, new: str,
                          publish: Publish | None) -> None:
    """Change one's own password: the current one must match, the new one meet the policy.
    Every other session of the account ends; this one continues under the new version."""
    user = await session.get(User, principal.user_id)
    if user is None:
        raise Unauthenticated("sign in again")
    if not await asyncio.to_thread(verify_password, current, user.password_hash):
        raise InvalidInput("the current password is wrong", code="wrong_password")
    if current == new:
        raise InvalidInput("the new password must differ from the current one",
                           code="same_password")
    check_password_policy(new, username=user.username, min_length=settings.password_min_length)
    user.password_hash = await asyncio.to_thread(hash_password, new)
    user.password_changed_at = utcnow()
    await session.flush()
    await end_sessions(session, [user.id], publish)
    record_audit(session, principal, "auth.password_changed", target_type="user",
                 target_id=user.id, tenant_id=user.tenant_id)
    await session.flush()
    if not principal.via_token:
        renew_session(cookie, user)
