"""Sign-in, the current user, API tokens and accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from probity.auth import login, schemas, service
from probity.auth.deps import CurrentPrincipal, Session, UserAdmin, commit, csrf_token
from probity.auth.permissions import Principal
from probity.auth.sessions import start_session
from probity.events import get_bus
from probity.ratelimit import AttemptLimiter

router = APIRouter(prefix="/api/v1", tags=["auth"])


# Sign-in attempts per client address, counted before the password is checked: the account
# lockout stops guessing one password, this stops spraying many accounts from one address.
LOGIN_IP_LIMITER = AttemptLimiter("login-ip", max_attempts=30, window_s=60)


async def sign_in(request: Request, session: Session, username: str, password: str) -> int:
    """Throttle by address, reserve an attempt against the account (committed at once, so
    parallel guesses count), check the password, record the outcome and start a session.
    Returns the user id."""
    settings = request.app.state.settings
    await LOGIN_IP_LIMITER.take(request.client.host if request.client else "?")
    attempt = await login.reserve_attempt(session, settings, username)
    await commit(session)
    ok = await login.check_password(attempt, password)
    try:
        user = await login.finish_attempt(session, settings, username, attempt, ok)
    finally:
        await commit(session)
    start_session(request.session, user)
    csrf_token(request)
    return user.id


@router.post("/auth/login", response_model=schemas.MeRead)
async def login_api(data: schemas.LoginRequest, request: Request, session: Session
                    ) -> schemas.MeRead:
    uid = await sign_in(request, session, data.username, data.password)
    principal = await service.load_principal(session, uid)
    assert principal is not None
    return _me(principal)


@router.post("/auth/logout", status_code=204)
async def logout(request: Request, session: Session, principal: CurrentPrincipal) -> None:
    """End this session everywhere it was copied: the old cookie stops working at once."""
    await login.sign_out(session, request.session, principal, get_bus(request.app).publish)
    await commit(session)


@router.post("/auth/password", status_code=204)
async def change_password(data: schemas.PasswordChange, request: Request, session: Session,
                          principal: CurrentPrincipal) -> None:
    """Change your own password; every other session of your account ends."""
    await login.change_password(session, request.app.state.settings, principal, request.session,
                                data.current_password, data.new_password,
                                get_bus(request.app).publish)
    await commit(session)


@router.get("/auth/csrf")
async def get_csrf(request: Request) -> dict[str, str]:
    """The CSRF token to echo in X-CSRF-Token on cookie-authenticated writes."""
    return {"csrf_token": csrf_token(request)}


def _me(p: Principal) -> schemas.MeRead:
    return schemas.MeRead(
        user_id=p.user_id, username=p.username, display_name=p.display_name,
        tenant_id=p.tenant_id, employee_id=p.employee_id, customer_id=p.customer_id,
        roles=[schemas.GrantRead(role=g.role, tenant_id=g.tenant_id, org_unit_id=g.org_unit_id)
               for g in p.grants])


@router.get("/me", response_model=schemas.MeRead)
async def me(principal: CurrentPrincipal) -> schemas.MeRead:
    return _me(principal)


@router.get("/tokens", response_model=list[schemas.TokenRead])
async def list_tokens(session: Session, principal: CurrentPrincipal) -> list[schemas.TokenRead]:
    return [schemas.TokenRead.model_validate(t)
            for t in await service.list_tokens(session, principal)]


@router.post("/tokens", status_code=201, response_model=schemas.TokenCreated)
async def create_token(data: schemas.TokenCreate, session: Session, principal: CurrentPrincipal
                       ) -> schemas.TokenCreated:
    token, plain = await service.create_token(
        session, principal, data.user_id or principal.user_id, data.name, data.expires_in_days)
    await commit(session)
    return schemas.TokenCreated(**schemas.TokenRead.model_validate(token).model_dump(),
                                token=plain)


@router.delete("/tokens/{token_id}", response_model=schemas.TokenRead)
async def revoke_token(token_id: int, request: Request, session: Session,
                       principal: CurrentPrincipal) -> schemas.TokenRead:
    token = await service.revoke_token(session, principal, token_id, get_bus(request.app).publish)
    await commit(session)
    return schemas.TokenRead.model_validate(token)


@router.get("/users", response_model=list[schemas.UserRead])
async def list_users(session: Session, principal: UserAdmin,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100,
                     offset: Annotated[int, Query(ge=0)] = 0) -> list[schemas.UserRead]:
    return [schemas.UserRead.model_validate(u)
            for u in await service.list_users(session, principal, limit, offset)]


@router.post("/users", status_code=201, response_model=schemas.UserRead)
async def create_user(data: schemas.UserCreate, request: Request, session: Session,
                      principal: UserAdmin) -> schemas.UserRead:
    user = await service.admin_create_user(
        session, request.app.state.settings, principal, username=data.username,
        display_name=data.display_name, password=data.password, tenant_id=data.tenant_id,
        employee_id=data.employee_id,
        roles=[(g.role, g.tenant_id, g.org_unit_id) for g in data.roles])
    await commit(session)
    return schemas.UserRead.model_validate(user)
