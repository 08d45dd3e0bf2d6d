"""Form widgets for settings fields, derived from each field's type (no per-section templates),
and parsing submitted form values back into the raw values `change_settings` validates."""

from __future__ import annotations

import json
import types
import typing
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic.fields import FieldInfo

from probity.governance.registry import SectionSpec

Kind = Literal["bool", "int", "float", "decimal", "text", "textarea", "select", "multi", "json"]


@dataclass(frozen=True)
class Widget:
    kind: Kind
    options: tuple[str, ...] = ()
    nullable: bool = False


def _strip_none(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def widget_for(info: FieldInfo) -> Widget:
    annotation, nullable = _strip_none(info.annotation)
    origin = typing.get_origin(annotation)
    if annotation is bool:
        return Widget("bool", nullable=nullable)
    if annotation is int:
        return Widget("int", nullable=nullable)
    if annotation is float:
        return Widget("float", nullable=nullable)
    if annotation is Decimal:
        return Widget("decimal", nullable=nullable)
    if origin is Literal:
        return Widget("select", tuple(str(a) for a in typing.get_args(annotation)), nullable)
    if origin is list:
        (item,) = typing.get_args(annotation) or (Any,)
        if typing.get_origin(item) is Literal:
            return Widget("multi", tuple(str(a) for a in typing.get_args(item)), nullable)
    if annotation is str:
        long = any(getattr(m, "max_length", 0) and m.max_length > 80 for m in info.metadata)
        return Widget("textarea" if long else "text", nullable=nullable)
    return Widget("json", nullable=nullable)


def display(value: Any) -> str:
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return "—" if value is None else str(value)


def parse_field(widget: Widget, raw: list[str]) -> Any:
    """The submitted value of one field (all its form values); unparsable text is passed on
    as text, so validation names the field (422) instead of the form failing here."""
    if widget.kind == "bool":
        return "on" in raw or "true" in raw
    if widget.kind == "multi":
        return [v for v in raw if v]
    text = raw[-1].strip() if raw else ""
    if text == "" and widget.nullable:
        return None
    if widget.kind == "int":
        try:
            return int(text)
        except ValueError:
            return text
    if widget.kind == "float":
        try:
            return float(text)
        except ValueError:
            return text
    if widget.kind == "decimal":
        return text
    if widget.kind == "json":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return raw[-1] if raw else ""


@dataclass(frozen=True)
class Submitted:
    values: dict[str, Any]
    clear: list[str]
    locks: dict[str, bool]


def parse_form(spec: SectionSpec, form: dict[str, list[str]], current: dict[str, Any],
               own: set[str], locks_below: set[str]) -> Submitted:
    """Only what differs from the page as shown: a field whose value changed, an own value to
    clear (inherit again), a lock switched on or off. Disabled (locked) inputs are not sent."""
    values: dict[str, Any] = {}
    clear: list[str] = []
    locks: dict[str, bool] = {}
    shown = set(form.get("shown", []))
    for name, info in spec.model.model_fields.items():
        if name not in shown:
            continue  # locked above: the page did not offer it
        if f"clear.{name}" in form and name in own:
            clear.append(name)
        else:
            widget = widget_for(info)
            raw = form.get(f"v.{name}", [])
            if widget.kind in ("bool", "multi") or raw:
                value = parse_field(widget, raw)
                if value != current.get(name):
                    values[name] = value
        if f"lockable.{name}" in form:
            wanted = f"lock.{name}" in form
            if wanted != (name in locks_below):
                locks[name] = wanted
    return Submitted(values, clear, locks)
