"""Typed FastAPI dependencies: the database session, the principal, permission checks, CSRF."""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import AsyncIterator, MutableMapping
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.effects import AFTER_COMMIT as AFTER_COMMIT
from probity.auth.effects import after_commit as after_commit
from probity.auth.effects import commit as commit
from probity.auth.permissions import Perm, Principal
from probity.auth.service import load_principal, principal_from_token
from probity.auth.sessions import session_user_id
from probity.errors import Forbidden, Unauthenticated

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Requests whose writes the chat writer makes (probity.chat.writer.MessageWriter).
WRITER_PATHS = re.compile(r"/api/v1/chat/conversations/\d+/(?:messages|attachments|receipts)\Z")


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    # A request that may write (unsafe method) queues for the database's write gate when its
    # transaction begins (BEGIN IMMEDIATE on SQLite; see probity.db): it then never meets
    # another writer of this process inside SQLite, and its reads cannot go stale before its
    # writes ("database is locked" that no busy timeout covers). Other requests read freely.
    # Chat sends are the exception: the chat writer stores them in its own transaction, and
    # the request only reads (and screens, OCR included) meanwhile.
    db = request.app.state.db
    gated = request.method in UNSAFE_METHODS and not WRITER_PATHS.match(request.url.path)
    maker = db.write_sessionmaker if gated else db.sessionmaker
    async with maker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise


Session = Annotated[AsyncSession, Depends(get_session)]


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return str(token)


async def check_csrf(request: Request) -> None:
    """Cookie-authenticated unsafe requests must echo the session's CSRF token, in the
    X-CSRF-Token header (scripts) or the csrf_token form field (pages)."""
    if request.method not in UNSAFE_METHODS:
        return
    expected = request.session.get("csrf")
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(str(expected), sent):
        raise Forbidden("missing or invalid CSRF token", code="csrf")


async def cookie_principal(session: AsyncSession, cookie: MutableMapping[str, Any]
                           ) -> Principal | None:
    """The principal of a cookie session, if it was issued under the account's current session
    version (logout, a password change and offboarding end older ones); else the cookie is
    cleared."""
    ids = session_user_id(cookie)
    principal = await load_principal(session, ids[0]) if ids else None
    if principal is None or ids is None or principal.session_version != ids[1]:
        if "uid" in cookie:
            cookie.clear()
        return None
    return principal


async def optional_principal(request: Request, session: Session) -> Principal | None:
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal: Principal | None = None
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        principal = await principal_from_token(session, auth[7:].strip())
        if principal is None:
            raise Unauthenticated("invalid, expired or revoked API token")
    else:
        principal = await cookie_principal(session, request.session)
        if principal is not None:
            await check_csrf(request)
    request.state.principal = principal
    return principal


async def current_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise Unauthenticated("sign in, or send a bearer API token")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


class require:
    """A dependency that passes the principal through when it holds `perm` somewhere."""

    def __init__(self, perm: Perm) -> None:
        self.perm = perm

    async def __call__(self, principal: CurrentPrincipal) -> Principal:
        if not principal.can(self.perm):
            raise Forbidden(f"your roles do not grant {self.perm.value}")
        return principal


OrgReader = Annotated[Principal, Depends(require(Perm.org_read))]
OrgWriter = Annotated[Principal, Depends(require(Perm.org_write))]
LifecycleManager = Annotated[Principal, Depends(require(Perm.employee_lifecycle))]
UserAdmin = Annotated[Principal, Depends(require(Perm.user_admin))]
AuditReader = Annotated[Principal, Depends(require(Perm.audit_read))]
CommerceReader = Annotated[Principal, Depends(require(Perm.commerce_read))]
PolicyReader = Annotated[Principal, Depends(require(Perm.policy_read))]
PolicyManager = Annotated[Principal, Depends(require(Perm.policy_manage))]
