"""Import and export services: uploads (inspected on arrival), saved mappings, import jobs and
tenant exports. Services flush, never commit; access is decided here through `auth.scoping`:
a tenant outside the caller's ``data.import`` / ``data.export`` scope is 404, a kind whose own
permission the caller lacks over the tenant is 403."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.permissions import Perm, Principal
from probity.auth.scoping import tenant_in_scope
from probity.errors import Forbidden, InvalidInput, NotFound
from probity.imports.engine import digest, resolve_columns
from probity.imports.reading import read_table
from probity.imports.registry import ImportKind, get_kind, load_kinds
from probity.jobs import enqueue, get_job
from probity.models import DataExport, DataExportPart, ImportTemplate, ImportUpload, Job, Tenant
from probity.models.base import utcnow

__all__ = [
    "create_upload",
    "delete_template",
    "get_export",
    "get_upload",
    "inspect_upload",
    "kinds_for",
    "list_templates",
    "save_template",
    "start_export",
    "start_import",
    "start_package_import",
]

SAMPLE_ROWS = 5
IMPORT_TASK = "imports.run"
EXPORT_TASK = "imports.export"
PACKAGE_TASK = "imports.package"


async def import_tenant(session: AsyncSession, principal: Principal, tenant_id: int,
                        kind: ImportKind) -> Tenant:
    """The tenant, when the caller may import this kind into it (404 out of scope, 403 when
    the kind's own permission is missing there)."""
    tenant = await tenant_in_scope(session, principal, Perm.data_import, tenant_id, body=False)
    if not principal.scope(kind.perm).covers_path(tenant.path):
        raise Forbidden(f"importing {kind.name} needs {kind.perm.value}",
                        code="import_not_permitted", perm=kind.perm.value,
                        template="Importing {kind} needs the permission {perm}.",
                        params={"kind": kind.name, "perm": kind.perm.value})
    return tenant


def kinds_for(principal: Principal) -> list[ImportKind]:
    return sorted((k for k in load_kinds().values() if principal.can(k.perm)),
                  key=lambda k: k.order)


def _suggest(kind: ImportKind, headers: list[str], template: ImportTemplate | None
             ) -> dict[str, str]:
    alias = {a.lower(): f.name for f in kind.fields for a in (f.name, *f.aliases)}
    saved = template.mapping if template else {}
    ignored = {i.lower() for i in (template.ignore if template else [])}
    out: dict[str, str] = {}
    for h in headers:
        if h in saved:
            out[h] = saved[h]
        elif h.lower() in ignored:
            out[h] = ""
        else:
            out[h] = alias.get(h.lower(), "")
    return out


def _inspect(data: bytes, filename: str, encoding: str | None) -> tuple[list[str], str | None,
                                                                         list[list[str]]]:
    table = read_table(data, filename, encoding)
    sample: list[list[str]] = []
    for _n, row in table.rows:
        sample.append(["" if v is None else str(v)[:100] for v in row])
        if len(sample) >= SAMPLE_ROWS:
            break
    return table.headers, table.encoding, sample


async def create_upload(session: AsyncSession, principal: Principal, *, tenant_id: int,
                        kind: str, data: bytes, filename: str, encoding: str | None = None
                        ) -> tuple[ImportUpload, dict[str, Any]]:
    """Store an uploaded file after checking it can be read faithfully (encoding, format):
    422 otherwise, and nothing is stored."""
    spec = get_kind(kind)
    await import_tenant(session, principal, tenant_id, spec)
    headers, enc, sample = await asyncio.to_thread(_inspect, data, filename, encoding)
    if not any(headers):
        raise InvalidInput("the file has no header row", code="malformed_file",
                           template="The file has no header row.")
    upload = ImportUpload(tenant_id=tenant_id, kind=kind, filename=(filename or "")[:200],
                          sha256=digest(data), encoding=enc, size=len(data), headers=headers,
                          content=data, created_by_user_id=principal.user_id,
                          created_at=utcnow())
    session.add(upload)
    await session.flush()
    return upload, await inspect_upload(session, upload, sample=sample)


async def get_upload(session: AsyncSession, principal: Principal, upload_id: int
                     ) -> ImportUpload:
    """The caller's own upload (uploads hold personal data: only their uploader sees them)."""
    upload = await session.get(ImportUpload, upload_id) if 0 < upload_id < 2**31 else None
    if upload is None or upload.created_by_user_id != principal.user_id:
        raise NotFound("no such upload", template="No such upload.")
    await tenant_in_scope(session, principal, Perm.data_import, upload.tenant_id, body=False)
    return upload


async def inspect_upload(session: AsyncSession, upload: ImportUpload, *,
                         template_id: int | None = None,
                         sample: list[list[str]] | None = None) -> dict[str, Any]:
    kind = get_kind(upload.kind)
    template = None
    if template_id:
        template = await session.get(ImportTemplate, template_id)
        if template is None or template.tenant_id != upload.tenant_id \
                or template.kind != upload.kind:
            raise InvalidInput("unknown mapping template", code="unknown_template",
                               template="Unknown mapping template.")
    if sample is None:
        data = await session.scalar(select(ImportUpload.content).where(
            ImportUpload.id == upload.id))
        _h, _e, sample = await asyncio.to_thread(_inspect, bytes(data or b""), upload.filename,
                                                 upload.encoding)
    suggested = _suggest(kind, upload.headers, template)
    return {"upload_id": upload.id, "tenant_id": upload.tenant_id, "kind": upload.kind,
            "filename": upload.filename, "encoding": upload.encoding, "size": upload.size,
            "sha256": upload.sha256, "headers": upload.headers, "sample": sample,
            "mapping": suggested,
            "unmapped": [h for h, f in suggested.items() if not f and h],
            "fields": [{"name": f.name, "required": f.required} for f in kind.fields]}


async def start_import(session: AsyncSession, principal: Principal, upload_id: int, *,
                       mapping: dict[str, str] | None, ignore: list[str], dry_run: bool,
                       template_id: int | None = None) -> Job:
    """Check the mapping now (422 for unknown, duplicate or missing columns), then enqueue the
    job that validates every row and — unless a dry run — writes all of them or none."""
    upload = await get_upload(session, principal, upload_id)
    kind = get_kind(upload.kind)
    await import_tenant(session, principal, upload.tenant_id, kind)
    if mapping is None:
        # No mapping given: the template's (or the aliases'); a column neither knows stays
        # unmapped, so it is refused below rather than silently dropped.
        template = await session.get(ImportTemplate, template_id) if template_id else None
        if template_id and (template is None or template.tenant_id != upload.tenant_id
                            or template.kind != upload.kind):
            raise InvalidInput("unknown mapping template", code="unknown_template",
                               template="Unknown mapping template.")
        mapping = {h: f for h, f in _suggest(kind, upload.headers, template).items() if f}
        ignore = [*ignore, *(template.ignore if template else [])]
    resolve_columns(kind, upload.headers, mapping, ignore)
    return await enqueue(session, IMPORT_TASK, tenant_id=upload.tenant_id, principal=principal,
                         params={"upload_id": upload.id, "kind": upload.kind,
                                 "mapping": mapping, "ignore": ignore, "dry_run": dry_run})


async def read_import_job(session: AsyncSession, principal: Principal, job_id: int) -> Job:
    job = await get_job(session, principal, job_id)
    if job.task != IMPORT_TASK:
        raise NotFound("no such import", template="No such import.")
    return job


# --- package imports (a tenant export brought into this system) -----------------------------


def _check_package(data: bytes) -> list[ImportKind]:
    from probity.imports.package import check_package

    return check_package(io.BytesIO(data))


async def start_package_import(session: AsyncSession, principal: Principal, *, tenant_id: int,
                               data: bytes, filename: str, dry_run: bool) -> Job:
    """Check the package now (a zip made by the export, every file matching its SHA-256 in the
    manifest: 422 ``bad_package`` otherwise) and that the caller may import each kind it
    carries into the tenant (404 out of scope, 403 ``import_not_permitted``), then enqueue the
    job that imports every kind — all of them or nothing."""
    await tenant_in_scope(session, principal, Perm.data_import, tenant_id, body=False)
    kinds = await asyncio.to_thread(_check_package, data)
    for kind in kinds:
        await import_tenant(session, principal, tenant_id, kind)
    return await enqueue(session, PACKAGE_TASK, tenant_id=tenant_id, principal=principal,
                         params={"filename": (filename or "")[:200], "sha256": digest(data),
                                 "size": len(data), "dry_run": dry_run,
                                 "kinds": [k.name for k in kinds]}, payload=data)


async def read_package_job(session: AsyncSession, principal: Principal, job_id: int) -> Job:
    job = await get_job(session, principal, job_id)
    if job.task != PACKAGE_TASK:
        raise NotFound("no such package import", template="No such import.")
    return job


# --- mapping templates -----------------------------------------------------------------------


async def list_templates(session: AsyncSession, principal: Principal, tenant_id: int,
                         kind: str | None = None) -> list[ImportTemplate]:
    await tenant_in_scope(session, principal, Perm.data_import, tenant_id, body=False)
    q = select(ImportTemplate).where(ImportTemplate.tenant_id == tenant_id)
    if kind:
        q = q.where(ImportTemplate.kind == kind)
    return list((await session.scalars(q.order_by(ImportTemplate.kind,
                                                  ImportTemplate.name))).all())


async def save_template(session: AsyncSession, principal: Principal, *, tenant_id: int,
                        kind: str, name: str, mapping: dict[str, str], ignore: list[str]
                        ) -> ImportTemplate:
    """Create or replace the tenant's template of that name (the mapping is checked against
    the kind's fields: 422 for a field it does not have)."""
    spec = get_kind(kind)
    await import_tenant(session, principal, tenant_id, spec)
    fields = spec.by_name()
    bad = [f for f in mapping.values() if f and f not in fields]
    if bad:
        raise InvalidInput(f"{kind} have no field {bad[0]!r}", code="unknown_field",
                           template="{kind} have no field {field}.",
                           params={"kind": kind, "field": bad[0]})
    row = await session.scalar(select(ImportTemplate).where(
        ImportTemplate.tenant_id == tenant_id, ImportTemplate.kind == kind,
        ImportTemplate.name == name))
    before = {"mapping": row.mapping, "ignore": row.ignore} if row else None
    if row is None:
        row = ImportTemplate(tenant_id=tenant_id, kind=kind, name=name,
                             created_by_user_id=principal.user_id, created_at=utcnow())
        session.add(row)
    row.mapping, row.ignore, row.updated_at = dict(mapping), list(ignore), utcnow()
    await session.flush()
    record_audit(session, principal, "import.template", target_type="import_template",
                 target_id=row.id, tenant_id=tenant_id, before=before,
                 after={"kind": kind, "name": name, "mapping": row.mapping,
                        "ignore": row.ignore})
    return row


async def delete_template(session: AsyncSession, principal: Principal, template_id: int
                          ) -> None:
    row = await session.get(ImportTemplate, template_id) if 0 < template_id < 2**31 else None
    if row is None:
        raise NotFound("no such template", template="No such mapping template.")
    await tenant_in_scope(session, principal, Perm.data_import, row.tenant_id, body=False)
    record_audit(session, principal, "import.template_deleted", target_type="import_template",
                 target_id=row.id, tenant_id=row.tenant_id,
                 before={"kind": row.kind, "name": row.name, "mapping": row.mapping})
    await session.delete(row)
    await session.flush()


# --- exports ---------------------------------------------------------------------------------


async def start_export(session: AsyncSession, principal: Principal, tenant_id: int
                       ) -> tuple[DataExport, Job]:
    await tenant_in_scope(session, principal, Perm.data_export, tenant_id, body=False)
    row = DataExport(tenant_id=tenant_id, requested_by_user_id=principal.user_id,
                     state="queued", created_at=utcnow())
    session.add(row)
    await session.flush()
    job = await enqueue(session, EXPORT_TASK, tenant_id=tenant_id, principal=principal,
                        params={"export_id": row.id}, key=f"export:{row.id}")
    row.job_id = job.id
    record_audit(session, principal, "export.requested", target_type="data_export",
                 target_id=row.id, tenant_id=tenant_id, after={"job_id": job.id})
    await session.flush()
    return row, job


async def get_export(session: AsyncSession, principal: Principal, export_id: int
                     ) -> DataExport:
    """The requester's export, or one in the caller's ``data.export`` scope; 404 otherwise."""
    row = await session.get(DataExport, export_id) if 0 < export_id < 2**31 else None
    if row is None:
        raise NotFound("no such export", template="No such export.")
    await tenant_in_scope(session, principal, Perm.data_export, row.tenant_id, body=False)
    return row


async def list_exports(session: AsyncSession, principal: Principal) -> list[DataExport]:
    scope = principal.scope(Perm.data_export)
    return list((await session.scalars(select(DataExport).where(
        scope.filter(DataExport.tenant_id)).order_by(DataExport.id.desc()).limit(50))).all())


async def download_export(session: AsyncSession, principal: Principal, export_id: int
                          ) -> DataExport:
    """The export to download, audited (every download of a tenant's personal data is
    recorded); its bytes come from :func:`export_parts`."""
    row = await get_export(session, principal, export_id)
    if row.state != "done":
        raise NotFound("the export is not ready", code="export_not_ready",
                       template="The export is not ready yet.")
    record_audit(session, principal, "export.downloaded", target_type="data_export",
                 target_id=row.id, tenant_id=row.tenant_id,
                 after={"sha256": row.sha256, "size": row.size})
    await session.flush()
    return row


async def export_parts(session: AsyncSession, export_id: int) -> AsyncIterator[bytes]:
    """The zip's bytes, one stored part (1 MiB) per query, so a download never holds the
    whole file; exports made before parts existed come from their single column."""
    seq = 0
    while True:
        data = await session.scalar(select(DataExportPart.data).where(
            DataExportPart.export_id == export_id, DataExportPart.seq == seq))
        if data is None:
            break
        yield bytes(data)
        seq += 1
    if seq == 0:
        legacy = await session.scalar(select(DataExport.content).where(
            DataExport.id == export_id))
        if legacy:
            yield bytes(legacy)
