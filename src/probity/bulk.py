"""Bulk INSERT of many plain rows in the session's transaction, at close to the driver's speed.

``session.execute(insert(Model), rows)`` takes the ORM's bulk path (a unit-of-work pass over
every row) and then SQLAlchemy's per-row parameter processing; for 100,000 imported payments
that cost several times the INSERT itself. Here:

* the parameters are converted once per column with the column type's own bind processor
  (the same conversion SQLAlchemy applies: UTC datetimes, enums, decimals), into tuples;
* on SQLite the tuples go to the aiosqlite connection's ``executemany`` in one hop, inside the
  transaction SQLAlchemy began (statement listeners are told, as for a Core statement);
* on PostgreSQL (psycopg) the tuples go through ``COPY … FROM STDIN`` on the session's
  connection, in its transaction;
* elsewhere a Core ``insert(table)`` executemany.

Rows must all have the same keys. A column left out of the rows that has a Python-side default
makes this fall back to the Core statement (which fills the default in).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from itertools import repeat
from operator import attrgetter, is_, itemgetter, methodcaller
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    any_,
    bindparam,
    func,
    insert,
    select,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy import types as sa_types
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from probity.db import only_own_listeners, take_write_gate
from probity.models.base import UTCDateTime
from probity.utctext import utc_texts as _compiled_utc_texts

_SQLITE_DATETIME_FORMAT = ("%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:"
                           "%(second)02d.%(microsecond)06d")

__all__ = ["driver_error", "fetch_tuples", "in_values", "insert_columns", "insert_rows",
           "tell_listeners", "utc_texts"]


def driver_error(exc: BaseException, statement: str, params: Any = None) -> sa_exc.DBAPIError:
    """A driver's own exception (sqlite3, psycopg) as the SQLAlchemy class SQLAlchemy would
    have raised for it, for the paths that call the driver directly (callers catch
    IntegrityError / OperationalError as usual)."""
    names = {c.__name__ for c in type(exc).__mro__}
    wrapper: type[sa_exc.DBAPIError] = (
        sa_exc.IntegrityError if "IntegrityError" in names
        else sa_exc.OperationalError if "OperationalError" in names else sa_exc.DatabaseError)
    return wrapper(statement, params, exc)


def in_values(dialect: str, column: Any, values: Iterable[str | int]) -> ColumnElement[bool]:
    """``column IN (values)`` with the values as ONE parameter, whatever their number: a JSON
    array read by ``json_each`` on SQLite, an array compared with ``= ANY`` on PostgreSQL —
    set-based look-ups of thousands of natural keys or ids without a statement of thousands of
    parameters (which SQLite parses, plans and binds one by one). Strings or integers only.
    Other dialects get a plain ``IN``."""
    items = list(values)
    if dialect == "sqlite":
        try:  # orjson: UTF-8 as is, ~10x json.dumps for 100,000 keys; json_each reads either
            text = orjson.dumps(items).decode()
        except (orjson.JSONEncodeError, UnicodeDecodeError):  # ints beyond 64 bits, surrogates
            text = json.dumps(items)
        keys = func.json_each(bindparam(None, text, unique=True)).table_valued(
            "value")
        found: ColumnElement[bool] = column.in_(select(keys.c.value))
    elif dialect == "postgresql":
        found = column == any_(bindparam(None, items, unique=True,
                                         type_=postgresql.ARRAY(column.type)))
    else:
        found = column.in_(items)
    return found


async def fetch_tuples(conn: AsyncConnection, query: Select[Any]) -> list[tuple[Any, ...]]:
    """The rows of a SELECT as plain tuples. On SQLite, a query whose columns need no result
    conversion (integers, text) and whose parameters need no bind conversion runs on the
    aiosqlite connection itself (statement listeners are told, as for a Core statement):
    100,000 rows come back without SQLAlchemy building a Row for each (~0.04 s). Otherwise
    through SQLAlchemy, each Row made a tuple."""
    dialect = conn.dialect
    if dialect.driver == "aiosqlite":
        compiled = query.compile(dialect=dialect)
        positions = compiled.positiontup
        binds = compiled.binds
        if (positions is not None
                and not any(b.expanding or b.literal_execute for b in binds.values())
                and not any(c.type._cached_result_processor(dialect, None)
                            for c in query.selected_columns)
                and not any(binds[k].type._cached_bind_processor(dialect)
                            for k in compiled.bind_names.values() if k in binds)):
            params = compiled.construct_params()
            args = tuple(params[k] for k in positions)
            sql = str(compiled)
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            sync = conn.sync_connection
            tell_listeners(sync, [(sql, args)])
            try:
                return list(await driver.execute_fetchall(sql, args))
            except sqlite3.Error as exc:
                raise driver_error(exc, sql, args) from exc
    return list(map(tuple, (await conn.execute(query)).all()))


def tell_listeners(sync: Connection | None, run: Iterable[tuple[str, Any]]) -> None:
    """Statement counters and tracers listen for cursor events: tell them what a direct driver
    call ran (``(sql, params)``; a list of params is an executemany)."""
    dispatch = sync.dispatch if sync is not None else None
    if dispatch is None or not (dispatch.before_cursor_execute
                                or dispatch.after_cursor_execute):
        return
    if sync is not None and only_own_listeners(sync):  # the engine's own: nothing to do here
        return
    for sql, params in run:
        many = isinstance(params, list)
        dispatch.before_cursor_execute(sync, None, sql, params, None, many)
        dispatch.after_cursor_execute(sync, None, sql, params, None, many)


def _needs_core(table: Table, keys: Sequence[str]) -> bool:
    given = set(keys)
    return any(c.name not in given and c.default is not None for c in table.columns)


def _sqlite_utc_text(proc: Any) -> Any:
    """SQLite's processor for a UTC datetime column (``UTCDateTime``: to UTC, naive, then the
    DATETIME text ``YYYY-MM-DD HH:MM:SS.ffffff``) with a C fast path for values already in
    UTC: ``isoformat`` writes the same text (tests/robustness/test_bulk_insert.py)."""
    def process(value: Any) -> Any:
        if type(value) is datetime and value.tzinfo is UTC:
            return value.isoformat(" ", "microseconds")[:-6]  # less "+00:00"
        return proc(value)
    return process


_utc_text = methodcaller("isoformat", " ", "microseconds")
_less_offset = itemgetter(slice(None, -6))  # "+00:00"


class _UTCText:
    """The SQLite UTC datetime processor (:func:`_sqlite_utc_text`) with a column form: a
    column of UTC datetimes written by C-level ``map`` calls."""

    def __init__(self, proc: Any) -> None:
        self.one = _sqlite_utc_text(proc)

    def __call__(self, value: Any) -> Any:
        return self.one(value)

    def column(self, values: list[Any]) -> list[Any]:
        if set(map(type, values)) == {datetime} and set(map(_tzinfo, values)) == {UTC}:
            return list(map(_less_offset, map(_utc_text, values)))
        return list(map(self.one, values))


class _EnumValues:
    """An enum column's processor, applied once per distinct member (a column holds few)."""

    def __init__(self, proc: Any) -> None:
        self.one = proc

    def __call__(self, value: Any) -> Any:
        return self.one(value)

    def column(self, values: list[Any]) -> list[Any]:
        try:
            done = {v: self.one(v) for v in set(values)}
        except TypeError:  # an unhashable value: the processor says what it makes of it
            return list(map(self.one, values))
        return list(map(done.__getitem__, values))


_tzinfo = attrgetter("tzinfo")
_NONE_TYPE = type(None)
_utc_text_with_offset = methodcaller("isoformat", " ", "microseconds")


def utc_texts(values: Sequence[Any]) -> list[str] | None:
    """A column of UTC datetimes (``datetime`` with tzinfo ``datetime.UTC``) as
    ``isoformat(" ", "microseconds")`` texts (``2026-09-30 16:00:30.000000+00:00``), else None:
    ONE formatting pass that a caller can cut other forms from — SQLite's stored text
    (:func:`insert_columns`' *formatted*) and the ISO-8601 form of a ledger leaf
    (``probity.finance.records.column_leaf_texts``) — instead of formatting each value per
    form (~0.07 s per 100,000 values and form). Compiled where built (:mod:`probity.utctext`:
    the same texts, ~0.01 s instead of ~0.15 s per 100,000 values)."""
    if _compiled_utc_texts is not None and type(values) is list:
        done = _compiled_utc_texts(values)
        if done is not None:
            return done
    if (not values or set(map(type, values)) != {datetime}
            or set(map(_tzinfo, values)) != {UTC}):
        return None
    return list(map(_utc_text_with_offset, values))


def _processor(col_type: Any, dialect: Any) -> Any:
    proc = col_type._cached_bind_processor(dialect)
    if proc is not None and dialect.name == "sqlite" and isinstance(col_type, UTCDateTime):
        impl = col_type.load_dialect_impl(dialect).dialect_impl(dialect)
        if getattr(impl, "_storage_format", None) == _SQLITE_DATETIME_FORMAT:
            return _UTCText(proc)
    if proc is not None and isinstance(col_type, sa_types.Enum):
        return _EnumValues(proc)
    return proc


async def insert_rows(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]],
                      *, chunk: int = 10_000) -> None:
    """INSERT *rows* (dicts with the same keys) into *table*; flush-free, never commits."""
    if not rows:
        return
    keys = list(rows[0])
    conn = await session.connection()
    if conn.dialect.driver not in ("aiosqlite", "psycopg") or _needs_core(table, keys):
        for i in range(0, len(rows), chunk):
            part = list(rows[i:i + chunk])
            await conn.execute(insert(table), part[0] if len(part) == 1 else part)
        return
    await _driver_insert(conn, table, keys, (
        [list(map(itemgetter(k), rows[i:i + chunk])) for k in keys]
        for i in range(0, len(rows), chunk)))


async def insert_columns(session: AsyncSession, table: Table, columns: dict[str, list[Any]],
                         *, chunk: int = 10_000,
                         formatted: dict[str, list[str]] | None = None) -> None:
    """:func:`insert_rows` of rows given column by column (``columns[key][i]``: row i's value
    of *key*; every list as long): no row dicts to build or take apart. *formatted*: for some
    UTC datetime columns, :func:`utc_texts` of their values, which SQLite's stored text is cut
    from instead of formatting the values again (other drivers ignore it)."""
    keys = list(columns)
    n = len(columns[keys[0]]) if keys else 0
    if n == 0:
        return
    if any(len(c) != n for c in columns.values()):
        raise ValueError("columns of different lengths")
    conn = await session.connection()
    if conn.dialect.driver not in ("aiosqlite", "psycopg") or _needs_core(table, keys):
        await insert_rows(session, table, [dict(zip(keys, row, strict=True)) for row in zip(
            *columns.values(), strict=True)], chunk=chunk)
        return
    texts = {k: v for k, v in (formatted or {}).items() if k in columns}
    if any(len(v) != n for v in texts.values()):
        raise ValueError("formatted columns of another length")
    await _driver_insert(conn, table, keys, (
        [c[i:i + chunk] for c in columns.values()] for i in range(0, n, chunk)),
        ({k: v[i:i + chunk] for k, v in texts.items()} for i in range(0, n, chunk))
        if texts else None)


async def _driver_insert(conn: Any, table: Table, keys: list[str],
                         batches: Iterable[list[list[Any]]],
                         formatted: Iterable[dict[str, list[str]]] | None = None) -> None:
    """Each batch (its columns, in *keys*' order) converted and sent to the driver; with
    *formatted*, each batch's :func:`utc_texts` of some of its columns."""
    driver_name = conn.dialect.driver
    dialect = conn.dialect
    processors = [_processor(table.c[k].type, dialect) for k in keys]
    texts = iter(formatted) if formatted is not None else None
    if driver_name == "psycopg":
        sql = f"COPY {table.name} ({', '.join(keys)}) FROM STDIN"
    else:
        sql = (f"INSERT INTO {table.name} ({', '.join(keys)}) "
               f"VALUES ({', '.join('?' * len(keys))})")
        await take_write_gate(conn)
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection  # aiosqlite.Connection, or psycopg's AsyncConnection
    sync = conn.sync_connection
    dispatch = sync.dispatch if sync is not None else None
    for batch in batches:
        procs = processors
        if texts is not None:  # SQLite's text of a UTC column: its utc_texts less "+00:00"
            cut = next(texts)
            batch, procs = list(batch), list(processors)
            for j, k in enumerate(keys):
                if k in cut and isinstance(procs[j], _UTCText):
                    batch[j] = list(map(_less_offset, cut[k]))
                    procs[j] = None
        params = _converted(batch, procs)
        if dispatch is not None and dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(sync, None, sql, params, None, True)
        if driver_name == "psycopg":
            await _copy(driver, sql, params)
        else:
            try:
                await driver.executemany(sql, params)
            except sqlite3.Error as exc:
                raise driver_error(exc, sql, params[:1]) from exc
        if dispatch is not None and dispatch.after_cursor_execute:
            dispatch.after_cursor_execute(sync, None, sql, params, None, True)


def _converted(batch: list[list[Any]], processors: list[Any]) -> list[tuple[Any, ...]]:
    """A batch's columns as parameter tuples: each column put through its processor with
    ``map`` (in C), or its column form, then zipped, instead of a Python loop over every
    value. A column holding one and the same object in every row (an import's ``created_at``)
    is converted once."""
    columns: list[Any] = []
    for values, proc in zip(batch, processors, strict=True):
        if proc is not None:
            n = len(values)
            first = values[0]
            # C-level checks: every value that same object; any value None (by type, not
            # by ==, which a Decimal answers through an isinstance check per value).
            if first is values[-1] and all(map(is_, values, repeat(first))):
                values = [None if first is None else proc(first)] * n
            elif _NONE_TYPE in set(map(type, values)):
                values = [None if v is None else proc(v) for v in values]
            else:
                values = proc.column(values) if hasattr(proc, "column") else list(map(proc,
                                                                                       values))
        columns.append(values)
    return list(zip(*columns, strict=True))


async def _copy(driver: Any, sql: str, params: list[tuple[Any, ...]]) -> None:
    """PostgreSQL: the rows through ``COPY … FROM STDIN`` on the session's own connection (in
    the transaction SQLAlchemy began there): psycopg adapts the values and streams them, with
    none of an INSERT's per-statement parsing and planning."""
    import psycopg

    try:
        async with driver.cursor() as cur, cur.copy(sql) as copy:
            for row in params:
                await copy.write_row(row)
    except psycopg.Error as exc:
        raise driver_error(exc, sql, params[:1]) from exc
