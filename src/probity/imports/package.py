"""Importing a tenant export (`probity import package`): the migration round trip.

The target tenant is found by code, or created (a new root when the database is empty). Every
``<kind>.jsonl`` of the package goes through its import kind, in the kinds' order, in one
transaction: any row error anywhere and nothing is stored.

**The ledger.** Ledger entries are not copied. The exported chain is re-verified here, offline
(`ledger.chain.verify_chain` over ``ledger/entries.jsonl``, against the exported checkpoints'
roots), and the target tenant's own chain continues — or starts — with fresh entries for what the
import writes (``chat.message`` per imported message, a ``finance.payment_batch`` per payments
file, one ``import.batch`` per kind, the audit rows). Its first entry for the package,
``import.package``, records the source chain: tenant code, size, head entry hash, the
verification's outcome and the SHA-256 of the exported entries file; each imported message
keeps the hash of its source entry in ``import_keys.original_ref``. So the new chain verifies
on its own (`probity ledger verify`), and an auditor holding the export can check that it
continues the old one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import zipfile
from collections.abc import Callable, Iterator
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.permissions import Principal
from probity.config import DEFAULT_TIMEZONE
from probity.errors import InvalidInput
from probity.i18n import Msgid
from probity.imports.engine import apply_import, digest, plan_import
from probity.imports.export import FORMAT
from probity.imports.reading import Table, read_jsonl_lines
from probity.imports.registry import ImportKind, load_kinds
from probity.ledger.chain import EntryRecord, verify_chain
from probity.ledger.service import append_entry
from probity.models import Tenant, TenantKind
from probity.models.base import utcnow

__all__ = ["Package", "check_package", "import_package", "package_kinds",
           "verify_exported_ledger"]

MAX_PACKAGE_BYTES = 2 * 1024**3  # uncompressed, all members together
MAX_MANIFEST_BYTES = 16 * 1024**2
CHUNK_BYTES = 1 << 20


def _bad(message: str, template: Msgid, **params: Any) -> InvalidInput:
    return InvalidInput(message, code="bad_package", template=template, params=params)


def _not_an_export() -> InvalidInput:
    return _bad("not a Probity export (a zip with manifest.json)",
                "Not a Probity export (a zip with manifest.json).")


PackageSource = str | os.PathLike[str] | IO[bytes]


class Package:
    """An export zip read from a file (a path, or any seekable binary file) member by member:
    opening it reads the manifest and checks every listed member's SHA-256 chunk by chunk;
    afterwards each member is streamed on demand. Neither the zip nor any whole member is ever
    held in memory (`tests/imports/test_package_memory.py`). Blocking I/O and hashing: open it
    and read it in a worker thread."""

    def __init__(self, source: PackageSource) -> None:
        try:
            self.zf = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, OSError, ValueError):
            raise _not_an_export() from None
        try:
            self._check()
        except BaseException:
            self.zf.close()
            raise

    def _check(self) -> None:
        infos = [i for i in self.zf.infolist() if not i.is_dir()]
        if sum(i.file_size for i in infos) > MAX_PACKAGE_BYTES:
            raise _bad("the package is too large", "The package is too large.")
        self.names = {i.filename for i in infos}
        try:
            with self.zf.open("manifest.json") as fh:
                raw = fh.read(MAX_MANIFEST_BYTES + 1)
            if len(raw) > MAX_MANIFEST_BYTES:
                raise ValueError("manifest too large")
            self.manifest_sha256 = digest(raw)
            manifest = json.loads(raw)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError):
            raise _not_an_export() from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            fmt = manifest.get("format") if isinstance(manifest, dict) else None
            raise _bad(f"unknown export format {fmt!r}", "Unknown export format {format}.",
                       format=str(fmt))
        self.manifest: dict[str, Any] = manifest
        for name, meta in (manifest.get("files") or {}).items():
            if name in self.names and self.sha256(name) != (meta or {}).get("sha256"):
                raise _bad(f"{name} does not match its SHA-256 in the manifest",
                           "{name} does not match its hash in the manifest.", name=name)

    def open(self, name: str) -> IO[bytes]:
        return self.zf.open(name)

    def chunks(self, name: str) -> Iterator[bytes]:
        try:
            with self.zf.open(name) as fh:
                while chunk := fh.read(CHUNK_BYTES):
                    yield chunk
        except (zipfile.BadZipFile, OSError, EOFError) as exc:  # a damaged member (CRC, …)
            raise _bad(f"{name} cannot be read ({exc.__class__.__name__})",
                       "{name} cannot be read from the package.", name=name) from None

    def sha256(self, name: str) -> str:
        sha = hashlib.sha256()
        for chunk in self.chunks(name):
            sha.update(chunk)
        return sha.hexdigest()

    def has_rows(self, name: str) -> bool:
        """The member exists and holds more than white space."""
        if name not in self.names:
            return False
        return any(chunk.strip() for chunk in self.chunks(name))

    def lines(self, name: str, sha: Any = None) -> Iterator[bytes]:
        """The member's lines (bytes, split on ``\\n`` only), streamed; ``sha`` (a hashlib
        object) is fed the member's bytes as they pass."""
        if name not in self.names:
            return
        tail = b""
        for chunk in self.chunks(name):
            if sha is not None:
                sha.update(chunk)
            parts = (tail + chunk).split(b"\n")
            tail = parts.pop()
            yield from parts
        if tail:
            yield tail

    def table(self, name: str) -> Table:
        """A kind's ``<kind>.jsonl`` as a table whose rows are read as they are consumed."""
        return read_jsonl_lines(self.lines(name))

    def close(self) -> None:
        self.zf.close()

    def __enter__(self) -> Package:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def verify_exported_ledger(package: Package, tenant_code: str) -> dict[str, Any]:
    """Verify the exported chain offline, streaming ``ledger/entries.jsonl`` through
    `verify_chain` (constant memory) while hashing the file; CPU-heavy: a worker thread."""
    sha = hashlib.sha256()
    seen: dict[str, Any] = {"size": 0, "head": None}

    def entries() -> Iterator[EntryRecord]:
        for line in package.lines("ledger/entries.jsonl", sha):
            if not line.strip():
                continue
            try:
                entry = EntryRecord.from_json(json.loads(line))
            except (ValueError, KeyError, TypeError):
                raise _bad("ledger/entries.jsonl holds a line that is not a ledger entry",
                           "The exported ledger holds a line that is not a ledger "
                           "entry.") from None
            seen["size"] += 1
            seen["head"] = entry.entry_hash
            yield entry

    cps: list[tuple[int, bytes]] = []
    try:
        for line in package.lines("ledger/checkpoints.jsonl"):
            if line.strip():
                c = json.loads(line)
                cps.append((int(c["tree_size"]), bytes.fromhex(c["root_hash"])))
    except (ValueError, KeyError, TypeError):
        raise _bad("ledger/checkpoints.jsonl holds a line that is not a checkpoint",
                   "The exported ledger holds a checkpoint that cannot be read.") from None
    stream = entries()
    result = verify_chain(stream, tenant=tenant_code, checkpoints=cps)
    for _rest in stream:  # a failed verification stops early: count and hash the whole file
        pass
    # The file's hash as exported (its last line ends with a newline, as the export writes it).
    return {"source_tenant": tenant_code, "size": seen["size"], "head_hash": seen["head"],
            "entries_sha256": sha.hexdigest(),
            "verified": result.ok, "checkpoints_checked": result.checkpoints_checked,
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


def package_kinds(package: Package) -> list[ImportKind]:
    """The import kinds a package carries rows for, in import order."""
    return [k for k in sorted(load_kinds().values(), key=lambda k: k.order)
            if package.has_rows(f"{k.name}.jsonl")]


def check_package(source: PackageSource) -> list[ImportKind]:
    """Open and check a package (422 ``bad_package``), and name the kinds it carries."""
    with Package(source) as package:
        return package_kinds(package)


async def import_package(session: AsyncSession, source: PackageSource, *,
                         actor: Principal | None, tenant_code: str | None = None,
                         tenant_id: int | None = None, dry_run: bool = False,
                         progress: Callable[[int, int, str], None] | None = None
                         ) -> dict[str, Any]:
    """Import a whole export — ``source`` is the zip's path (or a seekable binary file),
    read member by member — and return per-kind summaries. Raises ``InvalidInput`` (422) on
    any error — row errors of every kind are collected first. Flushes only: the caller
    commits, or rolls back for a dry run (later kinds need the earlier ones written to check
    references). ``progress(kinds done, kinds, kind)`` is called as each kind is planned and
    written. Memory: one kind's plan at a time, never the zip or a whole member."""
    package = await asyncio.to_thread(Package, source)
    try:
        return await _import(session, package, actor=actor, tenant_code=tenant_code,
                             tenant_id=tenant_id, dry_run=dry_run, progress=progress)
    finally:
        package.close()


async def _import(session: AsyncSession, package: Package, *, actor: Principal | None,
                  tenant_code: str | None, tenant_id: int | None, dry_run: bool,
                  progress: Callable[[int, int, str], None] | None) -> dict[str, Any]:
    manifest = package.manifest
    tenant, created = await _target_tenant(session, manifest, tenant_code, tenant_id)
    source = await asyncio.to_thread(verify_exported_ledger, package,
                                     str((manifest.get("tenant") or {}).get("code")))
    kinds = await asyncio.to_thread(package_kinds, package)
    summaries: dict[str, Any] = {}
    failed: dict[str, Any] = {}
    await append_entry(session, tenant.id, "import.package", {
        "manifest_sha256": package.manifest_sha256,
        "exported_at": manifest.get("exported_at"), "source_ledger": source})
    for done, kind in enumerate(kinds):
        if progress:
            progress(done, len(kinds), kind.name)
        name = f"{kind.name}.jsonl"
        # The member is read (and its rows checked) as the engine's worker thread consumes
        # the table; its SHA-256 was checked against the manifest when the package opened.
        table = await asyncio.to_thread(package.table, name)
        ctx = await plan_import(session, kind.name, tenant.id, table, actor=actor)
        summary = ctx.plan.summary()
        summary.pop("preview", None)
        summaries[kind.name] = summary
        if ctx.plan.error_count:
            failed[kind.name] = summary
            continue
        # Applied even after another kind failed (all is rolled back then), so the errors
        # reported for later kinds are their own, not the echo of an earlier failure.
        meta = (manifest.get("files") or {}).get(name) or {}
        sha = meta.get("sha256") or await asyncio.to_thread(package.sha256, name)
        run = await apply_import(ctx, source="package", filename=name, sha256=str(sha))
        summary["import_run_id"] = run.id
        del ctx  # this kind's plan goes before the next kind's is built
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
