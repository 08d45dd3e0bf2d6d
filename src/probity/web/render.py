"""Jinja2 rendering with the request's locale, principal and CSRF token."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.deps import OptionalPrincipal, Session, csrf_token
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


def page_tz(request: Request) -> str:
    """The zone of this page: the signed-in user's tenant's (`use_tenant_timezone`), else the
    deployment's default."""
    return str(getattr(request.state, "tz", None) or request.app.state.settings.default_timezone)


def parse_day(value: str | None, tz: str = DEFAULT_TIMEZONE, *, end: bool = False
              ) -> datetime | None:
    """A `YYYY-MM-DD` filter from a form as the start of that day in the page's zone (`end`:
    the start of the next day, so "to 12-05" includes the 5th); unparsable is no filter."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        return None
    start = datetime.combine(day + timedelta(days=1) if end else day, time(), ZoneInfo(tz))
    return start.astimezone(UTC)


def today_in(request: Request) -> date:
    """Today's date in the page's zone (a form's default day)."""
    return datetime.now(ZoneInfo(page_tz(request))).date()


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


async def page_timezone(session: AsyncSession, tenant_id: int) -> str:
    """The zone a tenant's pages show times in (`governance.accessors.display_timezone`), with
    the group standard read through the settings cache: every page asks."""
    from probity.governance.sections import DisplaySettings
    from probity.governance.service import settings_values
    from probity.models import Tenant

    zone = (await settings_values(session, tenant_id, DisplaySettings)).timezone
    if zone is None:
        zone = await session.scalar(select(Tenant.timezone).where(Tenant.id == tenant_id))
    return zone or DEFAULT_TIMEZONE


async def use_tenant_timezone(request: Request, session: Session,
                              principal: OptionalPrincipal) -> None:
    """A dependency of every page router: the signed-in user's tenant zone becomes the page's
    `tz` (server-rendered times, and `<meta name="probity-tz">` for rows JS adds later)."""
    if principal is not None:
        request.state.tz = await page_timezone(session, principal.tenant_id)


def render(request: Request, template: str, status_code: int = 200, **context: Any
           ) -> HTMLResponse:
    locale = locale_of(request)
    principal: Principal | None = getattr(request.state, "principal", None)
    context.setdefault("tz", page_tz(request))
    gettext = translator(locale)
    html = env.get_template(template).render(
        request=request, _=gettext, labels=Labels(gettext, str(context["tz"])), locale=locale,
        me=principal, Perm=Perm, menu=menu_for(principal), csrf=csrf_token(request), **context)
    return HTMLResponse(html, status_code=status_code)


def render_error(request: Request, status: int, message: str) -> HTMLResponse:
    return render(request, "error.html", status_code=status, status=status, message=message)
