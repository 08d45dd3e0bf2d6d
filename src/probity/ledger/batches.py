"""Record batches in the database (format ``probity-record-batch/v1``, :mod:`.batch`): append
one batch entry for many records with its leaf hashes, and derive records' inclusion proofs on
demand for evidence packs. Services flush, never commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.bulk import insert_rows
from probity.ledger.batch import BatchTree, batch_payload, pack_leaves, unpack_leaves
from probity.ledger.chain import EntryRecord
from probity.ledger.service import append_entries
from probity.models.ledger import LedgerBatchLeaves, LedgerEntry

__all__ = ["BATCH_ENTRY_TYPES", "append_record_batch", "record_proofs"]

# batch entry type → the record type its leaves hold
BATCH_ENTRY_TYPES: dict[str, str] = {"finance.payment_batch": "payment"}


async def append_record_batch(session: AsyncSession, tenant_id: int, entry_type: str,
                              leaves: Sequence[bytes]) -> int:
    """Append ONE entry of *entry_type* committing to *leaves* (the records' leaf hashes, in
    order: :func:`probity.ledger.batch.leaf_hashes` of their salted leaf texts) and store the
    leaf hashes. Returns the entry's seq; the caller stores each record's salt and position
    (seq, index) with the record, in the same transaction."""
    record = BATCH_ENTRY_TYPES[entry_type]
    payload = await asyncio.to_thread(batch_payload, record, leaves)  # N-1 node hashes
    (entry,) = await append_entries(session, tenant_id, [(entry_type, payload)])
    await insert_rows(session, cast(Table, LedgerBatchLeaves.__table__), [{
        "tenant_id": tenant_id, "seq": entry.seq, "count": len(leaves),
        "leaves": pack_leaves(leaves)}])
    return entry.seq


async def record_proofs(session: AsyncSession, tenant_id: int,
                        records: Sequence[tuple[int, int, str | None, str]]
                        ) -> tuple[list[EntryRecord], list[dict[str, Any]]]:
    """For records ``(batch seq, leaf index, leaf text or None if erased, label)``: the batch
    entries involved and one proof item per record (``record_proofs.json`` of an evidence
    pack): ``{"no", "seq", "index", "leaf", "leaf_hash", "audit_path"}``."""
    seqs = sorted({seq for seq, _i, _t, _n in records})
    if not seqs:
        return [], []
    entries = [EntryRecord(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]),
                           str(r[6]), None if r[7] is None else str(r[7]).encode("utf-8"))
               for r in await session.execute(select(
                   LedgerEntry.seq, LedgerEntry.entry_time, LedgerEntry.type,
                   LedgerEntry.tenant_code, LedgerEntry.payload_hash, LedgerEntry.prev_hash,
                   LedgerEntry.entry_hash, LedgerEntry.payload).where(
                   LedgerEntry.tenant_id == tenant_id, LedgerEntry.seq.in_(seqs))
                   .order_by(LedgerEntry.seq))]
    blobs = dict((await session.execute(select(LedgerBatchLeaves.seq, LedgerBatchLeaves.leaves)
                                        .where(LedgerBatchLeaves.tenant_id == tenant_id,
                                               LedgerBatchLeaves.seq.in_(seqs)))).all())

    def build() -> list[dict[str, Any]]:
        trees = {int(seq): BatchTree(unpack_leaves(bytes(blob))) for seq, blob in blobs.items()}
        out: list[dict[str, Any]] = []
        for seq, index, text, label in records:
            tree = trees.get(seq)
            if tree is None or not 0 <= index < len(tree.levels[0]):
                continue  # no stored leaves: nothing to prove (verification reports it)
            out.append({"no": label, "seq": seq, "index": index, "leaf": text,
                        "leaf_hash": tree.levels[0][index].hex(),
                        "audit_path": [p.hex() for p in tree.proof(index)]})
        return out

    return entries, await asyncio.to_thread(build)
