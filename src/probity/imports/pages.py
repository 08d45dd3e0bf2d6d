"""Import and export pages: upload → map columns (with sample rows and saved templates) →
dry run (progress, preview, row errors) → import; and the tenant export with its download."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from probity.auth.deps import Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.bounds import DbId
from probity.errors import DomainError
from probity.imports import service
from probity.imports.reading import ENCODINGS
from probity.imports.registry import load_kinds
from probity.jobs import job_view
from probity.models import ImportRun, ImportTemplate, Job, Tenant
from probity.web.render import render

router = APIRouter(include_in_schema=False)
Importer = Annotated[Principal, Depends(require(Perm.data_import))]
Exporter = Annotated[Principal, Depends(require(Perm.data_export))]


def _message(request: Request, exc: DomainError) -> str:
    from probity.i18n import translator
    from probity.web.render import locale_of

    return exc.localized(translator(locale_of(request)))


async def _tenants(session: Session, principal: Principal, perm: Perm) -> list[Any]:
    return list((await session.execute(select(Tenant.id, Tenant.name).where(
        principal.scope(perm).tenant_ids_query()).order_by(Tenant.path))).all())


async def _form(request: Request, session: Session, principal: Principal, *,
                error: str | None = None, status: int = 200, form: dict[str, Any] | None = None
                ) -> Response:
    scope = principal.scope(Perm.data_import)
    runs = list((await session.scalars(select(ImportRun).where(
        scope.filter(ImportRun.tenant_id)).order_by(ImportRun.id.desc()).limit(20))).all())
    names = dict((await session.execute(select(Tenant.id, Tenant.name))).all())
    return render(request, "imports/index.html", status_code=status,
                  tenants=await _tenants(session, principal, Perm.data_import),
                  kinds=service.kinds_for(principal), encodings=sorted(ENCODINGS),
                  runs=runs, names=names, error=error, form=form or {},
                  kind_titles={k.name: k.title for k in load_kinds().values()})


@router.get("/imports", response_class=HTMLResponse)
async def index(request: Request, session: Session, principal: Importer) -> Response:
    return await _form(request, session, principal)


@router.post("/imports", response_class=HTMLResponse)
async def upload(request: Request, session: Session, principal: Importer, file: UploadFile,
                 tenant_id: Annotated[DbId, Form()], kind: Annotated[str, Form(max_length=40)],
                 encoding: Annotated[str, Form(max_length=20)] = "") -> Response:
    data = await file.read()
    try:
        row, _ = await service.create_upload(session, principal, tenant_id=tenant_id, kind=kind,
                                             data=data, filename=file.filename or "",
                                             encoding=encoding or None)
        await commit(session)
    except DomainError as exc:
        await session.rollback()
        return await _form(request, session, principal, error=_message(request, exc),
                           status=exc.status_code,
                           form={"tenant_id": tenant_id, "kind": kind, "encoding": encoding})
    return RedirectResponse(f"/imports/uploads/{row.id}", status_code=303)


@router.post("/imports/package", response_class=HTMLResponse)
async def upload_package(request: Request, session: Session, principal: Importer,
                         file: UploadFile, tenant_id: Annotated[DbId, Form()],
                         commit_now: Annotated[str, Form(alias="commit", max_length=4)] = ""
                         ) -> Response:
    """A tenant export: checked at once, then imported (or dry-run) by a job whose page shows
    its progress."""
    data = await file.read()
    try:
        job = await service.start_package_import(session, principal, tenant_id=tenant_id,
                                                 data=data, filename=file.filename or "",
                                                 dry_run=not commit_now)
        await commit(session)
    except DomainError as exc:
        await session.rollback()
        return await _form(request, session, principal, error=_message(request, exc),
                           status=exc.status_code, form={"tenant_id": tenant_id})
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


async def _mapping_page(request: Request, session: Session, principal: Principal,
                        upload_id: int, *, template_id: int | None = None,
                        mapping: dict[str, str] | None = None, error: str | None = None,
                        status: int = 200) -> Response:
    row = await service.get_upload(session, principal, upload_id)
    info = await service.inspect_upload(session, row, template_id=template_id)
    if mapping is not None:
        info["mapping"] = mapping
    templates = list((await session.scalars(select(ImportTemplate).where(
        ImportTemplate.tenant_id == row.tenant_id, ImportTemplate.kind == row.kind)
        .order_by(ImportTemplate.name))).all())
    return render(request, "imports/mapping.html", status_code=status, info=info,
                  templates=templates, template_id=template_id, error=error)


@router.get("/imports/uploads/{upload_id}", response_class=HTMLResponse)
async def mapping_page(request: Request, upload_id: DbId, session: Session,
                       principal: Importer, template_id: DbId | None = None) -> Response:
    try:
        return await _mapping_page(request, session, principal, upload_id,
                                   template_id=template_id)
    except DomainError as exc:
        if exc.status_code == 404:
            raise
        return await _mapping_page(request, session, principal, upload_id,
                                   error=_message(request, exc), status=exc.status_code)


@router.post("/imports/uploads/{upload_id}", response_class=HTMLResponse)
async def start(request: Request, upload_id: DbId, session: Session, principal: Importer
                ) -> Response:
    form = await request.form()
    row = await service.get_upload(session, principal, upload_id)
    mapping = {h: str(form.get(f"map_{i}", "")) for i, h in enumerate(row.headers)}
    action = str(form.get("action", "preview"))
    name = str(form.get("template_name", "")).strip()[:100]
    try:
        if name:
            await service.save_template(session, principal, tenant_id=row.tenant_id,
                                        kind=row.kind, name=name, mapping=mapping, ignore=[])
        job = await service.start_import(session, principal, upload_id, mapping=mapping,
                                         ignore=[], dry_run=action != "commit")
        await commit(session)
    except DomainError as exc:
        await session.rollback()
        return await _mapping_page(request, session, principal, upload_id, mapping=mapping,
                                   error=_message(request, exc), status=exc.status_code)
    return RedirectResponse(f"/imports/runs/{job.id}", status_code=303)


@router.get("/imports/runs/{job_id}", response_class=HTMLResponse)
async def run_page(request: Request, job_id: DbId, session: Session, principal: Importer
                   ) -> Response:
    """Progress (polled by htmx until the job ends), then counts, preview and row errors."""
    job = await service.read_import_job(session, principal, job_id)
    template = "imports/_run.html" if request.headers.get("hx-request") else "imports/run.html"
    return render(request, template, job=job_view(job), params=job.params or {})


@router.post("/imports/runs/{job_id}/commit", response_class=HTMLResponse)
async def commit_run(request: Request, job_id: DbId, session: Session, principal: Importer
                     ) -> Response:
    """Import for real what a dry run checked (same upload, same mapping)."""
    job = await service.read_import_job(session, principal, job_id)
    params = job.params or {}
    new = await service.start_import(session, principal, int(params["upload_id"]),
                                     mapping=params.get("mapping"),
                                     ignore=list(params.get("ignore") or []), dry_run=False)
    await commit(session)
    return RedirectResponse(f"/imports/runs/{new.id}", status_code=303)


@router.get("/exports", response_class=HTMLResponse)
async def exports_page(request: Request, session: Session, principal: Exporter) -> Response:
    rows = await service.list_exports(session, principal)
    jobs = {j.id: j for j in (await session.scalars(select(Job).where(
        Job.id.in_([r.job_id for r in rows if r.job_id])))).all()} if rows else {}
    names = dict((await session.execute(select(Tenant.id, Tenant.name))).all())
    return render(request, "imports/exports.html", rows=rows, jobs=jobs, names=names,
                  tenants=await _tenants(session, principal, Perm.data_export))


@router.post("/exports", response_class=HTMLResponse)
async def request_export(request: Request, session: Session, principal: Exporter,
                         tenant_id: Annotated[DbId, Form()]) -> Response:
    _row, job = await service.start_export(session, principal, tenant_id)
    await commit(session)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)

