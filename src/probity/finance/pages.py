"""Finance pages: file import (mapping, dry-run preview, per-row errors, commit) and the payee
registry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from probity.auth.deps import Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.errors import DomainError
from probity.finance import service
from probity.finance.importer import SPECS
from probity.models import Tenant, TenantKind
from probity.web.render import render

router = APIRouter(include_in_schema=False)
Importer = Annotated[Principal, Depends(require(Perm.finance_import))]
Reader = Annotated[Principal, Depends(require(Perm.commerce_read))]


async def _tenants(session: Session, principal: Principal, perm: Perm) -> list[Any]:
    return list((await session.execute(select(Tenant.id, Tenant.name).where(
        principal.scope(perm).tenant_ids_query(), Tenant.kind != TenantKind.hq)
        .order_by(Tenant.path))).all())


def _fields() -> dict[str, list[tuple[str, bool]]]:
    return {k: [(f.name, f.required) for f in s.fields] for k, s in SPECS.items()}


@router.get("/finance/import", response_class=HTMLResponse)
async def import_page(request: Request, session: Session, principal: Importer) -> Response:
    return render(request, "finance/import.html", tenants=await _tenants(
        session, principal, Perm.finance_import), fields=_fields(), result=None, error=None,
        form={})


@router.post("/finance/import", response_class=HTMLResponse)
async def import_submit(request: Request, session: Session, principal: Importer,
                        file: UploadFile, tenant_id: Annotated[int, Form()],
                        kind: Annotated[str, Form()], action: Annotated[str, Form()] = "preview",
                        mapping: Annotated[str, Form()] = "",
                        ignore: Annotated[str, Form()] = "") -> Response:
    dry_run = action != "commit"
    data = await file.read()
    form = {"tenant_id": tenant_id, "kind": kind, "mapping": mapping, "ignore": ignore}
    result: dict[str, Any] | None = None
    error: str | None = None
    status = 200
    try:
        result = await service.import_file(
            session, principal, tenant_id=tenant_id, kind=kind, data=data,
            filename=file.filename or "", mapping_json=mapping or None, ignore=ignore or None,
            dry_run=dry_run)
        if not dry_run:
            await commit(session)
    except DomainError as exc:
        await session.rollback()
        from probity.i18n import translator
        from probity.web.render import locale_of

        error, status = exc.localized(translator(locale_of(request))), exc.status_code
        if "errors" in exc.extra:
            result = {**exc.extra, "dry_run": dry_run}
    return render(request, "finance/import.html", status_code=status,
                  tenants=await _tenants(session, principal, Perm.finance_import),
                  fields=_fields(), result=result, error=error, form=form)


@router.get("/finance/payees", response_class=HTMLResponse)
async def payees_page(request: Request, session: Session, principal: Reader) -> Response:
    from probity.models import Employee

    rows = await service.list_payees(session, principal, tenant_id=None, kind=None, limit=500,
                                     offset=0)
    names = dict((await session.execute(select(Tenant.id, Tenant.name))).all())
    emp_ids = {p.employee_id for p in rows if p.employee_id}
    employees = {i: (name, no) for i, name, no in (await session.execute(
        select(Employee.id, Employee.name, Employee.employee_no).where(
            Employee.id.in_(emp_ids)))).all()} if emp_ids else {}
    return render(request, "finance/payees.html", rows=rows, names=names, employees=employees)


@router.get("/finance/flagged", response_class=HTMLResponse)
async def flagged_page(request: Request, session: Session, principal: Importer,
                       rule: str = "") -> Response:
    """What the finance checks flagged in the importer's own scope, with the reasons."""
    from probity.alerts.view import alert_rows
    from probity.finance.rules import RULES
    from probity.models import Alert

    scope = principal.scope(Perm.finance_import)
    q = select(Alert).where(Alert.source == "finance", Alert.tenant_id.in_(
        select(Tenant.id).where(scope.tenant_ids_query())))
    if rule in RULES:
        q = q.where(Alert.rule == rule)
    alerts = list((await session.scalars(q.order_by(Alert.id.desc()).limit(300))).all())
    return render(request, "finance/flagged.html", rows=await alert_rows(session, principal,
                                                                         alerts),
                  rules=sorted(RULES), rule=rule if rule in RULES else "")
