"""Each tenant's Merkle range kept current by an appender on a bare driver connection (the
chat writer's direct path, `probity.chat.direct`), and the checkpoints signed from it.

:func:`service.make_checkpoint` reads every entry hash since the latest checkpoint's peaks and
extends the tree with them: at 2,000 messages/s a minute's checkpoint read ~110,000 hashes
inside the writer's transaction (~300 ms, every send queued behind it). Here the appender
extends the tenant's `CompactRange` with the entry hashes of each batch it appends (the chain
step made them), so a due checkpoint is the root of a range already at hand: one Ed25519
signature (tens of µs) and one INSERT, in the batch's own transaction.

The range is trusted only for the chain it was built from. It is kept as ``(range, hash of
entry size-1)`` and used for a batch only when its size is the seq the batch appended after
and that hash is the batch's ``prev_hash`` (each entry hash covers its ``prev_hash``, so the
head's hash fixes every entry before it). Otherwise something else appended meanwhile (the
session path, an import, another process) or the ledger is not the one the range was built on:
the entries in between are read once (``seq`` in ``[size, start)``: as many as that, the first
one's ``prev_hash`` the kept hash, the last one's hash the batch's ``prev_hash``) and added;
when even that does not fit (a first batch, another database), the range is rebuilt from the
latest checkpoint's peaks and the entries since — as `make_checkpoint` builds it — once.
Reads run on the caller's connection in its transaction, after its append: on SQLite under
the write lock, on PostgreSQL after the tenant's advisory append lock, so nothing appends in
between. (Measured, SQLite, 110,000 entries appended by another appender: the catch-up batch
~180 ms once, then a due checkpoint's batch ~2-3 ms against ~1.2-2.4 ms for one without.)
The chat writer extends a range in its transaction only in a batch that looks at a
checkpoint; its other batches extend it after their COMMIT (`extend_committed`), out of the
write lock: the entries read then are committed ones before the batch's own, which no longer
change, and a range that does not fit there is dropped rather than failing the batch.

A batch's extended range is *pending* until its transaction commits (`LedgerRanges.commit`);
a rollback drops it (`LedgerRanges.rollback`), so the kept range only ever covers committed
entries. The checkpoint row is `service.checkpoint_columns` (the columns `make_checkpoint`
stores, the same bytes for the same tree and time); its note is published (`publish`) by the
caller after the commit, never on a rollback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.engine import Dialect

from probity.ledger import service
from probity.ledger.chain import GENESIS_HASH
from probity.ledger.checkpoint import Keyring
from probity.ledger.merkle import CompactRange
from probity.models.ledger import LedgerCheckpoint

__all__ = ["LedgerRanges", "MadeCheckpoint", "RangeError", "Tracked"]

log = logging.getLogger(__name__)

Query = Callable[[str, Sequence[Any]], list[Any]]
Run = list[tuple[str, Any]]

_SQL_LATEST = ("SELECT tree_size, peaks FROM ledger_checkpoints WHERE tenant_id = ? "
               "ORDER BY tree_size DESC, id DESC LIMIT 1")
# The entries [first, end): their hashes, and the prev_hash of the one at `link` (the others'
# are not read: ~60 % of the read's time for 110,000 entries on SQLite). (tenant_id, seq) is
# unique, so as many rows as seqs in the range are those seqs, in order.
_SQL_SINCE = ("SELECT entry_hash, CASE WHEN seq = ? THEN prev_hash END FROM ledger_entries "
              "WHERE tenant_id = ? AND seq >= ? AND seq < ? ORDER BY seq")
_SQL_INSERT = (f"INSERT INTO ledger_checkpoints ({', '.join(service.CHECKPOINT_COLUMNS)}) "
               f"VALUES ({', '.join('?' * len(service.CHECKPOINT_COLUMNS))})")
_CREATED_AT = service.CHECKPOINT_COLUMNS.index("created_at")

# The rows `append_entries_sqlite3` / `append_entries_psycopg` add to ``appended``.
_SEQ, _PREV, _HASH = 1, 6, 7


class RangeError(Exception):
    """The tenant's entries do not form the chain a range needs (a gap, a broken link): the
    caller leaves the checkpoint to `service.make_checkpoint`."""


@dataclass(frozen=True, slots=True)
class Tracked:
    """A tenant's range over its entries ``[0, merkle.size)`` and the hash of entry size-1
    (`GENESIS_HASH` for an empty range)."""

    merkle: CompactRange
    last: str


@dataclass(frozen=True, slots=True)
class MadeCheckpoint:
    """A checkpoint INSERTed in the current transaction: what to publish after its commit."""

    tenant_code: str
    tree_size: int
    note: str


class LedgerRanges:
    """The ranges of one database's tenants, for one appender (the chat writer's thread).

    `extend` after each append; `checkpoint` when one is due; `commit` / `rollback` when the
    transaction ends. ``marks``: the driver's parameter marker (``?``, ``%s``)."""

    def __init__(self, dialect: Dialect, marks: str = "?") -> None:
        def form(sql: str) -> str:
            return sql if marks == "?" else sql.replace("?", marks)

        self._latest, self._since, self.insert_sql = map(
            form, (_SQL_LATEST, _SQL_SINCE, _SQL_INSERT))
        created = cast(Table, LedgerCheckpoint.__table__).c.created_at.type
        self._stamp = created.dialect_impl(dialect).bind_processor(dialect)
        self._kept: dict[int, Tracked] = {}
        self._pending: dict[int, Tracked] = {}
        # Counters (tests, benchmarks): ranges built from a checkpoint, catch-ups of others'
        # entries, entries read for either.
        self.rebuilt = 0
        self.caught_up = 0
        self.read = 0

    def kept(self, tenant_id: int) -> Tracked | None:
        """The range kept for the tenant (committed entries only), if any."""
        return self._kept.get(tenant_id)

    def commit(self) -> None:
        """The transaction committed: its ranges are the tenants' now."""
        self._kept.update(self._pending)
        self._pending.clear()

    def rollback(self) -> None:
        """The transaction rolled back (or its end is unknown): its ranges are dropped."""
        self._pending.clear()

    def extend(self, tenant_id: int, rows: Sequence[tuple[Any, ...]], query: Query
               ) -> tuple[Tracked, Run]:
        """The tenant's range over its entries up to and including `rows` — the entries this
        transaction has just appended (consecutive, in seq order) — and the statements run to
        catch up (none when the kept range ends where they start). Raises `RangeError`."""
        start, prev = int(rows[0][_SEQ]), str(rows[0][_PREV])
        run: Run = []
        tracked = self._pending.get(tenant_id) or self._kept.get(tenant_id)
        if tracked is not None:
            size = tracked.merkle.size
            if size < start:  # others appended since: read what they did, once
                tracked = self._catch_up(tenant_id, tracked, start, prev, query, run)
            elif size > start or tracked.last != prev:  # not this ledger's range
                tracked = None
        if tracked is None:
            tracked = self._rebuild(tenant_id, start, prev, query, run)
        merkle = tracked.merkle.copy()
        merkle.extend([bytes.fromhex(row[_HASH]) for row in rows])
        if merkle.size != int(rows[-1][_SEQ]) + 1:
            raise RangeError(f"tenant {tenant_id}: appended rows are not consecutive")
        tracked = self._pending[tenant_id] = Tracked(merkle, str(rows[-1][_HASH]))
        return tracked, run

    def extend_committed(self, tenant_id: int, rows: Sequence[tuple[Any, ...]], query: Query,
                         run: Run) -> None:
        """`extend` with entries already committed, after their transaction: the appender's
        batches whose checkpoint is not looked at leave their range to this, out of the
        write lock the appenders take turns on. Entries others appended before them are
        read as in `extend` (committed, they no longer change), its statements added to
        `run`. Never raises: its batch is committed, whatever happens here (a range that
        does not fit, a failed read) only drops the tenant's range, and the next batch that
        looks at a checkpoint rebuilds it in its transaction."""
        try:
            _tracked, ran = self.extend(tenant_id, rows, query)
        except Exception:  # the batch is committed: its writer must not retry it
            log.warning("ledger range of tenant %s dropped after a commit", tenant_id,
                        exc_info=True)
            self._pending.pop(tenant_id, None)
            self._kept.pop(tenant_id, None)
            return
        run.extend(ran)
        self.commit()

    def checkpoint(self, tenant_id: int, tenant_code: str, tracked: Tracked, keyring: Keyring
                   ) -> tuple[tuple[Any, ...], MadeCheckpoint]:
        """The INSERT parameters (`insert_sql`) of a checkpoint of `tracked`'s tree, signed
        now — `service.checkpoint_columns`, as `make_checkpoint` stores it — and what to
        publish once it is committed."""
        columns = service.checkpoint_columns(tenant_id, tenant_code, tracked.merkle, keyring)
        params = [columns[c] for c in service.CHECKPOINT_COLUMNS]
        if self._stamp is not None:
            params[_CREATED_AT] = self._stamp(params[_CREATED_AT])
        return tuple(params), MadeCheckpoint(tenant_code, columns["tree_size"], columns["note"])

    # -- catching up ----------------------------------------------------------------------

    def _entries(self, tenant_id: int, first: int, end: int, link: int, query: Query,
                 run: Run) -> list[Any]:
        """(entry_hash, prev_hash at seq `link` else None) of entries [first, end)."""
        params = (link, tenant_id, first, end)
        run.append((self._since, params))
        found = query(self._since, params)
        self.read += len(found)
        return found

    def _catch_up(self, tenant_id: int, tracked: Tracked, start: int, prev: str,
                  query: Query, run: Run) -> Tracked | None:
        """`tracked` extended with the entries ``[size, start)`` others appended, when they
        continue its chain up to `prev` (else None: rebuild)."""
        size = tracked.merkle.size
        found = self._entries(tenant_id, size, start, size, query, run)
        if not _links(found, start - size, tracked.last, prev):
            return None
        merkle = tracked.merkle.copy()
        merkle.extend([bytes.fromhex(h) for h, _p in found])
        self.caught_up += 1
        return Tracked(merkle, prev)

    def _rebuild(self, tenant_id: int, start: int, prev: str, query: Query, run: Run
                 ) -> Tracked:
        """The range over ``[0, start)`` from the latest checkpoint's peaks (trusted as
        `make_checkpoint` trusts them: verification recomputes the tree) and the entries
        since; from the first entry when there are no peaks."""
        run.append((self._latest, (tenant_id,)))
        latest = query(self._latest, (tenant_id,))
        merkle = CompactRange()
        if latest and latest[0][1]:
            try:
                merkle = service.peaks_range(int(latest[0][0]), str(latest[0][1]))
            except ValueError:  # a damaged cache: from the first entry
                merkle = CompactRange()
        if merkle.size > start:
            merkle = CompactRange()
        size = merkle.size
        # From entry size-1 (when size > 0): its hash links the peaks to the entries after.
        found = self._entries(tenant_id, max(size - 1, 0), start, size, query, run)
        last = GENESIS_HASH
        if size:
            if len(found) != start - size + 1:
                raise RangeError(f"tenant {tenant_id}: entries {size - 1}.. are missing")
            last = str(found[0][0])
            found = found[1:]
        if not _links(found, start - size, last, prev):
            raise RangeError(f"tenant {tenant_id}: entries {size}..{start - 1} do not chain")
        merkle.extend([bytes.fromhex(h) for h, _p in found])
        self.rebuilt += 1
        return Tracked(merkle, prev)


def _links(found: list[Any], count: int, last: str, prev: str) -> bool:
    """True when `found` (``_SQL_SINCE``'s rows) holds `count` entries, the first linked to
    `last` (its prev_hash) and the last one's hash `prev` (the hash the batch chained on)."""
    if len(found) != count:
        return False
    if found and found[0][1] != last:
        return False
    return (found[-1][0] if found else last) == prev
