"""The chat writer's direct path on PostgreSQL: `probity.chat.direct`'s batch (messages that
raise no alert, and receipts) on a bare synchronous ``psycopg`` connection owned by the writer's
thread, in psycopg's pipeline mode — no session, no SQLAlchemy statement machinery per batch
(docs/CHAT.md "Send path"). The same statements as on SQLite in ``%s`` form, sent in a fixed
number of round trips whatever the batch's size:

1. ``BEGIN`` and the seqs' ``UPDATE conversations … RETURNING`` (its row locks, as the session
   path takes them), and the receipts' SELECT when the batch has both;
2. the messages' multi-row ``INSERT … RETURNING`` and the rollups' two grouped upserts
   (`analytics.rollup.events_upserts_psycopg`, executemany);
3. per tenant, the ledger append (`ledger.service.append_entries_psycopg`: the tenant's
   advisory append lock, the head read after it, the entries and refs behind a savepoint on
   the guessed head — the session path's steps and locks);
4. the receipts' SELECT (a batch of receipts alone);
5. the receipts' UPDATE executemany (if any moved) and ``COMMIT``.

An IntegrityError (a resend: the client_id key) rolls back and raises `Fallback`, as anything
else the session path must do; a transient error (deadlock, serialization, a lost connection)
rolls back and raises SQLAlchemy's `OperationalError`, which the writer retries whole. The
values are `store.message_values` through the bind processors of the writer's SQLAlchemy
dialect (JSON as psycopg's ``Json``, enums as text, aware UTC datetimes), so the stored rows
are those the session path stores.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg import pq
from sqlalchemy.engine import URL, Dialect
from sqlalchemy.exc import OperationalError

from probity.analytics.rollup import Event, events_upserts_psycopg
from probity.chat.direct import DirectBase, Fallback, NeedsRefresh, Run, TurnSend
from probity.chat.store import Receipt
from probity.ledger.service import RawStatement, append_entries_psycopg, pg_pipeline

_RAW_INSERTS: dict[int, RawStatement] = {}  # rows → the messages' INSERT in $n form


class PgDirectStore(DirectBase):
    """The writer thread's own ``psycopg`` connection (autocommit: the store sends ``BEGIN``
    with its first statement and ``COMMIT`` with its last) and the direct path's statements."""

    marks = "%s"

    def __init__(self, url: URL, dialect: Dialect) -> None:
        super().__init__(dialect)
        self.url = url  # the ledger's head guesses are kept per (database URL, tenant)
        self._conninfo = url.set(drivername="postgresql").render_as_string(
            hide_password=False)
        self.con: psycopg.Connection[Any] | None = None
        self._begin = False  # BEGIN not sent yet: it goes with the next round trip
        self._later: Run = []  # statements whose results nobody reads: sent with the next
        self._ahead: list[int] | None = None  # receipts' conversations to read with the seqs
        self._fetched: tuple[str, list[int], list[Any]] | None = None  # what was read ahead

    def _sql(self, kind: str, n: int) -> str:
        if kind != "insert":
            return super()._sql(kind, n)
        # The messages' INSERT has 19 parameters per row: numbered (once per size), so that
        # psycopg need not look for them in the text every batch (`RawStatement`).
        sql = _RAW_INSERTS.get(n)
        if sql is None:
            sql = _RAW_INSERTS[n] = RawStatement.numbered(super()._sql(kind, n))
        return sql

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None

    def _connection(self) -> psycopg.Connection[Any]:
        con = self.con
        if con is None or con.closed or con.broken:
            if con is not None:
                con.close()
            con = self.con = psycopg.connect(self._conninfo, autocommit=True)
        return con

    @contextmanager
    def _transaction(self, sends: Sequence[TurnSend], receipts: Sequence[Receipt]
                     ) -> Iterator[None]:
        """The writer's connection (reopened when broken), BEGIN sent with the first round
        trip and COMMIT as the last; a constraint (a resend's client_id) is a `Fallback`, a
        deadlock, serialization failure or lost connection an `OperationalError` (the writer
        retries)."""
        try:
            con = self._connection()
        except psycopg.OperationalError as exc:
            raise OperationalError("chat direct connect", None, exc) from exc
        self._begin, self._later = True, []
        # A batch with messages and receipts: the receipts' SELECT rides with the seqs' UPDATE
        # (after it in the pipeline, so it reads the new last_seq; nothing later in the batch
        # changes what it reads) instead of a round trip of its own.
        self._ahead = sorted({r.conv_id for r in receipts}) if sends and receipts else None
        self._fetched = None
        try:
            try:
                yield
                self._round([("COMMIT", None)])  # an ack only after this returns
            except BaseException:
                self._later = []
                if not con.closed and not con.broken and \
                        con.info.transaction_status != pq.TransactionStatus.IDLE:
                    con.execute("ROLLBACK")
                raise
        except psycopg.IntegrityError as exc:  # a resend (client_id) or a constraint: the
            raise Fallback(str(exc)) from exc  # session path sorts it out
        except psycopg.OperationalError as exc:  # deadlock, serialization, connection lost
            raise OperationalError("chat direct write", None, exc) from exc

    def _round(self, statements: Run) -> list[Any]:
        """One round trip: BEGIN if not sent yet, the statements held back, then these
        (pipelined); each statement's rows (None: an executemany or no result)."""
        head: Run = [("BEGIN", None)] if self._begin else []
        todo = [*head, *self._later, *statements]
        self._begin, self._later = False, []
        assert self.con is not None
        found = pg_pipeline(self.con, todo, rows=True)
        return found[len(todo) - len(statements):]

    def _query(self, sql: str, params: Sequence[Any]) -> list[Any]:
        fetched = self._fetched
        if fetched is not None and fetched[0] == sql and fetched[1] == params:
            self._fetched = None
            return fetched[2]
        ids, self._ahead = self._ahead, None
        if ids is None:
            (rows,) = self._round([(sql, tuple(params))])
            return list(rows)
        ahead = self._sql("receipts", len(ids))
        rows, state = self._round([(sql, tuple(params)), (ahead, tuple(ids))])
        self._fetched = (ahead, ids, list(state))
        return list(rows)

    def _insert(self, sql: str, flat: list[Any], events: list[Event]) -> tuple[list[Any], Run]:
        upserts = events_upserts_psycopg(self.dialect, events)
        if upserts is None:
            raise NeedsRefresh("the rollup hook needs its session", events)
        returned, *_ = self._round([(sql, tuple(flat)), *upserts])
        return list(returned), upserts

    def _append(self, tenant_id: int, items: list[tuple[str, Any]], due: bool,
                head: tuple[int, str, str] | None, bodies: list[bytes | None],
                appended: list[tuple[Any, ...]]) -> tuple[datetime | None, Run]:
        # (`head` is None here: the head is read after the tenant's advisory lock)
        assert self.con is not None
        if self._begin or self._later:  # (not so on the direct path: seqs come first)
            self._round([])
        _entries, latest, ran = append_entries_psycopg(
            self.con, self.url, tenant_id, items, purgeable=True, checkpoint_time=due,
            dialect=self.dialect, bodies=bodies, appended=appended)
        return latest, ran

    def _execute(self, sql: str, params: tuple[Any, ...]) -> None:
        self._later.append((sql, params))  # (a checkpoint's INSERT: it rides with the COMMIT)

    def _update_receipts(self, params: list[tuple[Any, ...]]) -> None:
        self._later.append((self._sql("receipts_update", 0), params))
