"""Accounts, sign-in with lockout, API tokens, role assignments."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.effects import after_commit
from probity.auth.passwords import check_password_policy, hash_password
from probity.auth.permissions import Grant, Perm, Principal
from probity.auth.scoping import MAX_ID, may_administer, may_grant, tenant_in_scope
from probity.auth.sessions import Publish, token_revoked_event, user_channel
from probity.config import Settings
from probity.errors import InvalidInput, NotFound
from probity.models import (
    ApiToken,
    Employee,
    EmploymentStatus,
    OrgUnit,
    Role,
    RoleAssignment,
    Tenant,
    User,
)
from probity.models.base import utcnow

TOKEN_PREFIX = "pbt_"


async def load_principal(session: AsyncSession, user_id: int, *, token_id: int | None = None
                         ) -> Principal | None:
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        tenant_id=user.tenant_id,
        employee_id=user.employee_id,
        customer_id=user.customer_id,
        grants=await grants_of(session, user.id),
        via_token=token_id is not None,
        session_version=user.session_version,
        token_id=token_id,
    )


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def grants_of(session: AsyncSession, user_id: int) -> list[Grant]:
    rows = (
        await session.execute(
            select(RoleAssignment.role, RoleAssignment.tenant_id, Tenant.path,
                   RoleAssignment.org_unit_id)
            .join(Tenant, Tenant.id == RoleAssignment.tenant_id)
            .where(RoleAssignment.user_id == user_id)
            .order_by(RoleAssignment.id)
        )
    ).all()
    return [Grant(Role(r[0]), r[1], r[2], r[3]) for r in rows]


async def administered_user(session: AsyncSession, actor: Principal, user_id: int) -> User:
    """The account, when *actor* may act on it: their own, or one strictly inside their
    user-administration scope and no more privileged than they are. Anything else is 404,
    exactly like a missing account."""
    user = await session.get(User, user_id) if 0 < user_id <= MAX_ID else None
    if user is None:
        raise NotFound("user not found")
    if user.id == actor.user_id:
        return user
    home = await session.scalar(select(Tenant.path).where(Tenant.id == user.tenant_id))
    if home is None or not may_administer(actor, home, await grants_of(session, user.id)):
        raise NotFound("user not found")
    return user


async def create_token(
    session: AsyncSession, actor: Principal, user_id: int, name: str,
    expires_in_days: int | None = None,
) -> tuple[ApiToken, str]:
    """Create a bearer token for `user_id` (yourself, or an account you administer). The plain
    token is returned once and never stored."""
    user = await administered_user(session, actor, user_id)
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id, name=name, prefix=plain[:12], token_hash=_hash_token(plain),
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(token)
    await session.flush()
    record_audit(session, actor, "token.create", target_type="api_token", target_id=token.id,
                 tenant_id=user.tenant_id, after={"name": name, "user_id": user.id,
                                                  "prefix": token.prefix})
    return token, plain


async def list_tokens(session: AsyncSession, actor: Principal) -> list[ApiToken]:
    q = select(ApiToken).where(ApiToken.user_id == actor.user_id).order_by(ApiToken.id.desc())
    return list((await session.scalars(q)).all())


async def revoke_token(session: AsyncSession, actor: Principal, token_id: int,
                       publish: Publish | None = None) -> ApiToken:
    """Revoke a token of your own, or of an account you administer; any other is 404. After
    commit, the sockets opened with it are told to close (`token_revoked_event`)."""
    token = await session.get(ApiToken, token_id) if 0 < token_id <= MAX_ID else None
    if token is None:
        raise NotFound("token not found")
    try:
        user = await administered_user(session, actor, token.user_id)
    except NotFound:
        raise NotFound("token not found") from None
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record_audit(session, actor, "token.revoke", target_type="api_token", target_id=token.id,
                     tenant_id=user.tenant_id, before={"revoked_at": None},
                     after={"revoked_at": token.revoked_at})
        await session.flush()
        if publish is not None:
            channel, event = user_channel(token.user_id), token_revoked_event(token.id)

            async def tell() -> None:
                await publish(channel, event)

            after_commit(session, tell)
    return token


async def principal_from_token(session: AsyncSession, plain: str) -> Principal | None:
    token = await session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(plain)))
    now = utcnow()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at and token.expires_at <= now:
        return None
    return await load_principal(session, token.user_id, token_id=token.id)


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
    """Create an account with role grants (role, scope tenant id, optional team id). Every id
    must name something that exists and belongs where it is used: the employee to the account's
    tenant, a team to the tenant it is granted in."""
    if await session.scalar(select(User.id).where(User.username == username)):
        raise InvalidInput(f"username {username!r} is taken", code="username_taken")
    if await _tenant(session, tenant_id) is None:
        raise InvalidInput(f"unknown tenant {tenant_id}", code="unknown_tenant")
    if employee_id is not None:
        emp = await session.get(Employee, employee_id) if 0 < employee_id <= MAX_ID else None
        if emp is None or emp.tenant_id != tenant_id:
            raise InvalidInput(f"unknown employee {employee_id} in tenant {tenant_id}",
                               code="unknown_employee")
        if emp.status == EmploymentStatus.left:
            raise InvalidInput("the employee has left", code="employee_left")
    for _role, scope_tenant, org_unit_id in roles:
        if await _tenant(session, scope_tenant) is None:
            raise InvalidInput(f"unknown tenant {scope_tenant}", code="unknown_tenant")
        if org_unit_id is not None:
            unit = await session.get(OrgUnit, org_unit_id) if 0 < org_unit_id <= MAX_ID else None
            if unit is None or unit.tenant_id != scope_tenant:
                raise InvalidInput(f"unknown team {org_unit_id} in tenant {scope_tenant}",
                                   code="unknown_org_unit")
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
        session.add(RoleAssignment(user_id=user.id, role=role, tenant_id=scope_tenant,
                                   org_unit_id=org_unit_id))
    record_audit(session, actor, "user.create", target_type="user", target_id=user.id,
                 tenant_id=tenant_id,
                 after={"username": username, "employee_id": employee_id,
                        "roles": [(r.value, t, o) for r, t, o in roles]})
    await session.flush()
    return user


async def _tenant(session: AsyncSession, tenant_id: int) -> Tenant | None:
    return await session.get(Tenant, tenant_id) if 0 < tenant_id <= MAX_ID else None


async def admin_create_user(
    session: AsyncSession, settings: Settings, actor: Principal, *, username: str,
    display_name: str, password: str, tenant_id: int, employee_id: int | None,
    roles: list[tuple[Role, int, int | None]],
) -> User:
    """Create an account on behalf of an administrator: the home tenant, the employee and every
    granted scope lie inside the actor's own user-admin scope, and each role is one the actor
    could hold over that scope themselves (`scoping.may_grant`)."""
    await tenant_in_scope(session, actor, Perm.user_admin, tenant_id)
    for role, tid, unit_id in roles:
        tenant = await tenant_in_scope(session, actor, Perm.user_admin, tid)
        if not may_grant(actor, Grant(role, tid, tenant.path, unit_id)):
            raise InvalidInput(f"you may not grant {role.value} over tenant {tid}",
                               code="privileged_role")
    return await create_user(session, settings, actor, username=username,
                             display_name=display_name, password=password, tenant_id=tenant_id,
                             roles=roles, employee_id=employee_id)


async def list_users(session: AsyncSession, actor: Principal, limit: int, offset: int
                     ) -> list[User]:
    scope = actor.scope(Perm.user_admin)
    q = select(User).where(scope.filter(User.tenant_id)).order_by(User.id)
    return list((await session.scalars(q.limit(limit).offset(offset))).all())
