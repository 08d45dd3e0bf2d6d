"""Every message the import framework can show — row errors, refusals, kind titles, field
names, audit actions — has Chinese and English (the importer speaks both in every row error)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from probity.i18n import catalog
from probity.imports.registry import IMPORT_MODULES, load_kinds

SRC = Path(__file__).resolve().parents[2] / "src" / "probity" / "imports"
AUDIT = ("import.run", "import.template", "import.template_deleted", "import.package",
         "export.requested", "export.built", "export.downloaded")


def code_msgids() -> set[str]:
    """English msgids in the framework's code: template=/title= arguments, RowError(...),
    plan.error(row, column, msgid, …), the row loop's ``RowTexts`` defaults and the reading
    module's refusal helpers."""
    ids: set[str] = set()
    # The framework, and the kinds other domains register from their own folders.
    outside = [SRC.parents[1] / (m.replace(".", "/") + ".py") for m in IMPORT_MODULES
               if not m.startswith("probity.imports.")]
    for path in [*SRC.rglob("*.py"), *outside]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name == "RowTexts":  # the loop's own
                ids |= {str(a.value.value) for a in node.body if isinstance(a, ast.AnnAssign)
                        and isinstance(a.value, ast.Constant)}
            if not isinstance(node, ast.Call):
                continue
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
            for kw in node.keywords:
                if kw.arg in ("template", "title") and isinstance(kw.value, ast.Constant):
                    ids.add(str(kw.value.value))
            position = {"RowError": 0, "error": 2, "_bad_encoding": 1, "_bad": 1}.get(name)
            if position is not None and len(node.args) > position and isinstance(
                    node.args[position], ast.Constant):
                ids.add(str(node.args[position].value))
    return ids


def test_the_extraction_finds_the_messages() -> None:
    ids = code_msgids()
    assert "Required." in ids and "Unknown org unit {code}." in ids and len(ids) > 60


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_import_message_is_translated(locale: str) -> None:
    table = catalog(locale)
    wanted = code_msgids() - {"{detail}"}  # another domain's own text, passed through
    kinds = load_kinds().values()
    wanted |= {k.title for k in kinds}
    wanted |= {f"field.{f.name}" for k in kinds for f in k.fields}
    wanted |= {f"audit_action.{a}" for a in AUDIT}
    missing = sorted(m for m in wanted if not table.get(m))
    assert not missing, missing
    if locale == "zh_CN":
        untranslated = sorted(m for m in wanted if table[m] == m)
        assert not untranslated, untranslated
