"""The import and export jobs (probity.jobs): never on the event loop's time — rows are read
and checked in a worker thread, and progress (rows validated, rows written) is on the job page.

An import job commits its writes together with its ``done`` state, so a job re-delivered after
a worker died writes its rows once (and a second run of the same file finds every row
unchanged). A dry run writes nothing but the job's result.
"""

from __future__ import annotations

import hashlib
import tempfile
from typing import Any

from sqlalchemy import delete, insert, select

from probity.audit.service import record_audit
from probity.auth.permissions import Perm
from probity.errors import NotFound
from probity.imports.engine import apply_import, plan_import
from probity.imports.export import write_export
from probity.imports.reading import read_table
from probity.jobs import JobContext, task
from probity.models import DataExport, DataExportPart, ImportUpload
from probity.models.base import utcnow

__all__ = ["PART_BYTES", "run_export", "run_import", "run_package"]

PART_BYTES = 1 << 20  # an export is stored (and downloaded) in parts of this size


@task("imports.run", perm=Perm.data_import, owner_only=True)
async def run_import(ctx: JobContext, *, upload_id: int, kind: str, mapping: dict[str, str],
                     ignore: list[str], dry_run: bool) -> dict[str, Any]:
    upload = await ctx.db.get(ImportUpload, upload_id)
    if upload is None or upload.tenant_id != ctx.tenant_id:
        raise NotFound("the upload is gone", template="No such upload.")
    data = bytes(await ctx.db.scalar(select(ImportUpload.content).where(
        ImportUpload.id == upload_id)) or b"")

    def progress(stage: str, done: int, total: int | None) -> None:
        if stage == "validate":
            ctx.progress(done, total, stage="validate", validated=done)
        else:
            ctx.progress(done, total, stage="write", written=done)

    ctx.progress(0, None, stage="validate", validated=0)
    table = read_table(data, upload.filename, upload.encoding)
    ictx = await plan_import(ctx.db, kind, upload.tenant_id, table, mapping=mapping,
                             ignore=ignore, actor=await ctx.principal(), progress=progress)
    result: dict[str, Any] = {**ictx.plan.summary(), "dry_run": dry_run, "upload_id": upload_id,
                              "filename": upload.filename, "encoding": upload.encoding,
                              "committed": False}
    if not dry_run and not ictx.plan.error_count:
        run = await apply_import(ictx, source="file", filename=upload.filename,
                                 sha256=upload.sha256, upload_id=upload.id, job_id=ctx.job_id,
                                 mapping={"mapping": mapping, "ignore": ignore})
        result |= {"committed": True, "import_run_id": run.id}
    return result


@task("imports.package", perm=Perm.data_import, owner_only=True)
async def run_package(ctx: JobContext, *, filename: str, sha256: str, size: int, dry_run: bool,
                      kinds: list[str]) -> dict[str, Any]:
    """Import a tenant export into the job's tenant: every kind, or nothing (any row error
    fails the job with the errors of every kind, and its transaction is rolled back). A dry
    run does the same work in a session of its own that is rolled back, so nothing of it —
    rows, ledger entries, checkpoints, side effects — survives."""
    from probity.imports.package import import_package

    actor = await ctx.principal()
    assert ctx.tenant_id is not None

    def progress(done: int, total: int, kind: str) -> None:
        ctx.progress(done, total, stage="package", kind=kind)

    ctx.progress(0, len(kinds), stage="package")
    with tempfile.TemporaryFile() as package:  # read member by member from disk
        await ctx.run_cpu(package.write, await ctx.payload())
        if dry_run:
            async with ctx.sessions() as scratch:
                try:
                    result = await import_package(scratch, package, actor=actor,
                                                  tenant_id=ctx.tenant_id, dry_run=True,
                                                  progress=progress)
                finally:
                    await scratch.rollback()
        else:
            result = await import_package(ctx.db, package, actor=actor,
                                          tenant_id=ctx.tenant_id, progress=progress)
    return {**result, "filename": filename, "sha256": sha256, "size": size,
            "committed": not dry_run}


@task("imports.export", perm=Perm.data_export, owner_only=True)
async def run_export(ctx: JobContext, *, export_id: int) -> dict[str, Any]:
    """Write the zip to a temporary file (rows streamed in batches), then store it in 1 MiB
    parts with the job's ``done``: memory stays bounded however large the tenant."""
    row = await ctx.db.get(DataExport, export_id)
    if row is None:
        raise NotFound("the export is gone", template="No such export.")

    def progress(done: int, total: int, stage: str) -> None:
        ctx.progress(done, total, stage="export", table=stage)

    with tempfile.TemporaryFile() as out:
        manifest = await write_export(ctx.db, row.tenant_id, out, progress)
        out.seek(0)
        # Parts commit with the job's `done`; a delivery that died rolled its parts back.
        await ctx.db.execute(delete(DataExportPart).where(DataExportPart.export_id == row.id))
        sha, size, seq = hashlib.sha256(), 0, 0

        def next_part() -> bytes:  # file I/O and hashing: off the event loop
            data = out.read(PART_BYTES)
            sha.update(data)
            return data

        while chunk := await ctx.run_cpu(next_part):
            size += len(chunk)
            await ctx.db.execute(insert(DataExportPart).values(export_id=row.id, seq=seq,
                                                               data=chunk))
            seq += 1
    code = manifest["tenant"]["code"]
    row.size = size
    row.sha256 = sha.hexdigest()
    row.filename = f"probity-export-{code}-{utcnow():%Y%m%d-%H%M%S}.zip"
    row.counts = {name: int(meta["rows"]) for name, meta in manifest["files"].items()
                  if name.endswith(".jsonl")}
    row.state = "done"
    row.finished_at = utcnow()
    record_audit(ctx.db, await ctx.principal(), "export.built", target_type="data_export",
                 target_id=row.id, tenant_id=row.tenant_id,
                 after={"sha256": row.sha256, "size": row.size, "files": len(row.counts),
                        "parts": seq})
    await ctx.db.flush()
    return {"export_id": row.id, "filename": row.filename, "size": row.size,
            "sha256": row.sha256, "download": f"/api/v1/exports/{row.id}/download"}
