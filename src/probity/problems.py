"""Bad input never becomes a 5xx: the database-level failures a request can still provoke are
turned into problem details, and the OpenAPI document declares the problem responses the API
really returns.

Validation (``probity.bounds``, ``probity.inputguard``) refuses most bad input before a handler
runs; these handlers are the net under it, one place for every route:

* a number the column cannot hold (PostgreSQL ``NumericValueOutOfRange``, SQLite's
  ``OverflowError`` for integers past 64 bits), text the column cannot store, a naive
  datetime reaching a UTC column → 422;
* SQLite's "database is locked" after its busy timeout → 429 with ``Retry-After`` (the write is
  not lost: nothing was committed, the client retries);
* 405 keeps its ``Allow`` header.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, OperationalError, StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException

from probity.middleware import problem

__all__ = ["PROBLEM_SCHEMA", "declare_problems", "install_handlers", "problem_response"]

log = logging.getLogger("probity")


def problem_response(status: int, code: str, detail: str,
                     headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse(problem(status, code, detail, **extra), status_code=status,
                        media_type="application/problem+json", headers=headers)


def _locked(exc: BaseException) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in text or "database table is locked" in text


def install_handlers(app: FastAPI) -> None:
    """Register the database-failure handlers (call after the app's own handlers)."""

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError) -> Response:
        log.info("data error on %s: %s", request.url.path, exc.orig.__class__.__name__)
        return problem_response(422, "out_of_range", "a value is out of range or cannot be "
                                "stored (numbers must fit the field; text may not hold NUL)")

    @app.exception_handler(OverflowError)
    async def overflow_error(request: Request, exc: OverflowError) -> Response:
        return problem_response(422, "out_of_range", "a number is too large")

    @app.exception_handler(OperationalError)
    async def operational_error(request: Request, exc: OperationalError) -> Response:
        if _locked(exc):
            return problem_response(429, "busy", "the database is busy with other writes; "
                                    "nothing was saved, retry shortly",
                                    headers={"Retry-After": "1"}, retry_after=1)
        raise exc

    @app.exception_handler(StatementError)
    async def statement_error(request: Request, exc: StatementError) -> Response:
        orig = exc.orig
        if isinstance(orig, OverflowError):
            return problem_response(422, "out_of_range", "a number is too large")
        if isinstance(orig, ValueError):  # e.g. a naive datetime reaching a UTC column
            return problem_response(422, "invalid_input", str(orig)[:300])
        raise exc

    previous = app.exception_handlers.get(StarletteHTTPException)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if previous is not None:
            response: Response = await previous(request, exc)  # type: ignore[misc]
        else:
            response = problem_response(exc.status_code, "http_error", str(exc.detail))
        for name, value in (exc.headers or {}).items():  # 405's Allow, 401's WWW-Authenticate
            response.headers.setdefault(name, value)
        return response


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "code", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "request_id": {"type": ["string", "null"]},
    },
    "additionalProperties": True,
}
_DESCRIPTIONS = {401: "Not signed in", 403: "Signed in, but not permitted",
                 404: "No such object, or outside your scope", 409: "Conflicts with stored data",
                 413: "Request body too large", 422: "Invalid input",
                 429: "Too many requests, or the database is busy"}


def declare_problems(app: FastAPI) -> None:
    """Make ``/api/openapi.json`` list the problem responses an operation can return: 401/403
    (not signed in, not permitted), 404 (an object named in the path or body that is missing or
    out of scope), 422 (validation, NUL characters, out-of-range values) on every operation;
    409, 413 and 429 (conflict, body too large, busy database or rate limit) on writes."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version,
                             openapi_version=app.openapi_version, description=app.description,
                             routes=app.routes, tags=app.openapi_tags, servers=app.servers)
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        ref = {"$ref": "#/components/schemas/Problem"}
        for methods in schema.get("paths", {}).values():
            for method, op in methods.items():
                statuses = {401, 403, 404, 422}
                if method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
                    statuses |= {409, 413, 429}
                responses = op.setdefault("responses", {})
                for status in sorted(statuses):
                    responses[str(status)] = {
                        "description": _DESCRIPTIONS[status],
                        "content": {"application/problem+json": {"schema": ref}},
                    }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
