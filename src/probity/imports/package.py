"""Importing a tenant export (`probity import package`): the migration round trip.

The target tenant is found by code, or created (a new root when the database is empty). Every
``<kind>.jsonl`` of the package goes through its import kind, in the kinds' order, in one
transaction: any row error anywhere and nothing is stored.

**The ledger.** Ledger entries are not copied. The exported chain is re-verified here, offline
(`ledger.chain.verify_chain` over ``ledger/entries.jsonl``, against the exported checkpoints'
roots), and the target tenant's own chain continues — or starts — with fresh entries for what the
import writes (``chat.message`` per imported message, ``finance.payment`` per payment, one
``import.batch`` per kind, the audit rows). Its first entry for the package, ``import.package``,
records the source chain: tenant code, size, head entry hash, the verification's outcome and the
SHA-256 of the exported entries file; each imported message keeps the hash of its source entry in
``import_keys.original_ref``. So the new chain verifies on its own (`probity ledger verify`), and
an auditor holding the export can check that it continues the old one.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.permissions import Principal
from probity.config import DEFAULT_TIMEZONE
from probity.errors import InvalidInput
from probity.imports.engine import apply_import, digest, plan_import
from probity.imports.export import FORMAT
from probity.imports.reading import read_table
from probity.imports.registry import ImportKind, load_kinds
from probity.ledger.chain import EntryRecord, verify_chain
from probity.ledger.service import append_entry
from probity.models import Tenant, TenantKind
from probity.models.base import utcnow

__all__ = ["import_package", "package_kinds", "read_package"]

MAX_PACKAGE_BYTES = 2 * 1024**3


def _bad(message: str, template: str, **params: Any) -> InvalidInput:
    return InvalidInput(message, code="bad_package", template=template, params=params)


def read_package(data: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        if sum(i.file_size for i in zf.infolist()) > MAX_PACKAGE_BYTES:
            raise _bad("the package is too large", "The package is too large.")
        files = {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}
        manifest = json.loads(files["manifest.json"])
    except (zipfile.BadZipFile, KeyError, ValueError):
        raise _bad("not a Probity export (a zip with manifest.json)",
                   "Not a Probity export (a zip with manifest.json).") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _bad(f"unknown export format {manifest.get('format')!r}",
                   "Unknown export format {format}.", format=str(manifest.get("format")))
    for name, meta in (manifest.get("files") or {}).items():
        if name in files and digest(files[name]) != meta.get("sha256"):
            raise _bad(f"{name} does not match its SHA-256 in the manifest",
                       "{name} does not match its hash in the manifest.", name=name)
    return manifest, files


def verify_exported_ledger(files: dict[str, bytes], tenant_code: str) -> dict[str, Any]:
    raw = files.get("ledger/entries.jsonl", b"")
    entries = [EntryRecord.from_json(json.loads(line)) for line in raw.decode().splitlines()
               if line.strip()]
    cps = [(int(c["tree_size"]), bytes.fromhex(c["root_hash"])) for c in (
        json.loads(line) for line in files.get("ledger/checkpoints.jsonl", b"")
        .decode().splitlines() if line.strip())]
    result = verify_chain(entries, tenant=tenant_code, checkpoints=cps)
    return {"source_tenant": tenant_code, "size": len(entries),
            "head_hash": entries[-1].entry_hash if entries else None,
            "entries_sha256": digest(raw), "verified": result.ok,
            "checkpoints_checked": result.checkpoints_checked,
            "problem": None if result.ok else result.message}


async def _target_tenant(session: AsyncSession, manifest: dict[str, Any], code: str | None,
                         tenant_id: int | None = None) -> tuple[Tenant, bool]:
    if tenant_id is not None:  # the API: a tenant the caller's scope was checked for
        found = await session.get(Tenant, tenant_id)
        if found is None:
            raise _bad("no such tenant", "There is no such tenant.")
        return found, False
    info = manifest.get("tenant") or {}
    code = code or str(info.get("code") or "")
    tenant = await session.scalar(select(Tenant).where(Tenant.code == code))
    if tenant is not None:
        return tenant, False
    if not code:
        raise _bad("the package names no tenant", "The package names no tenant.")
    has_root = await session.scalar(select(Tenant.id).where(Tenant.parent_id.is_(None)))
    if has_root is not None:
        raise _bad(f"no tenant {code!r} here: create it under the group first",
                   "There is no tenant {code} here: create it in the group first.", code=code)
    kind = str(info.get("kind")) if info.get("kind") in {k.value for k in TenantKind} else "hq"
    tenant = Tenant(code=code, name=str(info.get("name") or code), name_en=info.get("name_en"),
                    kind=TenantKind(kind), timezone=str(info.get("timezone") or DEFAULT_TIMEZONE),
                    created_at=utcnow())
    session.add(tenant)
    await session.flush()
    tenant.path = f"/{tenant.id}/"
    await session.flush()
    return tenant, True


def package_kinds(files: dict[str, bytes]) -> list[ImportKind]:
    """The import kinds a package carries rows for, in import order."""
    return [k for k in sorted(load_kinds().values(), key=lambda k: k.order)
            if (files.get(f"{k.name}.jsonl") or b"").strip()]


async def import_package(session: AsyncSession, data: bytes, *, actor: Principal | None,
                         tenant_code: str | None = None, tenant_id: int | None = None,
                         dry_run: bool = False,
                         progress: Callable[[int, int, str], None] | None = None
                         ) -> dict[str, Any]:
    """Import a whole export; returns per-kind summaries. Raises ``InvalidInput`` (422) on any
    error — row errors of every kind are collected first. Flushes only: the caller commits, or
    rolls back for a dry run (later kinds need the earlier ones written to check references).
    ``progress(kinds done, kinds, kind)`` is called as each kind is planned and written."""
    manifest, files = read_package(data)
    tenant, created = await _target_tenant(session, manifest, tenant_code, tenant_id)
    source = verify_exported_ledger(files, str((manifest.get("tenant") or {}).get("code")))
    kinds = package_kinds(files)
    summaries: dict[str, Any] = {}
    failed: dict[str, Any] = {}
    await append_entry(session, tenant.id, "import.package", {
        "manifest_sha256": digest(files["manifest.json"]),
        "exported_at": manifest.get("exported_at"), "source_ledger": source})
    for done, kind in enumerate(kinds):
        if progress:
            progress(done, len(kinds), kind.name)
        raw = files[f"{kind.name}.jsonl"]
        table = read_table(raw, f"{kind.name}.jsonl", "utf-8")
        ctx = await plan_import(session, kind.name, tenant.id, table, actor=actor)
        summary = ctx.plan.summary()
        summary.pop("preview", None)
        summaries[kind.name] = summary
        if ctx.plan.error_count:
            failed[kind.name] = summary
            continue
        # Applied even after another kind failed (all is rolled back then), so the errors
        # reported for later kinds are their own, not the echo of an earlier failure.
        run = await apply_import(ctx, source="package", filename=f"{kind.name}.jsonl",
                                 sha256=digest(raw))
        summary["import_run_id"] = run.id
    if progress:
        progress(len(kinds), len(kinds), "done")
    if failed:
        count = sum(s["error_count"] for s in failed.values())
        raise InvalidInput(f"{count} row error(s) in {', '.join(failed)}; nothing was imported",
                           code="row_errors", template="{count} row(s) have errors; nothing "
                           "was imported.", params={"count": count}, kinds=failed)
    record_audit(session, actor, "import.package", target_type="tenant",
                 target_id=tenant.id, tenant_id=tenant.id,
                 after={"created_tenant": created, "source_ledger": source,
                        "kinds": {k: {x: s[x] for x in ("rows", "insert", "update",
                                                         "unchanged")}
                                  for k, s in summaries.items()}})
    await session.flush()
    return {"tenant_id": tenant.id, "tenant_code": tenant.code, "created_tenant": created,
            "dry_run": dry_run, "source_ledger": source, "kinds": summaries}
