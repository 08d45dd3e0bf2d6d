"""The import and export jobs (probity.jobs): never on the event loop's time — rows are read
and checked in a worker thread, and progress (rows validated, rows written) is on the job page.

An import job commits its writes together with its ``done`` state, so a job re-delivered after
a worker died writes its rows once (and a second run of the same file finds every row
unchanged). A dry run writes nothing but the job's result.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from probity.audit.service import record_audit
from probity.auth.permissions import Perm
from probity.errors import NotFound
from probity.imports.engine import apply_import, plan_import
from probity.imports.export import build_export
from probity.imports.reading import read_table
from probity.jobs import JobContext, task
from probity.models import DataExport, ImportUpload
from probity.models.base import utcnow

__all__ = ["run_export", "run_import"]


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


@task("imports.export", perm=Perm.data_export, owner_only=True)
async def run_export(ctx: JobContext, *, export_id: int) -> dict[str, Any]:
    row = await ctx.db.get(DataExport, export_id)
    if row is None:
        raise NotFound("the export is gone", template="No such export.")

    def progress(done: int, total: int, stage: str) -> None:
        ctx.progress(done, total, stage="export", table=stage)

    data, manifest = await build_export(ctx.db, row.tenant_id, progress)
    import hashlib

    code = manifest["tenant"]["code"]
    row.content = data
    row.size = len(data)
    row.sha256 = hashlib.sha256(data).hexdigest()
    row.filename = f"probity-export-{code}-{utcnow():%Y%m%d-%H%M%S}.zip"
    row.counts = {name: int(meta["rows"]) for name, meta in manifest["files"].items()
                  if name.endswith(".jsonl")}
    row.state = "done"
    row.finished_at = utcnow()
    record_audit(ctx.db, await ctx.principal(), "export.built", target_type="data_export",
                 target_id=row.id, tenant_id=row.tenant_id,
                 after={"sha256": row.sha256, "size": row.size, "files": len(row.counts)})
    await ctx.db.flush()
    return {"export_id": row.id, "filename": row.filename, "size": row.size,
            "sha256": row.sha256, "download": f"/api/v1/exports/{row.id}/download"}
