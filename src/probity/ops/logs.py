"""Structured JSON logs (one object per line) carrying the request id, for production.

``PROBITY_LOG_FORMAT=json`` (the default in production) switches them on; development keeps
plain text. Messages never include secrets or full phone numbers (callers mask them)."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

from probity.context import request_id_var

__all__ = ["JsonFormatter", "RequestIdFilter", "configure_logging"]

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (from the request's context) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name,
            "msg": record.getMessage(), "request_id": getattr(record, "request_id", None),
            "pid": record.process,
        }
        for key, value in vars(record).items():  # extra=… fields
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value if isinstance(value, str | int | float | bool | None) \
                    else repr(value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def configure_logging(fmt: str | None = None, level: str | None = None) -> None:
    """Root logging to stderr: JSON or text, with request ids. Idempotent."""
    fmt = fmt or os.environ.get("PROBITY_LOG_FORMAT", "").lower() or (
        "json" if os.environ.get("PROBITY_ENV") == "production" else "text")
    level = level or os.environ.get("PROBITY_LOG_LEVEL", "INFO")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_probity", False)]:
        root.removeHandler(old)
    handler._probity = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
