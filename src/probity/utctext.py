"""Texts of columns of UTC datetimes: the compiled forms (``probity._utctext``, built from
``_utctext.pyx`` by setup.py where Cython and a C compiler are present) or None, which sends
the callers (``probity.bulk.utc_texts``, ``probity.finance.records.column_leaf_texts``) down
their pure-Python path — the same texts, byte for byte (tests/finance/test_time_texts.py runs
both). Not built, stale, or ``PROBITY_PURE_HELPERS=1``: None (:func:`probity.compiled.load`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from probity.compiled import load

_compiled = load("probity._utctext")

# ``[d.isoformat(" ", "microseconds") …]`` / ``[d.isoformat() …]`` of a non-empty list of
# exact ``datetime`` values with tzinfo ``datetime.UTC``, else None; None as a whole when not
# compiled.
utc_texts: Callable[[list[Any]], list[str] | None] | None = (
    _compiled.utc_texts if _compiled is not None else None)
iso_texts: Callable[[list[Any]], list[str] | None] | None = (
    _compiled.iso_texts if _compiled is not None else None)


def compiled() -> bool:
    """Does this process use the compiled texts?"""
    return _compiled is not None
