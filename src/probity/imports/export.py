"""The full export of one tenant's data: a zip of JSON Lines (exact, for machines and for
`probity import package`) and CSV (UTF-8 with BOM, formula-guarded, for people and Excel).

Layout (``manifest.json`` lists every file with its SHA-256 and row count):

* ``<kind>.jsonl`` / ``<kind>.csv`` for every import kind that can export (org units, positions,
  employees, customers, orders, payments, refunds, shift templates, rotas, leave balances, chat
  transcripts…), in that kind's own import fields — the package import reads them back;
* ``ledger/entries.jsonl`` (every hashed field of the tenant's ledger, verifiable offline with
  `probity.ledger.verify_chain`) and ``ledger/checkpoints.jsonl`` (signed notes);
* ``tables/<table>.jsonl`` / ``.csv``: every other row of the tenant's tables (alerts, cases and
  their events, audit rows, punches, leave requests, payee accounts, scores…), for portability
  (PIPL art. 45) — never credentials (password and token hashes) and no binary content.

The zip is written to a file object member by member, rows streamed from the database in
batches (``yield_per``; keyset-ordered joins, never a whole table loaded): a table's JSON Lines go
straight into the zip while its CSV is spooled (to disk past 1 MiB) and copied in after, so
memory stays bounded by a batch, not by the tenant (`tests/imports/test_export_memory.py`,
`benchmarks/export.py`). Serialising a batch (JSON, CSV, deflate) runs in a worker thread; the
event loop only fetches rows.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import tempfile
import zipfile
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Any

from sqlalchemy import LargeBinary, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.csvexport import cell
from probity.imports.registry import EXPORT_BATCH_ROWS, load_kinds, stream_rows
from probity.models import Base, LedgerCheckpoint, LedgerEntry, Tenant
from probity.models.base import utcnow

__all__ = ["FORMAT", "ExportWriter", "write_export"]

FORMAT = "probity-export/1"
# Tables never exported: credentials, job and upload internals, the exports themselves, the
# ledger's own tables (the chain goes out as ledger/entries.jsonl; a batched payment's leaf is
# re-derived from its exported row and salt, the root is in its batch entry's payload).
SKIP_TABLES = {"users", "api_tokens", "role_assignments", "jobs", "import_uploads",
               "data_exports", "ledger_entries", "ledger_checkpoints", "ledger_refs",
               "ledger_batch_leaves"}
SKIP_COLUMNS = {"password_hash", "token_hash", "guest_token_hash", "payload_salt"}
COPY_BYTES = 1 << 20
SPOOL_BYTES = 1 << 20  # a table's CSV stays in memory up to this, then goes to a temp file


def _json_default(v: Any) -> Any:
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, datetime | date | time):
        return v.isoformat()
    if isinstance(v, bytes):
        return None
    return str(getattr(v, "value", v))


def _line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, default=_json_default, sort_keys=False)


def _csv_value(v: Any) -> Any:
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False, default=_json_default)
    if v is not None and not isinstance(v, str | int | float | bool):
        return _json_default(v)
    return v


class _Member:
    """One file of the zip being written: its bytes, SHA-256 and row count as they pass."""

    def __init__(self, zf: zipfile.ZipFile, name: str) -> None:
        self.name = name
        self.sha = hashlib.sha256()
        self.size = 0
        self.rows = 0
        self.fh = zf.open(name, "w", force_zip64=True)

    def write(self, data: bytes) -> None:
        self.sha.update(data)
        self.size += len(data)
        self.fh.write(data)


async def _batches(rows: AsyncIterator[dict[str, Any]]
                   ) -> AsyncIterator[list[dict[str, Any]]]:
    """``rows`` in lists of up to ``EXPORT_BATCH_ROWS`` (the database's fetch size)."""
    batch: list[dict[str, Any]] = []
    async for r in rows:
        batch.append(r)
        if len(batch) >= EXPORT_BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


class ExportWriter:
    """Writes the export zip to ``out`` one member at a time (``zipfile`` allows one open
    member: a table's CSV is spooled while its JSON Lines are written, then copied in).

    Rows arrive from the database a batch at a time on the event loop; turning a batch into
    JSON Lines and CSV, deflating it and writing it is CPU work done in a worker thread
    (``asyncio.to_thread``), one batch after another, so the loop keeps serving meanwhile."""

    def __init__(self, out: IO[bytes]) -> None:
        self.zf = zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED)
        self.files: dict[str, dict[str, Any]] = {}

    def _open(self, name: str) -> _Member:
        return _Member(self.zf, name)

    def _close(self, m: _Member) -> None:
        m.fh.close()
        self.files[m.name] = {"sha256": m.sha.hexdigest(), "rows": m.rows, "bytes": m.size}

    def _add(self, name: str, text: str, rows: int) -> None:
        m = self._open(name)
        m.write(text.encode("utf-8"))
        m.rows = rows
        self._close(m)

    async def add(self, name: str, text: str, rows: int) -> None:
        await asyncio.to_thread(self._add, name, text, rows)

    async def lines(self, name: str, rows: AsyncIterator[dict[str, Any]]) -> int:
        """A JSON Lines member from ``rows``; returns the count."""
        m = await asyncio.to_thread(self._open, name)

        def put(batch: list[dict[str, Any]]) -> None:
            m.write("".join(_line(r) + "\n" for r in batch).encode("utf-8"))
            m.rows += len(batch)

        async for batch in _batches(rows):
            await asyncio.to_thread(put, batch)
        await asyncio.to_thread(self._close, m)
        return m.rows

    async def table(self, base: str, header: list[str], rows: AsyncIterator[dict[str, Any]],
                    *, skip_empty: bool = False) -> int:
        """``<base>.jsonl`` and ``<base>.csv`` (UTF-8 with BOM, formula-guarded) from one pass
        over ``rows``; with ``skip_empty`` nothing is written for a table without rows."""
        batches = _batches(rows)
        first = await anext(batches, None)
        if first is None and skip_empty:
            return 0
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed below)
        try:
            text = io.StringIO()
            text.write("\ufeff")
            writer = csv.writer(text)
            writer.writerow(header)
            m = await asyncio.to_thread(self._open, f"{base}.jsonl")

            def put(batch: list[dict[str, Any]]) -> None:
                m.write("".join(_line(r) + "\n" for r in batch).encode("utf-8"))
                m.rows += len(batch)
                writer.writerows([cell(_csv_value(r.get(h))) for h in header] for r in batch)
                if text.tell() > COPY_BYTES:
                    spool.write(text.getvalue().encode("utf-8"))
                    text.seek(0)
                    text.truncate()

            def finish() -> None:
                self._close(m)
                spool.write(text.getvalue().encode("utf-8"))
                spool.seek(0)
                c = self._open(f"{base}.csv")
                c.rows = m.rows
                while chunk := spool.read(COPY_BYTES):
                    c.write(chunk)
                self._close(c)

            if first is not None:
                await asyncio.to_thread(put, first)
                async for batch in batches:
                    await asyncio.to_thread(put, batch)
            await asyncio.to_thread(finish)
            return m.rows
        finally:
            spool.close()

    async def close(self) -> None:
        await asyncio.to_thread(self.zf.close)


async def _mappings(session: AsyncSession, query: Select[*tuple[Any, ...]]
                    ) -> AsyncIterator[dict[str, Any]]:
    async for row in stream_rows(session, query):
        yield dict(row._mapping)


async def write_export(session: AsyncSession, tenant_id: int, out: IO[bytes],
                       progress: Callable[[int, int, str], None] | None = None
                       ) -> dict[str, Any]:
    """Write the tenant's export zip to ``out`` (read-only: nothing is written to the
    database) and return its manifest. Memory stays bounded by a batch of rows."""
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise LookupError(tenant_id)
    kinds = sorted((k for k in load_kinds().values() if k.export is not None),
                   key=lambda k: k.order)
    tables = [t for t in Base.metadata.sorted_tables
              if "tenant_id" in t.c and t.name not in SKIP_TABLES]
    total, step = len(kinds) + len(tables) + 1, 0
    z = ExportWriter(out)
    for kind in kinds:
        assert kind.export is not None
        await z.table(kind.name, [f.name for f in kind.fields],
                      kind.export(session, tenant_id))
        step += 1
        if progress:
            progress(step, total, kind.name)
    # The ledger exactly as hashed, and its checkpoints.
    head: list[str | None] = [None]

    async def entries() -> AsyncIterator[dict[str, Any]]:
        async for e in stream_rows(session, select(
                LedgerEntry.seq, LedgerEntry.entry_time, LedgerEntry.type,
                LedgerEntry.tenant_code, LedgerEntry.payload_hash, LedgerEntry.prev_hash,
                LedgerEntry.entry_hash, LedgerEntry.payload)
                .where(LedgerEntry.tenant_id == tenant_id).order_by(LedgerEntry.seq)):
            head[0] = e.entry_hash
            yield {"seq": e.seq, "time": e.entry_time, "type": e.type, "tenant": e.tenant_code,
                   "payload_hash": e.payload_hash, "prev_hash": e.prev_hash,
                   "entry_hash": e.entry_hash, "payload": e.payload}

    size = await z.lines("ledger/entries.jsonl", entries())

    async def checkpoints() -> AsyncIterator[dict[str, Any]]:
        async for c in stream_rows(session, select(
                LedgerCheckpoint.tree_size, LedgerCheckpoint.root_hash,
                LedgerCheckpoint.timestamp, LedgerCheckpoint.key_id, LedgerCheckpoint.signature,
                LedgerCheckpoint.note).where(LedgerCheckpoint.tenant_id == tenant_id)
                .order_by(LedgerCheckpoint.tree_size)):
            yield dict(c._mapping)

    n_cps = await z.lines("ledger/checkpoints.jsonl", checkpoints())
    step += 1
    for table in tables:
        cols = [c for c in table.c if c.name not in SKIP_COLUMNS
                and not isinstance(c.type, LargeBinary)]
        await z.table(f"tables/{table.name}", [c.name for c in cols], _mappings(
            session, select(*cols).where(table.c.tenant_id == tenant_id)
            .order_by(*table.primary_key.columns)), skip_empty=True)
        step += 1
        if progress:
            progress(step, total, table.name)
    manifest = {
        "format": FORMAT, "exported_at": utcnow().isoformat(),
        "tenant": {"id": tenant.id, "code": tenant.code, "name": tenant.name,
                   "name_en": tenant.name_en, "kind": tenant.kind.value,
                   "timezone": tenant.timezone},
        "kinds": [k.name for k in kinds],
        "ledger": {"size": size, "head_hash": head[0], "checkpoints": n_cps},
        "files": dict(z.files),
    }
    await z.add("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2), 1)
    await z.close()
    return manifest
