"""The settings registry: each domain declares its own section of group standards.

A section is a flat pydantic model: every field has a default and its own validation (ranges,
enums, lengths), and a field is the unit of inheritance and of locking. A domain declares its
section in `probity/<domain>/settings.py` (found automatically on first use), for example::

    from pydantic import Field
    from probity.governance import SettingsSection, register_section

    class PerformanceSettings(SettingsSection):
        compliance_weight: float = Field(0.2, ge=0.15, le=0.25, title="Compliance KPI weight")

    register_section("performance", PerformanceSettings, title="Performance")

Field titles and the section title are English msgids (translate them in the domain's .po).
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from probity.auth.permissions import Perm
from probity.errors import NotFound


class SettingsSection(BaseModel):
    """Base class of a section: unknown fields are refused, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


S = TypeVar("S", bound=SettingsSection)


@dataclass(frozen=True)
class SectionSpec:
    name: str
    model: type[SettingsSection]
    title: str  # English msgid
    read: Perm  # who may see the section's effective values and history (in scope)
    manage: Perm  # who may change it and lock its fields (in scope)
    # Values kept by their domain (e.g. the screening overlays in policy/): this section holds
    # only the locks on them, and `page` is where the values are edited.
    locks_only: bool = False
    page: str | None = None

    @property
    def fields(self) -> list[str]:
        return list(self.model.model_fields)

    def defaults(self) -> dict[str, Any]:
        return self.model().model_dump(mode="json")

    def field_title(self, field: str) -> str:
        info = self.model.model_fields[field]
        return info.title or field.replace("_", " ").capitalize()


_SECTIONS: dict[str, SectionSpec] = {}
_BY_MODEL: dict[type[SettingsSection], str] = {}
_discovered = False


def register_section(name: str, model: type[S], *, title: str,
                     read: Perm = Perm.settings_read, manage: Perm = Perm.settings_manage,
                     locks_only: bool = False, page: str | None = None) -> type[S]:
    """Declare a section. Every field needs a default (the built-in standard). Registering the
    same model twice under its name is harmless (module reloads); another model is refused."""
    if not name.replace("_", "").isalnum() or not name.islower():
        raise ValueError(f"section name {name!r}: lower-case letters, digits and _ only")
    existing = _SECTIONS.get(name)
    if existing is not None and existing.model is not model and (
            existing.model.__qualname__ != model.__qualname__
            or existing.model.__module__ != model.__module__):
        raise ValueError(f"settings section {name!r} is already registered")
    model()  # every field must have a (valid) default
    _SECTIONS[name] = SectionSpec(name, model, title, read, manage, locks_only, page)
    _BY_MODEL[model] = name
    return model


def discover() -> None:
    """Import `probity.<domain>.settings` of every domain once, so their sections register."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    import probity
    importlib.import_module("probity.governance.sections")  # the built-in sections

    for mod in pkgutil.iter_modules(probity.__path__):
        if mod.ispkg and importlib.util.find_spec(f"probity.{mod.name}.settings") is not None:
            importlib.import_module(f"probity.{mod.name}.settings")


def get_section(name: str | type[SettingsSection]) -> SectionSpec:
    discover()
    if not isinstance(name, str):
        key = _BY_MODEL.get(name)
        if key is None:
            raise ValueError(f"{name.__name__} is not a registered settings section")
        return _SECTIONS[key]
    spec = _SECTIONS.get(name)
    if spec is None:
        raise NotFound(f"no settings section {name!r}", code="unknown_section")
    return spec


def all_sections() -> list[SectionSpec]:
    discover()
    return sorted(_SECTIONS.values(), key=lambda s: s.name)
