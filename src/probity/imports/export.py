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
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import LargeBinary, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.csvexport import to_csv
from probity.imports.registry import load_kinds
from probity.models import Base, LedgerCheckpoint, LedgerEntry, Tenant
from probity.models.base import utcnow

__all__ = ["FORMAT", "build_export"]

FORMAT = "probity-export/1"
# Tables never exported: credentials, job and upload internals, the exports themselves.
SKIP_TABLES = {"users", "api_tokens", "role_assignments", "jobs", "import_uploads",
               "data_exports", "ledger_entries", "ledger_checkpoints", "ledger_refs"}
SKIP_COLUMNS = {"password_hash", "token_hash", "guest_token_hash", "payload_salt"}


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


class _Zip:
    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.zf = zipfile.ZipFile(self.buf, "w", zipfile.ZIP_DEFLATED)
        self.files: dict[str, dict[str, Any]] = {}

    def add(self, name: str, text: str, rows: int) -> None:
        data = text.encode("utf-8")
        self.zf.writestr(name, data)
        self.files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "rows": rows,
                            "bytes": len(data)}

    def table(self, base: str, header: list[str], rows: list[dict[str, Any]]) -> None:
        self.add(f"{base}.jsonl", "".join(_line(r) + "\n" for r in rows), len(rows))
        self.add(f"{base}.csv", to_csv(header, ([
            json.dumps(r.get(h), ensure_ascii=False, default=_json_default)
            if isinstance(r.get(h), dict | list) else _json_default(r.get(h))
            if r.get(h) is not None and not isinstance(r.get(h), str | int | float | bool)
            else r.get(h) for h in header] for r in rows)), len(rows))

    def close(self) -> bytes:
        self.zf.close()
        return self.buf.getvalue()


async def build_export(session: AsyncSession, tenant_id: int,
                       progress: Callable[[int, int, str], None] | None = None
                       ) -> tuple[bytes, dict[str, Any]]:
    """The zip and its manifest (read-only: nothing is written)."""
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise LookupError(tenant_id)
    kinds = sorted((k for k in load_kinds().values() if k.export is not None),
                   key=lambda k: k.order)
    tables = [t for t in Base.metadata.sorted_tables
              if "tenant_id" in t.c and t.name not in SKIP_TABLES]
    total, step = len(kinds) + len(tables) + 1, 0
    z = _Zip()
    for kind in kinds:
        assert kind.export is not None
        rows = [r async for r in kind.export(session, tenant_id)]
        z.table(kind.name, [f.name for f in kind.fields], rows)
        step += 1
        if progress:
            progress(step, total, kind.name)
    # The ledger exactly as hashed, and its checkpoints.
    entries = [{"seq": e.seq, "time": e.entry_time, "type": e.type, "tenant": e.tenant_code,
                "payload_hash": e.payload_hash, "prev_hash": e.prev_hash,
                "entry_hash": e.entry_hash, "payload": e.payload}
               for e in (await session.scalars(select(LedgerEntry).where(
                   LedgerEntry.tenant_id == tenant_id).order_by(LedgerEntry.seq))).all()]
    z.add("ledger/entries.jsonl", "".join(_line(e) + "\n" for e in entries), len(entries))
    cps = [{"tree_size": c.tree_size, "root_hash": c.root_hash, "timestamp": c.timestamp,
            "key_id": c.key_id, "signature": c.signature, "note": c.note}
           for c in (await session.scalars(select(LedgerCheckpoint).where(
               LedgerCheckpoint.tenant_id == tenant_id)
               .order_by(LedgerCheckpoint.tree_size))).all()]
    z.add("ledger/checkpoints.jsonl", "".join(_line(c) + "\n" for c in cps), len(cps))
    step += 1
    for table in tables:
        cols = [c for c in table.c if c.name not in SKIP_COLUMNS
                and not isinstance(c.type, LargeBinary)]
        rows = [dict(r._mapping) for r in (await session.execute(
            select(*cols).where(table.c.tenant_id == tenant_id)
            .order_by(*table.primary_key.columns))).all()]
        if rows:
            z.table(f"tables/{table.name}", [c.name for c in cols], rows)
        step += 1
        if progress:
            progress(step, total, table.name)
    manifest = {
        "format": FORMAT, "exported_at": utcnow().isoformat(),
        "tenant": {"id": tenant.id, "code": tenant.code, "name": tenant.name,
                   "name_en": tenant.name_en, "kind": tenant.kind.value,
                   "timezone": tenant.timezone},
        "kinds": [k.name for k in kinds],
        "ledger": {"size": len(entries),
                   "head_hash": entries[-1]["entry_hash"] if entries else None,
                   "checkpoints": len(cps)},
        "files": dict(z.files),
    }
    z.add("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2), 1)
    return z.close(), manifest
