"""Self-service on the phone: the employee's hub (/me) and what makes it an installable PWA —
the web app manifest, the service worker (a static same-origin file, /sw.js) and the offline
page it falls back to. Mobile first: every tile is a card that fits a 390-px screen."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.routing import iter_route_contexts
from starlette.routing import Route

from probity.auth.deps import Session, require
from probity.auth.permissions import Perm, Principal
from probity.errors import NotFound
from probity.i18n import translator
from probity.selfservice import service
from probity.web import WEB_DIR
from probity.web.render import locale_of, render

router = APIRouter(include_in_schema=False)

Self = Annotated[Principal, Depends(require(Perm.attendance_self))]

STATIC = WEB_DIR / "static" / "selfservice"
SERVICE_WORKER: Path = STATIC / "sw.js"
THEME = "#a61b12"

# Pages other domains build in parallel: the hub shows their tile only once the route is served
# (the first path found wins), so a missing domain is a missing tile, never a broken link.
OPTIONAL_TILES: dict[str, tuple[str, ...]] = {
    "payslips": ("/me/payslips", "/payroll/me", "/payroll/payslips", "/payroll/me/payslips"),
    "training": ("/me/training", "/training/me", "/training"),
}


def served_path(request: Request, candidates: tuple[str, ...]) -> str | None:
    """The first of `candidates` the app serves to GET (routers included at any depth)."""
    paths = set()
    for ctx in iter_route_contexts(request.app.routes):
        route = getattr(ctx, "original_route", ctx)
        if isinstance(route, Route) and "GET" in (route.methods or set()):
            paths.add(getattr(ctx, "path", None) or route.path)
    return next((p for p in candidates if p in paths), None)


@router.get("/me", response_class=HTMLResponse)
async def hub_page(request: Request, session: Session, principal: Self) -> Response:
    if not service.can_self_serve(principal):
        raise NotFound("no employee record is linked to this account")
    data = await service.hub(session, principal)
    links = {name: served_path(request, paths) for name, paths in OPTIONAL_TILES.items()}
    return render(request, "selfservice/hub.html", hub=data, links=links, tz=data.tz)


@router.get("/offline", response_class=HTMLResponse)
async def offline_page(request: Request) -> Response:
    """What the service worker shows when a page cannot be reached. It holds no personal data
    (the service worker caches it for whoever uses the phone next)."""
    return render(request, "selfservice/offline.html")


@router.get("/manifest.webmanifest")
async def manifest(request: Request) -> Response:
    _ = translator(locale_of(request))
    icons = [{"src": f"/static/selfservice/icon-{n}.png", "sizes": f"{n}x{n}",
              "type": "image/png", "purpose": "any"} for n in (192, 512)]
    icons.append({"src": "/static/selfservice/icon-maskable-512.png", "sizes": "512x512",
                  "type": "image/png", "purpose": "maskable"})
    body = {
        "id": "/me", "name": _("Probity self-service"), "short_name": _("Probity"),
        "description": _("Your schedule, clock-in, leave, pay, scorecard and cases."),
        "lang": "zh-CN" if locale_of(request) == "zh_CN" else "en",
        "start_url": "/me", "scope": "/", "display": "standalone",
        "orientation": "portrait", "background_color": "#ffffff", "theme_color": THEME,
        "icons": icons,
    }
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/manifest+json",
                    headers={"Cache-Control": "no-cache", "Vary": "Cookie, Accept-Language"})


@router.get("/sw.js")
async def service_worker() -> Response:
    # Served from the root so that its scope may be the whole app; never cached by HTTP, so a
    # new version is picked up on the next visit.
    return FileResponse(SERVICE_WORKER, media_type="text/javascript",
                        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"})
