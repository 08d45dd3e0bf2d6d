"""The database-backed ledger: append entries, sign checkpoints, serve proofs, verify a tenant.

Unlike the rest of :mod:`probity.ledger`, this module uses SQLAlchemy. Services flush, never
commit: the caller's transaction carries the entry together with the fact it records (a chat
message, an alert...), so either both are stored or neither is.

Appends are serialised per tenant: on PostgreSQL by a transaction-scoped advisory lock keyed by
the tenant id, on SQLite by the database write lock (one writer at a time). The unique
``(tenant_id, seq)`` constraint is the last line of defence either way.

Checkpoints: :func:`append_entry` signs a new checkpoint in the same transaction whenever the
tenant's latest one is older than :data:`CHECKPOINT_INTERVAL_S` (or missing), so a ledger that is
being written gets one at least once a minute; ``probity ledger checkpoint`` (cron) covers the
quiet tail after the last append.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    CompoundSelect,
    Select,
    String,
    Table,
    and_,
    insert,
    inspect,
    or_,
    select,
    text,
    union,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, aliased

from probity.bulk import driver_error, tell_listeners
from probity.config import PROJECT_ROOT, Settings, get_settings
from probity.db import take_write_gate
from probity.ledger import publish
from probity.ledger.chain import (
    GENESIS_HASH,
    EntryRecord,
    chain_texts,
    format_time,
)
from probity.ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    Keyring,
    generate_signing_key,
)
from probity.ledger.merkle import CompactRange, root_hash
from probity.ledger.merkle import consistency_proof as _consistency_proof
from probity.ledger.merkle import inclusion_proof as _inclusion_proof
from probity.ledger.refs import refs_of
from probity.ledger.verify import TenantVerification, verify_tenant
from probity.models.base import utcnow
from probity.models.chat import Message
from probity.models.ledger import LedgerCheckpoint, LedgerEntry, LedgerRef
from probity.models.org import Tenant

__all__ = [
    "CHECKPOINT_INTERVAL_S",
    "AppendedEntry",
    "ConsistencyProof",
    "InclusionProof",
    "TenantVerification",
    "append_entries",
    "append_entry",
    "consistency_proof",
    "default_keyring",
    "entries_about",
    "inclusion_proof",
    "keyring_from_settings",
    "latest_checkpoint",
    "list_checkpoints",
    "make_checkpoint",
    "maybe_checkpoint",
    "verify_tenant",
]

CHECKPOINT_INTERVAL_S = 60
DEV_KEY_PATH = PROJECT_ROOT / "var" / "ledger-dev-signing.key"
_LOCK_CLASS = 0x1ED6  # pg_advisory_xact_lock(class, tenant_id): "ledger append"

_ENTRY_COLUMNS = (
    LedgerEntry.seq,
    LedgerEntry.entry_time,
    LedgerEntry.type,
    LedgerEntry.tenant_code,
    LedgerEntry.payload_hash,
    LedgerEntry.prev_hash,
    LedgerEntry.entry_hash,
    LedgerEntry.payload,
)


# -- keys -------------------------------------------------------------------------------------


def _dev_signing_key(path: Path) -> str:
    """A development signing key kept under var/ (created once, mode 0600). Never logged."""
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_signing_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key


def keyring_from_settings(
    settings: Settings, retired_public_keys: Iterable[str] = (), dev_key_path: Path | None = None
) -> Keyring:
    """The signing keyring: ``PROBITY_LEDGER_SIGNING_KEY``, or (outside production) a development
    key generated under var/; plus the retired public keys, so old checkpoints keep verifying."""
    key = settings.ledger_signing_key
    if not key:
        if settings.env == "production":
            raise CheckpointError("PROBITY_LEDGER_SIGNING_KEY must be set in production")
        key = _dev_signing_key(dev_key_path or DEV_KEY_PATH)
    retired = [*retired_public_keys, *_retired_from_env()]
    return Keyring.from_config(key, retired)


def _retired_from_env() -> list[str]:
    raw = os.environ.get("PROBITY_LEDGER_RETIRED_PUBLIC_KEYS", "")
    return [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]


@lru_cache
def default_keyring() -> Keyring:
    return keyring_from_settings(get_settings())


# -- appending --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppendedEntry:
    """What an append wrote: the stored columns of one ``ledger_entries`` row (a plain value;
    the row itself is written with a Core INSERT, so there is no ORM object to hand back)."""

    tenant_id: int
    seq: int
    entry_time: str
    type: str
    tenant_code: str
    payload_hash: str
    prev_hash: str
    entry_hash: str
    payload: str | None


_HEADS = "probity.ledger.heads"
_CHECKPOINTS = "probity.ledger.checkpoints"
_CHECKPOINT_TIMES = "probity.ledger.checkpoint_times"


def _cached(session: AsyncSession, key: str, tenant_id: int) -> Any:
    """An entry or checkpoint this session wrote or read for the tenant in the *current*
    transaction (it holds the tenant's append lock, so nobody else can have appended since).
    Objects from a rolled-back savepoint are no longer persistent and are ignored."""
    entry = session.info.get(key)
    if not entry or entry[0] is not session.sync_session.get_transaction():
        return None
    obj = entry[1].get(tenant_id)
    if obj is None or not inspect(obj).persistent:
        return None
    return obj


def _remember(session: AsyncSession, key: str, tenant_id: int, obj: Any) -> None:
    tx = session.sync_session.get_transaction()
    entry = session.info.get(key)
    if not entry or entry[0] is not tx:
        entry = (tx, dict[int, Any]())
        session.info[key] = entry
    entry[1][tenant_id] = obj


def _tx_key(session: AsyncSession | Session) -> tuple[Any, Any]:
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    return sync.get_transaction(), sync.get_nested_transaction()


def _cached_head(session: AsyncSession | Session, tenant_id: int
                 ) -> tuple[int, str, str] | None:
    """The (seq, entry_hash, tenant_code) this session last appended for the tenant, if that was
    in the *current* transaction and savepoint (the head is written with Core INSERTs, so there
    is no persistent object to ask; a rolled-back or released savepoint simply misses)."""
    entry = session.info.get(_HEADS)
    if not entry or entry[0] != _tx_key(session):
        return None
    head: tuple[int, str, str] | None = entry[1].get(tenant_id)
    return head


def _remember_head(session: AsyncSession | Session, tenant_id: int,
                   head: tuple[int, str, str]) -> None:
    key = _tx_key(session)
    entry = session.info.get(_HEADS)
    if not entry or entry[0] != key:
        entry = (key, dict[int, tuple[int, str, str]]())
        session.info[_HEADS] = entry
    entry[1][tenant_id] = head


_ROW_KEYS = ("tenant_id", "seq", "entry_time", "type", "tenant_code", "payload_hash",
             "prev_hash", "entry_hash", "payload")
_REF_KEYS = ("tenant_id", "seq", "ref_type", "ref_id")
_TABLES: dict[str, tuple[Table, tuple[str, ...]]] = {
    "ledger_entries": (cast(Table, LedgerEntry.__table__), _ROW_KEYS),
    "ledger_refs": (cast(Table, LedgerRef.__table__), _REF_KEYS),
}


def row_dicts(table: str, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Rows from :func:`build_rows` as dicts, for a Core ``insert(table)`` executemany."""
    keys = _TABLES[table][1]
    return [dict(zip(keys, row, strict=True)) for row in rows]


def _sqlite_insert(table: str, keys: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(keys)}) VALUES ({', '.join('?' * len(keys))})"


async def _insert_rows(session: AsyncSession, rows: list[tuple[Any, ...]] | list[dict[str, Any]],
                       table: str = "ledger_entries") -> None:
    """INSERT the rows in the session's transaction: a Core statement on the session's
    connection, not an ORM flush (no unit of work, no identity map, no RETURNING).

    On SQLite the statement goes straight to the aiosqlite connection (inside the transaction
    SQLAlchemy began on it): one hop to the driver's thread instead of the adapter's three
    (cursor, execute, close). Those hops, not the hashing, bounded ``append_entry``: about
    2,900 → 5,000 appends per CPU-second in benchmarks/ledger.py. Errors are re-raised as the
    same SQLAlchemy exception classes the Core path raises."""
    if not rows:
        return
    target, keys = _TABLES[table]
    if isinstance(rows[0], dict):  # callers outside the ledger may pass dicts
        rows = [tuple(row[k] for k in keys) for row in rows]
    conn = await session.connection()
    if conn.dialect.name != "sqlite":
        dicts = row_dicts(table, rows)
        await conn.execute(insert(target), dicts[0] if len(dicts) == 1 else dicts)
        return
    sql = _sqlite_insert(table, keys)
    await take_write_gate(conn)
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection  # aiosqlite.Connection, or sqlite3's
    params = rows
    many = len(params) > 1
    # Statement counters and tracers listen for cursor events: tell them (no cursor, no
    # execution context exist on this path).
    dispatch = conn.sync_connection.dispatch if conn.sync_connection is not None else None
    if dispatch is not None and dispatch.before_cursor_execute:
        dispatch.before_cursor_execute(conn.sync_connection, None, sql,
                                       params if many else params[0], None, many)
    try:
        if isinstance(driver, sqlite3.Connection):  # synchronous (make_direct_engine)
            driver.executemany(sql, params)
        elif many:
            await driver.executemany(sql, params)
        else:
            await driver.execute(sql, params[0])
    except sqlite3.Error as exc:
        wrapper: type[sa_exc.DBAPIError] = sa_exc.DatabaseError
        if isinstance(exc, sqlite3.IntegrityError):
            wrapper = sa_exc.IntegrityError
        elif isinstance(exc, sqlite3.OperationalError):
            wrapper = sa_exc.OperationalError
        raise wrapper(sql, params, exc) from exc
    if dispatch is not None and dispatch.after_cursor_execute:
        dispatch.after_cursor_execute(conn.sync_connection, None, sql,
                                      params if many else params[0], None, many)


def build_rows(
    tenant_id: int,
    head: tuple[int, str, str],
    items: Iterable[tuple[str, Any]],
    *,
    purgeable: bool,
    bodies: Sequence[bytes | None] | None = None,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], tuple[int, str, str]]:
    """The ``ledger_entries`` rows and ``ledger_refs`` rows (tuples in the order of
    ``_ROW_KEYS`` / ``_REF_KEYS``) for *items* appended after *head* ``(next seq, prev hash,
    tenant code)``, and the new head (seq of the last row). Pure. ``bodies``: the payloads'
    canonical JSON where the caller made it (`chain.chain_texts`)."""
    seq, prev, tenant_code = head
    items = items if isinstance(items, list) else list(items)
    t = format_time(utcnow())
    # One loop for the chain (probity.ledger.chain.chain_texts: the same entries as
    # make_entries, in the rows' form), then the rows and the refs.
    texts = chain_texts(seq=seq, time=t, tenant=tenant_code, prev_hash=prev, items=items,
                        salt=purgeable, bodies=bodies)
    if not texts:
        return [], [], (seq - 1, prev, tenant_code)
    rows = [(tenant_id, s, t, ty, tenant_code, ph, pv, eh, body)
            for s, ty, ph, pv, eh, body in texts]
    refs = [(tenant_id, r[0], rt, rid)
            for r, (type_, payload) in zip(texts, items, strict=True)
            for rt, rid in refs_of(type_, payload)]
    last = texts[-1]
    return rows, refs, (last[0], last[4], tenant_code)


async def _lock_tenant(session: AsyncSession, tenant_id: int) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:cls, :tenant)"),
            {"cls": _LOCK_CLASS, "tenant": tenant_id},
        )


async def append_entry(
    session: AsyncSession,
    tenant_id: int,
    type: str,
    payload: Any,
    *,
    purgeable: bool = False,
    keyring: Keyring | None = None,
    checkpoint: bool = True,
) -> AppendedEntry:
    """Append one entry to the tenant's ledger and flush (never commit).

    *payload* is a JSON value (times as strings); ``purgeable=True`` salts it so its kept hash
    cannot be brute-forced after a retention purge. Unless ``checkpoint=False``, a signed
    checkpoint is added in the same transaction when the latest one is over a minute old.
    """
    (entry,) = await append_entries(
        session, tenant_id, [(type, payload)], purgeable=purgeable, keyring=keyring,
        checkpoint=checkpoint,
    )
    return entry


async def append_entries(
    session: AsyncSession,
    tenant_id: int,
    items: Iterable[tuple[str, Any]],
    *,
    purgeable: bool = False,
    keyring: Keyring | None = None,
    checkpoint: bool = True,
) -> list[AppendedEntry]:
    """Append several ``(type, payload)`` entries in order with a single INSERT (imports,
    back-fills): the same chain as repeated :func:`append_entry`. Returns the inserted rows'
    values (:class:`AppendedEntry`)."""
    conn = await session.connection()
    if conn.dialect.name == "sqlite":
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        if _can_hop(driver) or isinstance(driver, sqlite3.Connection):
            return await _append_sqlite(session, conn, driver, tenant_id, list(items),
                                        purgeable=purgeable, keyring=keyring,
                                        checkpoint=checkpoint)
    if conn.dialect.driver == "psycopg":
        raw = await conn.get_raw_connection()
        return await _append_pg(session, conn, raw.driver_connection, tenant_id, list(items),
                                purgeable=purgeable, keyring=keyring, checkpoint=checkpoint)
    last: Any = _cached_head(session, tenant_id)
    if last is None:  # else this transaction already holds the lock and knows the head
        await _lock_tenant(session, tenant_id)
        last = (
            await session.execute(
                select(LedgerEntry.seq, LedgerEntry.entry_hash, LedgerEntry.tenant_code)
                .where(LedgerEntry.tenant_id == tenant_id)
                .order_by(LedgerEntry.seq.desc())
                .limit(1)
            )
        ).first()
    if last is None:
        code = await session.scalar(select(Tenant.code).where(Tenant.id == tenant_id))
        if code is None:
            raise ValueError(f"no tenant {tenant_id}")
        seq, prev, tenant_code = 0, GENESIS_HASH, str(code)
    else:
        seq, prev, tenant_code = int(last[0]) + 1, str(last[1]), str(last[2])
    rows, refs, new_head = build_rows(tenant_id, (seq, prev, tenant_code), items,
                                      purgeable=purgeable)
    entries = [AppendedEntry(*row) for row in rows]
    if not entries:
        return entries
    # A Core INSERT, not an ORM flush: the unit of work cost several times the hashing.
    await _insert_rows(session, rows)
    await _insert_rows(session, refs, "ledger_refs")
    _remember_head(session, tenant_id, new_head)
    if checkpoint:
        await maybe_checkpoint(session, tenant_id, keyring)
    return entries


# SQLite: the whole append in one hop to the aiosqlite connection's thread. Through the
# adapter, the head SELECT, the checkpoint look-up and the two INSERTs cost a dozen thread
# hand-offs per call; on a loaded 2-core machine each hand-off waits for the scheduler, and
# those waits, not the hashing, set the wall time of a batch (benchmarks/ledger.py).
_SQL_HEAD = ("SELECT seq, entry_hash, tenant_code FROM ledger_entries WHERE tenant_id = ? "
             "ORDER BY seq DESC LIMIT 1")
_SQL_CODE = "SELECT code FROM tenants WHERE id = ?"
_SQL_CHECKPOINT_TIME = ("SELECT created_at FROM ledger_checkpoints WHERE tenant_id = ? "
                        "ORDER BY tree_size DESC, id DESC LIMIT 1")


def _can_hop(driver: Any) -> bool:
    """True for an aiosqlite connection that runs functions in its thread (``_execute``) on a
    stdlib ``sqlite3`` connection (``_conn``); anything else takes the statement path."""
    return callable(getattr(driver, "_execute", None)) and isinstance(
        getattr(driver, "_conn", None), sqlite3.Connection)


def _append_in_thread(con: sqlite3.Connection, tenant_id: int, head: tuple[int, str, str] | None,
                      items: list[tuple[str, Any]], purgeable: bool, want_checkpoint: bool,
                      bodies: Sequence[bytes | None] | None = None,
                      ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]],
                                 tuple[int, str, str], Any, list[tuple[str, Any]]]:
    """Runs in the driver's thread: read the head (unless known), build and chain the rows,
    INSERT them (one executemany each), read the latest checkpoint's time (if wanted).
    Returns the rows, the refs, the new head, the raw checkpoint time and the statements run
    (for the cursor-event listeners)."""
    run: list[tuple[str, Any]] = []
    if head is None:
        run.append((_SQL_HEAD, (tenant_id,)))
        last = con.execute(_SQL_HEAD, (tenant_id,)).fetchone()
        if last is None:
            run.append((_SQL_CODE, (tenant_id,)))
            code = con.execute(_SQL_CODE, (tenant_id,)).fetchone()
            if code is None:
                raise ValueError(f"no tenant {tenant_id}")
            start = (0, GENESIS_HASH, str(code[0]))
        else:
            start = (int(last[0]) + 1, str(last[1]), str(last[2]))
    else:
        start = (head[0] + 1, head[1], head[2])
    rows, refs, new_head = build_rows(tenant_id, start, items, purgeable=purgeable,
                                      bodies=bodies)
    if rows:
        sql = _sqlite_insert("ledger_entries", _ROW_KEYS)
        run.append((sql, rows))
        con.executemany(sql, rows)
        if refs:
            sql = _sqlite_insert("ledger_refs", _REF_KEYS)
            run.append((sql, refs))
            con.executemany(sql, refs)
    created = None
    if want_checkpoint and rows:
        run.append((_SQL_CHECKPOINT_TIME, (tenant_id,)))
        found = con.execute(_SQL_CHECKPOINT_TIME, (tenant_id,)).fetchone()
        created = None if found is None else found[0]
    return rows, refs, new_head, created, run


def append_entries_sqlite3(con: sqlite3.Connection, tenant_id: int,
                           items: list[tuple[str, Any]], *, purgeable: bool = False,
                           checkpoint_time: bool = False, dialect: Any = None,
                           head: tuple[int, str, str] | None = None, entries: bool = True,
                           bodies: Sequence[bytes | None] | None = None,
                           appended: list[tuple[Any, ...]] | None = None,
                           ) -> tuple[list[AppendedEntry], datetime | None, list[tuple[str, Any]]]:
    """:func:`append_entries` on a bare ``sqlite3`` connection that is already in a write
    transaction and holds the process's write gate (the chat writer's direct path,
    `probity.chat.direct`): the same head read, rows, chain and refs, with no session, so no
    head cache across calls and no checkpoint made here. Returns the entries, the latest
    checkpoint's time when ``checkpoint_time`` (None: there is none; an aware UTC datetime,
    via ``dialect``'s result processor) for the caller to decide whether one is due, and the
    statements run (for statement counters). ``head``: the tenant's last entry (seq, entry
    hash, tenant code) as the caller read it in this same write transaction (the chat
    writer reads it with its seqs); None: read here. ``entries=False``: no `AppendedEntry`
    per row is built (an empty list), for a caller that does not read them. ``bodies``: the
    items' payloads as canonical JSON where the caller made it (`chain.chain_texts`).
    ``appended``: a list the written rows are added to (tuples in ``_ROW_KEYS`` order: seq
    at 1, prev_hash at 6, entry_hash at 7), for `ledger.ranges`."""
    if not items:
        return [], None, []
    rows, _refs, _head, created, run = _append_in_thread(con, tenant_id, head, items,
                                                         purgeable, checkpoint_time, bodies)
    if appended is not None:
        appended.extend(rows)
    when = _CREATED_AT.process(dialect, created) if created is not None else None
    return [AppendedEntry(*row) for row in rows] if entries else [], when, run


async def _append_sqlite(session: AsyncSession, conn: Any, driver: Any, tenant_id: int,
                         items: list[tuple[str, Any]], *, purgeable: bool,
                         keyring: Keyring | None, checkpoint: bool) -> list[AppendedEntry]:
    """:func:`append_entries` on aiosqlite: the same rows, chain, refs, head cache and
    checkpoint rule, in one hop to the driver's thread under the write gate."""
    if not items:
        return []
    head = _cached_head(session, tenant_id)
    seen = session.info.get(_CHECKPOINT_TIMES)
    known = (seen is not None and seen[0] == _tx_key(session) and tenant_id in seen[1]
             and utcnow() - seen[1][tenant_id] < timedelta(seconds=CHECKPOINT_INTERVAL_S))
    await take_write_gate(conn)
    sync = conn.sync_connection
    try:
        if isinstance(driver, sqlite3.Connection):  # a synchronous connection (make_direct_engine)
            rows, _refs, new_head, created, run = _append_in_thread(
                driver, tenant_id, head, items, purgeable, checkpoint and not known)
        else:  # aiosqlite: one hop to its thread
            rows, _refs, new_head, created, run = await driver._execute(
                _append_in_thread, driver._conn, tenant_id, head, items, purgeable,
                checkpoint and not known)
    except sqlite3.Error as exc:
        raise driver_error(exc, "ledger append") from exc
    tell_listeners(sync, run)
    entries = [AppendedEntry(*row) for row in rows]
    if not entries:
        return entries
    _remember_head(session, tenant_id, new_head)
    if checkpoint and not known:
        when = _CREATED_AT.process(sync.dialect, created) if created is not None else None
        if when is not None and utcnow() - when < timedelta(seconds=CHECKPOINT_INTERVAL_S):
            _checkpoint_seen(session, tenant_id, when)
        else:
            await maybe_checkpoint(session, tenant_id, keyring)
    return entries


# PostgreSQL: the append in two round trips, through psycopg's pipeline mode on the session's
# own connection (inside the transaction SQLAlchemy holds there): (1) the tenant's advisory
# append lock, then the head and the latest checkpoint's time — separate statements, so that
# under READ COMMITTED the head is read after the lock is held; (2) the entries' and refs'
# INSERTs (executemany). The statement path spent six round trips and SQLAlchemy's adapter on
# each (benchmarks/ledger.py --postgres).
_PG_LOCK = "SELECT pg_advisory_xact_lock(%s, %s)"
_PG_HEAD = ("SELECT e.seq, e.entry_hash, e.tenant_code, t.code FROM tenants t LEFT JOIN "
            "(SELECT seq, entry_hash, tenant_code, tenant_id FROM ledger_entries "
            "WHERE tenant_id = %s ORDER BY seq DESC LIMIT 1) e ON e.tenant_id = t.id "
            "WHERE t.id = %s")
_PG_CHECKPOINT_TIME = _SQL_CHECKPOINT_TIME.replace("?", "%s")


def _pg_insert(table: str, keys: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(keys)}) VALUES ({', '.join(['%s'] * len(keys))})"


_PG_ENTRIES = _pg_insert("ledger_entries", _ROW_KEYS)
_PG_REFS = _pg_insert("ledger_refs", _REF_KEYS)


class CopyStatement(str):
    """``COPY table (columns) FROM STDIN``: `pg_pipeline` / `_pg_run` send its parameters, a
    list of rows, as COPY text (`copy_text`) instead of running an executemany. COPY cannot
    share a pipeline: a step yields COPY statements alone."""

    __slots__ = ()


_COPY_NULL = "\\N"


def _copy_field(value: str) -> str:
    """*value* as a field of PostgreSQL's COPY text format (its backslash escapes)."""
    return (value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def _entries_copy_text(rows: list[tuple[Any, ...]]) -> str:
    # Only the payload needs escaping: every other field passed the chain's checks
    # (probity.ledger.chain._check_fields: ints, hex hashes, the time, a dotted lower-case
    # type, a tenant code in [A-Za-z0-9._:-]).
    esc = _copy_field
    return "".join([
        f"{r[0]}\t{r[1]}\t{r[2]}\t{r[3]}\t{r[4]}\t{r[5]}\t{r[6]}\t{r[7]}\t"
        f"{_COPY_NULL if r[8] is None else esc(r[8])}\n" for r in rows])


def _refs_copy_text(rows: list[tuple[Any, ...]]) -> str:
    esc = _copy_field  # ref_type is one of refs.REF_KEYS' values; ref_id is any text
    return "".join([f"{r[0]}\t{r[1]}\t{esc(r[2])}\t{esc(r[3])}\n" for r in rows])


_PG_COPY_ENTRIES = CopyStatement(f"COPY ledger_entries ({', '.join(_ROW_KEYS)}) FROM STDIN")
_PG_COPY_REFS = CopyStatement(f"COPY ledger_refs ({', '.join(_REF_KEYS)}) FROM STDIN")
_COPY_TEXT: dict[str, Callable[[list[tuple[Any, ...]]], str]] = {
    _PG_COPY_ENTRIES: _entries_copy_text, _PG_COPY_REFS: _refs_copy_text}


_COPY_CHUNK = 2_000  # rows formatted and written at a time (an import appends 100,000)


def copy_text(sql: str, rows: list[tuple[Any, ...]]) -> Iterator[str]:
    """The rows of a `CopyStatement` as the COPY text it sends, in pieces of `_COPY_CHUNK`
    rows (no second copy of a whole import's rows in memory)."""
    lines = _COPY_TEXT[sql]
    for i in range(0, len(rows), _COPY_CHUNK):
        yield lines(rows[i:i + _COPY_CHUNK])


# From this many entries an append sends its rows with COPY instead of an executemany: each
# executemany row is a Bind/Execute message pair, psycopg's Python code on the client and an
# executor start on the server (about 10 µs of client CPU a row), where COPY parses one stream.
# Below it the pipelined INSERTs' single round trip (with the guessed head) was as fast or
# faster on the application's async connection (on the chat writer's synchronous one the two
# broke even from 2 entries and COPY won from 16).
PG_COPY_MIN = 32


_PG_SAVEPOINT = "SAVEPOINT probity_ledger_append"
_PG_RELEASE = "RELEASE SAVEPOINT probity_ledger_append"
_PG_ROLLBACK_TO = "ROLLBACK TO SAVEPOINT probity_ledger_append"
# (database URL, tenant) → the head this process appended last: a guess, always checked.
_PG_HEADS: dict[tuple[Any, int], tuple[int, str, str]] = {}


class RawStatement(str):
    """A statement in PostgreSQL's own ``$1, $2, …`` placeholders, which `pg_pipeline` runs
    on a ``psycopg.RawCursor``: psycopg then sends the text as it is. With ``%s`` psycopg
    finds the placeholders with a regular expression, and caches what it found only for
    statements of at most 50 parameters: the chat writer's multi-row INSERT of 4 messages (76
    parameters) was parsed anew every batch, 107 µs (28 µs for one row, 416 µs for 16)."""

    __slots__ = ()

    @classmethod
    def numbered(cls, sql: str) -> RawStatement:
        """`sql` with its ``%s`` placeholders numbered (it has no other ``%``)."""
        parts = sql.split("%s")
        assert "%" not in "".join(parts), sql
        return cls("".join(f"{part}${i}" for i, part in enumerate(parts[:-1], 1)) + parts[-1])


def _copy_rows(driver: Any, statements: list[tuple[str, Any]]) -> list[Any]:
    with driver.cursor() as cur:
        for sql, params in statements:
            with cur.copy(sql) as copy:
                for piece in copy_text(sql, params):
                    copy.write(piece)
    return [None] * len(statements)


def pg_pipeline(driver: Any, statements: list[tuple[str, Any]], *, rows: bool = False
                ) -> list[Any]:
    """`_pg_run` on a synchronous ``psycopg.Connection`` (one round trip); with ``rows``,
    each statement's rows instead of its first. A `RawStatement` runs on a raw cursor;
    `CopyStatement` s run as COPYs."""
    import psycopg

    if statements and type(statements[0][0]) is CopyStatement:
        return _copy_rows(driver, statements)
    cursors: list[Any] = []
    with driver.pipeline(), driver.cursor() as many:
        for sql, params in statements:
            if isinstance(params, list):
                many.executemany(sql, params)
                cursors.append(None)
            elif isinstance(sql, RawStatement):
                cursors.append(psycopg.RawCursor(driver).execute(sql, params))
            else:
                cursors.append(driver.execute(sql, params))
    if rows:
        return [c.fetchall() if c is not None and c.description else None for c in cursors]
    return [c.fetchone() if c is not None and c.description else None for c in cursors]


async def _pg_run(driver: Any, statements: list[tuple[str, Any]]) -> list[Any]:
    """Run the statements in one psycopg pipeline (one round trip): a list of parameter tuples
    is an executemany. Returns each statement's first row (None for the others).
    `CopyStatement` s (alone in a step: COPY cannot join a pipeline) run as COPYs, one after
    the other."""
    import psycopg

    if isinstance(driver, psycopg.Connection):  # the chat writer's synchronous connection
        return pg_pipeline(driver, statements)
    if statements and type(statements[0][0]) is CopyStatement:
        async with driver.cursor() as cur:
            for sql, params in statements:
                async with cur.copy(sql) as copy:
                    for piece in copy_text(sql, params):
                        await copy.write(piece)
        return [None] * len(statements)
    acursors: list[Any] = []
    async with driver.pipeline(), driver.cursor() as amany:
        for sql, params in statements:
            if isinstance(params, list):
                await amany.executemany(sql, params)
                acursors.append(None)
            else:
                acursors.append(await driver.execute(sql, params))
    return [await c.fetchone() if c is not None and c.description else None
            for c in acursors]


def _pg_start(tenant_id: int, found: Any) -> tuple[int, str, str]:
    if found is None:
        raise ValueError(f"no tenant {tenant_id}")
    if found[0] is None:
        return 0, GENESIS_HASH, str(found[3])
    return int(found[0]) + 1, str(found[1]), str(found[2])


# An append on PostgreSQL as steps, apart from how they reach the driver (the session's async
# connection: `_append_pg`; a bare synchronous one: `append_entries_psycopg`): each step yields
# the statements of one round trip (or of the COPYs) and whether an IntegrityError there is an
# answer (the guessed head was stale) rather than an error, and gets back each statement's
# first row (None: the IntegrityError). Returns the rows, the new head, the raw latest
# checkpoint time and what ran.
_PgAppended = tuple[list[tuple[Any, ...]], tuple[int, str, str], Any, list[tuple[str, Any]]]
_PgSteps = Generator[tuple[list[tuple[str, Any]], bool], "list[Any] | None", _PgAppended]


def _pg_append_steps(key: tuple[Any, int], tenant_id: int, head: tuple[int, str, str] | None,
                     items: list[tuple[str, Any]], purgeable: bool, want_checkpoint: bool,
                     bodies: Sequence[bytes | None] | None = None) -> _PgSteps:
    created: Any = None
    first: list[tuple[str, Any]] = []
    if head is None:
        first += [(_PG_LOCK, (_LOCK_CLASS, tenant_id)), (_PG_HEAD, (tenant_id, tenant_id))]
    if want_checkpoint:
        first.append((_PG_CHECKPOINT_TIME, (tenant_id,)))
    guess = _PG_HEADS.get(key) if head is None else None
    # From PG_COPY_MIN entries the rows go by COPY, which cannot join a pipeline: the head
    # is read after the lock (below) in a round trip of its own, and the guess only lets the
    # rows be built before the lock is taken (held the shorter; a stale guess costs the work).
    copy = len(items) >= PG_COPY_MIN
    if guess is not None and not copy:
        # One round trip: what this process appended last is most likely still the head.
        # The INSERTs go behind a savepoint, the head is read after the lock in the same
        # pipeline; any other head (another process appended: the INSERT conflicts, or
        # this process's transaction rolled back) undoes them and takes the path below.
        start = (guess[0] + 1, guess[1], guess[2])
        rows, refs, new_head = build_rows(tenant_id, start, items, purgeable=purgeable,
                                          bodies=bodies)
        inserts = [(_PG_ENTRIES, rows)] + ([(_PG_REFS, refs)] if refs else [])
        # The savepoint stays open when the guess was right (it ends with the transaction;
        # releasing it would cost a round trip).
        found = yield [*first, (_PG_SAVEPOINT, None), *inserts], True
        if found is not None and _pg_start(tenant_id, found[1]) == start:
            if want_checkpoint and found[2] is not None:
                created = found[2][0]
            return rows, new_head, created, [*first, *inserts]
        yield [(_PG_ROLLBACK_TO, None), (_PG_RELEASE, None)], False
    built = guessed = None
    if copy and guess is not None:
        guessed = (guess[0] + 1, guess[1], guess[2])
        built = build_rows(tenant_id, guessed, items, purgeable=purgeable, bodies=bodies)
    if first:  # round trip 1: the lock, then the head; the checkpoint's time
        found = yield first, False
        assert found is not None
        if head is None:
            start = _pg_start(tenant_id, found[1])
        if want_checkpoint:
            last = found[-1]
            created = None if last is None else last[0]
    if head is not None:
        start = (head[0] + 1, head[1], head[2])
    if built is not None and start == guessed:
        rows, refs, new_head = built
    else:
        rows, refs, new_head = build_rows(tenant_id, start, items, purgeable=purgeable,
                                          bodies=bodies)
    if copy:
        inserts = [(_PG_COPY_ENTRIES, rows)] + ([(_PG_COPY_REFS, refs)] if refs else [])
    else:
        inserts = [(_PG_ENTRIES, rows)] + ([(_PG_REFS, refs)] if refs else [])
    if rows:  # round trip 2 (psycopg's executemany pipelines its rows), or the COPYs
        yield inserts, False
    return rows, new_head, created, [*first, *inserts]


async def _append_pg(session: AsyncSession, conn: Any, driver: Any, tenant_id: int,
                     items: list[tuple[str, Any]], *, purgeable: bool,
                     keyring: Keyring | None, checkpoint: bool) -> list[AppendedEntry]:
    """:func:`append_entries` on psycopg (the application's async connections and the chat
    writer's synchronous one alike): the same rows, chain, refs, head cache and checkpoint
    rule, pipelined."""
    import psycopg

    if not items:
        return []
    head = _cached_head(session, tenant_id)
    seen = session.info.get(_CHECKPOINT_TIMES)
    known = (seen is not None and seen[0] == _tx_key(session) and tenant_id in seen[1]
             and utcnow() - seen[1][tenant_id] < timedelta(seconds=CHECKPOINT_INTERVAL_S))
    want_checkpoint = checkpoint and not known
    key = (conn.sync_connection.engine.url, tenant_id)
    steps = _pg_append_steps(key, tenant_id, head, items, purgeable, want_checkpoint)
    answer: list[Any] | None = None
    try:
        while True:
            try:
                statements, tolerated = steps.send(answer)
            except StopIteration as stop:
                rows, new_head, created, run = stop.value
                break
            try:
                answer = await _pg_run(driver, statements)
            except psycopg.IntegrityError:
                if not tolerated:
                    raise
                answer = None
    except psycopg.Error as exc:
        raise driver_error(exc, "ledger append") from exc
    if rows:
        _PG_HEADS[key] = new_head
    sync = conn.sync_connection
    tell_listeners(sync, run)
    entries = [AppendedEntry(*row) for row in rows]
    if not entries:
        return entries
    _remember_head(session, tenant_id, new_head)
    if want_checkpoint:
        when = _CREATED_AT.process(sync.dialect, created) if created is not None else None
        if when is not None and utcnow() - when < timedelta(seconds=CHECKPOINT_INTERVAL_S):
            _checkpoint_seen(session, tenant_id, when)
        else:
            await maybe_checkpoint(session, tenant_id, keyring)
    return entries


def append_entries_psycopg(con: Any, url: Any, tenant_id: int, items: list[tuple[str, Any]],
                           *, purgeable: bool = False, checkpoint_time: bool = False,
                           dialect: Any = None, bodies: Sequence[bytes | None] | None = None,
                           appended: list[tuple[Any, ...]] | None = None,
                           ) -> tuple[list[AppendedEntry], datetime | None, list[tuple[str, Any]]]:
    """:func:`append_entries_sqlite3` on a bare synchronous ``psycopg.Connection`` already in
    a transaction (the chat writer's direct path on PostgreSQL): the same steps as
    :func:`append_entries` there — the tenant's advisory append lock before the head is
    read, the head guessed per (``url``, tenant) as the session path guesses it and checked
    behind a savepoint — with no session, so no checkpoint made here. Returns the entries,
    the latest checkpoint's time when ``checkpoint_time`` (None: there is none) and the
    statements run; ``appended`` as there. Driver errors are raised as they come (the caller
    rolls back)."""
    import psycopg

    if not items:
        return [], None, []
    key = (url, tenant_id)
    steps = _pg_append_steps(key, tenant_id, None, items, purgeable, checkpoint_time, bodies)
    answer: list[Any] | None = None
    while True:
        try:
            statements, tolerated = steps.send(answer)
        except StopIteration as stop:
            rows, new_head, created, run = stop.value
            break
        try:
            answer = pg_pipeline(con, statements)
        except psycopg.IntegrityError:
            if not tolerated:
                raise
            answer = None
    if rows:
        _PG_HEADS[key] = new_head
    if appended is not None:
        appended.extend(rows)
    when = (_CREATED_AT.process(dialect if dialect is not None else _psycopg_dialect(), created)
            if created is not None else None)
    return [AppendedEntry(*row) for row in rows], when, run


@lru_cache
def _psycopg_dialect() -> Any:
    """SQLAlchemy's psycopg dialect, which reads a checkpoint's ``created_at`` for a caller of
    :func:`append_entries_psycopg` that has no engine's dialect to pass."""
    from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

    return PGDialect_psycopg()  # type: ignore[no-untyped-call]


class _ResultProcessor:
    """The result processor SQLAlchemy uses for ``ledger_checkpoints.created_at`` (SQLite keeps
    a naive text timestamp; the column type makes it an aware UTC datetime), built once per
    dialect (a process may hold SQLite and PostgreSQL engines at once: the tests do)."""

    def __init__(self) -> None:
        self._procs: dict[str, Any] = {}

    def process(self, dialect: Any, value: Any) -> datetime:
        proc: Any = self._procs.get(dialect.name)
        if proc is None:
            column_type = cast(Table, LedgerCheckpoint.__table__).c.created_at.type
            proc = self._procs[dialect.name] = (
                column_type._cached_result_processor(dialect, None) or (lambda v: v))
        result: datetime = proc(value)
        return result


_CREATED_AT = _ResultProcessor()


# -- checkpoints ------------------------------------------------------------------------------


async def latest_checkpoint(session: AsyncSession, tenant_id: int) -> LedgerCheckpoint | None:
    return await session.scalar(
        select(LedgerCheckpoint)
        .where(LedgerCheckpoint.tenant_id == tenant_id)
        .order_by(LedgerCheckpoint.tree_size.desc(), LedgerCheckpoint.id.desc())
        .limit(1)
    )


async def maybe_checkpoint(
    session: AsyncSession,
    tenant_id: int,
    keyring: Keyring | None = None,
    max_age_s: int = CHECKPOINT_INTERVAL_S,
) -> LedgerCheckpoint | None:
    """Sign a checkpoint if the latest one is older than *max_age_s* (or missing)."""
    # Fast path: the time of the latest checkpoint this transaction (and savepoint) has seen.
    seen = session.info.get(_CHECKPOINT_TIMES)
    if (seen and seen[0] == _tx_key(session) and tenant_id in seen[1]
            and utcnow() - seen[1][tenant_id] < timedelta(seconds=max_age_s)):
        return None
    latest: LedgerCheckpoint | None = _cached(session, _CHECKPOINTS, tenant_id)
    if latest is None:
        latest = await latest_checkpoint(session, tenant_id)
        if latest is not None:
            _remember(session, _CHECKPOINTS, tenant_id, latest)
    if latest is not None and utcnow() - latest.created_at < timedelta(seconds=max_age_s):
        _checkpoint_seen(session, tenant_id, latest.created_at)
        return None
    made = await make_checkpoint(session, tenant_id, keyring or default_keyring(), latest=latest)
    if made is not None:
        _checkpoint_seen(session, tenant_id, made.created_at)
    return made


def _checkpoint_seen(session: AsyncSession, tenant_id: int, when: datetime) -> None:
    key = _tx_key(session)
    seen = session.info.get(_CHECKPOINT_TIMES)
    if not seen or seen[0] != key:
        seen = (key, dict[int, datetime]())
        session.info[_CHECKPOINT_TIMES] = seen
    seen[1][tenant_id] = when


def _peaks_text(merkle: CompactRange) -> str:
    return ",".join(p.hex() for p in merkle.peaks)


def peaks_range(tree_size: int, peaks: str) -> CompactRange:
    """The Merkle range a checkpoint's stored ``peaks`` text caches (ValueError: damaged)."""
    return CompactRange(tree_size, [bytes.fromhex(p) for p in peaks.split(",") if p])


def _peaks_of(row: LedgerCheckpoint) -> CompactRange:
    return peaks_range(row.tree_size, row.peaks)


CHECKPOINT_COLUMNS = ("tenant_id", "tree_size", "root_hash", "timestamp", "key_id", "signature",
                      "note", "peaks", "created_at")


def checkpoint_columns(tenant_id: int, tenant_code: str, merkle: CompactRange,
                       keyring: Keyring) -> dict[str, Any]:
    """A ``ledger_checkpoints`` row's columns (`CHECKPOINT_COLUMNS`) for the tree `merkle`
    holds, signed now: what :func:`make_checkpoint` stores, and what the chat writer's direct
    path (`ledger.ranges`) INSERTs on its bare connection — one function, so the two are the
    same bytes for the same tree and time."""
    now = utcnow()
    signed = keyring.sign_checkpoint(tenant_code, merkle.size, merkle.root(), format_time(now))
    return {
        "tenant_id": tenant_id,
        "tree_size": signed.tree_size,
        "root_hash": signed.root_hash.hex(),
        "timestamp": signed.timestamp,
        "key_id": signed.key_id,
        "signature": signed.signature.hex(),
        "note": signed.to_note(),
        "peaks": _peaks_text(merkle),
        "created_at": now,
    }


async def make_checkpoint(
    session: AsyncSession,
    tenant_id: int,
    keyring: Keyring,
    *,
    latest: LedgerCheckpoint | None = None,
) -> LedgerCheckpoint | None:
    """Sign the tenant's current Merkle root (Ed25519) and store it. Returns None when the ledger
    is empty or has not grown since the latest checkpoint. Flushes, never commits."""
    await _lock_tenant(session, tenant_id)
    if latest is None:
        latest = await latest_checkpoint(session, tenant_id)
    merkle = CompactRange()
    code: str | None = None
    if latest is not None and latest.peaks:
        try:
            merkle = _peaks_of(latest)
        except ValueError:  # a damaged cache: rebuild from the entries
            merkle = CompactRange()
    rows = await session.execute(
        select(LedgerEntry.entry_hash, LedgerEntry.tenant_code)
        .where(LedgerEntry.tenant_id == tenant_id, LedgerEntry.seq >= merkle.size)
        .order_by(LedgerEntry.seq)
    )
    leaves: list[bytes] = []
    for digest, tenant_code in rows:
        leaves.append(bytes.fromhex(digest))
        code = tenant_code
    if not leaves and (latest is not None or merkle.size == 0):
        return None
    merkle.extend(leaves)
    if code is None:
        code = await session.scalar(select(Tenant.code).where(Tenant.id == tenant_id))
    row = LedgerCheckpoint(**checkpoint_columns(tenant_id, str(code), merkle, keyring))
    session.add(row)
    await session.flush()
    _remember(session, _CHECKPOINTS, tenant_id, row)
    publish.queue(session.sync_session, row, str(code))
    return row


async def list_checkpoints(session: AsyncSession, tenant_id: int, *, after_size: int = 0,
                           limit: int = 100) -> list[LedgerCheckpoint]:
    """Signed checkpoints of trees larger than *after_size*, oldest first."""
    return list((await session.scalars(
        select(LedgerCheckpoint)
        .where(LedgerCheckpoint.tenant_id == tenant_id, LedgerCheckpoint.tree_size > after_size)
        .order_by(LedgerCheckpoint.tree_size, LedgerCheckpoint.id)
        .limit(limit))).all())


async def entries_about(session: AsyncSession, tenant_id: int,
                        refs: Iterable[tuple[str, Iterable[Any]]],
                        types: Iterable[str] | None = None) -> list[EntryRecord]:
    """The tenant's entries about any of *refs* (``(ref_type, ids)`` pairs, looked up in the
    ``ledger_refs`` index written at append time), in seq order; purged entries included
    (payload None). *types*: entry types (a trailing ``.*`` matches a prefix).

    A conversation's ``chat.message`` entries are found through its ``messages`` rows and
    their ``message`` refs as well (`refs.ONLY`: newer ones have no conversation ref)."""
    wanted_refs = [(ref_type, [str(i) for i in ids]) for ref_type, ids in refs]
    clauses = [(LedgerRef.ref_type == ref_type) & LedgerRef.ref_id.in_(ids)
               for ref_type, ids in wanted_refs if ids]
    if not clauses:
        return []
    seqs: Select[Any] | CompoundSelect[Any] = select(LedgerRef.seq).where(
        LedgerRef.tenant_id == tenant_id, or_(*clauses))
    conversations = [int(i) for ref_type, ids in wanted_refs if ref_type == "conversation"
                     for i in ids]
    if conversations:
        entry = aliased(LedgerEntry)
        # (By conversation only: the tenant's refs below keep other tenants' ids out, and
        # SQLite would otherwise read the messages through the tenant's index.)
        message_ids = select(sql_cast(Message.id, String)).where(
            Message.conversation_id.in_(conversations))
        seqs = union(seqs, select(LedgerRef.seq).join(entry, and_(
            entry.tenant_id == LedgerRef.tenant_id, entry.seq == LedgerRef.seq))
            .where(LedgerRef.tenant_id == tenant_id, LedgerRef.ref_type == "message",
                   LedgerRef.ref_id.in_(message_ids), entry.type == "chat.message"))
    q = select(*_ENTRY_COLUMNS).where(LedgerEntry.tenant_id == tenant_id,
                                      LedgerEntry.seq.in_(seqs))
    if types is not None:
        wanted = list(types)
        exact = [t for t in wanted if not t.endswith(".*")]
        prefixes = [t[:-1] for t in wanted if t.endswith(".*")]
        q = q.where(or_(LedgerEntry.type.in_(exact),
                        *[LedgerEntry.type.startswith(p, autoescape=True) for p in prefixes]))
    rows = await session.execute(q.order_by(LedgerEntry.seq))
    return [EntryRecord(int(seq), str(time), str(type_), str(tenant), str(ph), str(prev), str(eh),
                        None if payload is None else str(payload).encode("utf-8"))
            for seq, time, type_, tenant, ph, prev, eh, payload in rows]


def _checkpoint_of(row: LedgerCheckpoint, tenant_code: str) -> Checkpoint:
    return Checkpoint(
        tenant_code,
        row.tree_size,
        bytes.fromhex(row.root_hash),
        row.timestamp,
        row.key_id,
        bytes.fromhex(row.signature),
    )


# -- proofs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    entry_hash: str
    tree_size: int
    root_hash: str
    audit_path: list[str]
    checkpoint_note: str | None  # the signed checkpoint at tree_size, if one exists

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "entry_hash": self.entry_hash,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "audit_path": self.audit_path,
            "checkpoint": self.checkpoint_note,
        }


@dataclass(frozen=True)
class ConsistencyProof:
    old_size: int
    new_size: int
    old_root: str
    new_root: str
    proof: list[str]
    old_checkpoint_note: str | None
    new_checkpoint_note: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "old_size": self.old_size,
            "new_size": self.new_size,
            "old_root": self.old_root,
            "new_root": self.new_root,
            "proof": self.proof,
            "old_checkpoint": self.old_checkpoint_note,
            "new_checkpoint": self.new_checkpoint_note,
        }


async def _leaves(session: AsyncSession, tenant_id: int, size: int) -> list[bytes]:
    rows = await session.scalars(
        select(LedgerEntry.entry_hash)
        .where(LedgerEntry.tenant_id == tenant_id, LedgerEntry.seq < size)
        .order_by(LedgerEntry.seq)
    )
    leaves = [bytes.fromhex(h) for h in rows]
    if len(leaves) != size:
        raise ValueError(f"the ledger has fewer than {size} entries")
    return leaves


async def _note_at(session: AsyncSession, tenant_id: int, size: int) -> str | None:
    return await session.scalar(
        select(LedgerCheckpoint.note)
        .where(LedgerCheckpoint.tenant_id == tenant_id, LedgerCheckpoint.tree_size == size)
        .order_by(LedgerCheckpoint.id.desc())
        .limit(1)
    )


async def _default_size(session: AsyncSession, tenant_id: int) -> int:
    latest = await latest_checkpoint(session, tenant_id)
    if latest is None:
        raise ValueError("the tenant has no checkpoint yet: give a tree size")
    return latest.tree_size


async def inclusion_proof(
    session: AsyncSession, tenant_id: int, seq: int, tree_size: int | None = None
) -> InclusionProof:
    """Audit path proving entry *seq* is in the tree of *tree_size* entries (default: the
    latest signed checkpoint's size, so the proof checks against a signed root)."""
    size = tree_size if tree_size is not None else await _default_size(session, tenant_id)
    leaves = await _leaves(session, tenant_id, size)
    path = _inclusion_proof(leaves, seq, size)
    return InclusionProof(
        seq=seq,
        entry_hash=leaves[seq].hex(),
        tree_size=size,
        root_hash=root_hash(leaves).hex(),
        audit_path=[p.hex() for p in path],
        checkpoint_note=await _note_at(session, tenant_id, size),
    )


async def consistency_proof(
    session: AsyncSession, tenant_id: int, m: int, n: int | None = None
) -> ConsistencyProof:
    """Proof that the tree of *m* entries is a prefix of the tree of *n* entries."""
    size = n if n is not None else await _default_size(session, tenant_id)
    leaves = await _leaves(session, tenant_id, size)
    proof = _consistency_proof(leaves, m, size)
    return ConsistencyProof(
        old_size=m,
        new_size=size,
        old_root=root_hash(leaves[:m]).hex(),
        new_root=root_hash(leaves).hex(),
        proof=[p.hex() for p in proof],
        old_checkpoint_note=await _note_at(session, tenant_id, m),
        new_checkpoint_note=await _note_at(session, tenant_id, size),
    )


# -- verification -----------------------------------------------------------------------------


def checkpoint_age(row: LedgerCheckpoint | None) -> timedelta | None:
    return None if row is None else datetime.now(UTC) - row.created_at
