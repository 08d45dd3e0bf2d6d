"""Optional compiled helpers outside the screening package (setup.py builds them from ``.pyx``
sources where Cython and a C compiler are present): :func:`load` gives the module, or None —
not built, ``PROBITY_PURE_HELPERS=1`` (every process that sets it runs the pure-Python
paths, as a machine without a C compiler does), or older than its source (an edit or checkout
since the last ``make install``). Callers keep a pure-Python path giving the same results."""

from __future__ import annotations

import importlib
import logging
import os
from typing import Any


def load(name: str) -> Any:
    """The compiled module *name* (e.g. ``probity._utctext``), built from the ``.pyx`` of the
    same name beside it, or None."""
    if os.environ.get("PROBITY_PURE_HELPERS") == "1":
        return None
    try:
        module = importlib.import_module(name)
    except ImportError:
        return None
    built = str(getattr(module, "__file__", "") or "")
    source = os.path.join(os.path.dirname(built), name.rpartition(".")[2] + ".pyx")
    try:
        stale = os.stat(source).st_mtime > os.stat(built).st_mtime
    except OSError:
        stale = False
    if stale:
        logging.getLogger(__name__).warning(
            "%s is older than its source; using the pure-Python path (`make install` "
            "rebuilds it)", name)
        return None
    return module
