"""Liveness, readiness and metrics endpoints for load balancers, orchestrators and Prometheus."""

from __future__ import annotations

import asyncio
import hmac
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from probity import __version__
from probity.auth.deps import Session
from probity.errors import Unauthenticated
from probity.middleware import problem

router = APIRouter(tags=["ops"])


@router.get("/health/live")
async def live() -> dict[str, str]:
    """The process answers (restart it if not). Touches nothing else."""
    return {"status": "ok", "version": __version__}


async def _check_redis(url: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        await client.ping()
    finally:
        await client.aclose()


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest migration this code ships (read once)."""
    from alembic.script import ScriptDirectory

    from probity.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    return str(head) if head else None


async def readiness(request: Request, session: Any) -> dict[str, str]:
    """Each dependency: "ok" or why not. The database must answer and be migrated to head."""
    settings = request.app.state.settings
    checks: dict[str, str] = {}
    try:
        current = await session.scalar(text("SELECT version_num FROM alembic_version"))
        head = head_revision()
        checks["database"] = "ok" if current == head else (
            f"schema at {current}, code expects {head}: run `probity migrate`")
    except Exception as exc:
        checks["database"] = f"unreachable: {exc.__class__.__name__}"
    for name, url in (("redis", settings.redis_url), ("broker", settings.broker_url)):
        if url:
            try:
                await asyncio.wait_for(_check_redis(url), timeout=3)
                checks[name] = "ok"
            except Exception as exc:
                checks[name] = f"unreachable: {exc.__class__.__name__}"
    return checks


@router.get("/health/ready")
async def ready(request: Request, session: Session) -> Response:
    """Ready to take traffic: database (migrated), Redis and the job broker when configured.
    503 with the failing checks otherwise."""
    checks = await readiness(request, session)
    if all(v == "ok" for v in checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    body = problem(503, "not_ready", "a dependency is not ready", checks=checks)
    return JSONResponse(body, status_code=503, media_type="application/problem+json")


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, session: Session) -> Response:
    """Prometheus exposition. With PROBITY_METRICS_TOKEN set, a bearer token is required."""
    from prometheus_client import CONTENT_TYPE_LATEST

    from probity.ops.metrics import render_metrics

    token = request.app.state.settings.metrics_token
    if token:
        sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), token.encode()):
            raise Unauthenticated("a metrics token is required")
    return Response(await render_metrics(session), media_type=CONTENT_TYPE_LATEST)
