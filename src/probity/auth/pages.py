"""Sign-in and account pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from probity.auth import login, service
from probity.auth.deps import CurrentPrincipal, OptionalPrincipal, Session, check_csrf, commit
from probity.auth.router import sign_in
from probity.errors import DomainError
from probity.events import get_bus
from probity.web.render import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", next=_safe_next(next), error=None)


@router.post("/login", response_class=HTMLResponse)
async def login_submit(
    request: Request, session: Session,
    username: Annotated[str, Form(max_length=64)], password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    await check_csrf(request)
    try:
        await sign_in(request, session, username, password)
    except DomainError as exc:
        return render(request, "login.html", status_code=exc.status_code, next=_safe_next(next),
                      error=exc.message, username=username)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
async def logout(request: Request, session: Session, principal: OptionalPrincipal) -> Response:
    await check_csrf(request)
    await login.sign_out(session, request.session, principal, get_bus(request.app).publish)
    await commit(session)
    return RedirectResponse("/login", status_code=303)


@router.get("/account/tokens", response_class=HTMLResponse)
async def tokens_page(request: Request, session: Session, principal: CurrentPrincipal
                      ) -> Response:
    tokens = await service.list_tokens(session, principal)
    return render(request, "account/tokens.html", tokens=tokens, created=None)


@router.post("/account/tokens", response_class=HTMLResponse)
async def tokens_create(request: Request, session: Session, principal: CurrentPrincipal,
                        name: Annotated[str, Form(min_length=1, max_length=100)]) -> Response:
    _, plain = await service.create_token(session, principal, principal.user_id, name)
    await commit(session)
    tokens = await service.list_tokens(session, principal)
    return render(request, "account/tokens.html", tokens=tokens, created=plain)


@router.post("/account/tokens/{token_id}/revoke")
async def tokens_revoke(token_id: int, request: Request, session: Session,
                        principal: CurrentPrincipal) -> Response:
    await service.revoke_token(session, principal, token_id, get_bus(request.app).publish)
    await commit(session)
    return RedirectResponse("/account/tokens", status_code=303)
