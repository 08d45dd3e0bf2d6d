"""The column-wise check of a clean file (imports.engine._validate_columns with finance's column
parsers) gives exactly the row loop's rows; a file it cannot take whole goes to the row loop,
so row errors, blank lines, duplicates and defaults are the loop's. Property test over files
of valid, odd and invalid values of every finance kind."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from probity.finance.importer import IMPORT_FIELDS, ROW_TEXTS, SPECS, resolve_columns
from probity.imports.engine import validate_rows
from probity.imports.plan import Plan
from probity.imports.registry import Env

ENV = Env(tz=ZoneInfo("Asia/Shanghai"), now=datetime(2026, 12, 5, 12, 0, tzinfo=UTC))

_VALUES: dict[str, list[str]] = {
    "amount": ["59.00", "1", "0.5", " 12.30 ", "1,234.50", "¥8", "￥9.99", "0", "-1", "1.234",
               "abc", "NaN", "Infinity", "1e3", "999999999999.99", "1e12", "1_000", "0.00"],
    "currency": ["CNY", "cny", " usd", "RMB1", "EU", "", "ÄÖÜ"],
    "method": ["wechat_pay", "Alipay", " card ", "offline", "bitcoin", ""],
    "kind": ["refund", "compensation", "Refund", "other", "company", "employee", ""],
    "account_type": ["merchant_id", "bank_account", "x"],
    "active": ["true", "0", "YES", "maybe"],
    "status": ["paid", "completed", "created", "lost"],
    "time": ["2026-10-01 03:04:30", "2026-10-01T03:04:30Z", "2026-10-01", "2026/10/01 10:00",
             "2026-10-01T03:04:30+08:00", "1999-12-31 23:59", "2030-01-01", "yesterday",
             "2026-12-06 07:59:59", "2026-10-01 03:04:30.250"],
}


def _text_values(name: str) -> list[str]:
    return [f"{name[:2].upper()}-1", f"{name[:2].upper()}-2", " padded ", "x" * 41, "客户一",
            "", "a\x00b", "   "]


def _values_for(field: str) -> list[str]:
    if field.endswith(("_at",)):
        return _VALUES["time"]
    return _VALUES.get(field) or _text_values(field)


@st.composite
def _file(draw: Any) -> tuple[str, list[str], list[list[str]]]:
    kind = draw(st.sampled_from(sorted(SPECS)))
    spec = SPECS[kind]
    names = [f.name for f in spec.fields if f.required or draw(st.booleans())]
    clean = draw(st.booleans())
    rows = []
    for i in range(draw(st.integers(1, 8))):
        row = []
        for n in names:
            options = _values_for(n)
            if n == spec.key:
                row.append(f"K{i}" if clean or draw(st.booleans()) else "K0")
            else:
                row.append(options[0] if clean else draw(st.sampled_from(options)))
        if not clean and draw(st.integers(0, 9)) == 0:
            row = row[:-1] if draw(st.booleans()) else [*row, draw(st.sampled_from(["", "x"]))]
        if not clean and draw(st.integers(0, 9)) == 0:
            row = [""] * len(row)
        rows.append(row)
    return kind, names, rows


def _run(kind: str, names: list[str], rows: list[list[str]], fast: bool) -> tuple[Any, ...]:
    fields = IMPORT_FIELDS[kind]
    if not fast:
        fields = tuple(dataclasses.replace(f, column=None) for f in fields)
    plan = Plan(kind=kind, tenant_id=1)
    columns = resolve_columns(SPECS[kind], names, None)
    parsed = validate_rows(fields, (SPECS[kind].key,), columns, enumerate(rows, start=2), ENV,
                           plan, texts=ROW_TEXTS, keep_blank=())
    return ([(n, list(r.items())) for n, r in parsed], plan.rows, plan.errors,
            plan.error_count)


@settings(max_examples=400, deadline=None)
@given(_file())
def test_columns_give_the_row_loops_rows(case: tuple[str, list[str], list[list[str]]]) -> None:
    kind, names, rows = case
    assert _run(kind, names, rows, fast=True) == _run(kind, names, rows, fast=False)


def test_a_clean_file_takes_the_column_path() -> None:
    rows = [[f"P{i}", "", "C1", "59.00", "CNY", "alipay", "MCH-1", "2026-10-01 03:04:30"]
            for i in range(3)]
    names = ["payment_no", "order_no", "customer_no", "amount", "currency", "method",
             "payee_account", "paid_at"]
    rows = [[*r[:1], "O1", *r[2:]] for r in rows]
    calls: list[int] = []
    fields = tuple(dataclasses.replace(f, parse=lambda v, env: calls.append(1))
                   for f in IMPORT_FIELDS["payments"])
    plan = Plan(kind="payments", tenant_id=1)
    parsed = validate_rows(fields, ("payment_no",), resolve_columns(SPECS["payments"], names,
                                                                    None),
                           enumerate(rows, start=2), ENV, plan, texts=ROW_TEXTS, keep_blank=())
    assert not calls and len(parsed) == 3 and plan.rows == 3
    assert parsed[0][1]["paid_at"] == datetime(2026, 9, 30, 19, 4, 30, tzinfo=UTC)


def _csv_module(text: str) -> tuple[list[str], list[list[str]]] | str:
    """What the csv module reads from *text* (the reference for SplitRows)."""
    import csv
    import io

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
        return header, list(reader)
    except StopIteration:
        return "empty"
    except csv.Error:
        return "malformed"


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", " ", ",", "\n", "\r\n", "\r", '"', "x,y", "中",
                                 "\u2028", "\x0b", "\x1c", "\x85", ""]), max_size=20).map("".join))
def test_split_rows_read_what_the_csv_module_reads(text: str) -> None:
    """A CSV text without quotes or lone carriage returns is split at its lines and commas;
    the rows (and the columns, when every row has the header's width) are exactly the csv
    module's. Any other text is left to the csv module."""
    from probity.finance.importer import SplitRows

    split = SplitRows.of(text)
    want = _csv_module(text)
    if split is None:
        assert not text or '"' in text or "\r" in text.replace("\r\n", "\n")
        return
    assert isinstance(want, tuple)
    header, rows = want
    assert (split.header, list(split)) == (header, rows)
    for width in range(1, 4):
        cols = split.columns(width)
        if rows and all(len(r) == width for r in rows):
            assert cols is not None and [list(r) for r in zip(*cols, strict=True)] == rows
        else:
            assert cols is None


@settings(max_examples=300, deadline=None)
@given(_file())
def test_split_columns_give_the_row_loops_rows(case: tuple[str, list[str], list[list[str]]]
                                               ) -> None:
    """The payments path: a file split into columns (no rows built) and validated column by
    column gives the row loop's rows, or None (then the row loop decides)."""
    from probity.finance.importer import SplitRows
    from probity.imports.engine import validate_column_values

    kind, names, rows = case
    text = "\n".join(",".join(r) for r in [names, *rows]) + "\n"
    split = SplitRows.of(text)
    if split is None or any("\x00" in v for r in rows for v in r):
        return
    columns = resolve_columns(SPECS[kind], split.header, None)
    cols = split.columns(len(columns))
    if cols is None:
        return
    fast = validate_column_values(IMPORT_FIELDS[kind], (SPECS[kind].key,), columns,
                                  list(range(2, len(rows) + 2)), cols, ENV, 200_000)
    loop, n_rows, errors, _count = _run(kind, split.header, list(split), fast=False)
    if fast is not None:
        assert not errors and n_rows == len(fast)
        assert [(n, list(r.items())) for n, r in fast.rows()] == loop
        assert [(n, list(r.items())) for n, r in fast.rows(2)] == loop[:2]
