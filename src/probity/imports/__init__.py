"""The import framework (issue 14.5 data migration, issue 13.6 HR imports) and the tenant export.

A domain registers an import kind with :func:`register_kind` (see ``registry.py`` for a worked
example, and docs/ARCHITECTURE.md "Imports and exports"); the framework reads, maps, validates,
dry-runs, writes all-or-nothing, audits, ledgers and runs it as a job with progress.
"""

from probity.imports.engine import ImportContext, Plan
from probity.imports.registry import (
    IMPORT_MODULES,
    KINDS,
    Env,
    Field,
    ImportKind,
    Row,
    RowError,
    get_kind,
    load_kinds,
    parsers,
    register_kind,
)

__all__ = [
    "IMPORT_MODULES",
    "KINDS",
    "Env",
    "Field",
    "ImportContext",
    "ImportKind",
    "Plan",
    "Row",
    "RowError",
    "get_kind",
    "load_kinds",
    "parsers",
    "register_kind",
]
