"""Inheritance and lock resolution, as pure functions (no database): property-tested.

A chain is the tenant's ancestors' layers from HQ down, ending with the tenant's own layer.
For each field, walking down from HQ: a layer that sets the field replaces the value; a layer
that locks the field freezes the value reached at that point for every tenant *below* it (its
own value included), so overrides further down are ignored while the lock holds. The topmost
lock wins. In short: the effective value is the nearest unlocked ancestor's, or the tenant's own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Layer:
    """What one tenant itself sets in one section (its latest version)."""

    tenant_id: int
    values: Mapping[str, Any] = field(default_factory=dict)
    locks: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Resolved:
    value: Any
    origin_tenant_id: int | None  # the tenant whose value holds; None = the built-in default
    locked_by: int | None  # the topmost ancestor that locks the field for this tenant


def resolve_field(default: Any, chain: Sequence[Layer], name: str) -> Resolved:
    value, origin = default, None
    last = len(chain) - 1
    for i, layer in enumerate(chain):
        if name in layer.values:
            value, origin = layer.values[name], layer.tenant_id
        if i < last and name in layer.locks:
            return Resolved(value, origin, layer.tenant_id)
    return Resolved(value, origin, None)


def resolve(defaults: Mapping[str, Any], chain: Sequence[Layer]) -> dict[str, Resolved]:
    return {name: resolve_field(default, chain, name) for name, default in defaults.items()}


def locked_fields(chain: Sequence[Layer]) -> dict[str, int]:
    """Field → the topmost ancestor locking it, for the last tenant of the chain."""
    out: dict[str, int] = {}
    for layer in chain[:-1]:
        for name in layer.locks:
            out.setdefault(name, layer.tenant_id)
    return out
