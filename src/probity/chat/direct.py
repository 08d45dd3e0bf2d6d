"""The chat writer's direct path on SQLite: the common batch — messages that raise no alert,
and receipts — stored through the bare ``sqlite3`` driver with a fixed number of statements,
no session, no greenlet and no SQLAlchemy statement machinery per batch (docs/CHAT.md "Send
path"). Anything it does not cover raises `Fallback` before it commits: the transaction is
rolled back and the writer stores the batch through the session path (`store.store_messages`,
`store.store_receipts`), which covers everything.

What it stores is what the session path stores, column for column: the values come from the
same function (`store.message_values`) and go through the bind processors SQLAlchemy would
use (so timestamps, JSON and enums are stored identically); the ledger entries through
`ledger.service.append_entries_sqlite3` (the same rows and chain); the rollups through
`analytics.rollup.record_events_sqlite3` (the same grouped upserts). It takes the process's
write gate (priority lane, as the writer's session does) and ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import dataclasses
import fcntl
import operator
import os
import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from itertools import repeat
from typing import Any, cast

from sqlalchemy import JSON, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import OperationalError

from probity.analytics.rollup import Event, record_events_sqlite3
from probity.chat.screening import remember_seq
from probity.chat.store import (
    CHECKPOINT_CHECK_S,
    VALUE_COLUMNS,
    ConvState,
    PendingSend,
    Receipt,
    ReceiptMoves,
    deliveries_effect,
    message_tuple,
    plan_receipts,
    receipts_effect,
)
from probity.chat.wire import MessageRow
from probity.db import GATE_TIMEOUT_S, WriteGate, sqlite_pragmas, write_gate
from probity.errors import Conflict, DomainError
from probity.ledger import publish, service
from probity.ledger.chain import format_time
from probity.ledger.checkpoint import CheckpointError
from probity.ledger.facts import (
    TURN_VALUES,
    MessageParts,
    message_json,
    message_json_join,
    message_json_parts,
    message_payload,
)
from probity.ledger.ranges import LedgerRanges, MadeCheckpoint, RangeError
from probity.ledger.service import CHECKPOINT_INTERVAL_S, append_entries_sqlite3
from probity.models import Message
from probity.models.base import utcnow

Effect = Callable[[], Awaitable[None]]
Run = list[tuple[str, Any]]
# The receipts' conversation state and moves, what `receipts_effect` publishes after commit.
Moves = tuple[dict[int, dict[str, int]], ReceiptMoves]

_MESSAGES = cast(Table, Message.__table__)
# The INSERT's columns: MessageRow's but id and recalled_at (NULL: a new message).
_INSERT_COLUMNS = ("conversation_id", "tenant_id", "seq", "sender_role", "sender_user_id",
                   "sender_employee_id", "client_id", "kind", "body", "attachment_sha256",
                   "attachment_mime", "attachment_size", "decision", "screening_status",
                   "categories", "severity", "spans", "policy_version", "created_at")
_CONV_STATE = "id, last_seq, tenant_id, org_unit_id, agent_employee_id, customer_id"
_SEQ_COLUMNS = ("customer_delivered_seq", "customer_read_seq", "agent_delivered_seq",
                "agent_read_seq")
_STATE_KEYS = ("last_seq", *_SEQ_COLUMNS)
_SEQS_OF = operator.itemgetter(*_SEQ_COLUMNS)
_RECEIPTS_SELECT = f"SELECT id, last_seq, {', '.join(_SEQ_COLUMNS)} FROM conversations WHERE id IN "
_RECEIPTS_UPDATE = ("UPDATE conversations SET " + ", ".join(
    f"{c} = CASE WHEN {c} < ? THEN ? ELSE {c} END" for c in _SEQ_COLUMNS) + " WHERE id = ?")


# SQLite: the ledger head of each returned conversation's tenant (`DirectStore._sql`), as
# "seq entry_hash tenant_code" (NULL: no entry yet); the head read `_SQL_HEAD` of
# `ledger.service` does, in the seqs' statement.
_HEAD_RETURNING = (", (SELECT e.seq || ' ' || e.entry_hash || ' ' || e.tenant_code FROM "
                   "ledger_entries e WHERE e.tenant_id = conversations.tenant_id "
                   "ORDER BY e.seq DESC LIMIT 1)")

# sqlite3 binds a None parameter (NULL) only after looking for an adapter: no entry for
# NoneType in its adapter registry, then ``__adapt__`` on its protocol and ``__conform__`` on
# None, each a failed attribute look-up raising and clearing an AttributeError (~0.6 µs per
# None against ~0.1 µs per int; a chat message binds 3-5 of them: its attachment columns, a
# customer's user and employee ids). An adapter registered for NoneType is found at the first
# look-up; this one is a C function that returns None for None (an empty dict's ``get``), so
# NULL is bound as before, on every sqlite3 connection of the process (the registry is the
# module's). ~0.23 µs per None.
sqlite3.register_adapter(type(None), cast(Callable[[None], None], {}.get))

_CREATED_AT = len(_INSERT_COLUMNS) - 1
assert _INSERT_COLUMNS == VALUE_COLUMNS  # `message_tuple`'s, the INSERT's order
_ROLE, _DECISION, _CATEGORIES = (_INSERT_COLUMNS.index(c)
                                 for c in ("sender_role", "decision", "categories"))
assert _INSERT_COLUMNS[_CREATED_AT] == "created_at" and _INSERT_COLUMNS[:3] == (
    "conversation_id", "tenant_id", "seq")
# MessageRow's slots, set in field order by `_new_row`.
_ROW_SETTERS = tuple(getattr(MessageRow, f.name).__set__ for f in dataclasses.fields(MessageRow))


def _new_row(values: tuple[Any, ...]) -> MessageRow:
    """``MessageRow(*values)``, the same frozen row, made without its generated ``__init__``: a
    frozen dataclass sets each of its 21 fields through ``object.__setattr__`` (a global,
    an attribute and a generic setattr per field: ~3-4 µs a row); here each slot's own
    descriptor sets it, the loop in C (`operator.call` over `map`). MessageRow has no
    ``__post_init__`` and no defaults (checked by tests/chat/test_direct.py)."""
    assert len(values) == len(_ROW_SETTERS)
    row = _NEW(MessageRow)
    any(map(operator.call, _ROW_SETTERS, repeat(row), values))  # each returns None
    return row


_NEW = object.__new__
_SET_ID, _SET_TENANT, _SET_SEQ, _SET_CREATED = (getattr(MessageRow, f).__set__
                                                for f in ("id", "tenant_id", "seq", "created_at"))


def _place(row: MessageRow, message_id: int, tenant_id: int, seq: int, now: datetime
           ) -> MessageRow:
    """A staged row (`_new_row`, not yet handed on) with what the write turn gave it."""
    _SET_ID(row, message_id)
    _SET_TENANT(row, tenant_id)
    _SET_SEQ(row, seq)
    _SET_CREATED(row, now)
    return row


# A send staged before the writers' turn (`DirectBase._stage`): the send; its MessageRow (id,
# tenant, seq and time placeholders, set by `_place` once known); its INSERT row
# (bind-processed; the turn fills in the tenant, seq and time); its ledger payload's canonical
# JSON in parts (`message_json_parts`; None: made in the turn); what the rollups count of it
# (role, decision, categories).
Staged = tuple[PendingSend, MessageRow, list[Any], MessageParts | None,
               tuple[str, str, tuple[str, ...]]]
# A staged send as the writers' turn needs it (`turn_sends`; what the chat writer host receives
# from an app process): its conversation; its MessageRow only when its payload is made in the
# turn (parts None); its INSERT row; its payload's parts; what the rollups count of it.
TurnSend = tuple[int, MessageRow | None, list[Any], MessageParts | None,
                 tuple[str, str, tuple[str, ...]]]
# A staged send as stored in the turn: its index in the batch, its tenant, seq and id.
Placed = tuple[int, int, int, int]


@dataclasses.dataclass(slots=True)
class Turned:
    """What a batch's transaction stored (`DirectBase.write_turn`), for `finish`: the stored
    sends (`Placed`, in the batch's order), the batch's time, the closed conversations (their
    sends failed), the receipts' seqs, and the (conversation, side) pairs whose seqs moved
    with their conversations' seqs then (what `receipts_effect` publishes)."""

    placed: list[Placed]
    now: datetime
    closed: set[int]
    seqs: dict[tuple[int, str], tuple[int, int]]
    state: dict[int, dict[str, int]]
    moved: list[tuple[int, str]]


def turn_sends(staged: Sequence[Staged]) -> list[TurnSend]:
    """The staged sends as the writers' turn needs them (no send object: a host process
    receives these)."""
    return [(s.conv_id, message if parts is None else None, row, parts, counted)
            for s, message, row, parts, counted in staged]


def finish(staged: Sequence[Staged], sends: Sequence[PendingSend], receipts: Sequence[Receipt],
           turned: Turned) -> tuple[list[tuple[MessageRow, bool] | DomainError],
                                    dict[tuple[int, str], tuple[int, int]], list[Effect]]:
    """After the commit: each send's outcome (in order), the receipts' seqs and the effects to
    publish. (A direct batch's messages are all delivered, with no alert: `eligible`.)"""
    stored: list[tuple[PendingSend, MessageRow]] = []
    now = turned.now
    for index, tenant_id, seq, message_id in turned.placed:
        s, message = staged[index][0], staged[index][1]
        stored.append((s, _place(message, message_id, tenant_id, seq, now)))
        if s.turn is not None:
            remember_seq(s.conv_id, s.turn, seq)
    rows = iter(stored)
    closed = turned.closed
    outcomes: list[tuple[MessageRow, bool] | DomainError] = [
        (next(rows)[1], False) if s.conv_id not in closed
        else Conflict("the conversation is closed", code="closed") for s in sends]
    effects: list[Effect] = [deliveries_effect(stored)] if stored else []
    if turned.moved:
        publishers = {(r.conv_id, r.side): r.publish for r in receipts}
        effects.append(receipts_effect(turned.state, {key: publishers[key]
                                                      for key in turned.moved}))
    return outcomes, turned.seqs, effects
_PLACEHOLDER_TIME = datetime(2000, 1, 1, tzinfo=UTC)


class Fallback(Exception):
    """The batch needs the session path; nothing of it was committed."""


class NeedsRefresh(Fallback):
    """The rollups' per-process caches (tenant zone, agent, rota) or the monitoring rules
    were stale or missing for the batch's events: the writer reloads them outside the write
    transaction (`analytics.rollup.refresh`) and tries the direct path once more before it
    takes the session path."""

    def __init__(self, message: str, events: list[Event]) -> None:
        super().__init__(message)
        self.events = events


def _json_empty(process: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """A JSON column's bind processor that returns the empty list's text, computed once,
    for an empty list (most messages' categories and spans); the processor's own result
    otherwise. A driver whose processor returns a wrapper (psycopg's ``Json``) keeps it."""
    if process is None:
        return None
    empty = process([])
    if not isinstance(empty, str):
        return process

    def json_text(value: Any) -> Any:
        return empty if value == [] and type(value) is list else process(value)

    return json_text


def _marks(n: int) -> str:
    return "(" + ", ".join("?" * n) + ")"


_SQL: dict[tuple[str, int], str] = {}


def _sql(kind: str, n: int) -> str:
    """The statement of a kind for n conversations (or rows), built once per size."""
    key = (kind, n)
    sql = _SQL.get(key)
    if sql is None:
        if kind == "seqs1":
            sql = ("UPDATE conversations SET last_seq = last_seq + ? WHERE id = ? AND "
                   f"status <> 'closed' RETURNING {_CONV_STATE}")
        elif kind == "seqs":
            sql = ("UPDATE conversations SET last_seq = last_seq + CASE id "
                   + " ".join(["WHEN ? THEN ?"] * n) + f" END WHERE id IN {_marks(n)} AND "
                   f"status <> 'closed' RETURNING {_CONV_STATE}")
        elif kind == "insert":
            row = _marks(len(_INSERT_COLUMNS))
            sql = (f"INSERT INTO messages ({', '.join(_INSERT_COLUMNS)}) VALUES "
                   + ", ".join([row] * n) + " RETURNING id, conversation_id, seq")
        elif kind == "receipts":
            sql = _RECEIPTS_SELECT + _marks(n)
        else:  # receipts_update (an executemany)
            sql = _RECEIPTS_UPDATE
        _SQL[key] = sql
    return sql


class Stager:
    """What the direct path does to a batch before the writers' turn (`stage`), with the bind
    processors of a dialect: in the writer's process, also when a chat writer host
    (`probity.chat.host`) runs the turn."""

    dialect: Dialect

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        # Per INSERT column: the bind processor SQLAlchemy applies (None: sent as is).
        self._procs = tuple(_json_empty(p) if isinstance(_MESSAGES.c[c].type, JSON) else p
                            for c in _INSERT_COLUMNS
                            for p in (_MESSAGES.c[c].type.dialect_impl(dialect)
                                      .bind_processor(dialect),))
        # The columns but the last (created_at: one value per batch) that have a processor
        # (enum, JSON), by position.
        self._processed = tuple((i, p) for i, p in enumerate(self._procs[:-1])
                                if p is not None)
        self._stamp = self._procs[_CREATED_AT]

    def stage(self, sends: Sequence[PendingSend]) -> list[Staged]:
        """Each send's INSERT row (bind-processed) and ledger payload, made before the
        writers' turn: what only the turn knows — the tenant and seq in the row, the seq,
        time and id in the payload (`facts.TURN_VALUES`) — is left as a placeholder for
        `DirectBase._sends` to fill in."""
        staged: list[Staged] = []
        processed = self._processed
        for s in sends:
            v = message_tuple(s, 0, 0, _PLACEHOLDER_TIME)  # _INSERT_COLUMNS
            row = list(v)
            for i, p in processed:
                row[i] = p(row[i])
            message = _new_row((0, *v, None))  # its id, tenant, seq and time: `_place`
            payload = message_payload(message)
            payload.update(TURN_VALUES)
            staged.append((s, message, row, message_json_parts(payload),
                           (v[_ROLE], v[_DECISION], tuple(v[_CATEGORIES]))))
        return staged


class DirectBase(Stager, ABC):
    """The direct path's statements, apart from the driver: the seqs' UPDATE … RETURNING,
    ONE multi-row INSERT … RETURNING for the messages, the rollups' grouped upserts, the
    ledger append per tenant, the receipts' SELECT and UPDATE executemany. A driver's store
    (`DirectStore`: sqlite3; `probity.chat.direct_pg.PgDirectStore`: psycopg) supplies the
    transaction and how statements reach the driver."""

    marks = "?"  # the driver's parameter marker

    def __init__(self, dialect: Dialect) -> None:
        super().__init__(dialect)
        self.on_statements: Callable[[Run], None] | None = None  # tests: statements per batch
        # Each tenant's Merkle range, extended with every batch's entries, so that a due
        # ledger checkpoint is signed here from it (`ledger.ranges`), not by the session path.
        self.ranges = LedgerRanges(dialect, self.marks)
        self.checkpoints = 0  # checkpoints this path made (tests, benchmarks)
        self._made: list[MadeCheckpoint] = []  # this transaction's, published after commit

    def _sql(self, kind: str, n: int) -> str:
        sql = _sql(kind, n)
        return sql if self.marks == "?" else sql.replace("?", self.marks)

    # -- what a driver's store supplies ---------------------------------------------------

    def write(self, sends: Sequence[PendingSend], receipts: Sequence[Receipt],
              checked: dict[int, float]
              ) -> tuple[list[tuple[MessageRow, bool] | DomainError],
                         dict[tuple[int, str], tuple[int, int]], list[Effect]]:
        """Store the batch in one transaction and commit; returns the sends' outcomes (in
        order), the receipts' seqs and the effects to publish. Raises `Fallback` (rolled back)
        for what the session path must do, `OperationalError` (rolled back) when the database
        could not take the batch now (the writer retries it whole).

        The writers of several processes take turns on the transaction (issue 17), so what
        does not need it is done before or after it: the sends' rows and payloads are staged
        before (`stage`), the stored rows and the wire frames made after the commit
        (`finish`); `write_turn` is the transaction, which the chat writer host
        (`probity.chat.host`) runs for the staged batches of several processes."""
        staged = self.stage(sends)
        return finish(staged, sends, receipts, self.write_turn(turn_sends(staged), receipts,
                                                               checked))

    def write_turn(self, sends: Sequence[TurnSend], receipts: Sequence[Receipt],
                   checked: dict[int, float]) -> Turned:
        """The staged batch's transaction, committed (see `write`); the Merkle ranges of the
        tenants whose checkpoint was not looked at are extended after the commit, and the
        checkpoints it signed are published then."""
        run: Run = []
        made = self._made = []
        moves: Moves | None = None
        placed: list[Placed] = []
        later: list[tuple[int, list[tuple[Any, ...]]]] = []
        now = _PLACEHOLDER_TIME
        try:
            with self._transaction(sends, receipts):
                fresh_checks, closed, now = self._sends(sends, placed, later, run, checked) \
                    if sends else ([], set(), now)
                if receipts:
                    seqs, moves = self._receipts(receipts, run)
                else:
                    seqs = {}
        except BaseException:
            self.ranges.rollback()  # (a COMMIT that failed may have committed: a later
            raise                   # batch then catches up, `LedgerRanges.extend`)
        self.ranges.commit()
        for tenant_id, appended in later:
            self.ranges.extend_committed(tenant_id, appended, self._query, run)
        clock = time.monotonic()
        for tenant_id in fresh_checks:
            checked[tenant_id] = clock
        for cp in made:  # committed: publish the notes, as `publish.queue` does after commit
            self.checkpoints += 1
            publish.publish_committed(cp.tenant_code, cp.tree_size, cp.note)
        if self.on_statements is not None:
            self.on_statements(run)
        if moves is None:
            return Turned(placed, now, closed, seqs, {}, [])
        state, moved = moves
        return Turned(placed, now, closed, seqs, {cid: state[cid] for cid, _side in moved},
                      list(moved))

    @abstractmethod
    def _transaction(self, sends: Sequence[TurnSend], receipts: Sequence[Receipt]
                     ) -> AbstractContextManager[None]:
        """The batch's transaction: begun on entry, committed on a clean exit (an ack only
        after the commit returns), rolled back otherwise; the driver's errors raised as
        `Fallback` or `OperationalError`."""

    @abstractmethod
    def close(self) -> None:
        """Close the driver's connection."""

    @abstractmethod
    def _query(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """Run one statement; its rows."""

    @abstractmethod
    def _insert(self, sql: str, flat: list[Any], events: list[Event]) -> tuple[list[Any], Run]:
        """The messages' INSERT … RETURNING (its rows) and the batch's rollups of `events` (the
        upserts run); raises `Fallback` when the rollups need the session."""

    @abstractmethod
    def _append(self, tenant_id: int, items: list[tuple[str, Any]], due: bool,
                head: tuple[int, str, str] | None, bodies: list[bytes | None],
                appended: list[tuple[Any, ...]]) -> tuple[datetime | None, Run]:
        """The tenant's ledger append after `head` (its last entry's seq, hash and tenant
        code, read in this transaction; None: read it), `bodies` the items' payloads as
        canonical JSON (`ledger.facts.message_json`), the rows written added to `appended`:
        the latest checkpoint's time (when `due`), what ran."""

    @abstractmethod
    def _execute(self, sql: str, params: tuple[Any, ...]) -> None:
        """Run a statement whose result nobody reads, in this transaction (PostgreSQL: with
        the next round trip, at the latest the COMMIT's)."""

    def _head(self, row: Any) -> tuple[int, str, str] | None:
        """The tenant's ledger head when the seqs' statement returned it (`DirectStore`)."""
        return None

    @abstractmethod
    def _update_receipts(self, params: list[tuple[Any, ...]]) -> None:
        """The receipts' UPDATE, once per conversation (executemany)."""

    # -- the batch --------------------------------------------------------------------------

    def _sends(self, staged: Sequence[TurnSend], placed: list[Placed],
               later: list[tuple[int, list[tuple[Any, ...]]]], run: Run,
               checked: dict[int, float]) -> tuple[list[int], set[int], datetime]:
        """Store the staged sends, in the turn: `placed` gets each stored one's index, tenant,
        seq and id, `later` the ledger rows whose Merkle range is extended after the commit
        (`LedgerRanges.extend_committed`). Returns the tenants whose checkpoint was looked at,
        the closed conversations (their sends allocate nothing and fail alone) and the
        batch's time."""
        counts: dict[int, int] = {}
        for st in staged:
            cid = st[0]
            counts[cid] = counts.get(cid, 0) + 1
        ids = sorted(counts)
        if len(ids) == 1:
            sql, params = self._sql("seqs1", 1), [counts[ids[0]], ids[0]]
        else:
            sql = self._sql("seqs", len(ids))
            params = [x for cid in ids for x in (cid, counts[cid])] + ids
        run.append((sql, params))
        # The seqs of every conversation of the batch; a closed one is not updated (its
        # sends fail alone with `closed`, and allocate nothing). On SQLite the same statement
        # returns each conversation's tenant's ledger head (`DirectStore`).
        convs: dict[int, ConvState] = {}
        heads: dict[int, tuple[int, str, str] | None] = {}
        for r in self._query(sql, params):
            conv = convs[r[0]] = ConvState(*r[:6])
            heads[conv.tenant_id] = self._head(r)
        closed = set(ids) - convs.keys()
        now = utcnow()
        next_seq = {cid: convs[cid].last_seq - counts[cid] + 1 for cid in convs}
        flat: list[Any] = []
        events: list[Event] = []
        fresh: list[tuple[int, TurnSend, int, int]] = []
        # The batch's one timestamp (every row's created_at), bind-processed once.
        stamp = self._stamp(now) if self._stamp is not None else now
        for index, st in enumerate(staged):
            cid = st[0]
            if cid in closed:
                continue
            conv = convs[cid]
            seq = next_seq[cid]
            next_seq[cid] = seq + 1
            row = st[2]
            row[1], row[2], row[_CREATED_AT] = conv.tenant_id, seq, stamp
            flat.extend(row)
            # What the rollups count of it (`analytics.rollup.events_of`'s Event, built here
            # from the values at hand: no id is needed, none is known before the INSERT).
            role, decision, categories = st[4]
            events.append(Event(conv.tenant_id, conv.org_unit_id or 0, conv.agent_employee_id,
                                cid, role, decision, categories, seq == 1, now))
            fresh.append((index, st, conv.tenant_id, seq))
        fresh_checks: list[int] = []
        if not fresh:
            return fresh_checks, closed, now
        # ONE multi-row INSERT … RETURNING; a resend (same client_id) violates the unique
        # key and sends the batch to the session path, which returns the stored message.
        # The rollups need no message ids: they go with it (one round trip where the
        # driver pipelines).
        sql = self._sql("insert", len(fresh))
        run.append((sql, flat))
        returned, rolled = self._insert(sql, flat, events)
        ids_of = {(r[1], r[2]): r[0] for r in returned}
        placed.extend((index, tenant_id, seq, ids_of[(sent[0], seq)])
                      for index, sent, tenant_id, seq in fresh)
        run.extend(rolled)
        created = format_time(now).encode()
        clock = time.monotonic()
        for tenant_id in sorted({p[1] for p in placed}):
            due = clock - checked.get(tenant_id, -1e18) >= CHECKPOINT_CHECK_S
            items: list[tuple[str, Any]] = []
            bodies: list[bytes | None] = []
            for index, tid, seq, message_id in placed:
                if tid != tenant_id:
                    continue
                _cid, message, _row, parts, _ev = staged[index]
                body = None if parts is None else message_json_join(parts, seq, created,
                                                                     message_id)
                if body is not None:  # its ref (`ledger.refs`) is all the ledger reads of it
                    items.append(("chat.message", {"message_id": message_id}))
                else:
                    assert message is not None  # `turn_sends`: sent when parts is None
                    payload = message_payload(_place(message, message_id, tid, seq, now))
                    items.append(("chat.message", payload))
                    body = message_json(payload)
                bodies.append(body)
            appended: list[tuple[Any, ...]] = []
            latest, ran = self._append(tenant_id, items, due, heads.get(tenant_id), bodies,
                                       appended)
            run.extend(ran)
            if not due:  # the range is extended after the commit, out of the turn
                later.append((tenant_id, appended))
                continue
            try:  # the tenant's Merkle range, extended with these entries
                tracked, ran = self.ranges.extend(tenant_id, appended, self._query)
            except RangeError as exc:
                raise Fallback(f"no Merkle range: {exc}") from exc
            run.extend(ran)
            if latest is None or utcnow() - latest >= timedelta(
                    seconds=CHECKPOINT_INTERVAL_S - CHECKPOINT_CHECK_S):
                # A checkpoint is due: signed from the range, in this transaction
                try:
                    keyring = service.default_keyring()
                except CheckpointError as exc:  # no signing key: the session path
                    raise Fallback(f"a ledger checkpoint is due: {exc}") from exc
                signed, made = self.ranges.checkpoint(
                    tenant_id, str(appended[0][4]), tracked, keyring)
                self._execute(self.ranges.insert_sql, signed)
                run.append((self.ranges.insert_sql, signed))
                self._made.append(made)
            fresh_checks.append(tenant_id)
        return fresh_checks, closed, now

    def _receipts(self, receipts: Sequence[Receipt], run: Run
                  ) -> tuple[dict[tuple[int, str], tuple[int, int]], Moves | None]:
        """The receipts' seqs and, when some moved, what `receipts_effect` publishes."""
        ids = sorted({r.conv_id for r in receipts})
        sql = self._sql("receipts", len(ids))
        run.append((sql, ids))
        state = {r[0]: dict(zip(_STATE_KEYS, r[1:], strict=True))
                 for r in self._query(sql, ids)}
        now, moved = plan_receipts(list(receipts), state)
        if moved:
            params: list[tuple[Any, ...]] = []
            for cid in sorted({cid for cid, _side in moved}):
                a, b, c, d = _SEQS_OF(state[cid])  # each twice: CASE WHEN col < ? THEN ?
                params.append((a, a, b, b, c, c, d, d, cid))
            run.append((self._sql("receipts_update", 0), params))
            self._update_receipts(params)
            return now, (state, moved)
        return now, None


# The direct connection's cache of prepared statements (sqlite3's default: 128). The path makes
# a statement per batch size: the INSERT per number of messages, the seqs' UPDATE and the
# receipts' SELECT per number of conversations — up to ~3 × the writer's largest batch (64),
# plus its fixed ones. With the default, batches of many sizes (a backlog: 30 to 64 messages)
# pushed statements out and prepared them again: two processes at 4,000 msg/s, alternating,
# 4-20 % more CPU per message inside the writers' turn (issue 17).
STATEMENT_CACHE = 1024


class WritersTurn:
    """The turn that the writers of several processes on one SQLite file (`probity serve
    --workers N`) take on its write lock: an flock on a file beside it, taken before SQLite's
    lock (``BEGIN IMMEDIATE``, or a checkpoint that blocks writers) and given back after it is
    released. A waiting writer sleeps in the kernel and is woken when the turn is given back;
    through SQLite's busy handler alone it polled (sleeps of 1 to 100 ms), and two writers each
    holding the lock for half their time left each other's batches waiting: 2 processes at
    2,300 msg/s, deliver p99 588 ms → 73 ms (issue 17). Each holder opens the file itself: an
    flock belongs to the open file, so two holders in one process exclude each other too.
    An in-memory database has no other process: no file, no turn."""

    def __init__(self, database: str) -> None:
        self._fd = (os.open(f"{database}-writers.lock", os.O_RDWR | os.O_CREAT, 0o600)
                    if database not in ("", ":memory:") else -1)

    def take(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def give_back(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    @contextmanager
    def held(self) -> Iterator[None]:
        self.take()
        try:
            yield
        finally:
            self.give_back()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class DirectStore(DirectBase):
    """The writer thread's own ``sqlite3`` connection and the direct path's statements."""

    def __init__(self, database: str, dialect: Dialect) -> None:
        super().__init__(dialect)
        self.con = sqlite3.connect(database, isolation_level=None, check_same_thread=False,
                                   cached_statements=STATEMENT_CACHE)
        sqlite_pragmas(self.con, None)
        # A multi-row statement (the batch's INSERT) keeps a statement journal (the pages it
        # changes, to undo it alone); past 64 KiB SQLite spills that to a temporary file,
        # created, written and deleted in every batch. In memory it is bounded by one batch
        # (≤ 64 messages): 16 % less CPU per message in the write transaction (issue 17).
        self.con.execute("PRAGMA temp_store=MEMORY")
        self.gate: WriteGate = write_gate(database)
        self.turn = WritersTurn(database)

    def close(self) -> None:
        self.con.close()
        self.turn.close()

    @contextmanager
    def _transaction(self, sends: Sequence[TurnSend], receipts: Sequence[Receipt]
                     ) -> Iterator[None]:
        """The process's write gate (priority lane), the writers' turn across processes and
        ``BEGIN IMMEDIATE``; SQLite's busy or
        locked database is an `OperationalError` (the writer retries), a constraint (a resend's
        client_id) a `Fallback`."""
        con = self.con
        if not self.gate.acquire_blocking(con, priority=True, timeout=GATE_TIMEOUT_S):
            raise OperationalError("BEGIN IMMEDIATE", None,
                                   Exception("database is locked (write gate)"))
        try:
            self.turn.take()
            try:
                try:
                    con.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:
                    raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc
                try:
                    yield
                    con.execute("COMMIT")
                except BaseException:
                    if con.in_transaction:
                        con.execute("ROLLBACK")
                    raise
            finally:
                self.turn.give_back()
        except sqlite3.IntegrityError as exc:  # a resend (client_id) or a constraint: the
            raise Fallback(str(exc)) from exc   # session path sorts it out
        except sqlite3.OperationalError as exc:  # busy/locked: retried whole by the writer
            raise OperationalError("chat direct write", None, exc) from exc
        finally:
            self.gate.release(con)

    def _sql(self, kind: str, n: int) -> str:
        sql = _sql(kind, n)
        # The seqs' UPDATE also returns, per conversation, its tenant's ledger head (the
        # append's head read, in the same statement: this transaction holds the write lock
        # from BEGIN IMMEDIATE, so nothing appends between it and the batch's entries).
        return sql + _HEAD_RETURNING if kind in ("seqs1", "seqs") else sql

    def _head(self, row: Any) -> tuple[int, str, str] | None:
        text = row[6]
        if text is None:  # the tenant's first entry: `append_entries_sqlite3` reads its code
            return None
        seq, entry_hash, code = text.split(" ", 2)
        return int(seq), entry_hash, code

    def _query(self, sql: str, params: Sequence[Any]) -> list[Any]:
        return self.con.execute(sql, params).fetchall()

    def _insert(self, sql: str, flat: list[Any], events: list[Event]) -> tuple[list[Any], Run]:
        returned = self.con.execute(sql, flat).fetchall()
        rolled = record_events_sqlite3(self.con, self.dialect, events)
        if rolled is None:
            raise NeedsRefresh("the rollup hook needs its session", events)
        return returned, rolled

    def _append(self, tenant_id: int, items: list[tuple[str, Any]], due: bool,
                head: tuple[int, str, str] | None, bodies: list[bytes | None],
                appended: list[tuple[Any, ...]]) -> tuple[datetime | None, Run]:
        _entries, latest, ran = append_entries_sqlite3(
            self.con, tenant_id, items, purgeable=True, checkpoint_time=due,
            dialect=self.dialect, head=head, entries=False, bodies=bodies, appended=appended)
        return latest, ran

    def _execute(self, sql: str, params: tuple[Any, ...]) -> None:
        self.con.execute(sql, params)

    def _update_receipts(self, params: list[tuple[Any, ...]]) -> None:
        self.con.executemany(_RECEIPTS_UPDATE, params)


def eligible(send: PendingSend) -> bool:
    """A send the direct path can store: no alert (allow), no refusal row."""
    r = send.result
    return send.decision == "allow" and (r is None or "refusal" not in r.categories)

