"""Database engine and sessions. The request (or the worker) owns the transaction."""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import threading
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.util import await_only
from sqlalchemy.util.concurrency import in_greenlet

WRITE_OPTION = "probity_write"  # execution option: this engine's transactions will write
# execution option: this engine's write transactions go first (the chat writer: every message
# waits for its commit, so it must never queue behind a stream of HTTP writes)
PRIORITY_OPTION = "probity_write_priority"
GATE_TIMEOUT_S = 5.0  # as long as SQLite's busy_timeout: then "database is locked" (429)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={int(GATE_TIMEOUT_S * 1000)}")
    cur.close()
    dbapi_conn.isolation_level = None


sqlite_pragmas = _sqlite_pragmas  # for a bare sqlite3 connection (the chat writer's direct path)


# --- SQLite: one writer at a time, in order ------------------------------------------------
#
# SQLite has one write lock per database, and two ways to lose it that its busy timeout does
# not cover: a deferred transaction that read and then writes after another connection
# committed fails at once (SQLITE_BUSY_SNAPSHOT), and waiting writers poll with sleeps, so a
# steady stream of short writers can starve a waiting one (the chat writer). Within a process
# the write gate below replaces that race with a queue: a transaction that will write takes
# the gate first (FIFO, the chat writer ahead of everyone else), then BEGIN IMMEDIATE, and
# gives it back right after its COMMIT or ROLLBACK. Between processes SQLite's busy timeout
# still applies. A transaction that could not get the gate within GATE_TIMEOUT_S fails with
# "database is locked" (a 429 with Retry-After, as before: nothing was written).


class WriteGate:
    """A FIFO lock across threads and event loops, with a priority lane; held by one DBAPI
    connection from BEGIN to COMMIT/ROLLBACK."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self.holder: Any = None
        self._waiters: deque[tuple[Any, Callable[[], bool]]] = deque()
        self._priority: deque[tuple[Any, Callable[[], bool]]] = deque()
        # counters (tests, benchmarks)
        self.acquired = 0
        self.waited = 0

    def _take(self, holder: Any) -> bool:
        """Take the gate at once if it is free (caller holds the mutex)."""
        if self.holder is None and not self._priority and not self._waiters:
            self.holder = holder
            self.acquired += 1
            return True
        return False

    async def acquire(self, holder: Any, *, priority: bool = False,
                      wait_s: float = GATE_TIMEOUT_S) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def wake() -> bool:  # under the mutex, any thread: hand the gate to this waiter
            if loop.is_closed():
                return False
            loop.call_soon_threadsafe(_resolve, future)
            return True

        with self._mutex:
            if self._take(holder):
                return
            self.waited += 1
            entry = (holder, wake)
            (self._priority if priority else self._waiters).append(entry)
        try:
            await asyncio.wait_for(asyncio.shield(future), wait_s)
        except BaseException:
            with self._mutex:
                for lane in (self._priority, self._waiters):
                    if entry in lane:
                        lane.remove(entry)
                        break
                else:  # the gate was handed to us meanwhile: pass it on
                    if self.holder is holder:
                        self._release_locked()
            raise

    def acquire_blocking(self, holder: Any, *, priority: bool = False,
                         timeout: float = GATE_TIMEOUT_S) -> bool:
        """The same for a thread without an event loop; False on timeout."""
        ready = threading.Event()

        def wake() -> bool:
            ready.set()
            return True

        with self._mutex:
            if self._take(holder):
                return True
            self.waited += 1
            entry = (holder, wake)
            (self._priority if priority else self._waiters).append(entry)
        if ready.wait(timeout):
            return True
        with self._mutex:
            for lane in (self._priority, self._waiters):
                if entry in lane:
                    lane.remove(entry)
                    return False
            if self.holder is holder:  # handed over just as we gave up
                return True
        return False

    def release(self, holder: Any) -> None:
        with self._mutex:
            if self.holder is holder:
                self._release_locked()

    def _release_locked(self) -> None:
        self.holder = None
        while self._priority or self._waiters:
            holder, wake = (self._priority or self._waiters).popleft()
            self.holder = holder
            self.acquired += 1
            if wake():
                return
            self.holder = None


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


_GATES: dict[str, WriteGate] = {}
_GATES_LOCK = threading.Lock()


def write_gate(database: str) -> WriteGate:
    """The process's write gate for one SQLite database file."""
    key = str(Path(database).resolve()) if database and database != ":memory:" else database
    with _GATES_LOCK:
        gate = _GATES.get(key)
        if gate is None:
            gate = _GATES[key] = WriteGate()
        return gate


def _driver_connection(conn: Any) -> Any:
    return getattr(conn, "dbapi_connection", None) or conn


def _take_gate(conn: Any, gate: WriteGate, *, priority: bool) -> None:
    holder = _driver_connection(conn.connection)
    if gate.holder is holder:
        return
    if in_greenlet():
        try:
            await_only(gate.acquire(holder, priority=priority))
        except TimeoutError:
            raise sa_exc.OperationalError(
                "BEGIN IMMEDIATE", None, Exception("database is locked (write gate)")) from None
    elif not gate.acquire_blocking(holder, priority=priority):
        raise sa_exc.OperationalError(
            "BEGIN IMMEDIATE", None, Exception("database is locked (write gate)"))


def _gated_dialect(dialect: Any, gate: WriteGate) -> None:
    """Give the gate back right after COMMIT / ROLLBACK / close of the connection holding it."""
    for name in ("do_commit", "do_rollback", "do_close", "do_terminate"):
        original = getattr(dialect, name)

        def wrapped(dbapi_connection: Any, _original: Any = original) -> None:
            try:
                _original(dbapi_connection)
            finally:
                holder = _driver_connection(dbapi_connection)
                if gate.holder is holder:
                    gate.release(holder)

        setattr(dialect, name, wrapped)


_WRITE_PREFIXES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _sqlite_begin_gated(gate: WriteGate | None) -> Callable[[Any], None]:
    def begin(conn: Any) -> None:
        # A write transaction takes the gate, then the write lock when it begins (BEGIN
        # IMMEDIATE, waiting up to busy_timeout for other processes): a deferred one that read
        # first and then tried to write after another connection committed would fail at once
        # with "database is locked" (SQLITE_BUSY_SNAPSHOT; the busy timeout does not apply).
        conn.info.pop(WROTE, None)
        options = conn.get_execution_options()
        if options.get(WRITE_OPTION, False) or options.get(PRIORITY_OPTION, False):
            if gate is not None:
                _take_gate(conn, gate, priority=bool(options.get(PRIORITY_OPTION, False)))
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")
    return begin


SQLITE_BUSY_SNAPSHOT = 517  # sqlite3's extended result code (``sqlite_errorcode``)


def stale_snapshot(exc: BaseException) -> bool:
    """SQLite refused a deferred transaction's first write because another connection committed
    after its first read (SQLITE_BUSY_SNAPSHOT): waiting cannot help, running the whole
    transaction again can."""
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlite_errorcode", None) == SQLITE_BUSY_SNAPSHOT


WROTE = "probity_wrote"  # connection.info flag: this transaction has written


def _sqlite_first_write(gate: WriteGate) -> Callable[..., None]:
    def before_cursor_execute(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # A deferred transaction queues for the gate before its first write, so that writers of
        # this process never meet inside SQLite (its busy handler sleeps and polls). Outside
        # SQLAlchemy's greenlet (the direct driver paths of the ledger and probity.bulk, which
        # call take_write_gate first) there is nothing to take here: never block a loop.
        if statement.lstrip()[:7].upper().startswith(_WRITE_PREFIXES):
            conn.info[WROTE] = True
            if gate.holder is not _driver_connection(conn.connection) \
                    and conn.in_transaction() and in_greenlet():
                _take_gate(conn, gate, priority=bool(
                    conn.get_execution_options().get(PRIORITY_OPTION, False)))
    return before_cursor_execute


async def take_write_gate(conn: Any) -> None:
    """Queue for the write gate (without blocking the event loop) before writing on *conn*
    (an ``AsyncConnection``) straight through its driver, bypassing SQLAlchemy's cursor."""
    sync = conn.sync_connection
    if sync is None or sync.dialect.name != "sqlite":
        return
    database = sync.engine.url.database
    if database in (None, "", ":memory:"):
        return
    gate = write_gate(database)
    sync.info[WROTE] = True
    holder = _driver_connection(sync.connection)
    if gate.holder is holder:
        return
    try:
        await gate.acquire(holder, priority=bool(
            sync.get_execution_options().get(PRIORITY_OPTION, False)))
    except TimeoutError:
        raise sa_exc.OperationalError(
            "INSERT", None, Exception("database is locked (write gate)")) from None


async def yield_write_gate(session: Any) -> None:
    """End the session's transaction if it has only read so far (a no-op COMMIT; loaded
    objects stay as they are), so that its write gate goes to the chat writer it is about to
    wait for. A transaction that wrote keeps it (and its writes)."""
    if not session.in_transaction():
        return
    conn = await session.connection()
    if conn.dialect.name != "sqlite" or conn.info.get(WROTE):
        return
    if session.new or session.dirty or session.deleted:
        return
    await session.commit()


def _sqlite_setup(sync_engine: Engine, database: str | None) -> None:
    """Pragmas, SQLAlchemy-emitted BEGIN and the process's write gate, for either driver."""
    event.listen(sync_engine, "connect", _sqlite_pragmas)
    # An in-memory database is private to its connection: nothing to queue for.
    gate = write_gate(database) if database not in (None, "", ":memory:") else None
    # Let SQLAlchemy, not the driver, emit BEGIN: the driver's own transaction handling
    # breaks SAVEPOINT (nested transactions) on SQLite.
    event.listen(sync_engine, "begin", _sqlite_begin_gated(gate))
    if gate is not None:
        _gated_dialect(sync_engine.dialect, gate)
        event.listen(sync_engine, "before_cursor_execute", _sqlite_first_write(gate))
        _remember_own_listeners(sync_engine)


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **kwargs)
        _sqlite_setup(engine.sync_engine, parsed.database)
        return engine
    ping = kwargs.pop("pool_pre_ping", True)  # True: ping connections that sat idle
    engine = create_async_engine(url, **kwargs)
    if not ping:
        return engine
    _ping_when_idle(engine.sync_engine)
    return engine


# A pooled server connection is pinged at checkout only when it has been idle this long: a
# connection that came back a moment ago is alive (its last statement just ran), and the
# ping was a round trip per transaction — a third of a ledger append's (benchmarks/ledger.py
# --postgres). A connection found dead mid-statement invalidates the whole pool as before
# (SQLAlchemy's disconnect handling), so a server restart costs at most that one statement.
PING_IDLE_S = 10.0
_IDLE_SINCE = "probity_idle_since"


def _ping_when_idle(sync_engine: Engine) -> None:
    """Pessimistic disconnect handling (what ``pool_pre_ping`` does) for connections idle
    over `PING_IDLE_S` only: a dead one is replaced before the caller gets it."""
    dialect = sync_engine.dialect

    def checkin(_dbapi: Any, record: Any) -> None:
        if record is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    def checkout(dbapi: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop(_IDLE_SINCE, None)
        if since is None or time.monotonic() - since < PING_IDLE_S:
            return
        try:
            alive = dialect.do_ping(dbapi)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi, None):
                raise sa_exc.DisconnectionError(str(exc)) from exc
            raise
        if not alive:
            raise sa_exc.DisconnectionError("the pooled connection did not answer a ping")

    event.listen(sync_engine, "checkin", checkin)
    event.listen(sync_engine, "checkout", checkout)


def make_direct_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """The database through its SYNCHRONOUS driver (sqlite3, psycopg), behind SQLAlchemy's
    asyncio API — for a thread that owns its connection (the chat writer).

    The async API only runs the synchronous calls in a greenlet; with a synchronous driver
    they never suspend, so every ``await session.execute(...)`` completes at once on the
    calling thread: no hand-off to a driver thread (aiosqlite) per DBAPI call, and the same
    services (ledger, analytics, cases) run unchanged in its transaction. Blocking is fine on
    the owner's own thread and loop. SQLite gets the same pragmas and write gate as
    `make_engine` (the gate is waited for without blocking that loop)."""
    parsed = make_url(sync_url(url))
    connect_args = dict(kwargs.pop("connect_args", {}))
    if parsed.get_backend_name() == "sqlite":
        connect_args.setdefault("factory", _DirectSqlite)
    elif parsed.get_driver_name() == "psycopg":
        connect_args.setdefault("cursor_factory", _direct_psycopg_cursor())
    sync_engine = create_engine(parsed, connect_args=connect_args, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        _sqlite_setup(sync_engine, parsed.database)
    # AsyncEngine only wraps dialects that say they are asynchronous; this one's calls return
    # without awaiting, which the greenlet bridge accepts as is — except AsyncConnection's
    # execute, which insists on one await per statement: give it a no-op one (a coroutine that
    # returns at once: two greenlet switches, no turn of the loop).
    sync_engine.dialect.is_async = True
    event.listen(sync_engine, "before_cursor_execute", _one_await)
    _remember_own_listeners(sync_engine)
    return AsyncEngine(sync_engine)


# The cursor listeners this module registers itself (as SQLAlchemy stores them): the write
# gate's first-write hook and the direct engine's one await. Code that calls the driver
# directly (probity.bulk.tell_listeners) has taken the gate already and runs outside the
# greenlet, where both do nothing — it need not call them when no one else listens.
_OWN_LISTENERS: weakref.WeakSet[Any] = weakref.WeakSet()


def _remember_own_listeners(sync_engine: Engine) -> None:
    _OWN_LISTENERS.update(sync_engine.dispatch.before_cursor_execute)


def only_own_listeners(sync: Connection) -> bool:
    """No cursor listener on this connection but this module's own (see `_OWN_LISTENERS`)."""
    d = sync.dispatch
    return not d.after_cursor_execute and all(
        fn in _OWN_LISTENERS for fn in d.before_cursor_execute)


# The asyncio results close the driver's cursor with an awaitable `_async_soft_close` (the
# adapted async cursors have one): the synchronous drivers' cursors get a no-op.
class _DirectSqliteCursor(sqlite3.Cursor):
    async def _async_soft_close(self) -> None:
        return None


class _DirectSqlite(sqlite3.Connection):
    def cursor(self, factory: Any = _DirectSqliteCursor) -> Any:
        return super().cursor(factory)


@functools.cache
def _direct_psycopg_cursor() -> Any:
    import psycopg

    class DirectCursor(psycopg.Cursor[Any]):
        async def _async_soft_close(self) -> None:
            return None

    return DirectCursor


async def _nothing() -> None:
    return None


def _one_await(*_args: Any) -> None:
    if in_greenlet():
        await_only(_nothing())


class Database:
    """Holds the engine and the session factory for one application instance."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        # For work that reads and then writes outside the chat writer (which owns its own
        # connection): on SQLite its transactions begin with the write lock (BEGIN IMMEDIATE,
        # waiting up to busy_timeout), elsewhere they are ordinary. Not for request sessions:
        # a request holding the lock while the chat writer waits for it would stall both.
        self.write_sessionmaker = async_sessionmaker(
            self.engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False)

    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


async def refresh_statistics(session: AsyncSession) -> None:
    """After a bulk load (the demo seed): PostgreSQL's planner statistics, now, in the
    session's transaction. Until autovacuum's next pass a table loaded in one go has none,
    and the planner takes it for nearly empty: the transcripts export's look-up of each
    message's ledger entry then read every `chat.message` entry of the tenant per message
    (3,180 messages: 12 s; 20 ms after ANALYZE). SQLite: nothing (the product never runs
    ANALYZE there, so its plans do not depend on statistics)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("ANALYZE"))


def immutability_ddl(table: str, dialect: str) -> list[str]:
    """DDL for triggers that refuse UPDATE and DELETE on an append-only table.

    The one sanctioned exception (a retention purge) must drop and re-create them inside its own
    transaction, so every other path — the application, a console, a script — is refused.
    """
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
        ]
    if dialect == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION probity_refuse_change() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql",
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION probity_refuse_change()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION probity_refuse_change()",
        ]
    raise ValueError(f"no immutability triggers for dialect {dialect!r}")


def drop_immutability_ddl(table: str, dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {table}_no_update",
                f"DROP TRIGGER IF EXISTS {table}_no_delete"]
    return [f"DROP TRIGGER IF EXISTS {table}_no_update ON {table}",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}"]


def sync_url(url: str) -> str:
    """The same database through a synchronous driver (for Alembic and scripts)."""
    parsed = make_url(url)
    if parsed.drivername == "sqlite+aiosqlite":
        parsed = parsed.set(drivername="sqlite")
    return parsed.render_as_string(hide_password=False)
