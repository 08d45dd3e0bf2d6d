"""Every payment and refund record goes into the tenant's ledger.

Refunds (and payments written one by one): one entry per record. Its payload is the record as
stored (amounts as strings, times as ISO-8601 UTC), so an evidence pack can prove a record by
its entry's inclusion proof. Payloads are purgeable (salted) because payee accounts and
customers are personal data.

Payments imported in bulk (format ``probity-record-batch/v1``, :mod:`probity.ledger.batch`):
ONE ``finance.payment_batch`` entry per import, committing through a Merkle root to one salted
leaf per payment — the leaf text is exactly the payload its per-record entry would have had.
The payment row keeps the batch entry's seq, its leaf index and its salt, so its leaf (and its
proof) can be re-derived from the row: :func:`leaf_of_row`.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from itertools import repeat
from operator import is_, itemgetter, methodcaller
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from probity.ledger.batch import SALT_KEY, leaf_hashes, leaf_text, new_salts
from probity.ledger.batches import append_record_batch, record_proofs
from probity.ledger.canonical import MAX_SAFE_INTEGER
from probity.ledger.chain import EntryRecord
from probity.ledger.service import append_entries
from probity.models.commerce import Payment
from probity.utctext import iso_texts as _compiled_iso_texts

LEDGERED_KINDS = {"payments": "finance.payment", "refunds": "finance.refund"}
BATCHED_KINDS = {"payments": "finance.payment_batch"}
# Not part of a record's payload: the database's own columns, and where its leaf sits.
_SKIP = {"id", "created_at", "ledger_seq", "ledger_index", "ledger_salt"}


def _value(v: Any) -> Any:
    if isinstance(v, Enum):
        return v.value
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, datetime | date):
        return v.isoformat()
    return v


def _identity(v: Any) -> Any:
    return v


# The conversion for each exact type met so far (the same result as _value): one dict lookup
# per value instead of a chain of isinstance checks (100,000 imported rows × 9 columns).
_CONVERTERS: dict[type, Any] = {str: _identity, int: _identity, bool: _identity,
                                Decimal: str, datetime: datetime.isoformat,
                                date: date.isoformat}


def _converter(kind: type) -> Any:
    conv = _CONVERTERS.get(kind)
    if conv is None:
        if issubclass(kind, Enum):
            conv = _value
        elif issubclass(kind, Decimal):
            conv = str
        elif issubclass(kind, datetime | date):
            conv = _value
        else:
            conv = _identity
        _CONVERTERS[kind] = conv
    return conv


def record_payload(row: Mapping[str, Any], action: str) -> dict[str, Any]:
    out: dict[str, Any] = {"action": action}
    for k, v in row.items():
        if v is not None and k not in _SKIP:
            out[k] = _converter(type(v))(v)
    return out


def record_payloads(records: Iterable[Mapping[str, Any]], action: str) -> list[dict[str, Any]]:
    """``[record_payload(r, action) for r in rows]``, converted column by column: each column's
    values through one converter (``map``, in C) when they share a type, instead of a type
    lookup per value. Rows with different keys take the per-row path."""
    rows = records if isinstance(records, Sequence) else list(records)
    if not rows:
        return []
    first = rows[0]
    width = len(first)
    if any(len(r) != width for r in rows):
        return [record_payload(r, action) for r in rows]
    keys = [k for k in first if k not in _SKIP]
    columns: list[list[Any]] = []
    try:
        for k in keys:
            values = [r[k] for r in rows]
            kinds = set(map(type, values))
            if len(kinds) == 1:
                conv = _converter(kinds.pop())
                if conv is not _identity:
                    values = list(map(conv, values))
            else:
                values = [None if v is None else _converter(type(v))(v) for v in values]
            columns.append(values)
    except KeyError:  # same number of keys, other names
        return [record_payload(r, action) for r in rows]
    names = ("action", *keys)
    out = [dict(zip(names, (action, *values), strict=True))
           for values in zip(*columns, strict=True)]
    drop = [k for k, c in zip(keys, columns, strict=True) if _has_none(c)]  # None: left out
    for d in out:
        for k in drop:
            if d[k] is None:
                del d[k]
    return out


async def ledger_records(session: AsyncSession, tenant_id: int, kind: str,
                         inserted: Iterable[Mapping[str, Any]],
                         updated: Iterable[Mapping[str, Any]] = ()) -> int:
    """Append one entry per payment or refund row (other kinds are not ledgered per record),
    in one bulk append."""
    entry_type = LEDGERED_KINDS.get(kind)
    if entry_type is None:
        return 0
    items = [(entry_type, p) for p in record_payloads(inserted, "insert")]
    items += [(entry_type, p) for p in record_payloads(updated, "update")]
    if items:
        await append_entries(session, tenant_id, items, purgeable=True)
    return len(items)


def _has_none(values: list[Any]) -> bool:
    """``None in values`` by type in C (``in`` compares with ``==``, which a Decimal answers
    through an isinstance check per value)."""
    return _NONE_TYPE in set(map(type, values))


def _same_object(values: list[Any]) -> bool:
    """Every value the very same object (an identity check in C, no ``==``)."""
    first = values[0]
    return first is values[-1] and all(map(is_, values, repeat(first)))


_NONE_TYPE = type(None)
_encode = json.encoder.encode_basestring  # the canonical encoder's string form (C)
# The characters that string form escapes ('"', '\\' and the C0 controls): a text without
# them is written as itself between quotes.
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\]')


def _json_column(values: list[Any]) -> tuple[list[Any], bool] | None:
    """A column of one exact type as ``(values, quoted)``: values whose ``str`` is the canonical
    JSON text of what :func:`record_payload` makes of them — between quotes when *quoted* —
    through C-level ``map`` calls; None for a column this cannot write exactly (mixed or
    unknown types, None, big ints) — the caller falls back."""
    kinds = set(map(type, values))
    if len(kinds) != 1:
        return None
    kind = kinds.pop()
    if kind is int:
        if min(values) < -MAX_SAFE_INTEGER or max(values) > MAX_SAFE_INTEGER:
            return None
        return values, False
    if kind is Decimal:  # str(Decimal) holds digits, sign, '.', 'E', 'N', 'a', 'I', … only
        return values, True
    if kind is datetime:
        return list(map(datetime.isoformat, values)), True
    if kind is date:
        return list(map(date.isoformat, values)), True
    if issubclass(kind, Enum):  # each member's value read once (a Python-level property)
        members = {m: m.value for m in set(values)}
        values = list(map(members.__getitem__, values))
        if set(map(type, values)) != {str}:
            return None
        kind = str
    if kind is str:
        if _NEEDS_ESCAPE.search("".join(values)) is None:
            return values, True
        return list(map(_encode, values)), False
    return None


def record_leaf_texts(rows: Sequence[Mapping[str, Any]], action: str, salts: Sequence[str]
                      ) -> list[str]:
    """``[leaf_text(record_payload(r, action), salt) …]`` built column by column (rows with
    the same keys): :func:`column_leaf_texts` over the rows' columns. Anything unusual (rows
    of different keys, keys that would sort before ``_salt``, non-ASCII keys, an unknown
    type) takes the per-record path. Pinned equal by a property test."""
    if not rows:
        return []
    if len(salts) != len(rows):
        raise ValueError("one salt per row")
    keys = [k for k in rows[0] if k not in _SKIP]
    width = len(rows[0])
    texts = None
    if all(len(r) == width for r in rows):
        try:
            texts = column_leaf_texts(keys, [list(map(itemgetter(k), rows)) for k in keys],
                                      action, salts)
        except KeyError:  # same number of keys, other names
            texts = None
    if texts is None:
        return [leaf_text(record_payload(r, action), s) for r, s in zip(rows, salts, strict=True)]
    return texts


_T_SEPARATOR = methodcaller("replace", " ", "T", 1)
_NO_ZERO_MICROSECONDS = methodcaller("replace", ".000000+", "+", 1)


def iso_from_utc_texts(texts: list[str]) -> list[str]:
    """``datetime.isoformat()`` of UTC datetimes from their ``probity.bulk.utc_texts``
    (``2026-09-30 16:00:30.000000+00:00`` → ``2026-09-30T16:00:30+00:00``; microseconds are
    written only when not zero, as ``isoformat`` does): two C-level replaces per value instead
    of formatting it again."""
    return list(map(_NO_ZERO_MICROSECONDS, map(_T_SEPARATOR, texts)))


def column_leaf_texts(keys: Sequence[str], columns: Sequence[list[Any]], action: str,
                      salts: Sequence[str], formatted: Mapping[str, list[str]] | None = None
                      ) -> list[str] | None:
    """The leaf texts of records given as columns (``keys[i]``'s values in ``columns[i]``), or
    None where this cannot write them exactly (the caller takes the per-record path). One
    ``%`` format per record — its keys, quotes and separators written once into the format,
    each column's values converted in C (:func:`_json_column`) — instead of a canonical
    encoder call per record. A column holding None leaves the key out where it is None, as
    the payload does. *formatted*: ``probity.bulk.utc_texts`` of some columns (UTC
    datetimes), their ISO-8601 forms cut from those texts."""
    if len(salts) != (len(columns[0]) if columns else len(salts)):
        raise ValueError("one salt per record")
    names = sorted([*keys, "action"])
    if (len(set(names)) != len(names) or not all(k.isascii() for k in names)
            or names[0] <= SALT_KEY):
        return None
    by_key = dict(zip(keys, columns, strict=True))
    fmt = ['{"' + SALT_KEY + '":"%s"']
    args: list[Any] = [salts]
    for key in names:
        prefix = ("," + _encode(key) + ":").replace("%", "%%")
        if key == "action":
            fmt.append(prefix + _encode(action).replace("%", "%%"))
            continue
        values = by_key[key]
        texts = formatted.get(key) if formatted else None
        if texts is not None and len(texts) == len(values):
            fmt.append(prefix + '"%s"')
            # Compiled where built (probity.utctext): the values' isoformat() in one pass.
            iso = _compiled_iso_texts(values) if _compiled_iso_texts is not None else None
            args.append(iso if iso is not None else iso_from_utc_texts(texts))
            continue
        if _has_none(values):
            present = [v for v in values if v is not None]
            done = _json_column(present) if present else ([], False)
            if done is None:
                return None
            encoded, quoted = done
            head = prefix + ('"' if quoted else "")
            tail = '"' if quoted else ""
            it = iter(encoded)
            fmt.append("%s")
            args.append([f"{head}{next(it)}{tail}" if v is not None else "" for v in values])
        elif values and _same_object(values):
            # One object in every record (the tenant, often the method): its text written
            # once into the format instead of a value per record.
            done = _json_column(values[:1])
            if done is None:
                return None
            (text,), quoted = done
            fmt.append(prefix + (f'"{text}"' if quoted else str(text)).replace("%", "%%"))
        else:
            done = _json_column(values)
            if done is None:
                return None
            encoded, quoted = done
            fmt.append(prefix + ('"%s"' if quoted else "%s"))
            args.append(encoded)
    fmt.append("}")
    return list(map("".join(fmt).__mod__, zip(*args, strict=True)))


async def ledger_batch(session: AsyncSession, tenant_id: int, kind: str,
                       inserted: list[dict[str, Any]]) -> bool:
    """For a kind imported in batches (payments): append the batch entry committing to the
    rows (not yet inserted) and give each row its ``ledger_seq``, ``ledger_index`` and
    ``ledger_salt``. False (nothing done) for other kinds or no rows."""
    entry_type = BATCHED_KINDS.get(kind)
    if entry_type is None or not inserted:
        return False
    salts = new_salts(len(inserted))
    # CPU work (a canonical JSON text and a SHA-256 per record): off the event loop.
    leaves = await asyncio.to_thread(
        lambda: leaf_hashes(record_leaf_texts(inserted, "insert", salts)))
    seq = await append_record_batch(session, tenant_id, entry_type, leaves)
    for index, (row, salt) in enumerate(zip(inserted, salts, strict=True)):
        row["ledger_seq"] = seq
        row["ledger_index"] = index
        row["ledger_salt"] = salt
    return True


async def ledger_batch_columns(session: AsyncSession, tenant_id: int, kind: str,
                               columns: dict[str, list[Any]],
                               formatted: Mapping[str, list[str]] | None = None) -> bool:
    """:func:`ledger_batch` of rows given column by column (``columns[key][i]``, rows not yet
    inserted): the same batch entry and leaves; the rows' ``ledger_seq``, ``ledger_index`` and
    ``ledger_salt`` are added as columns. *formatted*: ``probity.bulk.utc_texts`` of some
    (UTC datetime) columns, which their leaf forms are cut from."""
    entry_type = BATCHED_KINDS.get(kind)
    keys = [k for k in columns if k not in _SKIP]
    n = len(columns[keys[0]]) if keys else 0
    if entry_type is None or not n:
        return False
    salts = new_salts(n)

    def hashes() -> list[bytes]:
        texts = column_leaf_texts(keys, [columns[k] for k in keys], "insert", salts,
                                  formatted)
        if texts is None:  # a column this cannot write exactly: record by record
            rows = [dict(zip(keys, row, strict=True))
                    for row in zip(*(columns[k] for k in keys), strict=True)]
            texts = [leaf_text(record_payload(r, "insert"), s)
                     for r, s in zip(rows, salts, strict=True)]
        return leaf_hashes(texts)

    # CPU work (a canonical JSON text and a SHA-256 per record): off the event loop.
    leaves = await asyncio.to_thread(hashes)
    seq = await append_record_batch(session, tenant_id, entry_type, leaves)
    columns["ledger_seq"] = [seq] * n
    columns["ledger_index"] = list(range(n))
    columns["ledger_salt"] = salts
    return True


def leaf_of_row(row: Mapping[str, Any]) -> str | None:
    """The leaf text of a batched record re-derived from its stored row (a mapping of the
    table's columns); None once its salt was erased."""
    salt = row.get("ledger_salt")
    if salt is None:
        return None
    return leaf_text(record_payload(row, "insert"), str(salt))


async def payment_proofs(session: AsyncSession, tenant_id: int, payments: Sequence[Payment]
                         ) -> tuple[list[EntryRecord], list[dict[str, Any]]]:
    """For an evidence pack: the batch entries of the batched payments among *payments* and
    each one's record proof (its leaf re-derived from the row, its audit path in the batch)."""
    columns = [c.key for c in Payment.__table__.columns]
    records: list[tuple[int, int, str | None, str]] = []
    for p in payments:
        if p.ledger_seq is None or p.ledger_index is None:
            continue  # ledgered by its own finance.payment entry (or not at all)
        row = {k: getattr(p, k) for k in columns}
        records.append((p.ledger_seq, p.ledger_index, leaf_of_row(row), p.payment_no))
    return await record_proofs(session, tenant_id, records)
