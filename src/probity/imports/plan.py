"""The plan of one import: what each row will do (insert, update, unchanged) or why it cannot
(row errors, in English and Chinese), with a preview. One class for every importer — the
framework's kinds and finance's own importer (`finance.importer.Plan` extends it with the new
customers and the earliest time it needs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from probity.i18n import Msgid, translator

__all__ = ["MAX_ERRORS", "PREVIEW_ROWS", "Plan"]

MAX_ERRORS = 1000  # listed; the count is always exact
PREVIEW_ROWS = 20

_ZH = translator("zh_CN")
_EN = translator("en")


def _plain(v: Any) -> Any:
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, datetime | date | time):
        return v.isoformat()
    return getattr(v, "value", v)


@dataclass
class Plan:
    kind: str
    tenant_id: int
    rows: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    preview: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, int] = field(default_factory=dict)  # kind-specific counts (new customers…)

    def error(self, row: int | None, column: str | None, template: Msgid, **params: Any) -> None:
        """A row error, in English and Chinese (``template`` is an English msgid; a text that
        is not one — finance's rendered messages — is shown as-is in both)."""
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"row": row, "column": column,
                                "error": _EN(template, **params) if params else _EN(template),
                                "error_zh": _ZH(template, **params) if params else _ZH(template)})

    def _show(self, n: int, r: dict[str, Any], action: str) -> None:
        if len(self.preview) < PREVIEW_ROWS:
            self.preview.append({"_row": n, "_action": action,
                                 **{k: _plain(v) for k, v in r.items() if not k.startswith("_")}})

    def insert(self, n: int, values: dict[str, Any], *, show: dict[str, Any] | None = None
               ) -> None:
        self.inserts.append(values)
        self._show(n, show if show is not None else values, "insert")

    def update(self, n: int, values: dict[str, Any], *, show: dict[str, Any] | None = None
               ) -> None:
        """``values`` must hold ``id`` (the row to change) and the changed columns."""
        self.updates.append(values)
        self._show(n, show if show is not None else values, "update")

    def same(self) -> None:
        self.unchanged += 1

    def insert_count(self) -> int:
        """``len(inserts)`` (a plan that builds its inserts lazily counts them unbuilt)."""
        return len(self.inserts)

    def summary(self) -> dict[str, Any]:
        return {"kind": self.kind, "tenant_id": self.tenant_id, "rows": self.rows,
                "insert": self.insert_count(), "update": len(self.updates),
                "unchanged": self.unchanged, "error_count": self.error_count,
                "errors": self.errors, "preview": self.preview, **self.extra}
