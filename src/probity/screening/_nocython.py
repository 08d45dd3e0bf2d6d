"""What the screening modules use of Cython's pure-Python mode (``import cython``) where
Cython is not installed: ``compiled`` False and the class decorators as no-ops. Cython
compiles the modules with its own ``cython`` (setup.py), which makes ``@cython.freelist(n)``
and ``@cython.cclass`` on a class that the module's .pxd declares a C type keep up to ``n``
freed objects for reuse (no allocator call per message object); interpreted, the class is
unchanged."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

_T = TypeVar("_T")


class _Shadow:
    compiled = False

    @staticmethod
    def freelist(n: int) -> Callable[[_T], _T]:
        return lambda cls: cls

    @staticmethod
    def cclass(cls: _T) -> _T:
        return cls


cython = _Shadow()
