"""Group commit: the process's one writer of chat data per database (`MessageWriter`), in its
own thread with its own event loop and connection; see docs/CHAT.md "Send path"."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
import queue
import sqlite3
import threading
import time
import types
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from probity.analytics.rollup import Event, refresh
from probity.auth.deps import AFTER_COMMIT
from probity.chat.direct import (
    DirectBase,
    DirectStore,
    Fallback,
    NeedsRefresh,
    WritersTurn,
    eligible,
)
from probity.chat.host import HostLost, RemoteStore
from probity.chat.store import (
    CHECKPOINT_CHECK_S,
    PendingSend,
    Receipt,
    store_messages,
    store_receipts,
)
from probity.chat.wire import MessageRow
from probity.config import get_settings
from probity.db import (
    GATE_TIMEOUT_S,
    PRIORITY_OPTION,
    WriteGate,
    make_direct_engine,
    sqlite_pragmas,
)
from probity.errors import DomainError
from probity.models import Message
from probity.monitoring.enforce import load_rules, rules_cached

log = logging.getLogger("probity.chat")

# ---- group commit ----------------------------------------------------------------------------

T = TypeVar("T")
# Coalescing: while items stream in (the last COALESCE_RECENT items taken arrived within
# COALESCE_STREAM_S: 160 items/s or more, e.g. a busy server's messages and their receipts), a
# queue shorter than COALESCE_BELOW items waits up to COALESCE_S from its first item's arrival
# for more to share its transaction: a commit writes every page it touched to the WAL (the
# conversations', messages', ledger's and rollups' B-tree pages and their indexes: about 25
# pages on SQLite at 4-5 messages, `benchmarks/chat_writer.py --pages`), so two messages in one
# transaction cost little more than one. An ack then comes up to COALESCE_S later. A lone
# send (a quiet server, a test) never waits: nothing streams. benchmarks/chat_writer.py --rate
# measures what it buys and costs: at 200 msg/s, 10 ms gave 2.5 messages per transaction and
# 0.46 ms of writer CPU per message, 20 ms 4.4 and 0.34 ms, for ack p50 8 → 14 ms (session 11,
# load ~10).
COALESCE_S = 0.020
COALESCE_BELOW = 16
COALESCE_RECENT = 8
COALESCE_STREAM_S = 0.05
# A receipt that nobody waits for (a socket's `delivered`/`read`: `receipt_soon`) waits up to
# this long for a message to share its transaction, instead of being a transaction (a commit,
# an fsync, two thread hand-offs) of its own: the customer's page answers every message with a
# `read`, so at any rate above a few messages per second the next message comes first. The
# other side sees the receipt that much later at most; nothing is acknowledged before commit.
RECEIPT_HOLD_S = 0.05
# SQLite: the writer's connection never checkpoints the WAL (``wal_autocheckpoint=0``); a
# thread of its own (`_WalCheckpointer`) runs a PASSIVE checkpoint on its own connection at most
# this often while the writer commits. A checkpoint copies the WAL's new pages into the
# database file and fsyncs it. SQLite's default runs one on the committing connection whenever
# the WAL holds 1,000 pages or more — and under load the WAL is not reset (a reset needs a
# moment when no reader is on the WAL; measured: a 205 MB WAL after two minutes of a
# saturation run with 2,000 sockets), so past its first 1,000 pages EVERY commit
# of the writer also ran a checkpoint (copying what the readers allowed, fsyncing the database
# file when it copied anything) inside its COMMIT, with the process's write gate held and every
# sender of the batch (and of the batches queued behind it) waiting. A PASSIVE
# checkpoint takes no write lock: the writer appends to the WAL meanwhile. (The WAL's size is
# not bounded by checkpoints either way, only by its resets.) A reset happens at a writer's BEGIN
# when everything was checkpointed and no reader is on the WAL: with the checkpoints on another
# thread the writer has usually committed again meanwhile, so once the WAL holds
# WAL_RESET_PAGES pages the checkpointer takes the process's write gate (normal lane: the
# writer goes first) for a second, short checkpoint of what came meanwhile, so the writer's
# next transaction starts on an empty WAL instead of growing it (measured without it: 13 MB
# after 10 s at 300 msg/s, where SQLite's own checkpoints kept it at ~4 MB).
# Under the gate, a PASSIVE checkpoint still leaves the WAL unreset whenever a reader of the
# application's pool (access reads, policy re-checks: short, but under saturation one is nearly
# always running) holds an older snapshot at that instant: it copies only up to that reader's
# mark, the writer's next BEGIN cannot reset, and the WAL grew on (51 MB in a minute of a
# 2,000-socket saturation run, session 12) — and a reset alone never shrinks the file. So the
# gated checkpoint is a RESTART: it waits (SQLite's busy handler, at most
# WAL_RESTART_WAIT_MS, the writer held back by the gate meanwhile) for the readers on old
# snapshots to finish — new readers then read the database file, not the WAL — copies the rest,
# and the writer's next transaction starts the WAL from its beginning; the writer's connection
# has a ``journal_size_limit`` (WAL_LIMIT_PAGES), so that reset also cuts a file that grew
# past it back to the limit (not to zero: a WAL file re-grown from nothing every few seconds
# costs the file system's allocation again). When a reader outlasts the wait the checkpoint
# gives up (busy) and the next second tries again; nothing is lost either way (a checkpoint
# only copies).
WAL_CHECKPOINT_S = 1.0
WAL_RESET_PAGES = 4_000
WAL_RESTART_WAIT_MS = 50


def wal_limit_bytes(page_size: int) -> int:
    """The writer connection's ``journal_size_limit``: twice `WAL_RESET_PAGES` pages."""
    return 2 * WAL_RESET_PAGES * page_size


def open_direct_sqlite(database: str, dialect: Dialect) -> tuple[DirectStore, _WalCheckpointer]:
    """The direct path's connection to a SQLite file and the thread that checkpoints its WAL
    (a process's writer, or the chat writer host)."""
    store = DirectStore(database, dialect)
    # Its commits leave the WAL's checkpoints to a thread of their own.
    store.con.execute("PRAGMA wal_autocheckpoint=0")
    page = store.con.execute("PRAGMA page_size").fetchone()[0]
    store.con.execute(f"PRAGMA journal_size_limit={wal_limit_bytes(int(page))}")
    return store, _WalCheckpointer(database, store.gate)


async def refresh_caches(engine: AsyncEngine, events: list[Event]) -> None:
    """What the direct path found stale for a batch: the rollups' caches
    (`rollup.refresh`) and the monitoring rules, read in a session of their own (reads
    only: no write lock held)."""
    async with AsyncSession(engine) as session:
        await load_rules(session)
        await refresh(session, events)
Job = Callable[[AsyncSession], Awaitable[Any]]


class _Then:
    """`MessageWriter.submit_soon`'s stand-in for a future: the finisher "resolves" it by
    calling `then` with the outcome (the result, or the exception) at once, in commit order,
    where a future would schedule its callbacks (a `call_soon` each) or wake a waiting task."""

    __slots__ = ("then",)

    def __init__(self, then: Callable[[Any], None]) -> None:
        self.then = then

    def done(self) -> bool:
        return False

    def set_result(self, result: Any) -> None:
        try:
            self.then(result)
        except Exception:  # the caller's: never the finisher's (the batch's others wait)
            log.exception("chat writer: a submit_soon callback failed")

    set_exception = set_result


@dataclass(slots=True)
class _Queued:
    # Resolved on the submitter's event loop (None: stop): a future, or submit_soon's callback
    future: asyncio.Future[Any] | _Then
    queued_at: float = 0.0  # time.monotonic() when it was queued
    send: PendingSend | None = None  # a message to store (batched), or
    receipt: Receipt | None = None  # a receipt (batched with the messages), or
    job: Job | None = None  # another chat write, run alone in its own transaction
    held: bool = False  # a receipt nobody waits for: may wait for a message (RECEIPT_HOLD_S)

    @property
    def batched(self) -> bool:
        return self.send is not None or self.receipt is not None


@dataclass
class _Done:
    items: list[_Queued]
    effects: list[Callable[[], Awaitable[None]]]
    outcomes: list[Any]  # per item: its result, or the exception to raise
    # An effect `_finish_now` started and that waits: (its coroutine, what it yields)
    started: tuple[Any, Any] | None = None


class _WalCheckpointer:
    """SQLite: checkpoints the WAL of the writer's database off the writer's thread (see
    `WAL_CHECKPOINT_S`).
    `committed` (the writer's thread, after a commit) asks for one at most every
    `WAL_CHECKPOINT_S`; this thread runs ``PRAGMA wal_checkpoint(PASSIVE)`` on its own
    connection. Nothing about durability changes: a commit is in the WAL before it is
    acknowledged, checkpointed or not (a crash's WAL is replayed when the database is opened)."""

    def __init__(self, database: str, gate: WriteGate) -> None:
        self.database = database
        self.gate = gate
        self.checkpoints = 0  # checkpoints run (PASSIVE; RESTART under the gate)
        self.gated = 0  # RESTART checkpoints under the write gate (past WAL_RESET_PAGES)
        self.restarted = 0  # of which, completed: the writer's next transaction resets the WAL
        self.last: tuple[int, int, int] | None = None  # (busy, WAL frames, checkpointed)
        self.turn = WritersTurn(database)
        self._due = threading.Event()
        self._stopping = False
        self._asked = time.monotonic()
        self._thread = threading.Thread(target=self._main, name="chat-wal-checkpoint",
                                        daemon=True)
        self._thread.start()

    def committed(self) -> None:
        now = time.monotonic()
        if now - self._asked >= WAL_CHECKPOINT_S:
            self._asked = now
            self._due.set()

    def stop(self) -> None:
        """Stop the thread (after one last checkpoint) and wait for it."""
        self._stopping = True
        self._due.set()
        self._thread.join(30)

    def _main(self) -> None:
        con = sqlite3.connect(self.database, isolation_level=None, check_same_thread=False)
        try:
            with contextlib.suppress(sqlite3.Error):  # busy: checkpoints need none of them
                sqlite_pragmas(con, None)
            while True:
                self._due.wait()
                self._due.clear()
                last = self._checkpoint(con)
                if last is not None and last[1] >= WAL_RESET_PAGES and self.gate.acquire_blocking(
                        con, timeout=WAL_CHECKPOINT_S):
                    # Nothing of this process commits meanwhile (the gate), and the writers
                    # of the other processes wait for their turn (`WritersTurn`) instead of
                    # polling SQLite's lock (sleeps of up to 100 ms) while it blocks them.
                    try:
                        with self.turn.held():
                            done = self._checkpoint(con, "RESTART")
                        if done is not None:
                            self.gated += 1
                            if done[0] == 0:  # not busy: the next transaction resets the WAL
                                self.restarted += 1
                    finally:
                        self.gate.release(con)
                if self._stopping:
                    return
        finally:
            con.close()
            self.turn.close()

    def _checkpoint(self, con: sqlite3.Connection, mode: str = "PASSIVE"
                    ) -> tuple[int, int, int] | None:
        try:
            if mode == "PASSIVE":  # done: no lock kept, no wait
                rows = con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            else:  # waits for old readers, but not for long: the writer is held meanwhile
                con.execute(f"PRAGMA busy_timeout={WAL_RESTART_WAIT_MS}")
                try:
                    rows = con.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()
                finally:
                    con.execute(f"PRAGMA busy_timeout={int(GATE_TIMEOUT_S * 1000)}")
        except sqlite3.Error:  # e.g. the file went away (tests); the next one retries
            log.debug("chat writer: WAL checkpoint failed", exc_info=True)
            return None
        self.checkpoints += 1
        self.last = (rows[0][0], rows[0][1], rows[0][2]) if rows else None
        return self.last


class MessageWriter:
    """Group commit: the one writer of chat data for a database in this process.

    Every send (WebSocket or HTTP) is validated and screened by its caller, then queued here.
    The writer takes whatever is queued (up to `max_batch` messages), stores it with
    `store_messages` in ONE transaction, commits, and hands the batch back to the application's
    event loop, which publishes the deliveries (seq order) and only then resolves each sender's
    future — an ack still means "durably stored". While one batch commits the next one gathers,
    so the commit, the seq allocation and the ledger append are paid per batch, not per message,
    and batches grow with the load.

    The writer runs in its own thread with its own event loop and database connection: a batch
    costs several round trips, and on the application's loop — busy with hundreds of sockets —
    every round trip would wait for a turn of that loop. Here they follow each other directly.

    The other chat writes of the sockets (receipts, recall) go through `run`, in the same queue,
    each in its own transaction: on SQLite this process then never competes with itself for the
    single writer (a deferred read-then-write transaction fails outright when another writer
    committed in between). A transaction that fails on a transient database error (another
    process holding SQLite's lock, a PostgreSQL deadlock) is retried whole — nothing of it was
    committed; a batch that fails otherwise is retried one message at a time, so one bad message
    cannot fail the others.
    """

    def __init__(self, url: str, *, max_batch: int = 64, retries: int = 5,
                 direct: bool = True, coalesce_s: float = COALESCE_S,
                 receipt_hold_s: float = RECEIPT_HOLD_S,
                 host: tuple[str, bytes] | None = None) -> None:
        self.url = url
        # The chat writer host's address and key (probity.chat.host): on a SQLite file, the
        # direct batches' transactions run there.
        self.host = host
        # A short queue waits this long at most (from its first item's arrival) for more
        # items to share its transaction: the ack latency bought for a cheaper batch.
        self.coalesce_s = coalesce_s
        self.receipt_hold_s = receipt_hold_s
        self.direct = direct  # the common batch through the bare driver
        self._direct: DirectBase | RemoteStore | None = None
        self.max_batch = max_batch
        self.retries = retries
        self.sqlite = url.startswith("sqlite")
        self._main: asyncio.AbstractEventLoop | None = None  # the submitters' loop
        self._done: asyncio.Queue[_Done] | None = None
        self._finisher: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the writer's own loop
        self._ready = threading.Event()
        # Why the writer's thread could not start (set before `_ready`): its starter raises it,
        # rather than waiting for ever for a thread that is gone.
        self._start_failed: BaseException | None = None
        # Set by close()/stop_soon(): ends a coalescing wait (`_serve`) at once.
        self._nap = threading.Event()
        # Submitters put, the writer's thread takes: a C queue, so handing an item over costs
        # a futex wake at most (the thread sleeps in `get`), not a write to an event loop's
        # self-pipe and a turn of that loop.
        self._inbox: queue.SimpleQueue[_Queued] = queue.SimpleQueue()
        self._pending: list[_Queued] = []  # touched on the writer's thread only
        # When the last COALESCE_RECENT items written had been queued (writer's thread only).
        self._arrivals: collections.deque[float] = collections.deque(maxlen=COALESCE_RECENT)
        # Committed transactions on their way back to the submitters' loop (`_hand_back`).
        self._outbox: collections.deque[_Done] = collections.deque()
        self._outbox_scheduled = False
        # Transactions handed to the finisher task and not finished yet (`_take_back`): while
        # any, later ones queue behind them (commit order).
        self._finishing = 0
        self._engine: AsyncEngine | None = None
        self._checkpointer: _WalCheckpointer | None = None  # SQLite's direct path only
        self._checked: dict[int, float] = {}  # tenant → when a due checkpoint was looked for
        # Counters (tests and the benchmark read them).
        self.batches = 0
        self.messages = 0
        self.largest_batch = 0
        self.receipts = 0
        self.transactions = 0  # committed writer transactions (messages, receipts, jobs)
        self.direct_batches = 0  # of the batches, those the direct path stored
        self.fallbacks = 0  # batches the direct path handed to the session path
        self.fallback_reason = ""  # why the last one was (benchmarks' stall recorder)
        self.refreshes = 0  # batches that reloaded the rollups' caches first (`refresh_caches`)

    async def submit(self, send: PendingSend) -> tuple[Message | MessageRow, bool]:
        """Queue one screened message; returns (message, duplicate) once it is committed.
        Raises the send's DomainError (e.g. the conversation was closed meanwhile)."""
        result: tuple[Message | MessageRow, bool] = await self._enqueue(send=send)
        return result

    def submit_soon(self, send: PendingSend, then: Callable[[Any], None]) -> None:
        """`submit` without a future to wait on: once the message is committed (and its
        delivery published), `then` is called on this loop with the outcome — (message,
        duplicate), or the exception `submit` would raise — directly by the code that hands
        the commit back, in commit order. No task is woken for it (issue 17: the socket's
        task no longer wakes for its ack). `then` must not raise (what it raises is logged)."""
        self._queue(_Then(then), send=send)

    async def receipt(self, receipt: Receipt) -> tuple[int, int] | None:
        """Queue a delivered/read receipt; returns once it is committed, with the side's
        (delivered, read) seqs then (None: no such conversation). Receipts are stored with
        whatever else is queued (messages, other receipts) in one transaction."""
        result: tuple[int, int] | None = await self._enqueue(receipt=receipt)
        return result

    def receipt_soon(self, receipt: Receipt) -> asyncio.Future[tuple[int, int] | None]:
        """Queue a receipt that the caller does not wait for (a socket's `delivered`/`read`:
        nothing is answered to it). It may wait up to `receipt_hold_s` for a message to share
        that message's transaction; its event is published after that commit, as any. The
        future resolves then (an exception on it is retrieved: the caller may ignore it)."""
        future: asyncio.Future[tuple[int, int] | None] = self._queue(
            receipt=receipt, held=self.receipt_hold_s > 0)
        future.add_done_callback(_consume)
        return future

    async def run(self, job: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `job(session)` in its own transaction on the writer, commit, then run the
        session's after_commit effects on the caller's loop; returns the job's result."""
        result: T = await self._enqueue(job=job)
        return result

    async def _enqueue(self, **item: Any) -> Any:
        # A sender that goes away (socket closed) does not cancel its message: the writer
        # stores what it was handed whatever becomes of the future (a cancelled one is skipped
        # when the outcome comes back), and a resend with the same client_id returns it.
        return await self._queue(**item)

    def _queue(self, then: _Then | None = None, **item: Any) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        if self._main is not loop or self._finisher is None or self._finisher.done():
            self._start_finisher(loop)
        if self._thread is None or not self._thread.is_alive():
            self._start_thread()
        future: Any = then if then is not None else loop.create_future()
        self._inbox.put(_Queued(future, time.monotonic(), **item))
        return future  # type: ignore[no-any-return]

    def _start_finisher(self, loop: asyncio.AbstractEventLoop) -> None:
        self._main = loop
        self._done = asyncio.Queue()
        self._finishing = 0
        self._outbox_scheduled = False  # a call scheduled on a previous loop never comes
        self._finisher = loop.create_task(self._finish(self._done), name="chat-writer-finish")

    def _start_thread(self) -> None:
        self._ready.clear()
        self._nap.clear()
        self._thread = threading.Thread(target=self._thread_main, name="chat-writer",
                                        daemon=True)
        self._thread.start()
        self._ready.wait()
        failed, self._start_failed = self._start_failed, None
        if failed is not None:
            raise RuntimeError("the chat writer could not open the database") from failed

    def _thread_main(self) -> None:
        # An event loop for the session path (AsyncSession on the synchronous driver) and the
        # jobs; it runs only while one of those does. The direct path needs none.
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._open()
        except BaseException as exc:
            log.error("chat writer: the database could not be opened (%s)", exc)
            self._start_failed = exc
            self._release(loop)
            self._ready.set()
            return
        self._ready.set()
        try:
            self._serve(loop)
        finally:
            self._release(loop)

    def _release(self, loop: asyncio.AbstractEventLoop) -> None:
        """What the writer's thread opened, closed (it is ending)."""
        if self._engine is not None:
            with contextlib.suppress(Exception):
                loop.run_until_complete(self._engine.dispose())
        if self._direct is not None:
            with contextlib.suppress(Exception):
                self._direct.close()
            self._direct = None
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        loop.close()

    def _open(self) -> None:
        """The writer thread's engine and, for the direct path, its bare connection."""
        # The database's synchronous driver (sqlite3 / psycopg) on this thread's one
        # connection: every statement runs here at once, with no hand-off to a driver thread
        # (see probity.db.make_direct_engine). On SQLite its transactions go first through
        # the process's write gate: every message's sender waits for them.
        engine = make_direct_engine(self.url, pool_size=1, max_overflow=0,
                                    pool_pre_ping=False)
        self._engine = engine.execution_options(**{PRIORITY_OPTION: True}) \
            if self.sqlite else engine
        sync = engine.sync_engine
        database = sync.url.database
        if self.direct and self.sqlite and database not in (None, "", ":memory:"):
            if self.host is not None:
                # The direct batches' transactions run in the chat writer host, with those
                # of the other processes (probity.chat.host); so do the WAL's checkpoints.
                self._direct = RemoteStore(*self.host, sync.dialect)
            else:
                # The common batch through the bare driver (probity.chat.direct), on a second
                # connection of this thread; the session path above for everything else.
                self._direct, self._checkpointer = open_direct_sqlite(database, sync.dialect)
        elif self.direct and sync.dialect.driver == "psycopg":
            from probity.chat.direct_pg import PgDirectStore

            self._direct = PgDirectStore(sync.url, sync.dialect)

    def stop_soon(self) -> None:
        """Ask the writer's thread to stop once what is queued is written (any thread)."""
        if self._thread is not None and self._thread.is_alive():
            self._inbox.put(_Queued(future=None))  # type: ignore[arg-type]
            self._nap.set()

    async def close(self) -> None:
        """Stop the writer (what is queued is written first) and its finisher."""
        if self._thread is not None and self._thread.is_alive():
            self._inbox.put(_Queued(future=None))  # type: ignore[arg-type]
            self._nap.set()
            await asyncio.to_thread(self._thread.join, 30)
        if self._finisher is not None:
            if self._done is not None:
                await asyncio.sleep(0)  # let the hand-backs scheduled by the thread land
                await self._done.join()
            self._finisher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._finisher
            self._finisher = None

    # -- on the writer's thread ------------------------------------------------------------

    def _take(self, timeout: float | None = None) -> bool:
        """Move what is queued to `_pending`, waiting up to `timeout` (None: for ever) for
        the first item when there is none; False when nothing came."""
        inbox, pending = self._inbox, self._pending
        try:
            pending.append(inbox.get(timeout=timeout) if timeout is None or timeout > 0
                           else inbox.get_nowait())
        except queue.Empty:
            return False
        while True:
            try:
                pending.append(inbox.get_nowait())
            except queue.Empty:
                return True

    def _wait_until(self) -> float:
        """Until when the queue may wait for more items to share its transaction: a short queue
        when coalescing, a queue of held receipts alone (`RECEIPT_HOLD_S`); 0: not at all."""
        pending = self._pending
        first = pending[0]
        if first.job is not None or any(item.future is None for item in pending):
            return 0.0  # a job runs alone; close(): write what is queued now
        until = 0.0
        arrivals = self._arrivals
        if (self.coalesce_s > 0 and len(pending) < COALESCE_BELOW
                and len(arrivals) == COALESCE_RECENT
                and first.queued_at - arrivals[0] <= COALESCE_STREAM_S):
            until = first.queued_at + self.coalesce_s
        if len(pending) < self.max_batch and all(item.held for item in pending):
            until = max(until, first.queued_at + self.receipt_hold_s)
        return until

    def _serve(self, loop: asyncio.AbstractEventLoop) -> None:
        pending = self._pending
        while True:
            if not pending:
                self._take()
                continue
            first = pending[0]
            if first.future is None:  # close(): stop once everything before it is written
                return
            wait = self._wait_until() - time.monotonic()
            if wait > 0:
                if all(item.held for item in pending):
                    if self._take(wait):
                        continue  # more came: look again (a message ends a receipt's wait)
                else:
                    # Coalescing: sleep out the wait instead of waking for every item that
                    # comes meanwhile (each wake-up a futex wake by the submitter and a GIL
                    # hand-off between the two threads); close() cuts it short.
                    self._nap.wait(wait)
                    self._take(0)
            if first.job is not None:
                batch = [pending.pop(0)]
            else:
                n = 0
                while n < len(pending) and n < self.max_batch and pending[n].batched:
                    n += 1
                batch = pending[:n]
                del pending[:n]
                self._arrivals.extend(item.queued_at for item in batch)
            try:
                self._write(batch, loop)
            except DomainError as exc:  # a job refused (e.g. recall too late): the caller's
                self._hand_back(_Done(batch, [], [exc]))
            except Exception as exc:  # never let the writer die with senders waiting
                log.exception("chat writer: transaction failed")
                self._hand_back(_Done(batch, [], [exc] * len(batch)))
            self._take(0)  # what came meanwhile

    def _write(self, batch: list[_Queued], loop: asyncio.AbstractEventLoop) -> None:
        for attempt in range(self.retries):
            try:
                self._write_once(batch, loop)
                return
            except OperationalError:
                if attempt == self.retries - 1:
                    raise
                time.sleep(0.01 * (attempt + 1))
            except Exception:
                if len(batch) == 1:
                    raise
                log.exception("chat writer: batch of %d failed; writing one by one",
                              len(batch))
                for item in batch:
                    try:
                        self._write([item], loop)
                    except Exception as exc:
                        self._hand_back(_Done([item], [], [exc]))
                return

    def _write_once(self, batch: list[_Queued], loop: asyncio.AbstractEventLoop) -> None:
        assert self._engine is not None
        if self._direct is not None and batch[0].job is None and not rules_cached() and all(
                item.send is None or eligible(item.send) for item in batch):
            sends = [item.send for item in batch if item.send is not None]
            receipts = [item.receipt for item in batch if item.receipt is not None]
            try:
                try:
                    done, seqs, effects = self._direct.write(sends, receipts, self._checked)
                except NeedsRefresh as exc:  # rolled back: reload the caches outside the
                    self.refreshes += 1      # write transaction, then once more
                    loop.run_until_complete(refresh_caches(self._engine, exc.events))
                    done, seqs, effects = self._direct.write(sends, receipts, self._checked)
            except Fallback as exc:
                self.fallbacks += 1  # rolled back: the session path below stores it
                self.fallback_reason = str(exc)
            except HostLost as exc:  # committed or not: its senders resend (`retry`)
                log.warning("chat writer: %s", exc.orig)
                self._hand_back(_Done(batch, [], [exc] * len(batch)))
                return
            except OperationalError:
                raise  # busy, deadlock: the whole batch is retried (`_write`)
            except Exception as exc:  # rolled back; never fail a send the session path can store
                log.exception("chat writer: direct path failed; taking the session path")
                self.fallbacks += 1
                self.fallback_reason = repr(exc)
            else:
                self.direct_batches += 1
                if self._checkpointer is not None:
                    self._checkpointer.committed()
                stored = iter(done)
                self._count(batch)
                self._hand_back(_Done(batch, effects, [
                    next(stored) if item.send is not None
                    else seqs.get((item.receipt.conv_id, item.receipt.side))
                    if item.receipt is not None else None for item in batch]))
                return
        effects, outcomes = loop.run_until_complete(self._write_session(batch))
        self._count(batch)
        self._hand_back(_Done(batch, effects, outcomes))

    async def _write_session(self, batch: list[_Queued]
                             ) -> tuple[list[Callable[[], Awaitable[None]]], list[Any]]:
        assert self._engine is not None
        async with AsyncSession(self._engine, expire_on_commit=False) as session:
            try:
                if batch[0].job is not None:
                    outcomes: list[Any] = [await batch[0].job(session)]
                else:
                    outcomes = await self._store(session, batch)
                effects = session.info.pop(AFTER_COMMIT, [])
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
        return effects, outcomes

    def _count(self, batch: list[_Queued]) -> None:
        self.transactions += 1
        sends = sum(1 for item in batch if item.send is not None)
        if sends:
            self.batches += 1
            self.messages += sends
            self.largest_batch = max(self.largest_batch, sends)
        self.receipts += sum(1 for item in batch if item.receipt is not None)

    async def _store(self, session: AsyncSession, batch: list[_Queued]) -> list[Any]:
        """The batch's messages, then its receipts (they acknowledge seqs delivered before), in
        the session's transaction; the outcome per item (a receipt's: its side's seqs)."""
        sends = [item.send for item in batch if item.send is not None]
        receipts = [item.receipt for item in batch if item.receipt is not None]
        stored = iter(await store_messages(session, sends, checkpoint_due=self._checkpoint_due)
                      if sends else [])
        seqs = await store_receipts(session, receipts) if receipts else {}
        return [next(stored) if item.send is not None
                else seqs.get((item.receipt.conv_id, item.receipt.side))
                if item.receipt is not None else None for item in batch]

    def _checkpoint_due(self, tenant_id: int) -> bool:
        now = time.monotonic()
        if now - self._checked.get(tenant_id, -math.inf) < CHECKPOINT_CHECK_S:
            return False
        self._checked[tenant_id] = now
        return True

    def _hand_back(self, done: _Done) -> None:
        """Hand a committed transaction back to the application's loop. Wakes the loop (a
        write to its self-pipe, `call_soon_threadsafe`) only when no hand-back is pending
        there already: while the loop is busy, every transaction committed meanwhile goes
        back in one callback."""
        main = self._main
        if main is None or self._done is None or main.is_closed():
            return
        self._outbox.append(done)  # deque.append: atomic, no lock
        if not self._outbox_scheduled:
            self._outbox_scheduled = True
            main.call_soon_threadsafe(self._take_back)

    def _take_back(self) -> None:
        """On the application's loop: what the writer handed back, in commit order, finished
        here and now (`_finish_now`: delivered, then acked) — no task woken for it (issue 17)
        — unless the finisher task still has an earlier transaction to finish (one whose
        delivery had to wait, e.g. for Redis): then behind it, in order. The flag is cleared
        before the outbox is emptied, so an item appended after this read either is taken here
        or schedules another call."""
        self._outbox_scheduled = False
        outbox, done_queue = self._outbox, self._done
        assert done_queue is not None
        while outbox:
            done = outbox.popleft()
            if self._finishing:
                self._finishing += 1
                done_queue.put_nowait(done)
            else:
                self._finish_now(done)

    def _finish_now(self, done: _Done, effect: int = 0) -> None:
        """Deliver (`done`'s effects from `effect` on, in order), then ack — synchronously
        while each effect runs to its end without waiting (the in-process bus's publish).
        An effect that has to wait goes on in the finisher task (`_finish`), and with it
        everything handed back after it, in order."""
        effects = done.effects
        while effect < len(effects):
            effect += 1
            try:
                step = effects[effect - 1]()
                waiting = step.send(None) if isinstance(step, types.CoroutineType) else step
            except StopIteration:
                continue
            except Exception:  # a fan-out failure must not turn a stored write into an error
                log.exception("chat delivery failed after commit")
                continue
            # It waits (on a future, or a bare yield: None): the finisher task finishes it,
            # then the rest.
            assert self._done is not None
            self._finishing += 1
            self._done.put_nowait(_Done(done.items, effects[effect:], done.outcomes,
                                        (step, waiting)))
            return
        _resolve(done)

    # -- back on the application's loop ----------------------------------------------------

    async def _finish(self, done_queue: asyncio.Queue[_Done]) -> None:
        """Committed: deliver (in commit order), then ack — what `_finish_now` could not
        finish at once, and everything handed back after it meanwhile."""
        while True:
            done = await done_queue.get()
            if done.started is not None:  # an effect `_finish_now` started, waiting
                try:
                    await resume_started(*done.started)
                except Exception:
                    log.exception("chat delivery failed after commit")
            for effect in done.effects:
                try:
                    await effect()
                except Exception:  # a fan-out failure must not turn a stored write into an error
                    log.exception("chat delivery failed after commit")
            _resolve(done)
            self._finishing -= 1
            done_queue.task_done()


def _resolve(done: _Done) -> None:
    """Each item's outcome to its future (or `submit_soon` callback), in order."""
    for item, outcome in zip(done.items, done.outcomes, strict=True):
        if item.future.done():
            continue
        if isinstance(outcome, BaseException):
            item.future.set_exception(outcome)
        else:
            item.future.set_result(outcome)


async def resume_started(step: Any, waiting: Any) -> None:
    """Run to its end a coroutine that was started by hand (``step.send(None)``) and yielded
    `waiting` (a future to wait on, or None: a bare yield) instead of finishing at once,
    resumed as a task would; or any other awaitable (`waiting` is `step`). Used for an
    effect `_finish_now` started and for a socket's frame `Connection.emit` started."""
    if not isinstance(step, types.CoroutineType):
        await step
        return
    try:
        while True:
            if waiting is not None:
                # What a task does with a future its coroutine yielded: it is ours to wait on.
                waiting._asyncio_future_blocking = False
            try:
                await (waiting if waiting is not None else asyncio.sleep(0))
            except asyncio.CancelledError:
                step.close()
                raise
            except BaseException:  # raised inside the coroutine as it resumes (it reads the future)
                pass
            waiting = step.send(None)
    except StopIteration:
        return


def _consume(future: asyncio.Future[Any]) -> None:
    # The sender may have gone away: retrieve the exception so it is not reported as lost.
    if not future.cancelled():
        future.exception()


_WRITERS: weakref.WeakKeyDictionary[Any, MessageWriter] = weakref.WeakKeyDictionary()


def writer_for(engine: AsyncEngine) -> MessageWriter:
    """The process's writer for `engine`'s database (created on first use)."""
    writer = _WRITERS.get(engine.sync_engine)
    if writer is None:
        settings = get_settings()
        host = (settings.chat_writer, bytes.fromhex(settings.chat_writer_key)) \
            if settings.chat_writer else None
        writer = _WRITERS[engine.sync_engine] = MessageWriter(
            engine.url.render_as_string(hide_password=False), host=host)
        # The writer's thread ends with the engine it writes for.
        weakref.finalize(engine.sync_engine, writer.stop_soon)
    return writer


def writer_for_session(session: AsyncSession) -> MessageWriter | None:
    """The group-commit writer for a session bound to an engine; None for a session bound to a
    connection (its owner holds an outer transaction the message must join)."""
    bind = session.bind
    return writer_for(bind) if isinstance(bind, AsyncEngine) else None

