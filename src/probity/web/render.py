"""Jinja2 rendering with the request's locale, principal and CSRF token."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from probity.auth.deps import csrf_token
from probity.auth.permissions import Perm, Principal
from probity.i18n import negotiate, translator
from probity.web import WEB_DIR
from probity.web.nav import menu_for

env = Environment(loader=FileSystemLoader(WEB_DIR / "templates"),
                  autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


def locale_of(request: Request) -> str:
    settings = request.app.state.settings
    return negotiate(request.cookies.get("lang"), request.headers.get("accept-language"),
                     settings.default_locale)


def parse_day(value: str | None) -> datetime | None:
    """A `YYYY-MM-DD` filter from a form, as UTC midnight; anything unparsable is no filter."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        return None


def local_time(value: datetime | None, tz: str = "Asia/Shanghai") -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


env.filters["local_time"] = local_time


def render(request: Request, template: str, status_code: int = 200, **context: Any
           ) -> HTMLResponse:
    locale = locale_of(request)
    principal: Principal | None = getattr(request.state, "principal", None)
    html = env.get_template(template).render(
        request=request, _=translator(locale), locale=locale, me=principal, Perm=Perm,
        menu=menu_for(principal), csrf=csrf_token(request), **context)
    return HTMLResponse(html, status_code=status_code)


def render_error(request: Request, status: int, message: str) -> HTMLResponse:
    return render(request, "error.html", status_code=status, status=status, message=message)
