"""Accounts, sign-in with lockout, API tokens, role assignments."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.passwords import check_password_policy, hash_password, verify_password
from probity.auth.permissions import Grant, Perm, Principal
from probity.config import Settings
from probity.errors import InvalidInput, NotFound
from probity.models import ApiToken, OrgUnit, Role, RoleAssignment, Tenant, User
from probity.models.base import utcnow

TOKEN_PREFIX = "pbt_"


@dataclass
class LoginOutcome:
    user: User | None
    ok: bool
    locked_until: datetime | None = None


async def authenticate(
    session: AsyncSession, settings: Settings, username: str, password: str
) -> LoginOutcome:
    """Check a password, counting failures. The caller commits even when it fails, so the
    failure count survives; a locked account is refused without checking the password."""
    user = await session.scalar(select(User).where(User.username == username))
    now = utcnow()
    if user is None or not user.is_active:
        verify_password(password, None)  # same cost as a real check
        return LoginOutcome(None, False)
    if user.locked_until and user.locked_until > now:
        return LoginOutcome(user, False, user.locked_until)
    if not verify_password(password, user.password_hash):
        user.failed_logins += 1
        action = "auth.login_failed"
        if user.failed_logins >= settings.lockout_threshold:
            # Each further lockout doubles, capped at a day.
            seconds = min(settings.lockout_s * 2 ** min(user.lockouts, 6), 86400)
            user.locked_until = now + timedelta(seconds=seconds)
            user.lockouts += 1
            user.failed_logins = 0
            action = "auth.locked"
        record_audit(session, None, action, target_type="user", target_id=user.id,
                     tenant_id=user.tenant_id, actor_name=username,
                     after={"locked_until": user.locked_until} if action == "auth.locked" else None)
        await session.flush()
        return LoginOutcome(user, False, user.locked_until if action == "auth.locked" else None)
    user.failed_logins = 0
    user.lockouts = 0
    user.locked_until = None
    record_audit(session, None, "auth.login", target_type="user", target_id=user.id,
                 tenant_id=user.tenant_id, actor_name=username)
    await session.flush()
    return LoginOutcome(user, True)


async def load_principal(session: AsyncSession, user_id: int, *, via_token: bool = False
                         ) -> Principal | None:
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    rows = (
        await session.execute(
            select(RoleAssignment.role, RoleAssignment.tenant_id, Tenant.path,
                   RoleAssignment.org_unit_id)
            .join(Tenant, Tenant.id == RoleAssignment.tenant_id)
            .where(RoleAssignment.user_id == user_id)
        )
    ).all()
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        tenant_id=user.tenant_id,
        employee_id=user.employee_id,
        customer_id=user.customer_id,
        grants=[Grant(Role(r[0]), r[1], r[2], r[3]) for r in rows],
        via_token=via_token,
    )


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(
    session: AsyncSession, actor: Principal, user_id: int, name: str,
    expires_in_days: int | None = None,
) -> tuple[ApiToken, str]:
    """Create a bearer token for `user_id`. The plain token is returned once and never stored."""
    if user_id != actor.user_id and not actor.can(Perm.user_admin):
        raise NotFound("user not found")
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user_id, name=name, prefix=plain[:12], token_hash=_hash_token(plain),
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(token)
    await session.flush()
    record_audit(session, actor, "token.create", target_type="api_token", target_id=token.id,
                 tenant_id=user.tenant_id, after={"name": name, "user_id": user_id,
                                                  "prefix": token.prefix})
    return token, plain


async def list_tokens(session: AsyncSession, actor: Principal) -> list[ApiToken]:
    q = select(ApiToken).where(ApiToken.user_id == actor.user_id).order_by(ApiToken.id.desc())
    return list((await session.scalars(q)).all())


async def revoke_token(session: AsyncSession, actor: Principal, token_id: int) -> ApiToken:
    token = await session.get(ApiToken, token_id)
    if token is None or (token.user_id != actor.user_id and not actor.can(Perm.user_admin)):
        raise NotFound("token not found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record_audit(session, actor, "token.revoke", target_type="api_token", target_id=token.id,
                     tenant_id=actor.tenant_id, before={"revoked_at": None},
                     after={"revoked_at": token.revoked_at})
        await session.flush()
    return token


async def principal_from_token(session: AsyncSession, plain: str) -> Principal | None:
    token = await session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(plain)))
    now = utcnow()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at and token.expires_at <= now:
        return None
    return await load_principal(session, token.user_id, via_token=True)


async def create_user(
    session: AsyncSession,
    settings: Settings,
    actor: Principal | None,
    *,
    username: str,
    display_name: str,
    password: str | None,
    tenant_id: int,
    roles: list[tuple[Role, int, int | None]] = (),  # type: ignore[assignment]
    employee_id: int | None = None,
    customer_id: int | None = None,
    enforce_policy: bool = True,
) -> User:
    """Create an account with role grants (role, scope tenant id, optional team id)."""
    if await session.scalar(select(User.id).where(User.username == username)):
        raise InvalidInput(f"username {username!r} is taken", code="username_taken")
    if await session.get(Tenant, tenant_id) is None:
        raise InvalidInput(f"unknown tenant {tenant_id}", code="unknown_tenant")
    if password is not None and enforce_policy:
        check_password_policy(password, username=username, min_length=settings.password_min_length)
    user = User(
        username=username, display_name=display_name, tenant_id=tenant_id,
        password_hash=hash_password(password) if password else None,
        employee_id=employee_id, customer_id=customer_id,
        password_changed_at=utcnow() if password else None,
    )
    session.add(user)
    await session.flush()
    for role, scope_tenant, org_unit_id in roles:
        if await session.get(Tenant, scope_tenant) is None:
            raise InvalidInput(f"unknown tenant {scope_tenant}", code="unknown_tenant")
        if org_unit_id is not None and await session.get(OrgUnit, org_unit_id) is None:
            raise InvalidInput(f"unknown team {org_unit_id}", code="unknown_org_unit")
        session.add(RoleAssignment(user_id=user.id, role=role, tenant_id=scope_tenant,
                                   org_unit_id=org_unit_id))
    record_audit(session, actor, "user.create", target_type="user", target_id=user.id,
                 tenant_id=tenant_id,
                 after={"username": username, "roles": [(r.value, t, o) for r, t, o in roles]})
    await session.flush()
    return user


PRIVILEGED_ROLES = frozenset({Role.hq_admin, Role.auditor})


async def admin_create_user(
    session: AsyncSession, settings: Settings, actor: Principal, *, username: str,
    display_name: str, password: str, tenant_id: int, employee_id: int | None,
    roles: list[tuple[Role, int, int | None]],
) -> User:
    """Create an account on behalf of an administrator: the home tenant and every granted scope
    must lie inside the actor's own user-admin scope, and only HQ admins grant HQ-wide roles."""
    scope = actor.scope(Perm.user_admin)
    for tid in {tenant_id, *(t for _, t, _ in roles)}:
        tenant = await session.get(Tenant, tid)
        if tenant is None or not scope.covers_path(tenant.path):
            raise InvalidInput(f"unknown tenant {tid}", code="unknown_tenant")
    if any(r in PRIVILEGED_ROLES for r, _, _ in roles) and not actor.has_role(Role.hq_admin):
        raise InvalidInput("only an HQ admin may grant hq_admin or auditor",
                           code="privileged_role")
    return await create_user(session, settings, actor, username=username,
                             display_name=display_name, password=password, tenant_id=tenant_id,
                             roles=roles, employee_id=employee_id)


async def list_users(session: AsyncSession, actor: Principal, limit: int, offset: int
                     ) -> list[User]:
    scope = actor.scope(Perm.user_admin)
    q = select(User).where(scope.filter(User.tenant_id)).order_by(User.id)
    return list((await session.scalars(q.limit(limit).offset(offset))).all())
