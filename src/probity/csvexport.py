"""CSV exports for auditors: one writer, every cell guarded against formula injection."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

# What a spreadsheet may take as the start of a formula: the ASCII signs, and their full-width
# forms (＝＋－＠), which a Chinese input method types and spreadsheets in zh-CN also evaluate.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def cell(value: object) -> str:
    """A cell as text; one a spreadsheet would run as a formula is prefixed with a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in _FORMULA_START else text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """UTF-8 with a byte-order mark, so Excel on Chinese Windows reads it as UTF-8."""
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows([cell(v) for v in row] for row in rows)
    return buf.getvalue()
