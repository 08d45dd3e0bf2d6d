"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from probity import __version__
from probity.config import PROJECT_ROOT, Settings, get_settings
from probity.db import Database
from probity.errors import DomainError, Unauthenticated
from probity.i18n import translator
from probity.middleware import (
    BodySizeLimitMiddleware,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
    SessionMiddleware,
    problem,
)
from probity.openapi import API_VERSION

log = logging.getLogger("probity")

WEB_DIR = Path(__file__).parent / "web"
NODE_MODULES = PROJECT_ROOT / "node_modules"
# Front-end libraries installed from the npm registry (package.json), served locally.
VENDOR_FILES = {
    "htmx.js": NODE_MODULES / "htmx.org" / "dist" / "htmx.min.js",
    "echarts.js": NODE_MODULES / "echarts" / "dist" / "echarts.min.js",
    "bootstrap.css": NODE_MODULES / "bootstrap" / "dist" / "css" / "bootstrap.min.css",
    "bootstrap.js": NODE_MODULES / "bootstrap" / "dist" / "js" / "bootstrap.bundle.min.js",
    "swagger-ui.css": NODE_MODULES / "swagger-ui-dist" / "swagger-ui.css",
    "swagger-ui.js": NODE_MODULES / "swagger-ui-dist" / "swagger-ui-bundle.js",
}


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", "")


def _problem_response(status: int, code: str, detail: str, **extra: object) -> JSONResponse:
    # Retry-After is delay-seconds (RFC 9110 §10.2.3): what the limiter computed, else a minute.
    retry = extra.get("retry_after")
    headers = ({"Retry-After": str(retry if isinstance(retry, int) and retry > 0 else 60)}
               if status == 429 else None)
    return JSONResponse(problem(status, code, detail, **extra), status_code=status,
                        media_type="application/problem+json", headers=headers)


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check_production()
    if settings.env != "test":
        from probity.ops.logs import configure_logging

        configure_logging()  # again in each `serve --workers` process
    db = database or Database(settings.database_url)
    from probity.jobs.runtime import make_runtime, set_runtime

    jobs_runtime = make_runtime(settings, db)
    set_runtime(jobs_runtime)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await jobs_runtime.start()
        if settings.gc_policy if settings.gc_policy is not None else settings.env != "test":
            from probity import gcpolicy

            # Full collections that walk only what is new (see there): with thousands of
            # sockets, a full collection of everything stopped the process for up to 1.5 s.
            gcpolicy.install(settings.gc_sweep_s)
        try:
            yield
        finally:
            await jobs_runtime.stop()
            bus = getattr(app.state, "bus", None)
            if bus is not None:  # its registrations on Redis go with the process
                await bus.close()
            if database is None:
                await db.dispose()

    app = FastAPI(
        title="Probity API", version=API_VERSION, lifespan=lifespan,
        openapi_url="/api/openapi.json", docs_url=None, redoc_url=None,
        description="Probity (廉盾): screening, records, cases and HR for customer service.",
    )
    app.state.settings = settings
    app.state.db = db
    app.state.jobs = jobs_runtime
    from probity import ratelimit

    ratelimit.configure(settings.redis_url, settings.redis_channel_prefix)
    from probity.chat.screening import configure_context_store

    configure_context_store(settings.redis_url, settings.redis_channel_prefix,
                            affinity=settings.chat_affinity is not None)
    from probity.ledger import publish

    publish.configure(settings.checkpoint_dir)  # signed checkpoints also go outside the DB

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        if isinstance(exc, Unauthenticated) and _wants_html(request):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        message = exc.message
        if exc.template:
            from probity.web.render import locale_of

            message = exc.localized(translator(locale_of(request)))
        if _wants_html(request):
            from probity.web.render import render_error

            return render_error(request, exc.status_code, message)
        return _problem_response(exc.status_code, exc.code, message, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return _problem_response(422, "invalid_input", f"{where}: {first['msg']}", errors=errors)

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, exc: IntegrityError) -> Response:
        log.warning("integrity error: %s", exc.orig.__class__.__name__)
        return _problem_response(409, "conflict", "the change conflicts with existing data")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_html(request) and exc.status_code == 404:
            from probity.web.render import render_error

            return render_error(request, 404, "page not found")
        return _problem_response(exc.status_code, "http_error", str(exc.detail))

    from probity import problems

    problems.install_handlers(app)  # database failures from bad input: 4xx, never 5xx
    problems.declare_problems(app)  # the problem responses in /api/openapi.json

    from probity.alerts.router import router as alerts_router
    from probity.analytics.pages import router as analytics_pages
    from probity.analytics.router import router as analytics_router
    from probity.attendance.pages import router as attendance_pages
    from probity.attendance.router import router as attendance_router
    from probity.audit.router import router as audit_router
    from probity.auth.router import router as auth_router
    from probity.cases.router import router as cases_router
    from probity.chat.router import router as chat_router
    from probity.chat.ws import router as chat_ws_router
    from probity.commerce.router import router as commerce_router
    from probity.duty.pages import router as duty_pages
    from probity.duty.router import router as duty_router
    from probity.finance.router import router as finance_router
    from probity.governance.replay_router import router as replay_router
    from probity.governance.router import router as governance_router
    from probity.imports.pages import router as imports_pages
    from probity.imports.router import router as imports_router
    from probity.jobs.router import router as jobs_router
    from probity.ledger.pages import router as records_pages
    from probity.ledger.router import router as records_router
    from probity.monitoring.pages import router as monitoring_pages
    from probity.monitoring.router import router as monitoring_router
    from probity.notify.router import router as notify_router
    from probity.onboarding.pages import router as onboarding_pages
    from probity.onboarding.router import router as onboarding_router
    from probity.ops.router import router as ops_router
    from probity.org.router import router as org_router
    from probity.payroll.pages import router as payroll_pages
    from probity.payroll.router import router as payroll_router
    from probity.performance.pages import router as performance_pages
    from probity.performance.router import router as performance_router
    from probity.policy.router import router as policy_router
    from probity.recruitment.pages import router as recruitment_pages
    from probity.recruitment.router import router as recruitment_router
    from probity.selfservice.pages import router as selfservice_pages
    from probity.training.pages import router as training_pages
    from probity.training.router import router as training_router
    from probity.web.pages import router as pages_router
    from probity.web.render import use_tenant_timezone
    from probity.webhooks.pages import router as webhooks_pages
    from probity.webhooks.router import router as webhooks_router

    for r in (auth_router, org_router, audit_router, commerce_router, chat_router, chat_ws_router,
              alerts_router, cases_router, finance_router, notify_router,
              records_router, records_pages, policy_router, governance_router, replay_router,
              performance_router, performance_pages, jobs_router, recruitment_router,
              recruitment_pages, onboarding_router, onboarding_pages, attendance_router,
              attendance_pages, duty_router, duty_pages, analytics_router, analytics_pages,
              monitoring_router, monitoring_pages, payroll_router, payroll_pages,
              selfservice_pages, training_router, training_pages, imports_router,
              imports_pages, ops_router, webhooks_router, webhooks_pages,
              pages_router):
        # Pages show times in the signed-in user's tenant zone (`web.render`).
        page = r in (records_pages, performance_pages, recruitment_pages, onboarding_pages,
                     attendance_pages, duty_pages, analytics_pages, monitoring_pages,
                     payroll_pages, selfservice_pages, training_pages, imports_pages,
                     webhooks_pages, pages_router)
        app.include_router(r, dependencies=[Depends(use_tenant_timezone)] if page else None)

    @app.get("/api/v1/health", tags=["ops"])
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")

    @app.get("/vendor/{name}", include_in_schema=False)
    async def vendor(name: str) -> Response:
        from fastapi.responses import FileResponse

        path = VENDOR_FILES.get(name)
        if path is None or not path.exists():
            return _problem_response(404, "not_found", f"no vendor file {name!r} (run make run)")
        media_type = "text/css" if name.endswith(".css") else "text/javascript"
        return FileResponse(path, media_type=media_type,
                            headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/api/docs", include_in_schema=False)
    async def swagger_ui() -> Response:
        # Swagger UI from swagger-ui-dist (npm), served locally like the other vendor files.
        from fastapi.openapi.docs import get_swagger_ui_html

        return get_swagger_ui_html(openapi_url="/api/openapi.json", title="Probity API",
                                   swagger_js_url="/vendor/swagger-ui.js",
                                   swagger_css_url="/vendor/swagger-ui.css",
                                   swagger_favicon_url="/static/favicon.svg")

    # Order matters: the outermost middleware is added last.
    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key,
                       session_cookie="probity_session", max_age=settings.session_max_age_s,
                       same_site="lax", https_only=settings.env == "production")
    from probity.inputguard import NulGuardMiddleware

    app.add_middleware(NulGuardMiddleware)  # inside the body limit: limits apply first
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes,
                       overrides={path: settings.max_import_bytes
                                  for path in ("/api/v1/finance/imports", "/finance/import",
                                               "/api/v1/finance/imports/jobs",
                                               "/api/v1/imports/uploads", "/imports",
                                               "/api/v1/imports/packages", "/imports/package")})
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.env == "production")
    from probity.ops.metrics import MetricsMiddleware

    app.add_middleware(MetricsMiddleware)  # inside the request id: its log lines carry it
    app.add_middleware(RequestContextMiddleware)
    return app
