"""JSON API of the import framework and of tenant exports.

Import: upload a file (`POST /api/v1/imports/uploads`: the encoding and format are checked at
once, 422 otherwise; the answer suggests a mapping and shows sample rows), then start a dry run
or an import (`POST /api/v1/imports`: the mapping is checked at once; the job validates every
row, and an import writes every row or none), and follow it (`GET /api/v1/imports/jobs/{id}`,
or the page `/jobs/{id}`). Export: `POST /api/v1/exports`, then download the zip.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, UploadFile
from fastapi.responses import Response, StreamingResponse

from probity.auth.deps import Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.bounds import DbId
from probity.imports import schemas, service
from probity.jobs import job_view
from probity.models import DataExport, Job

router = APIRouter(tags=["imports"])
Importer = Annotated[Principal, Depends(require(Perm.data_import))]
Exporter = Annotated[Principal, Depends(require(Perm.data_export))]


@router.get("/api/v1/imports/kinds", response_model=list[schemas.KindRead])
async def list_kinds(principal: Importer) -> list[schemas.KindRead]:
    """What the caller may import: each kind with its fields, aliases and natural key."""
    return [schemas.KindRead(name=k.name, title=k.title, perm=k.perm.value, key=list(k.key),
                             fields=[{"name": f.name, "required": f.required,
                                      "aliases": list(f.aliases)} for f in k.fields])
            for k in service.kinds_for(principal)]


@router.post("/api/v1/imports/uploads", status_code=201)
async def upload(session: Session, principal: Importer, file: UploadFile,
                 tenant_id: Annotated[DbId, Form()], kind: Annotated[str, Form(max_length=40)],
                 encoding: Annotated[str | None, Form(max_length=20)] = None
                 ) -> dict[str, Any]:
    """Store a CSV, XLSX or JSONL file for import. Its encoding (UTF-8 with or without BOM,
    GBK/GB18030, UTF-16) is detected, or named with `encoding`; a file that cannot be read
    faithfully is 422 naming the problem, and nothing is stored."""
    data = await file.read()
    _row, inspection = await service.create_upload(
        session, principal, tenant_id=tenant_id, kind=kind, data=data,
        filename=file.filename or "", encoding=encoding or None)
    await commit(session)
    return inspection


@router.get("/api/v1/imports/uploads/{upload_id}")
async def read_upload(upload_id: DbId, session: Session, principal: Importer,
                      template_id: DbId | None = None) -> dict[str, Any]:
    """An upload's columns, sample rows and the mapping suggested (by a saved template)."""
    row = await service.get_upload(session, principal, upload_id)
    return await service.inspect_upload(session, row, template_id=template_id)


def _import_view(job: Job) -> dict[str, Any]:
    view = job_view(job)
    params = job.params or {}
    return {**view, "kind": params.get("kind"), "upload_id": params.get("upload_id"),
            "dry_run": params.get("dry_run"), "page": f"/imports/runs/{job.id}"}


@router.post("/api/v1/imports", status_code=202)
async def start_import(body: schemas.ImportStart, session: Session, principal: Importer
                       ) -> dict[str, Any]:
    """Start a dry run (the default: every row checked, nothing written) or an import (every
    row written, or none if any row has an error) of an upload, as a background job."""
    job = await service.start_import(session, principal, body.upload_id, mapping=body.mapping,
                                     ignore=body.ignore, dry_run=body.dry_run,
                                     template_id=body.template_id)
    await commit(session)
    return _import_view(job)


@router.get("/api/v1/imports/jobs/{job_id}")
async def read_import(job_id: DbId, session: Session, principal: Importer) -> dict[str, Any]:
    """An import job: progress (rows validated, rows written) and, when done, the counts,
    a preview and the row errors (row number, column, English and Chinese message)."""
    return _import_view(await service.read_import_job(session, principal, job_id))


def _package_view(job: Job) -> dict[str, Any]:
    params = job.params or {}
    return {**job_view(job), "filename": params.get("filename"), "size": params.get("size"),
            "sha256": params.get("sha256"), "kinds": params.get("kinds"),
            "dry_run": params.get("dry_run"), "page": f"/jobs/{job.id}"}


@router.post("/api/v1/imports/packages", status_code=202)
async def start_package_import(session: Session, principal: Importer, file: UploadFile,
                               tenant_id: Annotated[DbId, Form()],
                               dry_run: Annotated[bool, Form()] = True) -> dict[str, Any]:
    """Import a tenant export (the zip `POST /api/v1/exports` or `probity export` makes) into
    a tenant, as a background job: a dry run by default (every row of every kind checked,
    nothing kept), else every kind written or none. The package is checked at once — not a
    zip, no manifest, a file not matching its SHA-256: 422 `bad_package`; a kind the caller
    may not import there: 403. Larger packages than the upload limit: `probity import
    package`."""
    data = await file.read()
    job = await service.start_package_import(session, principal, tenant_id=tenant_id,
                                             data=data, filename=file.filename or "",
                                             dry_run=dry_run)
    await commit(session)
    return _package_view(job)


@router.get("/api/v1/imports/packages/{job_id}")
async def read_package_import(job_id: DbId, session: Session, principal: Importer
                              ) -> dict[str, Any]:
    """A package import job: progress (kinds done) and, when done, each kind's counts and the
    source ledger's verification; when failed, the row errors of every kind."""
    return _package_view(await service.read_package_job(session, principal, job_id))


@router.get("/api/v1/imports/templates", response_model=list[schemas.TemplateRead])
async def list_templates(session: Session, principal: Importer, tenant_id: DbId,
                         kind: Annotated[str | None, Query(max_length=40)] = None
                         ) -> list[schemas.TemplateRead]:
    rows = await service.list_templates(session, principal, tenant_id, kind)
    return [schemas.TemplateRead.model_validate(r) for r in rows]


@router.post("/api/v1/imports/templates", response_model=schemas.TemplateRead,
             status_code=201)
async def save_template(body: schemas.TemplateSave, session: Session, principal: Importer
                        ) -> schemas.TemplateRead:
    """Save (or replace, by name) a column mapping for the tenant and kind."""
    row = await service.save_template(session, principal, tenant_id=body.tenant_id,
                                      kind=body.kind, name=body.name, mapping=body.mapping,
                                      ignore=body.ignore)
    await commit(session)
    return schemas.TemplateRead.model_validate(row)


@router.delete("/api/v1/imports/templates/{template_id}", status_code=204)
async def delete_template(template_id: DbId, session: Session, principal: Importer
                          ) -> Response:
    await service.delete_template(session, principal, template_id)
    await commit(session)
    return Response(status_code=204)


async def _export_view(session: Session, row: DataExport) -> dict[str, Any]:
    state = row.state
    if state != "done" and row.job_id is not None:
        job = await session.get(Job, row.job_id)
        state = "failed" if job is not None and job.state == "failed" else (
            job.state if job is not None else state)
    return {**schemas.ExportRead.model_validate(row).model_dump(mode="json"), "state": state,
            "download": f"/api/v1/exports/{row.id}/download" if row.state == "done" else None}


@router.post("/api/v1/exports", status_code=202)
async def start_export(body: schemas.ExportStart, session: Session, principal: Exporter
                       ) -> dict[str, Any]:
    """Export every record of a tenant (JSON Lines + CSV in a zip) as a background job; a
    tenant outside the caller's scope is 404. Requests and downloads are audited."""
    row, _job = await service.start_export(session, principal, body.tenant_id)
    await commit(session)
    return await _export_view(session, row)


@router.get("/api/v1/exports")
async def list_exports(session: Session, principal: Exporter) -> list[dict[str, Any]]:
    return [await _export_view(session, r) for r in await service.list_exports(session,
                                                                                principal)]


@router.get("/api/v1/exports/{export_id}")
async def read_export(export_id: DbId, session: Session, principal: Exporter
                      ) -> dict[str, Any]:
    return await _export_view(session, await service.get_export(session, principal, export_id))


@router.get("/api/v1/exports/{export_id}/download",
            responses={200: {"content": {"application/zip": {}}}})
async def download_export(export_id: DbId, session: Session, principal: Exporter
                          ) -> StreamingResponse:
    """The zip, streamed part by part (1 MiB each) from the database."""
    row = await service.download_export(session, principal, export_id)
    await commit(session)
    return StreamingResponse(service.export_parts(session, row.id), media_type="application/zip",
                             headers={"Content-Disposition":
                                      f'attachment; filename="{row.filename}"',
                                      "Content-Length": str(row.size),
                                      "X-Content-SHA256": row.sha256 or ""})
