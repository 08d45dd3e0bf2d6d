"""Optional compiled screening hot paths (Cython, pure-Python mode).

The listed modules of ``probity.screening`` are compiled from their own ``.py`` sources when
Cython is installed (it is in the lock files; ``make install`` builds them). The sources stay
the fallback: without Cython or a C compiler the package installs and runs as pure Python
(``optional=True``), and ``PROBITY_SCREENING_PURE=1`` makes a process ignore the compiled
modules (tests/screening/test_screening_compiled.py runs the pinned decisions both ways).
``PROBITY_NO_COMPILE=1`` at install time skips the build.

The C compiles leave out debug information (``-g0``; Python's own flags say ``-g -O3``), and
Cython's translation and the C compiles run on every core: a fresh build took 74 s here
instead of 182 s (gcc's CPU time 114 s instead of 144 s; the rest is the two cores).
"""

from __future__ import annotations

import os

from setuptools import Extension, setup

COMPILED = ("engine", "normalize", "numbers", "intent", "learned", "scope", "result")
CORES = os.cpu_count() or 1


def _extension(name: str, source: str, **kwargs: list[str]) -> Extension:
    return Extension(name, [source], optional=True, extra_compile_args=["-g0"], **kwargs)


ext_modules: list[Extension] = []
if os.environ.get("PROBITY_NO_COMPILE") != "1":
    try:
        from Cython.Build import cythonize
    except ImportError:
        cythonize = None
    if cythonize is not None:
        ext_modules = cythonize(
            [_extension(f"probity.screening.{m}", f"src/probity/screening/{m}.py")
             for m in COMPILED]
            # The policy's key scans (probity.screening.policy._automaton; ahocorasick-rs
            # where it is not built).
            + [_extension("probity.screening._ac", "src/probity/screening/_ac.pyx"),
               # The learned layer's feature scan over that automaton (intent; key_set
               # where it is not built).
               _extension("probity.screening._features", "src/probity/screening/_features.pyx")]
            # UTC datetime texts for bulk imports (probity.utctext; pure-Python fallback).
            + [_extension("probity._utctext", "src/probity/_utctext.pyx"),
               # Bulk SHA-256 leaf/node hashes (probity.ledger.merkle.COMPILED_SHA256) with
               # the libcrypto that hashlib uses (no headers needed; not linked: skipped).
               _extension("probity.ledger._sha256", "src/probity/ledger/_sha256.pyx",
                          extra_link_args=["-l:libcrypto.so.3"])],
            compiler_directives={"language_level": "3", "binding": True},
            build_dir="build/cython",
            quiet=True,
            nthreads=CORES,
        )

setup(ext_modules=ext_modules, options={"build_ext": {"parallel": CORES}})
