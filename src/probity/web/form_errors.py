"""Per-field form errors, shared by the HR forms (payroll tables, attendance, leave,
recruitment): a refused form comes back with every field's problem next to that field, in the
reader's language — Pydantic's errors by type, a domain error by the field it names. The
templates show them with the macros of `_fields.html`."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from fastapi import Request
from pydantic import ValidationError

from probity.errors import DomainError
from probity.i18n import translator
from probity.web.render import locale_of

# Pydantic error types → English msgids shown beside the field (translated per locale).
FIELD_MESSAGES = {
    "missing": "Required",
    "string_too_short": "Required",
    "string_too_long": "At most {max_length} characters",
    "string_pattern_mismatch": "Invalid format",
    "greater_than_equal": "Must be at least {ge}",
    "less_than_equal": "Must be at most {le}",
    "greater_than": "Must be more than {gt}",
    "decimal_parsing": "Not a number",
    "decimal_type": "Not a number",
    "decimal_max_places": "At most {decimal_places} decimal places",
    "decimal_max_digits": "Too large",
    "int_parsing": "Not a whole number",
    "date_from_datetime_parsing": "Not a date",
    "date_parsing": "Not a date",
    "date_type": "Not a date",
    "int_type": "Not a whole number",
    "value_error": "Invalid value",
    "too_long": "Too many rows",
}
def _field_name(loc: tuple[Any, ...]) -> str:
    """A validation error's location as the form's field name."""
    parts = [str(p) for p in loc]
    if parts[:1] == ["si_rates"] and len(parts) >= 3:
        return f"{parts[1]}_{'employee' if parts[2] == '0' else 'employer'}"
    if parts[:1] == ["allowances"] and len(parts) >= 3:
        return f"allowance_{parts[1]}_{parts[2]}"
    return parts[0] if parts else "_form"


def field_errors(request: Request, exc: ValidationError | DomainError,
                 rename: dict[str, str] | None = None,
                 code_fields: dict[str, str] | None = None,
                 messages: dict[str, str] | None = None) -> dict[str, str]:
    """{form field: message in the reader's language}; `_form` for the form as a whole. A
    domain error goes beside the field it names (`extra["field"]`), else the field its code
    is about (`code_fields`), else above the form."""
    _ = translator(locale_of(request))
    rename = rename or {}
    if isinstance(exc, DomainError):
        name = str(exc.extra.get("field") or (code_fields or {}).get(exc.code or "", "_form"))
        return {rename.get(name, name): exc.localized(_)}
    out: dict[str, str] = {}
    for e in exc.errors():
        name = _field_name(tuple(e["loc"]))
        name = rename.get(name, name)
        ctx = {k: v for k, v in (e.get("ctx") or {}).items()
               if isinstance(v, int | float | str | Decimal)}
        template = (messages or {}).get(e["type"]) or FIELD_MESSAGES.get(e["type"])
        if template is None or not set(re.findall(r"{(\w+)}", template)) <= set(ctx):
            template = "Invalid value"
        out.setdefault(name, _(template, **{k: str(v) for k, v in ctx.items()}))
    return out
