"""JSON API for payroll. Thin: authorise, one service call, commit, return."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query, UploadFile
from fastapi.responses import Response

from probity.auth.deps import CurrentPrincipal, Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.bounds import DbId, Offset
from probity.payroll import payslips, runs, schemas, tables
from probity.payroll.common import month_label

router = APIRouter(prefix="/api/v1", tags=["payroll"])
P = "/payroll"

Reader = Annotated[Principal, Depends(require(Perm.payroll_read))]
Preparer = Annotated[Principal, Depends(require(Perm.payroll_prepare))]
Approver = Annotated[Principal, Depends(require(Perm.payroll_approve))]


async def _tenant(session: Session, principal: Principal, tenant_id: int) -> int:
    from probity.auth.scoping import tenant_in_scope

    return (await tenant_in_scope(session, principal, Perm.payroll_read, tenant_id,
                                  body=False)).id


@router.get(P + "/structures", response_model=list[schemas.StructureRead])
async def list_structures(tenant_id: DbId, session: Session, principal: Reader
                          ) -> list[schemas.StructureRead]:
    """The structures in force for a tenant (per grade, the nearest tenant's)."""
    tid = await _tenant(session, principal, tenant_id)
    return [schemas.StructureRead.model_validate(s)
            for s in await tables.structures_for(session, tid)]


@router.put(P + "/structures", response_model=schemas.StructureRead)
async def save_structure(data: schemas.StructureSave, session: Session, principal: Preparer
                         ) -> schemas.StructureRead:
    row = await tables.save_structure(session, principal, data)
    await commit(session)
    return schemas.StructureRead.model_validate(row)


@router.get(P + "/cities", response_model=list[schemas.CityRead])
async def list_cities(tenant_id: DbId, session: Session, principal: Reader
                      ) -> list[schemas.CityRead]:
    tid = await _tenant(session, principal, tenant_id)
    rows = await tables.cities_for(session, tid)
    return [schemas.CityRead.model_validate(rows[k]) for k in sorted(rows)]


@router.put(P + "/cities", response_model=schemas.CityRead)
async def save_city(data: schemas.CitySave, session: Session, principal: Preparer
                    ) -> schemas.CityRead:
    row = await tables.save_city(session, principal, data)
    await commit(session)
    return schemas.CityRead.model_validate(row)


@router.post(P + "/assignments", status_code=201, response_model=schemas.AssignmentRead)
async def assign_salary(data: schemas.AssignmentCreate, session: Session, principal: Preparer
                        ) -> schemas.AssignmentRead:
    """422 `below_minimum_wage` when the base pay is under the city's minimum wage."""
    row = await tables.assign_salary(session, principal, data)
    await commit(session)
    return schemas.AssignmentRead.model_validate(row)


@router.get(P + "/employees/{employee_id}/assignments",
            response_model=list[schemas.AssignmentRead])
async def employee_assignments(employee_id: DbId, session: Session, principal: Reader
                               ) -> list[schemas.AssignmentRead]:
    return [schemas.AssignmentRead.model_validate(a)
            for a in await tables.assignments_of(session, principal, employee_id)]


@router.post(P + "/adjustments", status_code=201, response_model=schemas.AdjustmentRead)
async def add_adjustment(data: schemas.AdjustmentCreate, session: Session, principal: Preparer
                         ) -> schemas.AdjustmentRead:
    """409 `month_closed` for an approved or closed month: correct it in a later one."""
    row = await tables.add_adjustment(session, principal, data)
    await commit(session)
    return schemas.AdjustmentRead.model_validate(row)


@router.post(P + "/runs", status_code=202, response_model=schemas.RunRead)
async def prepare_run(data: schemas.RunCreate, session: Session, principal: Preparer
                      ) -> schemas.RunRead:
    """Start the month's run (or recompute its draft); follow the job at /jobs/{job_id}.
    409 `month_closed` for an approved or closed month."""
    run = await runs.prepare_run(session, principal, data.tenant_id, data.month)
    await commit(session)
    return schemas.RunRead.model_validate(run)


@router.get(P + "/runs", response_model=list[schemas.RunRead])
async def list_runs(session: Session, principal: Reader, tenant_id: DbId | None = None
                    ) -> list[schemas.RunRead]:
    return [schemas.RunRead.model_validate(r)
            for r in await runs.list_runs(session, principal, tenant_id)]


@router.get(P + "/runs/{run_id}", response_model=schemas.RunRead)
async def get_run(run_id: DbId, session: Session, principal: Reader) -> schemas.RunRead:
    return schemas.RunRead.model_validate(await runs.get_run(session, principal, run_id))


@router.post(P + "/runs/{run_id}/approve", response_model=schemas.RunRead)
async def approve_run(run_id: DbId, session: Session, principal: Approver
                      ) -> schemas.RunRead:
    """Four eyes: 403 `four_eyes` for the person who prepared the run."""
    run = await runs.approve_run(session, principal, run_id)
    await commit(session)
    return schemas.RunRead.model_validate(run)


@router.post(P + "/runs/{run_id}/close", response_model=schemas.RunRead)
async def close_run(run_id: DbId, session: Session, principal: Approver) -> schemas.RunRead:
    run = await runs.close_run(session, principal, run_id)
    await commit(session)
    return schemas.RunRead.model_validate(run)


@router.get(P + "/runs/{run_id}/payslips", response_model=list[schemas.PayslipRead])
async def run_payslips(run_id: DbId, session: Session, principal: Reader,
                       limit: int = Query(200, ge=1, le=1000), offset: Offset = 0
                       ) -> list[schemas.PayslipRead]:
    _run, rows = await payslips.run_payslips(session, principal, run_id, limit, offset)
    out = []
    for slip, _no, _name in rows:
        read = schemas.PayslipRead.model_validate(slip)
        if not principal.can(Perm.payroll_prepare) and not principal.can(Perm.payroll_approve):
            read.bank_account = payslips.mask_account(read.bank_account)
        out.append(read)
    return out


@router.get(P + "/runs/{run_id}/bank-file")
async def bank_file(run_id: DbId, session: Session, principal: Approver,
                    format: Literal["csv", "xlsx"] = "csv") -> Response:
    """The transfer list of an approved or closed run: CSV (UTF-8 with a BOM) or XLSX."""
    run, rows = await payslips.bank_rows(session, principal, run_id)
    name = f"payroll-{month_label(run.month)}-{run.tenant_id}"
    if format == "xlsx":
        return Response(payslips.bank_xlsx(rows, name), media_type=(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    return Response(payslips.bank_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@router.get(P + "/payslips/{payslip_id}", response_model=schemas.PayslipRead)
async def get_payslip(payslip_id: DbId, session: Session, principal: CurrentPrincipal
                      ) -> schemas.PayslipRead:
    """One's own payslip (once its run is approved), or one in payroll.read scope."""
    view = await payslips.get_payslip(session, principal, payslip_id)
    read = schemas.PayslipRead.model_validate(view.slip)
    read.bank_account = view.account
    return read


@router.get("/me/payslips", response_model=list[schemas.PayslipRead])
async def my_payslips(session: Session, principal: CurrentPrincipal
                      ) -> list[schemas.PayslipRead]:
    return [schemas.PayslipRead.model_validate(s)
            for s in await payslips.my_payslips(session, principal)]


@router.post(P + "/imports/salaries", deprecated=True)
async def import_salaries(session: Session, principal: Preparer, file: UploadFile,
                          tenant_id: Annotated[int, Form()],
                          dry_run: Annotated[bool, Form()] = True,
                          mapping: Annotated[str | None, Form()] = None) -> dict[str, Any]:
    """Deprecated: use the import framework (`POST /api/v1/imports/uploads` with kind
    `salaries`, then `POST /api/v1/imports`), which adds saved mappings, JSONL and jobs. This
    runs the same `salaries` kind in the request: a dry run by default; otherwise all rows or
    none (422 `row_errors`, each error in English and Chinese)."""
    from probity.finance.service import parse_mapping
    from probity.payroll.importer import import_now

    result = await import_now(session, principal, tenant_id=tenant_id, data=await file.read(),
                              filename=file.filename or "", mapping=parse_mapping(mapping),
                              dry_run=dry_run)
    if not dry_run:
        await commit(session)
    return result
