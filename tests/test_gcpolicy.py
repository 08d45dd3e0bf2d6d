"""The serving process's GC policy (probity.gcpolicy): a full collection walks only what is new
since the last one; cycles among frozen objects are freed by a sweep; nothing else changes."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from probity import gcpolicy
from probity.config import Settings


class Node:
    def __init__(self) -> None:
        self.other: Any = None


def cycle() -> tuple[Node, weakref.ref[Node]]:
    a, b = Node(), Node()
    a.other, b.other = b, a  # a reference cycle: only the collector frees it
    return a, weakref.ref(a)


def tracked(obj: object) -> bool:
    """Whether a full collection would walk `obj` (frozen objects are not in any generation)."""
    return any(o is obj for o in gc.get_objects())


@pytest.fixture
def policy() -> Iterator[gcpolicy.GcPolicy]:
    gcpolicy.uninstall()
    p = gcpolicy.install(sweep_s=10**9)
    try:
        yield p
    finally:
        gcpolicy.uninstall()


def test_what_survives_a_full_collection_is_not_walked_again(policy: gcpolicy.GcPolicy) -> None:
    keep, _ref = cycle()
    assert tracked(keep)  # new: the next full collection walks it
    full = policy.full
    gc.collect()
    assert policy.full == full + 1
    assert not tracked(keep)  # survived: frozen, later full collections skip it
    assert gc.get_freeze_count() > 0
    newer, _ref2 = cycle()
    gc.collect()
    assert not tracked(newer)


def test_young_garbage_is_still_collected(policy: gcpolicy.GcPolicy) -> None:
    obj, ref = cycle()
    del obj
    gc.collect()
    assert ref() is None


def test_a_frozen_object_dropped_without_a_cycle_is_freed_at_once(
        policy: gcpolicy.GcPolicy) -> None:
    obj = Node()
    ref = weakref.ref(obj)
    gc.collect()
    assert not tracked(obj)
    del obj  # reference counting frees it: no collection needed
    assert ref() is None


def test_a_cycle_among_frozen_objects_waits_for_the_sweep(policy: gcpolicy.GcPolicy) -> None:
    obj, ref = cycle()
    gc.collect()  # survives: frozen
    del obj
    gc.collect()
    assert ref() is not None  # garbage, but frozen: an ordinary full collection skips it
    sweeps = policy.sweeps
    policy.sweep_s = 0  # a sweep is due
    gc.collect()
    assert ref() is None
    assert policy.sweeps == sweeps + 1


def test_a_sweep_is_due_only_when_its_period_has_passed(policy: gcpolicy.GcPolicy) -> None:
    obj, ref = cycle()
    gc.collect()
    del obj
    for _ in range(3):  # ordinary full collections: the frozen cycle waits
        gc.collect()
    assert not policy.sweep_due() and ref() is not None
    policy.sweep_s = 0
    assert policy.sweep_due()
    gc.collect()
    assert ref() is None
    policy.sweep_s = 10**9  # the period restarts from that sweep
    assert not policy.sweep_due()


def test_the_young_generation_is_collected_less_often_while_installed() -> None:
    before = gc.get_threshold()
    gcpolicy.uninstall()
    p = gcpolicy.install(sweep_s=10**9, young=20_000)
    try:
        assert gc.get_threshold() == (20_000, *before[1:])
        young = gc.get_count()[0]
        garbage = [[] for _ in range(5_000)]  # well past CPython's 700: no young collection
        assert gc.get_count()[0] >= young + 5_000
        del garbage
        assert p.installed
    finally:
        gcpolicy.uninstall()
    assert gc.get_threshold() == before


def test_uninstall_restores_the_ordinary_collector() -> None:
    gcpolicy.install(sweep_s=10**9)
    obj, ref = cycle()
    gc.collect()
    gcpolicy.uninstall()
    assert gc.get_freeze_count() == 0
    assert tracked(obj)
    del obj
    gc.collect()
    assert ref() is None


async def test_the_app_installs_it_when_serving(settings: Settings, database_url: str) -> None:
    from probity.app import create_app
    from probity.db import Database

    gcpolicy.uninstall()
    off = create_app(settings, database=Database(database_url))  # env=test: off by default
    async with off.router.lifespan_context(off):
        assert not gcpolicy.policy().installed
    served = create_app(settings.model_copy(update={"gc_policy": True}),
                        database=Database(database_url))
    try:
        async with served.router.lifespan_context(served):
            assert gcpolicy.policy().installed
            assert gc.get_freeze_count() > 0  # start-up's objects
    finally:
        gcpolicy.uninstall()
