"""Verifying a tenant's ledger: the hash chain and Merkle roots against the signed checkpoints
(the database's and, if given, published ones), then the application rows against their
entries (:mod:`probity.ledger.crosscheck`).

The hashing runs in a worker thread: the event loop reads the entries page by page and hands
them over a bounded queue to :func:`probity.ledger.chain.verify_chain`, which consumes them in
the thread, so a long verification never stops the loop serving requests and sockets (between
the few milliseconds each page takes to read). :func:`verify_tenant` is what the CLI and the
``ledger.verify`` job call.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session

from probity.ledger import publish
from probity.ledger.chain import ChainVerification, TamperKind, verify_chain
from probity.ledger.checkpoint import Checkpoint, CheckpointError, Keyring, verify_checkpoint
from probity.models.ledger import LedgerCheckpoint, LedgerEntry
from probity.models.org import Tenant

__all__ = ["TenantVerification", "verify_tenant"]

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
_QUEUE_PAGES = 4


@dataclass(frozen=True)
class TenantVerification:
    tenant_id: int
    tenant_code: str
    ok: bool
    entries: int  # entries that verified before the first problem (all of them when ok)
    checkpoints: int  # signed checkpoints whose signature and root both verified
    kind: TamperKind | None
    first_bad_seq: int | None
    message: str
    problems: list[str] = field(default_factory=list)  # e.g. bad checkpoint signatures
    chain: ChainVerification | None = None


@dataclass
class _Trusted:
    tenant_code: str
    checkpoints: list[Checkpoint]
    problems: list[str]


def _trusted_checkpoints(conn: Connection | Session, tenant_id: int, keyring: Keyring,
                         checkpoints_dir: Path | None) -> _Trusted:
    # The hashed tenant id is the code recorded in the tenant's first entry.
    code = conn.scalar(select(LedgerEntry.tenant_code).where(LedgerEntry.tenant_id == tenant_id)
                       .order_by(LedgerEntry.seq).limit(1))
    if code is None:
        code = conn.scalar(select(Tenant.code).where(Tenant.id == tenant_id))
    tenant_code = str(code) if code is not None else str(tenant_id)
    problems: list[str] = []
    trusted: list[Checkpoint] = []
    cp_rows = conn.execute(
        select(LedgerCheckpoint.note, LedgerCheckpoint.tree_size, LedgerCheckpoint.root_hash,
               LedgerCheckpoint.key_id, LedgerCheckpoint.signature, LedgerCheckpoint.timestamp)
        .where(LedgerCheckpoint.tenant_id == tenant_id)
        .order_by(LedgerCheckpoint.tree_size, LedgerCheckpoint.id)
    ).all()
    for note, size, root, kid, signature, timestamp in cp_rows:
        try:
            cp = verify_checkpoint(str(note), keyring)
        except CheckpointError as exc:
            problems.append(f"checkpoint at size {size}: {exc}")
            continue
        if (cp.tenant != tenant_code or cp.tree_size != size or cp.root_hash.hex() != root
                or cp.key_id != kid or cp.signature.hex() != signature
                or cp.timestamp != timestamp):
            problems.append(f"checkpoint at size {size}: columns differ from its signed note")
            continue
        trusted.append(cp)
    if checkpoints_dir is not None:
        published, bad_files = publish.load_checkpoints(checkpoints_dir, tenant_code, keyring)
        problems += bad_files
        stored = {(cp.tree_size, cp.root_hash) for cp in trusted}
        stored_sizes = {int(row[1]) for row in cp_rows}
        for cp in published:
            if (cp.tree_size, cp.root_hash) in stored:
                continue
            trusted.append(cp)
            if cp.tree_size not in stored_sizes:
                problems.append(f"the published checkpoint at size {cp.tree_size} is missing "
                                f"from the database")
    return _Trusted(tenant_code, trusted, problems)


async def _chain_off_loop(
    db: AsyncSession | AsyncConnection, tenant_id: int, trusted: _Trusted, chunk: int,
    progress: Callable[[int], None] | None,
) -> ChainVerification:
    """Pages of entries read here (keyset on (seq, id), so duplicate seqs are still seen),
    hashed in a worker thread by the pure verifier."""
    pages: queue.Queue[list[Any] | None] = queue.Queue(maxsize=_QUEUE_PAGES)

    def rows() -> Iterator[Any]:
        while True:
            page = pages.get()
            if page is None:
                return
            yield from page

    worker = asyncio.ensure_future(asyncio.to_thread(
        verify_chain, rows(), tenant=trusted.tenant_code, checkpoints=trusted.checkpoints,
        chunk_size=chunk))

    async def hand_over(page: list[Any] | None) -> bool:
        while not worker.done():
            try:
                pages.put_nowait(page)
                return True
            except queue.Full:
                await asyncio.sleep(0.002)
        return False

    last: tuple[int, int] | None = None
    read = 0
    try:
        while not worker.done():
            q = select(LedgerEntry.id, *_ENTRY_COLUMNS).where(LedgerEntry.tenant_id == tenant_id)
            if last is not None:
                q = q.where(or_(LedgerEntry.seq > last[0],
                                and_(LedgerEntry.seq == last[0], LedgerEntry.id > last[1])))
            page = (await db.execute(q.order_by(LedgerEntry.seq, LedgerEntry.id)
                                     .limit(chunk))).all()
            if not page:
                break
            last = (int(page[-1][1]), int(page[-1][0]))
            if not await hand_over([tuple(row)[1:] for row in page]):
                break
            read += len(page)
            if progress is not None:
                progress(read)
    finally:
        await hand_over(None)
    return await worker


def _outcome(tenant_id: int, trusted: _Trusted, result: ChainVerification,
             findings: list[Any], rows_too: bool) -> TenantVerification:
    problems = list(trusted.problems)
    kind, first_bad, message = result.kind, result.first_bad_seq, result.message
    first = findings[0] if findings else None
    if first is not None and (first_bad is None or (
            first.seq is not None and first.seq < first_bad)):
        kind, first_bad, message = first.kind, first.seq, first.message
        if len(findings) > 1:
            message += f" (and {len(findings) - 1} more difference(s))"
    problems += [f.message for f in findings[1:6]]
    if len(findings) > 6:
        problems.append(f"… {len(findings) - 6} more")
    ok = result.ok and not problems and not findings
    if ok:
        message = (
            f"OK: {result.entries_checked} entries, {result.checkpoints_checked} signed "
            f"checkpoint(s) verified" + (", application rows agree" if rows_too else "")
        )
    elif kind is None and problems:
        message = f"entries verify, but {len(problems)} problem(s): {problems[0]}"
    return TenantVerification(
        tenant_id=tenant_id, tenant_code=trusted.tenant_code, ok=ok,
        entries=result.entries_checked, checkpoints=result.checkpoints_checked, kind=kind,
        first_bad_seq=first_bad, message=message, problems=problems, chain=result)


async def verify_tenant(
    db: AsyncSession | AsyncConnection,
    tenant_id: int,
    keyring: Keyring | None = None,
    *,
    chunk: int = 4096,
    progress: Callable[[int], None] | None = None,
    checkpoints_dir: Path | None = None,
    rows_too: bool = True,
) -> TenantVerification:
    """Verify one tenant's ledger: hash chain, payload hashes, the recomputed Merkle root against
    every signed checkpoint (signatures checked with *keyring*, default: the configured keys;
    *checkpoints_dir*: published checkpoints trusted as well), then, unless
    ``rows_too=False``, the application rows against their entries; the first difference is
    named. *progress* is called with the number of entries read so far after every page."""
    from probity.ledger.crosscheck import crosscheck
    from probity.ledger.service import default_keyring

    keys = keyring or default_keyring()
    trusted = await db.run_sync(
        lambda conn: _trusted_checkpoints(conn, tenant_id, keys, checkpoints_dir))
    result = await _chain_off_loop(db, tenant_id, trusted, chunk, progress)
    findings = (await db.run_sync(lambda conn: crosscheck(conn, tenant_id))
                if rows_too else [])
    return _outcome(tenant_id, trusted, result, findings, rows_too)
