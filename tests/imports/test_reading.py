"""Reading import files: encodings are detected or refused with a clear 422, never garbled."""

from __future__ import annotations

import io

import pytest

from probity.errors import InvalidInput
from probity.imports.reading import decode_text, read_table

CSV = "工号,姓名,入职日期\nE001,张三,2024-01-02\nE002,李四,2024-03-04\n"


def rows(data: bytes, name: str = "f.csv", encoding: str | None = None) -> list[list[str]]:
    table = read_table(data, name, encoding)
    return [table.headers, *[r for _n, r in table.rows]]


@pytest.mark.parametrize("encoded, expected", [
    (CSV.encode("utf-8"), "utf-8"),
    (b"\xef\xbb\xbf" + CSV.encode("utf-8"), "utf-8-sig"),
    (CSV.encode("gbk"), "gb18030"),
    (CSV.encode("gb18030"), "gb18030"),
    (CSV.encode("utf-16"), "utf-16"),
])
def test_encodings_are_detected(encoded: bytes, expected: str) -> None:
    table = read_table(encoded, "staff.csv")
    assert table.encoding == expected
    assert table.headers == ["工号", "姓名", "入职日期"]
    assert [r for _n, r in table.rows][1] == ["E002", "李四", "2024-03-04"]


def test_gbk_file_decodes_to_the_same_text() -> None:
    text, enc = decode_text(CSV.encode("gbk"))
    assert text == CSV and enc == "gb18030"


def test_a_file_that_mixes_encodings_is_refused_naming_the_line() -> None:
    data = CSV.encode("utf-8") + "E003,王五,2024-05-06\n".encode("gbk")
    with pytest.raises(InvalidInput) as exc:
        read_table(data, "mixed.csv")
    assert exc.value.code == "bad_encoding"
    assert "line 4" in exc.value.message
    assert exc.value.params["line"] == 4


def test_a_non_chinese_legacy_encoding_is_refused_not_garbled() -> None:
    data = "name,city\nJosé,Düsseldorf\nRené,Besançon\n".encode("latin-1")
    with pytest.raises(InvalidInput) as exc:
        read_table(data, "people.csv")
    assert exc.value.code == "bad_encoding"
    assert "GBK" in exc.value.message


def test_a_named_encoding_that_does_not_fit_is_refused() -> None:
    with pytest.raises(InvalidInput) as exc:
        read_table(CSV.encode("gbk"), "staff.csv", "utf-8")
    assert exc.value.code == "bad_encoding" and "utf-8" in exc.value.message
    assert rows(CSV.encode("gbk"), encoding="gbk")[1] == ["E001", "张三", "2024-01-02"]


def test_jsonl_and_malformed_jsonl() -> None:
    data = '{"工号": "E001", "姓名": "张三"}\n\n{"工号": "E002", "姓名": "李四", "x": 1}\n'
    table = read_table(data.encode(), "staff.jsonl")
    assert table.headers == ["工号", "姓名", "x"]
    assert [(n, r) for n, r in table.rows] == [(1, ["E001", "张三", ""]),
                                               (3, ["E002", "李四", 1])]
    with pytest.raises(InvalidInput) as exc:
        read_table(b'{"a": 1}\n{"a": \n', "bad.jsonl")
    assert exc.value.code == "malformed_file" and exc.value.params["line"] == 2
    with pytest.raises(InvalidInput):
        read_table(b"[1, 2]\n", "bad.jsonl")


def test_xlsx_and_damaged_files() -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["工号", "姓名"])
    ws.append(["E001", "张三"])
    buf = io.BytesIO()
    wb.save(buf)
    assert rows(buf.getvalue(), "staff.xlsx") == [["工号", "姓名"], ["E001", "张三"]]
    with pytest.raises(InvalidInput) as exc:
        read_table(b"PK\x03\x04 not a zip", "x.xlsx")
    assert exc.value.code == "malformed_file"
    with pytest.raises(InvalidInput) as exc:
        read_table(b"a,b\n1,2\n", "x.pdf")
    assert exc.value.code == "unsupported_file"
    with pytest.raises(InvalidInput) as exc:
        read_table(b'a,b\n"1,2\n', "x.csv").rows.__next__()
    assert exc.value.code == "malformed_file"


async def test_a_nul_character_is_a_row_error(db: object) -> None:
    from sqlalchemy.ext.asyncio import AsyncSession

    from probity.imports.engine import plan_import

    from .helpers import tenant_id

    assert isinstance(db, AsyncSession)
    data = b'{"code": "NUL-1", "title": "bad\\u0000title", "grade": "P1"}\n'
    ctx = await plan_import(db, "positions", await tenant_id(db, "ECOM"),
                            read_table(data, "p.jsonl"))
    assert ctx.plan.errors[0]["column"] == "title"
    assert ctx.plan.errors[0]["error_zh"] == "含有 NUL 字符。"
