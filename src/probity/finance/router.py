"""JSON API: payee-account registry, CSV/XLSX import (dry-run or commit), live feed, rules."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, UploadFile
from pydantic import ValidationError

from probity.auth.deps import Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.auth.scoping import tenant_in_scope
from probity.bounds import DbId
from probity.errors import InvalidInput
from probity.finance import rules, schemas, service, signed, tasks

router = APIRouter(tags=["finance"])
Importer = Annotated[Principal, Depends(require(Perm.finance_import))]
Reader = Annotated[Principal, Depends(require(Perm.commerce_read))]
RuleManager = Annotated[Principal, Depends(require(Perm.case_manage))]
KINDS = "^(orders|payments|refunds|payees)$"
# Any employee but the (read-only) auditor declares their own accounts.
Staff = Annotated[Principal, Depends(require(Perm.own_accounts))]


@router.get("/api/v1/finance/payees", response_model=list[schemas.PayeeRead])
async def list_payees(session: Session, principal: Reader, tenant_id: int | None = None,
                      kind: Annotated[str | None, Query(pattern="^(company|employee)$")] = None,
                      limit: Annotated[int, Query(ge=1, le=500)] = 100,
                      offset: Annotated[int, Query(ge=0)] = 0) -> list[schemas.PayeeRead]:
    rows = await service.list_payees(session, principal, tenant_id=tenant_id, kind=kind,
                                     limit=limit, offset=offset)
    return [schemas.PayeeRead.model_validate(r) for r in rows]


@router.get("/api/v1/finance/payees/check", response_model=schemas.PayeeCheck)
async def check_payee(session: Session, principal: Reader, tenant_id: int,
                      account_no: str) -> schemas.PayeeCheck:
    """Whether an account is a company account, an employee's declared one, or unknown."""
    return schemas.PayeeCheck(**await service.check_payee(session, principal, tenant_id,
                                                          account_no))


@router.post("/api/v1/finance/payees", response_model=schemas.PayeeRead, status_code=201)
async def create_payee(body: schemas.PayeeCreate, session: Session, principal: Importer
                       ) -> schemas.PayeeRead:
    row = await service.create_payee(session, principal, body.model_dump())
    await commit(session)
    return schemas.PayeeRead.model_validate(row)


@router.get("/api/v1/me/payee-accounts", response_model=list[schemas.PayeeRead])
async def my_accounts(session: Session, principal: Staff) -> list[schemas.PayeeRead]:
    """The receiving accounts I declared as my own."""
    return [schemas.PayeeRead.model_validate(r)
            for r in await service.my_accounts(session, principal)]


@router.post("/api/v1/me/payee-accounts", response_model=schemas.PayeeRead, status_code=201)
async def declare_account(body: schemas.OwnAccountCreate, session: Session, principal: Staff
                          ) -> schemas.PayeeRead:
    """Declare a personal receiving account (bank card, WeChat/Alipay code) as my own."""
    row = await service.declare_own_account(session, principal, body.account_no,
                                            body.account_type, body.label)
    await commit(session)
    return schemas.PayeeRead.model_validate(row)


@router.patch("/api/v1/finance/payees/{payee_id}", response_model=schemas.PayeeRead)
async def update_payee(payee_id: int, body: schemas.PayeeUpdate, session: Session,
                       principal: Importer) -> schemas.PayeeRead:
    row = await service.update_payee(session, principal, payee_id,
                                     body.model_dump(exclude_unset=True))
    await commit(session)
    return schemas.PayeeRead.model_validate(row)


@router.post("/api/v1/finance/imports", response_model=schemas.ImportResult)
async def import_file(session: Session, principal: Importer, file: UploadFile,
                      tenant_id: Annotated[int, Form()],
                      kind: Annotated[str, Form(pattern=KINDS)],
                      dry_run: Annotated[bool, Form()] = True,
                      mapping: Annotated[str | None, Form()] = None,
                      ignore: Annotated[str | None, Form()] = None) -> schemas.ImportResult:
    """Upload a CSV or XLSX file. `dry_run` (the default) validates and previews without
    writing; otherwise every row is written or, on any row error, none (422 with the errors).
    `mapping` is a JSON object from file column to field; `ignore` a comma list of columns."""
    data = await file.read()  # the body limit for this path is settings.max_import_bytes
    result = await service.import_file(session, principal, tenant_id=tenant_id, kind=kind,
                                       data=data, filename=file.filename or "",
                                       mapping_json=mapping, ignore=ignore, dry_run=dry_run)
    if not dry_run:
        await commit(session)
    return schemas.ImportResult(**result)


@router.post("/api/v1/finance/imports/jobs", status_code=202)
async def start_import_job(session: Session, principal: Importer, file: UploadFile,
                           tenant_id: Annotated[int, Form()],
                           kind: Annotated[str, Form(pattern=KINDS)],
                           dry_run: Annotated[bool, Form()] = True,
                           mapping: Annotated[str | None, Form()] = None,
                           ignore: Annotated[str | None, Form()] = None) -> dict[str, Any]:
    """Start a large import in the background; poll `GET …/jobs/{id}` for its progress
    (rows validated, rows written) and result. Same checks and all-or-nothing write."""
    data = await file.read()
    job = await tasks.start_import_job(
        session, principal, tenant_id=tenant_id, kind=kind, data=data,
        filename=file.filename or "", mapping=service.parse_mapping(mapping),
        ignore=[i for i in (ignore or "").split(",") if i.strip()], dry_run=dry_run)
    await commit(session)
    return tasks.import_job_view(job)


@router.get("/api/v1/finance/imports/jobs/{job_id}")
async def import_job(job_id: int, session: Session, principal: Importer) -> dict[str, Any]:
    return tasks.import_job_view(await tasks.read_import_job(session, principal, job_id))


@router.post("/api/v1/finance/feed", response_model=schemas.ImportResult)
async def feed(body: schemas.FeedIn, session: Session, principal: Importer
               ) -> schemas.ImportResult:
    """The live feed: a bearer-token (or session) authenticated JSON batch, imported exactly as
    a file would be (all-or-nothing, idempotent on the natural keys)."""
    result = await service.import_feed(session, principal, tenant_id=body.tenant_id,
                                       kind=body.kind, rows=body.rows, dry_run=body.dry_run)
    if not body.dry_run:
        await commit(session)
    return schemas.ImportResult(**result)


SIGNED_HEADERS = [
    {"name": "webhook-id", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "A unique message id (each is accepted once)"},
    {"name": "webhook-timestamp", "in": "header", "required": True,
     "schema": {"type": "string"}, "description": "Unix seconds (within ±5 minutes)"},
    {"name": "webhook-signature", "in": "header", "required": True,
     "schema": {"type": "string"},
     "description": "v1,<base64 HMAC-SHA256 of id.timestamp.body with the tenant's secret>"},
]


@router.post("/api/v1/finance/feed/signed/{tenant_id}", response_model=schemas.ImportResult,
             openapi_extra={
                 "parameters": SIGNED_HEADERS,
                 "requestBody": {"required": True, "content": {"application/json": {
                     "schema": schemas.SignedFeedIn.model_json_schema()}}}})
async def signed_feed(tenant_id: DbId, request: Request, session: Session
                      ) -> schemas.ImportResult:
    """The live feed without a token: the batch is signed with the tenant's feed secret
    (Standard Webhooks headers). 401 says which check failed; a reused webhook-id is 409."""
    raw = await request.body()
    owner = await signed.verify_signed_feed(session, tenant_id, request.headers, raw)
    try:
        body = schemas.SignedFeedIn.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidInput(f"{where}: {first.get('msg', '')}") from None
    result = await service.import_feed(session, owner, tenant_id=tenant_id, kind=body.kind,
                                       rows=body.rows, dry_run=body.dry_run)
    await commit(session)  # the message id is recorded even for a dry run
    return schemas.ImportResult(**result)


@router.get("/api/v1/finance/feed/secrets/{tenant_id}", response_model=schemas.FeedSecretRead)
async def get_feed_secret(tenant_id: DbId, session: Session, principal: Importer
                          ) -> schemas.FeedSecretRead:
    """Whether the tenant's signed feed is set up (the secret itself is shown when set)."""
    secret = await signed.feed_secret(session, principal, tenant_id)
    return schemas.FeedSecretRead(tenant_id=tenant_id, configured=secret is not None,
                                  secret=secret.secret if secret else None,
                                  owner_user_id=secret.created_by_user_id if secret else None,
                                  created_at=secret.created_at if secret else None)


@router.post("/api/v1/finance/feed/secrets/{tenant_id}", response_model=schemas.FeedSecretRead)
async def rotate_feed_secret(tenant_id: DbId, session: Session, principal: Importer
                             ) -> schemas.FeedSecretRead:
    """Set or replace the tenant's feed secret; signed batches then run as the caller."""
    secret = await signed.rotate_feed_secret(session, principal, tenant_id)
    await commit(session)
    return schemas.FeedSecretRead(tenant_id=tenant_id, configured=True, secret=secret.secret,
                                  owner_user_id=secret.created_by_user_id,
                                  created_at=secret.created_at)


@router.get("/api/v1/finance/imports", response_model=list[schemas.ImportBatchRead])
async def list_imports(session: Session, principal: Importer,
                       limit: Annotated[int, Query(ge=1, le=500)] = 50,
                       offset: Annotated[int, Query(ge=0)] = 0
                       ) -> list[schemas.ImportBatchRead]:
    rows = await service.list_imports(session, principal, limit, offset)
    return [schemas.ImportBatchRead.model_validate(r) for r in rows]


@router.get("/api/v1/finance/rules", response_model=list[schemas.RuleRead])
async def list_rules(session: Session, principal: RuleManager, tenant_id: int
                     ) -> list[schemas.RuleRead]:
    await tenant_in_scope(session, principal, Perm.case_manage, tenant_id)
    config = await rules.rule_config(session, tenant_id)
    return [schemas.RuleRead(name=name, title=info.title, explains=info.explains,
                             enabled=config[name][0], params=config[name][1])
            for name, info in rules.RULES.items()]


@router.put("/api/v1/finance/rules/{rule}", response_model=schemas.RuleRead)
async def set_rule(rule: str, body: schemas.RuleUpdate, session: Session,
                   principal: RuleManager) -> schemas.RuleRead:
    await tenant_in_scope(session, principal, Perm.case_manage, body.tenant_id)
    await rules.set_rule(session, body.tenant_id, rule, body.enabled, body.params, principal)
    config = await rules.rule_config(session, body.tenant_id)
    await commit(session)
    info = rules.RULES[rule]
    return schemas.RuleRead(name=rule, title=info.title, explains=info.explains,
                            enabled=config[rule][0], params=config[rule][1])


@router.post("/api/v1/finance/rules/run", response_model=schemas.RuleRunResult)
async def run_rules(body: schemas.RuleRun, session: Session, principal: RuleManager
                    ) -> schemas.RuleRunResult:
    await tenant_in_scope(session, principal, Perm.case_manage, body.tenant_id)
    alerts = await rules.run_rules(session, body.tenant_id, since=body.since, only=body.rules)
    await commit(session)
    return schemas.RuleRunResult(new_alerts=len(alerts), alert_ids=[a.id for a in alerts])
