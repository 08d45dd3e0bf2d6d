"""Properties of inheritance and lock resolution: the effective value always equals the nearest
unlocked ancestor's, or the tenant's own."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from probity.governance.resolve import Layer, locked_fields, resolve_field

FIELD = "f"


@st.composite
def chains(draw: st.DrawFn) -> list[Layer]:
    depth = draw(st.integers(min_value=1, max_value=6))
    out = []
    for tid in range(1, depth + 1):
        sets = draw(st.booleans())
        value = draw(st.integers(0, 1000)) if sets else None
        locks = draw(st.booleans())
        out.append(Layer(tid, {FIELD: value} if sets else {},
                         frozenset({FIELD}) if locks else frozenset()))
    return out


def _nearest_set(chain: list[Layer], upto: int) -> tuple[object, int | None]:
    for layer in reversed(chain[:upto + 1]):
        if FIELD in layer.values:
            return layer.values[FIELD], layer.tenant_id
    return "default", None


@given(chains())
def test_effective_is_nearest_unlocked_ancestor_or_own(chain: list[Layer]) -> None:
    r = resolve_field("default", chain, FIELD)
    lockers = [i for i, layer in enumerate(chain[:-1]) if FIELD in layer.locks]
    # The topmost ancestor locking the field freezes what it resolved to; with no lock, the
    # tenant's own value or the nearest ancestor's that sets it.
    stop = lockers[0] if lockers else len(chain) - 1
    value, origin = _nearest_set(chain, stop)
    assert (r.value, r.origin_tenant_id) == (value, origin)
    assert r.locked_by == (chain[lockers[0]].tenant_id if lockers else None)


@given(chains())
def test_own_lock_never_binds_the_tenant_itself(chain: list[Layer]) -> None:
    last = chain[-1]
    relocked = [*chain[:-1], Layer(last.tenant_id, last.values, frozenset({FIELD}))]
    unlocked = [*chain[:-1], Layer(last.tenant_id, last.values, frozenset())]
    assert resolve_field(0, relocked, FIELD) == resolve_field(0, unlocked, FIELD)


@given(chains(), st.integers(0, 1000))
def test_a_locked_field_ignores_every_override_below_the_lock(chain: list[Layer], v: int
                                                               ) -> None:
    r = resolve_field("default", chain, FIELD)
    if r.locked_by is None:
        return
    # Whatever the tenant itself (or anyone below the locker) sets, the value does not move.
    last = chain[-1]
    changed = [*chain[:-1], Layer(last.tenant_id, {FIELD: v}, last.locks)]
    assert resolve_field("default", changed, FIELD) == r
    assert locked_fields(chain)[FIELD] == r.locked_by


@given(chains())
def test_without_locks_the_tenant_own_value_wins(chain: list[Layer]) -> None:
    free = [Layer(layer.tenant_id, layer.values) for layer in chain]
    r = resolve_field("default", free, FIELD)
    if FIELD in chain[-1].values:
        assert r.value == chain[-1].values[FIELD] and r.origin_tenant_id == chain[-1].tenant_id
    assert r.locked_by is None
