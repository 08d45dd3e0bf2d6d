"""The chat writer host: one writer of chat batches for a SQLite file shared by the processes of
`probity serve --workers N` (issue 17; docs/CHAT.md "One writer for the SQLite file").

Each app process's `MessageWriter` still takes its sends and receipts, stages a direct batch
(its rows and ledger payloads: `direct.Stager.stage`) and, after the commit, makes the stored
rows and the deliveries (`direct.finish`). What lies between — the transaction — is done here,
by one process for all of them: a `RemoteStore` in the app process sends the staged batch over
a Unix socket, the host stores it with `DirectStore.write_turn` and answers with what it
stored (`direct.Turned`). Batches that arrive while the host writes are stored together, in
one transaction: one commit for the batches of every process. Before, each process's writer
took a turn on SQLite's write lock for its own batch and re-read the pages the other had
changed.

The host owns the direct path's per-process state: the rollups' caches (refreshed here when
stale, `NeedsRefresh`), each tenant's Merkle range and the due ledger checkpoints, and the
WAL's checkpoints (`writer.open_direct_sqlite`). The app processes keep the session path
(alerts, refusals, resends, jobs) on their own connections.

What an answer means, in the app process:
- ``ok``: committed; the senders are acked after their deliveries, as before.
- ``fallback``: rolled back, nothing stored; the app process stores the batch through its
  session path. So does a batch that could not be sent at all (no host, or it is starting):
  every send is stored, one way or the other.
- ``busy``: rolled back on a busy database; the writer retries the batch, as before.
- no answer (the host died while it had the batch): whether it committed is unknown, so its
  senders get ``retry`` (`HostLost`, an `OperationalError`: not retried by the writer); a
  resend with the same ``client_id`` returns the stored message if it was.

The dispatcher (`probity.dispatch`) starts the host before the workers and starts it again
when it exits; it is given a Unix socket in a private directory and a random key
(``PROBITY_CHAT_WRITER``, ``PROBITY_CHAT_WRITER_KEY``: the workers' settings), which
`multiprocessing.connection` checks (HMAC challenge) when a worker connects.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import os
import pickle
import signal
import sys
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Client, Connection, Listener, wait
from pathlib import Path
from typing import Any, cast

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import OperationalError

from probity.chat.direct import (
    DirectStore,
    Effect,
    Fallback,
    NeedsRefresh,
    Stager,
    Turned,
    TurnSend,
    finish,
    turn_sends,
)
from probity.chat.store import PendingSend, Receipt
from probity.chat.wire import MessageRow
from probity.errors import DomainError

log = logging.getLogger("probity.chat")

OK, FALLBACK, BUSY = "ok", "fallback", "busy"
PROCESS_NAME = "probity-writer"
# An app process that found no host (not started yet, restarting) tries again after this long;
# meanwhile its batches take the session path.
RECONNECT_S = 1.0
# The most messages the host stores in one transaction (batches of several processes; a
# process's own batch is at most its writer's `max_batch`, 64).
MAX_MESSAGES = 256
# A request on the wire: the staged sends and the receipts (conversation, side, delivered, read).
WireReceipt = tuple[int, str, int | None, int | None]


class HostLost(OperationalError):
    """The host went away while it had the batch: it may or may not have committed it. The
    writer answers its senders ``retry`` and does not retry it itself."""

    def __init__(self, detail: str) -> None:
        super().__init__("chat writer host", None, Exception(detail))


class RemoteStore:
    """The direct path of an app process whose transactions the host runs: `write` as
    `DirectBase.write`, the turn sent to the host (see the module's docstring)."""

    def __init__(self, address: str, authkey: bytes, dialect: Dialect) -> None:
        self.address = address
        self.authkey = authkey
        self.stager = Stager(dialect)
        self._conn: Connection | None = None
        self._failed_at = -math.inf

    def write(self, sends: Sequence[PendingSend], receipts: Sequence[Receipt],
              checked: dict[int, float]
              ) -> tuple[list[tuple[MessageRow, bool] | DomainError],
                         dict[tuple[int, str], tuple[int, int]], list[Effect]]:
        """`DirectBase.write` through the host (`checked` is the host's own)."""
        staged = self.stager.stage(sends)
        request = pickle.dumps((turn_sends(staged), [
            (r.conv_id, r.side, r.delivered, r.read) for r in receipts]), protocol=5)
        conn = self._connection()
        try:
            conn.send_bytes(request)
        except OSError as exc:  # the request did not reach it whole: nothing was stored
            self.close()
            raise Fallback(f"the chat writer host is gone: {exc}") from exc
        try:
            kind, value = pickle.loads(conn.recv_bytes())
        except (OSError, EOFError) as exc:
            self.close()
            raise HostLost(f"the chat writer host went away with a batch: {exc!r}") from exc
        if kind == OK:
            return finish(staged, sends, receipts, value)
        if kind == BUSY:
            raise OperationalError("chat writer host", None, Exception(value))
        raise Fallback(value)

    def _connection(self) -> Connection:
        if self._conn is not None:
            return self._conn
        now = time.monotonic()
        if now - self._failed_at < RECONNECT_S:
            raise Fallback("no chat writer host (it is starting, or went away)")
        try:
            self._conn = Client(self.address, family="AF_UNIX", authkey=self.authkey)
        except (OSError, EOFError) as exc:  # EOFError: it closed during the handshake
            self._failed_at = now
            raise Fallback(f"no chat writer host: {exc}") from exc
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
            self._conn = None
            self._failed_at = time.monotonic()


def _no_publish(channel: str, event: dict[str, Any]) -> Any:  # receipts in the host
    raise AssertionError("the host publishes nothing")


class WriterHost:
    """The host's loop: accept app processes, take the batches they send, store those that
    arrived together in one transaction, answer each with its part."""

    def __init__(self, url: str, address: str, authkey: bytes) -> None:
        from probity.chat.writer import open_direct_sqlite
        from probity.db import make_direct_engine

        self.address = address
        self.engine = make_direct_engine(url, pool_size=1, max_overflow=0,
                                         pool_pre_ping=False)
        sync = self.engine.sync_engine
        database = sync.url.database
        if sync.dialect.name != "sqlite" or database in (None, "", ":memory:"):
            raise ValueError("the chat writer host serves a SQLite file")
        self.database = database
        self.store: DirectStore
        self.store, self.checkpointer = open_direct_sqlite(database, sync.dialect)
        self.loop = asyncio.new_event_loop()  # for the caches' refresh (a read session)
        self.checked: dict[int, float] = {}
        with contextlib.suppress(FileNotFoundError):  # a killed host's socket (its directory
            os.unlink(address)                         # is the dispatcher's, private)
        self.listener = Listener(address, family="AF_UNIX", authkey=authkey, backlog=64)
        os.chmod(address, 0o600)
        self.conns: list[Connection] = []
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        self.stopping = False
        # Counters (tests, logs).
        self.transactions = 0
        self.merged = 0  # transactions that stored the batches of two or more processes
        self.messages = 0
        self.fallbacks = 0
        self.refreshes = 0

    # -- connections -----------------------------------------------------------------------

    def _accept(self) -> None:
        while not self.stopping:
            try:
                conn = self.listener.accept()
            except OSError:  # closed: stopping
                return
            except Exception:  # a failed handshake (wrong key, went away): that one only
                log.warning("chat writer host: a connection was refused", exc_info=True)
                continue
            with self._lock:
                self.conns.append(conn)
            os.write(self._wake_w, b"c")

    def stop(self) -> None:
        """Stop serving (any thread, or the SIGTERM handler)."""
        with self._lock:
            if self.stopping:
                return
            self.stopping = True
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"s")

    # -- the loop ---------------------------------------------------------------------------

    def serve(self) -> None:
        threading.Thread(target=self._accept, name="chat-host-accept", daemon=True).start()
        try:
            while not self.stopping:
                with self._lock:
                    conns = list(self.conns)
                ready = wait([*conns, self._wake_r])
                requests: list[tuple[Connection, bytes]] = []
                for obj in ready:
                    if obj == self._wake_r:
                        os.read(self._wake_r, 4096)
                        continue
                    conn = cast(Connection, obj)
                    try:
                        requests.append((conn, conn.recv_bytes()))
                    except (OSError, EOFError):  # that app process went away
                        self._drop(conn)
                if requests:
                    self._serve(requests)
        finally:
            self.close()

    def _serve(self, requests: list[tuple[Connection, bytes]]) -> None:
        group: list[tuple[Connection, list[TurnSend], list[Receipt]]] = []
        for conn, data in requests:
            try:
                sends, wire = pickle.loads(data)
                receipts = [Receipt(cid, side, _no_publish, delivered, read)
                            for cid, side, delivered, read in wire]
            except Exception:  # not ours: answer it, keep the others
                log.exception("chat writer host: a request could not be read")
                self._answer(conn, (FALLBACK, "the chat writer host could not read the batch"))
                continue
            group.append((conn, sends, receipts))
        # The messages of several processes share a transaction up to MAX_MESSAGES.
        while group:
            n, total = 0, 0
            while n < len(group) and (n == 0 or total + len(group[n][1]) <= MAX_MESSAGES):
                total += len(group[n][1])
                n += 1
            self._write(group[:n])
            del group[:n]

    def _write(self, group: list[tuple[Connection, list[TurnSend], list[Receipt]]]) -> None:
        sends = [s for _c, part, _r in group for s in part]
        receipts = [r for _c, _s, part in group for r in part]
        try:
            turned = self._turn(sends, receipts)
        except OperationalError as exc:  # busy: the app processes retry
            for conn, _s, _r in group:
                self._answer(conn, (BUSY, str(exc)))
            return
        except Exception as exc:  # rolled back: each process's batch alone, or its session
            if not isinstance(exc, Fallback):  # path (never fail what it can store)
                log.exception("chat writer host: the batch failed")
            if len(group) > 1:
                for one in group:
                    self._write([one])
                return
            self.fallbacks += 1
            self._answer(group[0][0], (FALLBACK, str(exc) if isinstance(exc, Fallback)
                                       else repr(exc)))
            return
        self.transactions += 1
        self.messages += len(turned.placed)
        if len(group) > 1:
            self.merged += 1
        self.checkpointer.committed()
        for (conn, _s, _r), part in zip(group, _parts(turned, group), strict=True):
            self._answer(conn, (OK, part))

    def _turn(self, sends: list[TurnSend], receipts: list[Receipt]) -> Turned:
        try:
            return self.store.write_turn(sends, receipts, self.checked)
        except NeedsRefresh as exc:  # rolled back: reload outside the write transaction
            from probity.chat.writer import refresh_caches

            self.refreshes += 1
            self.loop.run_until_complete(refresh_caches(self.engine, exc.events))
            return self.store.write_turn(sends, receipts, self.checked)

    def _answer(self, conn: Connection, answer: tuple[str, Any]) -> None:
        try:
            conn.send_bytes(pickle.dumps(answer, protocol=5))
        except OSError:  # it went away: a resend finds what was stored
            self._drop(conn)

    def _drop(self, conn: Connection) -> None:
        with self._lock:
            if conn in self.conns:
                self.conns.remove(conn)
        with contextlib.suppress(OSError):
            conn.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.close()  # (unlinks the socket's file)
        with self._lock:
            conns, self.conns = self.conns, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.close()
        self.checkpointer.stop()
        self.store.close()
        with contextlib.suppress(Exception):
            self.loop.run_until_complete(self.engine.dispose())
        self.loop.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)


def _parts(turned: Turned, group: list[tuple[Connection, list[TurnSend], list[Receipt]]]
           ) -> list[Turned]:
    """`turned` split by the process whose batch it stored: indexes from each batch's first
    send; closed conversations, seqs and moves of its own sends and receipts (a move of a
    (conversation, side) that two batches both had is published by the first)."""
    parts: list[Turned] = []
    placed = iter(turned.placed)
    nxt = next(placed, None)
    start = 0
    moved_left = set(turned.moved)
    for _conn, sends, receipts in group:
        end = start + len(sends)
        mine = []
        while nxt is not None and nxt[0] < end:
            mine.append((nxt[0] - start, *nxt[1:]))
            nxt = next(placed, None)
        keys = {(r.conv_id, r.side) for r in receipts}
        moved = [key for key in turned.moved if key in keys and key in moved_left]
        moved_left.difference_update(moved)
        parts.append(Turned(mine, turned.now, {s[0] for s in sends} & turned.closed,
                            {key: turned.seqs[key] for key in keys if key in turned.seqs},
                            {cid: turned.state[cid] for cid, _side in moved}, moved))
        start = end
    return parts


def host_main(url: str, address: str, authkey: bytes, probity_logging: bool = False) -> None:
    """The host process (the dispatcher's child): serve until SIGTERM."""
    if probity_logging:
        from probity.ops.logs import configure_logging

        configure_logging()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the dispatcher stops it, after the workers
    with contextlib.suppress(OSError):  # its name in ps/top (the workers' is python's)
        Path("/proc/self/comm").write_text(PROCESS_NAME)
    host = WriterHost(url, address, authkey)
    signal.signal(signal.SIGTERM, lambda _sig, _frame: host.stop())
    log.info("chat writer host [%d] for %s", os.getpid(), host.database)
    host.serve()
    log.info("chat writer host [%d]: %d transactions, %d of them merged, %d messages, "
             "%d fallbacks", os.getpid(), host.transactions, host.merged, host.messages,
             host.fallbacks)


def main(argv: list[str] | None = None) -> int:
    """``python -m probity.chat.host --address PATH`` (the key in PROBITY_CHAT_WRITER_KEY):
    a host outside the dispatcher (tests)."""
    from probity.config import get_settings

    ap = argparse.ArgumentParser(prog="python -m probity.chat.host")
    ap.add_argument("--address", required=True)
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args(argv)
    key = os.environ.get("PROBITY_CHAT_WRITER_KEY", "")
    if not key:
        ap.error("PROBITY_CHAT_WRITER_KEY is not set")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    host_main(args.database_url or get_settings().database_url, args.address,
              bytes.fromhex(key))
    return 0


if __name__ == "__main__":
    sys.exit(main())
