"""Compiled screening modules or their sources, chosen once per process (imported first by the
package). setup.py compiles the hot modules with Cython from these same ``.py`` files; the
sources are the fallback: no build (no C compiler), ``PROBITY_SCREENING_PURE=1``, or a compiled
module older than its source (an edit or checkout since the last ``make install``)."""

from __future__ import annotations

import logging
import os
import sys
from functools import cache
from importlib.machinery import (
    EXTENSION_SUFFIXES,
    SOURCE_SUFFIXES,
    FileFinder,
    SourceFileLoader,
)
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
_PACKAGE = __name__.rpartition(".")[0]


def _pure_python_only() -> None:
    """``PROBITY_SCREENING_PURE=1``: this package's submodules load from their ``.py``
    sources even where compiled ones (setup.py) sit beside them — the fallback, as a machine
    without a C compiler runs it. Other packages' extension modules are untouched."""
    here = os.path.abspath(_HERE)

    def hook(path: str) -> FileFinder:
        if os.path.abspath(path) != here:
            raise ImportError(path)
        return FileFinder(path, (SourceFileLoader, SOURCE_SUFFIXES))

    sys.path_hooks.insert(0, hook)
    for key in list(sys.path_importer_cache):
        if os.path.abspath(key) == here:
            del sys.path_importer_cache[key]


def _stale_compiled() -> bool:
    """A compiled module older than its source (``.py`` or ``.pyx``) or its ``.pxd`` (the C
    types setup.py compiles it with; an edit or a checkout since the last ``make install``)
    would run the old code: then the whole package runs from source."""
    here = _HERE
    for name in os.listdir(here):
        stem, dot, suffix = name.partition(".")
        if dot and "." + suffix in EXTENSION_SUFFIXES:
            built = os.stat(os.path.join(here, name)).st_mtime
            for source in (stem + ".py", stem + ".pxd", stem + ".pyx"):
                try:
                    if os.stat(os.path.join(here, source)).st_mtime > built:
                        return True
                except FileNotFoundError:
                    continue
    return False


PURE = False  # True: this process runs the package's pure-Python sources
if os.environ.get("PROBITY_SCREENING_PURE") == "1":
    _pure_python_only()
    PURE = True
elif _stale_compiled():
    _pure_python_only()
    PURE = True
    logging.getLogger(__name__).warning(
        "screening: compiled modules older than their sources; running the pure-Python "
        "code (`make install` rebuilds them)")


def compiled_modules() -> list[str]:
    """The submodules of this package that run compiled in this process (setup.py lists the
    candidates): empty on the pure-Python fallback."""
    return sorted(name.rsplit(".", 1)[1] for name, mod in list(sys.modules.items())
                  if name.startswith(_PACKAGE + ".")
                  and not str(getattr(mod, "__file__", "") or "").endswith(".py"))


@cache
def own_automaton() -> Any:
    """probity.screening._ac.Automaton (compiled, setup.py), or None where it is not built
    or the package runs its pure-Python path (``PURE``): the policy's key scans and the
    learned layer's feature scan use it, else ahocorasick-rs (the same matches,
    tests/screening/test_screening_automaton.py)."""
    if PURE:
        return None
    try:
        from probity.screening._ac import Automaton
    except ImportError:
        return None
    return Automaton
