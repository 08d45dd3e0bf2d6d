"""Bulk INSERT of many plain rows in the session's transaction, at close to the driver's speed.

``session.execute(insert(Model), rows)`` takes the ORM's bulk path (a unit-of-work pass over
every row) and then SQLAlchemy's per-row parameter processing; for 100,000 imported payments
that cost several times the INSERT itself. Here:

* the parameters are converted once per column with the column type's own bind processor
  (the same conversion SQLAlchemy applies: UTC datetimes, enums, decimals), into tuples;
* on SQLite the tuples go to the aiosqlite connection's ``executemany`` in one hop, inside the
  transaction SQLAlchemy began (statement listeners are told, as for a Core statement);
* elsewhere (PostgreSQL) a Core ``insert(table)`` executemany, which psycopg sends as a batch.

Rows must all have the same keys. A column left out of the rows that has a Python-side default
makes this fall back to the Core statement (which fills the default in).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, any_, bindparam, func, insert, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from probity.db import only_own_listeners, take_write_gate

__all__ = ["driver_error", "in_values", "insert_rows", "tell_listeners"]


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
        keys = func.json_each(bindparam(None, json.dumps(items), unique=True)).table_valued(
            "value")
        found: ColumnElement[bool] = column.in_(select(keys.c.value))
    elif dialect == "postgresql":
        found = column == any_(bindparam(None, items, unique=True,
                                         type_=postgresql.ARRAY(column.type)))
    else:
        found = column.in_(items)
    return found


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


async def insert_rows(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]],
                      *, chunk: int = 10_000) -> None:
    """INSERT *rows* (dicts with the same keys) into *table*; flush-free, never commits."""
    if not rows:
        return
    keys = list(rows[0])
    conn = await session.connection()
    if conn.dialect.driver != "aiosqlite" or _needs_core(table, keys):
        for i in range(0, len(rows), chunk):
            part = list(rows[i:i + chunk])
            await conn.execute(insert(table), part[0] if len(part) == 1 else part)
        return
    dialect = conn.dialect
    processors = [table.c[k].type._cached_bind_processor(dialect) for k in keys]
    sql = (f"INSERT INTO {table.name} ({', '.join(keys)}) "
           f"VALUES ({', '.join('?' * len(keys))})")
    await take_write_gate(conn)
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection  # aiosqlite.Connection
    sync = conn.sync_connection
    dispatch = sync.dispatch if sync is not None else None
    for i in range(0, len(rows), chunk):
        params: list[tuple[Any, ...]] = []
        for row in rows[i:i + chunk]:
            values = [row[k] for k in keys]
            for j, proc in enumerate(processors):
                if proc is not None and values[j] is not None:
                    values[j] = proc(values[j])
            params.append(tuple(values))
        if dispatch is not None and dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(sync, None, sql, params, None, True)
        try:
            await driver.executemany(sql, params)
        except sqlite3.Error as exc:
            raise driver_error(exc, sql, params[:1]) from exc
        if dispatch is not None and dispatch.after_cursor_execute:
            dispatch.after_cursor_execute(sync, None, sql, params, None, True)
