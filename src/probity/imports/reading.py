"""Reading an uploaded file into a header row and data rows: CSV, XLSX or JSON Lines.

Text files are decoded strictly — never with replacement characters, so a wrong guess can never
become stored mojibake:

* a byte-order mark decides (UTF-8, UTF-16 LE/BE);
* else strict UTF-8;
* else strict GB18030 (a superset of GBK and GB2312, what Excel on a Chinese Windows writes), but
  only when the decoded text looks like Chinese (most non-ASCII characters are CJK ideographs or
  CJK punctuation); a Latin-1 or Shift-JIS file that happens to decode is refused;
* a file that is UTF-8 on some lines and not on others (two exports pasted together) is refused
  naming the first bad line.

Every refusal is an ``InvalidInput`` (422) naming the encoding problem in both languages. A
caller may also name the encoding (``encoding=``): then only that one is tried.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from probity.errors import InvalidInput
from probity.i18n import Msgid

__all__ = ["ENCODINGS", "Table", "decode_text", "read_jsonl_lines", "read_table"]

# Names a caller may give, and the codec used for each.
ENCODINGS = {"utf-8": "utf-8-sig", "utf-8-sig": "utf-8-sig", "gbk": "gb18030",
             "gb2312": "gb18030", "gb18030": "gb18030", "utf-16": "utf-16"}
MAX_COLUMNS = 200


@dataclass
class Table:
    headers: list[str]
    rows: Iterator[tuple[int, list[Any]]]  # (row number as the user counts it, values)
    encoding: str | None  # None for XLSX
    fmt: str  # csv | xlsx | jsonl


def _bad_encoding(message: str, template: Msgid, **params: object) -> InvalidInput:
    return InvalidInput(message, code="bad_encoding", template=template, params=params,
                        **{k: v for k, v in params.items() if k != "detail"})


def _chinese_share(text: str) -> float:
    wide = [c for c in text if ord(c) > 0x7F]
    if not wide:
        return 1.0
    cjk = sum(1 for c in wide if 0x4E00 <= ord(c) <= 0x9FFF or 0x3400 <= ord(c) <= 0x4DBF
              or 0x3000 <= ord(c) <= 0x303F or 0xFF00 <= ord(c) <= 0xFFEF
              or 0x2000 <= ord(c) <= 0x206F or ord(c) in (0xB7, 0xD7, 0xF7))
    return cjk / len(wide)


def _first_bad_utf8_line(data: bytes) -> tuple[int, bool]:
    """(first line that is not UTF-8, whether some other line has valid multi-byte UTF-8)."""
    first, utf8_elsewhere = 0, False
    for n, line in enumerate(data.split(b"\n"), start=1):
        try:
            line.decode("utf-8")
            if any(b > 0x7F for b in line):
                utf8_elsewhere = True
        except UnicodeDecodeError:
            if not first:
                first = n
    return first, utf8_elsewhere


def decode_text(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """(text, encoding name) — strict; refuses what it cannot decode faithfully."""
    if encoding:
        codec = ENCODINGS.get(encoding.strip().lower())
        if codec is None:
            raise InvalidInput(f"unknown encoding {encoding!r}: use one of "
                               f"{', '.join(sorted(ENCODINGS))}", code="bad_encoding",
                               template="Unknown encoding {encoding}: use UTF-8, GBK or "
                                        "GB18030", params={"encoding": encoding})
        try:
            return data.decode(codec), encoding.strip().lower()
        except UnicodeDecodeError as exc:
            raise _bad_encoding(
                f"the file is not valid {encoding} (byte {exc.start})",
                "The file is not valid {encoding}: the bytes at position {position} do not "
                "decode. Check the encoding the file was saved in.",
                encoding=encoding, position=exc.start) from None
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise _bad_encoding(
                f"the file starts with a UTF-8 byte-order mark but is not UTF-8 (byte "
                f"{exc.start + 3})",
                "The file starts with a UTF-8 mark but is not valid UTF-8 at byte "
                "{position}: it mixes encodings. Save it again as UTF-8.",
                position=exc.start + 3) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise _bad_encoding("the file starts with a UTF-16 mark but is not UTF-16",
                                "The file starts with a UTF-16 mark but is not valid UTF-16. "
                                "Save it again as UTF-8.") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    bad_line, utf8_elsewhere = _first_bad_utf8_line(data)
    if utf8_elsewhere:
        raise _bad_encoding(
            f"the file mixes encodings: line {bad_line} is not UTF-8 while other lines are",
            "The file mixes encodings: line {line} is not UTF-8 while other lines are. Save "
            "the whole file again as UTF-8.", line=bad_line)
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise _bad_encoding(
            f"the file is neither UTF-8 nor GBK/GB18030 (line {bad_line})",
            "The file is neither UTF-8 nor GBK/GB18030 (line {line} cannot be read). Save it "
            "as UTF-8 (in Excel: CSV UTF-8).", line=bad_line) from None
    if _chinese_share(text) < 0.8:
        raise _bad_encoding(
            "the file is not UTF-8, and read as GBK/GB18030 it would not be Chinese text: its "
            "encoding is unknown",
            "The file is not UTF-8, and read as GBK/GB18030 its text would be garbled: the "
            "encoding is unknown. Save it as UTF-8 (in Excel: CSV UTF-8) or name the encoding.")
    return text, "gb18030"


def _clean_headers(headers: list[Any]) -> list[str]:
    out = ["" if h is None else str(h).strip().lstrip("\ufeff") for h in headers]
    if len(out) > MAX_COLUMNS:
        raise InvalidInput(f"more than {MAX_COLUMNS} columns", code="malformed_file",
                           template="The file has more than {limit} columns.",
                           params={"limit": MAX_COLUMNS})
    return out


def _read_csv(data: bytes, encoding: str | None) -> Table:
    text, enc = decode_text(data, encoding)
    if "\x00" in text:
        raise InvalidInput("the file is not a text CSV (NUL bytes)", code="malformed_file",
                           template="The file is not a text file (it contains NUL bytes).")
    sample = text[:4096]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        headers = next(reader)
    except StopIteration:
        raise InvalidInput("the file is empty", code="empty_file",
                           template="The file is empty.") from None
    except csv.Error as exc:
        raise InvalidInput(f"malformed CSV: {exc}", code="malformed_file",
                           template="The CSV file is malformed: {detail}",
                           params={"detail": str(exc)}) from None

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for values in reader:
                yield reader.line_num, list(values)
        except csv.Error as exc:
            raise InvalidInput(f"malformed CSV at line {reader.line_num}: {exc}",
                               code="malformed_file",
                               template="The CSV file is malformed at line {line}: {detail}",
                               params={"line": reader.line_num, "detail": str(exc)}) from None
    return Table(_clean_headers(headers), rows(), enc, "csv")


def _read_xlsx(data: bytes) -> Table:
    from openpyxl import load_workbook

    def broken(exc: Exception) -> InvalidInput:
        return InvalidInput(f"not a readable XLSX workbook ({exc.__class__.__name__})",
                            code="malformed_file",
                            template="The file is not a readable XLSX workbook.")

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        it = wb.worksheets[0].iter_rows(values_only=True)
        headers = next(it)
    except StopIteration:
        raise InvalidInput("the workbook is empty", code="empty_file",
                           template="The file is empty.") from None
    except Exception as exc:  # zip/xml errors of every kind: not a workbook
        raise broken(exc) from None

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for n, row in enumerate(it, start=2):
                yield n, ["" if v is None else v for v in row]
        except Exception as exc:  # a damaged sheet, or XML entities (defusedxml)
            raise broken(exc) from None
    return Table(_clean_headers(list(headers)), rows(), None, "xlsx")


def _read_jsonl(data: bytes, encoding: str | None) -> Table:
    text, enc = decode_text(data, encoding)
    records: list[tuple[int, dict[str, Any]]] = []
    headers: dict[str, None] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        obj = _jsonl_object(line, n)
        for k in obj:
            headers.setdefault(str(k))
        records.append((n, obj))
    if not records:
        raise InvalidInput("the file is empty", code="empty_file", template="The file is empty.")
    cols = _clean_headers(list(headers))

    def rows() -> Iterator[tuple[int, list[Any]]]:
        for n, obj in records:
            yield n, ["" if obj.get(c) is None else obj.get(c) for c in cols]
    return Table(cols, rows(), enc, "jsonl")


def _jsonl_object(line: bytes | str, n: int) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise InvalidInput(f"line {n} is not JSON: {exc}", code="malformed_file",
                           template="Line {line} is not valid JSON.",
                           params={"line": n}) from None
    if not isinstance(obj, dict):
        raise InvalidInput(f"line {n} is not a JSON object", code="malformed_file",
                           template="Line {line} is not a JSON object.", params={"line": n})
    return obj


def read_jsonl_lines(lines: Iterator[bytes]) -> Table:
    """JSON Lines (UTF-8) read as the rows are consumed, for files too large to hold — a
    package's members. The first object's keys are the columns (the export writes every key
    on every line); a later line with another key is refused, naming the line."""
    numbered = ((n, line) for n, line in enumerate(lines, start=1) if line.strip())
    first = next(numbered, None)
    if first is None:
        raise InvalidInput("the file is empty", code="empty_file", template="The file is empty.")

    def decoded(n: int, line: bytes) -> dict[str, Any]:
        try:
            text = line.decode("utf-8-sig" if n == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise _bad_encoding(
                f"line {n} is not valid UTF-8 (byte {exc.start})",
                "The file is not valid {encoding}: the bytes at position {position} do not "
                "decode. Check the encoding the file was saved in.",
                encoding="UTF-8", position=exc.start) from None
        return _jsonl_object(text, n)

    head = decoded(*first)
    cols = _clean_headers(list(head))
    known = set(head)

    def rows() -> Iterator[tuple[int, list[Any]]]:
        n, obj = first[0], head
        while True:
            extra = [k for k in obj if k not in known]
            if extra:
                raise InvalidInput(
                    f"line {n} has a field the first line has not: {extra[0]}",
                    code="malformed_file", template="Line {line} has a field the first line "
                    "has not: {field}.", params={"line": n, "field": str(extra[0])[:40]})
            yield n, ["" if obj.get(c) is None else obj.get(c) for c in cols]
            nxt = next(numbered, None)
            if nxt is None:
                return
            n, obj = nxt[0], decoded(*nxt)
    return Table(cols, rows(), "utf-8", "jsonl")


def read_table(data: bytes, filename: str, encoding: str | None = None) -> Table:
    """Headers and rows of a CSV, XLSX or JSON Lines file (by name, else by content)."""
    name = (filename or "").lower()
    if not data:
        raise InvalidInput("the file is empty", code="empty_file", template="The file is empty.")
    if name.endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04":
        return _read_xlsx(data)
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return _read_jsonl(data, encoding)
    if name.endswith((".csv", ".txt", ".tsv")) or "." not in name:
        return _read_csv(data, encoding)
    raise InvalidInput(f"unsupported file type {filename!r}: use .csv, .xlsx or .jsonl",
                       code="unsupported_file",
                       template="Unsupported file type {name}: use CSV, XLSX or JSONL.",
                       params={"name": filename})
