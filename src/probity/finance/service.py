"""Finance services: the payee registry and imports, narrowed to the caller's scope."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit, snapshot
from probity.auth.permissions import Perm, Principal
from probity.auth.scoping import tenant_in_scope
from probity.errors import Conflict, InvalidInput, NotFound
from probity.finance import importer
from probity.models import Employee, ImportBatch, PayeeAccount, PayeeKind

PAYEE_FIELDS = ("account_no", "kind", "account_type", "employee_id", "label", "active")


def _payees(principal: Principal, perm: Perm) -> Select[PayeeAccount]:
    return select(PayeeAccount).where(
        principal.scope(perm).filter(PayeeAccount.tenant_id))


async def list_payees(session: AsyncSession, principal: Principal, *, tenant_id: int | None,
                      kind: str | None, limit: int, offset: int) -> list[PayeeAccount]:
    q = _payees(principal, Perm.commerce_read)
    if tenant_id is not None:
        q = q.where(PayeeAccount.tenant_id == tenant_id)
    if kind:
        q = q.where(PayeeAccount.kind == kind)
    return list((await session.scalars(q.order_by(PayeeAccount.id).limit(limit)
                                       .offset(offset))).all())


async def check_payee(session: AsyncSession, principal: Principal, tenant_id: int,
                      account_no: str) -> dict[str, Any]:
    await tenant_in_scope(session, principal, Perm.commerce_read, tenant_id)
    row = await session.scalar(select(PayeeAccount).where(
        PayeeAccount.tenant_id == tenant_id, PayeeAccount.account_no == account_no,
        PayeeAccount.active.is_(True)))
    return {"account_no": account_no, "tenant_id": tenant_id,
            "status": row.kind.value if row else "unknown",
            "employee_id": row.employee_id if row else None}


async def create_payee(session: AsyncSession, principal: Principal, data: dict[str, Any]
                       ) -> PayeeAccount:
    await tenant_in_scope(session, principal, Perm.finance_import, data["tenant_id"])
    if data["kind"] == PayeeKind.employee.value:
        if data.get("employee_id") is None or not await session.scalar(select(Employee.id).where(
                Employee.id == data["employee_id"], Employee.tenant_id == data["tenant_id"])):
            raise InvalidInput("an employee account needs a known employee_id of the "
                               "subsidiary", code="unknown_employee")
    elif data.get("employee_id") is not None:
        raise InvalidInput("a company account has no employee_id")
    if await session.scalar(select(PayeeAccount.id).where(
            PayeeAccount.tenant_id == data["tenant_id"],
            PayeeAccount.account_no == data["account_no"])):
        raise Conflict("this account is already registered", code="duplicate_account")
    row = PayeeAccount(**{**data, "kind": PayeeKind(data["kind"]), "active": True})
    session.add(row)
    await session.flush()
    record_audit(session, principal, "payee.create", target_type="payee_account",
                 target_id=row.id, tenant_id=row.tenant_id, after=snapshot(row, PAYEE_FIELDS))
    return row


async def declare_own_account(session: AsyncSession, principal: Principal, account_no: str,
                              account_type: str, label: str | None) -> PayeeAccount:
    """An employee declares a receiving account as their own (its payments are then flagged as
    going to an employee, naming them)."""
    if principal.employee_id is None:
        raise InvalidInput("only employees declare personal accounts", code="not_an_employee")
    emp = await session.get(Employee, principal.employee_id)
    if emp is None:
        raise InvalidInput("only employees declare personal accounts", code="not_an_employee")
    existing = await session.scalar(select(PayeeAccount).where(
        PayeeAccount.tenant_id == emp.tenant_id, PayeeAccount.account_no == account_no))
    if existing is not None:
        raise Conflict("this account is already registered", code="duplicate_account")
    row = PayeeAccount(tenant_id=emp.tenant_id, account_no=account_no,
                       kind=PayeeKind.employee, account_type=account_type,
                       employee_id=emp.id, label=label, active=True)
    session.add(row)
    await session.flush()
    record_audit(session, principal, "payee.declare", target_type="payee_account",
                 target_id=row.id, tenant_id=row.tenant_id, after=snapshot(row, PAYEE_FIELDS))
    return row


async def my_accounts(session: AsyncSession, principal: Principal) -> list[PayeeAccount]:
    if principal.employee_id is None:
        return []
    return list((await session.scalars(select(PayeeAccount).where(
        PayeeAccount.employee_id == principal.employee_id).order_by(PayeeAccount.id))).all())


async def update_payee(session: AsyncSession, principal: Principal, payee_id: int,
                       changes: dict[str, Any]) -> PayeeAccount:
    row = await session.scalar(_payees(principal, Perm.finance_import).where(
        PayeeAccount.id == payee_id))
    if row is None:
        raise NotFound("no such payee account")
    before = snapshot(row, PAYEE_FIELDS)
    for k, v in changes.items():
        if v is not None:
            setattr(row, k, v)
    await session.flush()
    record_audit(session, principal, "payee.update", target_type="payee_account",
                 target_id=row.id, tenant_id=row.tenant_id, before=before,
                 after=snapshot(row, PAYEE_FIELDS))
    return row


async def import_file(session: AsyncSession, principal: Principal, *, tenant_id: int, kind: str,
                      data: bytes, filename: str, mapping_json: str | None, ignore: str | None,
                      dry_run: bool) -> dict[str, Any]:
    await tenant_in_scope(session, principal, Perm.finance_import, tenant_id)
    mapping = parse_mapping(mapping_json)
    headers, rows = importer.read_table(data, filename)
    plan = await importer.plan_import(session, tenant_id, kind, headers, rows, mapping=mapping,
                                      ignore=[i for i in (ignore or "").split(",") if i.strip()])
    return await _finish(session, principal, plan, dry_run=dry_run, source="file",
                         filename=filename, sha256=importer.digest(data))


def parse_mapping(mapping_json: str | None) -> dict[str, str]:
    if not mapping_json:
        return {}
    try:
        mapping = json.loads(mapping_json)
    except ValueError:
        raise InvalidInput("mapping must be a JSON object {\"column\": \"field\"}",
                           code="invalid_mapping") from None
    if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise InvalidInput("mapping must be a JSON object {\"column\": \"field\"}",
                           code="invalid_mapping")
    return mapping


async def import_feed(session: AsyncSession, principal: Principal, *, tenant_id: int, kind: str,
                      rows: list[dict[str, Any]], dry_run: bool) -> dict[str, Any]:
    await tenant_in_scope(session, principal, Perm.finance_import, tenant_id)
    headers: list[str] = []
    for r in rows:
        for k in r:
            if k not in headers:
                headers.append(k)
    table = [["" if r.get(h) is None else r.get(h) for h in headers] for r in rows]
    plan = await importer.plan_import(session, tenant_id, kind, headers, table)
    body = json.dumps(rows, sort_keys=True, ensure_ascii=False, default=str).encode()
    return await _finish(session, principal, plan, dry_run=dry_run, source="feed",
                         filename=None, sha256=importer.digest(body))


async def _finish(session: AsyncSession, principal: Principal, plan: importer.Plan, *,
                  dry_run: bool, source: str, filename: str | None, sha256: str
                  ) -> dict[str, Any]:
    result: dict[str, Any] = {**plan.summary(), "dry_run": dry_run}
    if dry_run:
        return result
    batch, new_alerts = await importer.apply_plan(session, plan, principal, source=source,
                                                  filename=filename, sha256=sha256)
    return {**result, "import_id": batch.id, "new_alerts": new_alerts}


async def list_imports(session: AsyncSession, principal: Principal, limit: int, offset: int
                       ) -> list[ImportBatch]:
    q = select(ImportBatch).where(principal.scope(Perm.finance_import).filter(
        ImportBatch.tenant_id))
    return list((await session.scalars(q.order_by(ImportBatch.id.desc()).limit(limit)
                                       .offset(offset))).all())
