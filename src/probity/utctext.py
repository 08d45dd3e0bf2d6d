"""Texts of columns of UTC datetimes: the compiled forms (``probity._utctext``, built from
``_utctext.pyx`` by setup.py where Cython and a C compiler are present) or None, which sends
the callers (``probity.bulk.utc_texts``, ``probity.finance.records.column_leaf_texts``) down
their pure-Python path — the same texts, byte for byte (tests/finance/test_time_texts.py runs
both). ``PROBITY_UTCTEXT_PURE=1`` makes a process ignore the compiled module, as does a
compiled module older than its source (an edit or checkout since the last ``make install``).
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))


def _load() -> Any:
    if os.environ.get("PROBITY_UTCTEXT_PURE") == "1":
        return None
    try:
        module = importlib.import_module("probity._utctext")
    except ImportError:
        return None
    built = str(getattr(module, "__file__", "") or "")
    try:
        stale = os.stat(os.path.join(_HERE, "_utctext.pyx")).st_mtime > os.stat(built).st_mtime
    except OSError:
        stale = False
    if stale:
        logging.getLogger(__name__).warning(
            "probity._utctext is older than its source; using the pure-Python texts "
            "(`make install` rebuilds it)")
        return None
    return module


_compiled = _load()

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
