"""Jinja2 rendering with the request's locale, principal and CSRF token."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context

from probity.auth.deps import csrf_token
from probity.auth.permissions import Perm, Principal
from probity.config import DEFAULT_TIMEZONE
from probity.i18n import negotiate, translator
from probity.web import WEB_DIR
from probity.web.labels import Labels
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


TIME_FORMAT = "%Y-%m-%d %H:%M"  # the one display format; /static/app.js formatTime() matches it


def local_time(value: datetime | None, tz: str = DEFAULT_TIMEZONE) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:  # stored times are UTC; a naive one read back from SQLite is too
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(tz)).strftime(TIME_FORMAT)


@pass_context
def _local_time_filter(ctx: Context, value: datetime | None, tz: str | None = None) -> str:
    """`{{ t | local_time }}` shows t in the page's zone (the `tz` the page passed, else the
    deployment's default), in the one display format."""
    return local_time(value, tz or str(ctx.get("tz") or DEFAULT_TIMEZONE))


env.filters["local_time"] = _local_time_filter
# The badge tone of an SLA clock state (ui.badge).
env.globals["sla_tone"] = lambda state: {"ok": "ok", "met": "ok", "warning": "warn",
                                         "breached": "danger", "missed": "danger"}.get(state,
                                                                                       "muted")


def render(request: Request, template: str, status_code: int = 200, **context: Any
           ) -> HTMLResponse:
    locale = locale_of(request)
    principal: Principal | None = getattr(request.state, "principal", None)
    context.setdefault("tz", request.app.state.settings.default_timezone)
    gettext = translator(locale)
    html = env.get_template(template).render(
        request=request, _=gettext, labels=Labels(gettext), locale=locale, me=principal,
        Perm=Perm, menu=menu_for(principal), csrf=csrf_token(request), **context)
    return HTMLResponse(html, status_code=status_code)


def render_error(request: Request, status: int, message: str) -> HTMLResponse:
    return render(request, "error.html", status_code=status, status=status, message=message)
