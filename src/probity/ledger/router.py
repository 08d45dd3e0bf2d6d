"""JSON API of the records domain: access log, retention rules, legal holds, purges, ledger
status / verification / proofs, and conversation evidence packs. Thin: authorise, one service
call, commit, return."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth import scoping
from probity.auth.deps import Session, after_commit, commit, require
from probity.auth.permissions import Perm, Principal
from probity.bounds import AwareDatetime, DbId
from probity.errors import InvalidInput
from probity.ledger import access, evidence, retention, service, verification
from probity.ledger import schemas as s
from probity.models.records import LedgerVerification

router = APIRouter(prefix="/api/v1", tags=["records"])

AccessLogReader = Annotated[Principal, Depends(require(Perm.access_log_read))]


@router.get("/access-log", response_model=list[s.AccessRead])
async def list_access_log(
    session: Session, principal: AccessLogReader,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    target_type: Annotated[str | None, Query(max_length=32)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    tenant_id: DbId | None = None, since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[s.AccessRead]:
    rows = await access.list_access(session, principal, limit=limit, offset=offset, actor=actor,
                                    target_type=target_type, target_id=target_id,
                                    tenant_id=tenant_id, since=since, until=until)
    return [s.AccessRead.model_validate(r) for r in rows]


@router.get("/access-log.csv", response_class=Response)
async def export_access_log(
    session: Session, principal: AccessLogReader,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    target_type: Annotated[str | None, Query(max_length=32)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    tenant_id: DbId | None = None, since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
) -> Response:
    rows = await access.list_access(session, principal, limit=100_000, actor=actor,
                                    target_type=target_type, target_id=target_id,
                                    tenant_id=tenant_id, since=since, until=until)
    return Response(access.access_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="access-log.csv"'})


# -- retention rules, legal holds, purges ------------------------------------------------------

LedgerReader = Annotated[Principal, Depends(require(Perm.ledger_read))]
# Starting a verification runs work: not for the read-only auditor.
LedgerVerifier = Annotated[Principal, Depends(require(Perm.ledger_verify))]
RecordsManager = Annotated[Principal, Depends(require(Perm.records_manage))]


@router.get("/retention/rules", response_model=list[s.RetentionRuleRead])
async def list_retention_rules(session: Session, principal: LedgerReader
                               ) -> list[s.RetentionRuleRead]:
    rows = await retention.list_rules(session, principal)
    return [s.RetentionRuleRead.model_validate(r) for r in rows]


@router.put("/retention/rules", response_model=s.RetentionRuleRead)
async def set_retention_rule(data: s.RetentionRuleSet, session: Session,
                             principal: RecordsManager) -> s.RetentionRuleRead:
    rule = await retention.set_rule(session, principal, data.tenant_id, data.record_type,
                                    data.days)
    await commit(session)
    return s.RetentionRuleRead.model_validate(rule)


@router.post("/retention/purge", response_model=s.PurgeResult)
async def run_purge(data: s.PurgeRequest, request: Request, session: Session,
                    principal: RecordsManager) -> s.PurgeResult:
    tenants = await scoping.tenants_in_scope(session, principal, Perm.records_manage)
    ids = [t.id for t in tenants]
    if data.tenant_id is not None:
        await scoping.tenant_in_scope(session, principal, Perm.records_manage, data.tenant_id)
        ids = [data.tenant_id]
    outcomes = await retention.purge(
        session, principal, tenant_ids=ids, dry_run=data.dry_run,
        attachments_dir=request.app.state.settings.attachments_dir, after_commit=after_commit)
    await commit(session)
    return s.PurgeResult(dry_run=data.dry_run, results=[
        s.PurgeTypeResult(tenant_id=o.tenant_id, record_type=o.record_type, days=o.days,
                          cutoff=o.cutoff, eligible=o.eligible, purged=o.purged, held=o.held,
                          attachments_removed=o.attachments_removed) for o in outcomes])


@router.get("/legal-holds", response_model=list[s.LegalHoldRead])
async def list_legal_holds(session: Session, principal: LedgerReader,
                           active: bool = False) -> list[s.LegalHoldRead]:
    rows = await retention.list_holds(session, principal, active_only=active)
    return [s.LegalHoldRead.model_validate(r) for r in rows]


@router.post("/legal-holds", status_code=201, response_model=s.LegalHoldRead)
async def set_legal_hold(data: s.LegalHoldCreate, session: Session,
                         principal: RecordsManager) -> s.LegalHoldRead:
    hold = await retention.set_hold(session, principal, data.tenant_id, data.subject_type,
                                    data.subject_id, data.reason)
    await commit(session)
    return s.LegalHoldRead.model_validate(hold)


@router.post("/legal-holds/{hold_id}/release", response_model=s.LegalHoldRead)
async def release_legal_hold(hold_id: int, data: s.LegalHoldRelease, session: Session,
                             principal: RecordsManager) -> s.LegalHoldRead:
    hold = await retention.release_hold(session, principal, hold_id, data.reason)
    await commit(session)
    return s.LegalHoldRead.model_validate(hold)


# -- evidence packs ---------------------------------------------------------------------------

EvidenceExporter = Annotated[Principal, Depends(require(Perm.evidence_export))]


@router.get("/conversations/{conversation_id}/evidence-pack", response_class=Response,
            responses={200: {"content": {"application/zip": {}}}})
async def conversation_evidence_pack(conversation_id: int, request: Request, session: Session,
                                     principal: EvidenceExporter,
                                     gate: access.ConversationAccess) -> Response:
    """The conversation's evidence pack (zip), verifiable offline with the ledger public key.
    Recorded in the access log (action ``export``; a reason where the policy requires one)."""
    conv = await evidence.conversation_in_scope(session, principal, conversation_id)
    await gate.record(session, principal, "conversation", conv.id, conv.tenant_id,
                      action="export")
    data = await evidence.build_conversation_pack(
        session, principal, conv.id, attachments_dir=request.app.state.settings.attachments_dir)
    await commit(session)
    name = f"evidence-conversation-{conv.id}.zip"
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# -- ledger status, background verification, proofs -------------------------------------------


async def verification_read(session: AsyncSession, row: LedgerVerification
                            ) -> s.VerificationRead:
    out = s.VerificationRead.model_validate(row)
    state = await verification.verification_state(session, row)
    out.state, out.progress = state["state"], state["progress"]
    if state["error"]:
        out.message = state["error"]
    return out


@router.get("/ledger/status", response_model=list[s.TenantLedgerStatus])
async def ledger_status(session: Session, principal: LedgerReader
                        ) -> list[s.TenantLedgerStatus]:
    out = []
    for item in await verification.ledger_status(session, principal):
        cp, ver, tenant = item["checkpoint"], item["verification"], item["tenant"]
        out.append(s.TenantLedgerStatus(
            tenant_id=tenant.id, tenant_code=tenant.code, tenant_name=tenant.name,
            size=item["size"],
            last_checkpoint=None if cp is None else s.CheckpointSummary(
                tree_size=cp.tree_size, timestamp=cp.timestamp, root_hash=cp.root_hash,
                key_id=cp.key_id),
            last_verification=None if ver is None else await verification_read(session, ver)))
    return out


@router.post("/ledger/verify", status_code=202, response_model=s.VerificationRead)
async def start_ledger_verification(data: s.VerifyRequest, session: Session,
                                    principal: LedgerVerifier) -> s.VerificationRead:
    """Start a full verification of one tenant's ledger in the background; poll
    ``/api/v1/ledger/verifications/{id}`` for progress and the result."""
    row = await verification.request_verification(session, principal, data.tenant_id)
    await commit(session)
    return await verification_read(session, row)


@router.get("/ledger/verifications/{verification_id}", response_model=s.VerificationRead)
async def get_ledger_verification(verification_id: int, session: Session,
                                  principal: LedgerReader) -> s.VerificationRead:
    row = await verification.get_verification(session, principal, verification_id)
    return await verification_read(session, row)


@router.get("/ledger/{tenant_id}/proof")
async def ledger_inclusion_proof(
    tenant_id: int, session: Session, principal: LedgerReader,
    seq: Annotated[int, Query(ge=0)],
    size: Annotated[int | None, Query(ge=1, description="Tree size (default: latest checkpoint)")]
    = None,
) -> dict[str, Any]:
    """Audit path proving entry *seq* is in the tree of *size* entries, with the signed
    checkpoint at that size when there is one."""
    await scoping.tenant_in_scope(session, principal, Perm.ledger_read, tenant_id, body=False)
    try:
        proof = await service.inclusion_proof(session, tenant_id, seq, size)
    except (ValueError, IndexError) as exc:
        raise InvalidInput(str(exc) or "seq or size out of range", code="out_of_range") from exc
    return proof.to_json()


@router.get("/ledger/{tenant_id}/consistency")
async def ledger_consistency_proof(
    tenant_id: int, session: Session, principal: LedgerReader,
    from_size: Annotated[int, Query(alias="from", ge=1)],
    to_size: Annotated[int | None, Query(alias="to", ge=1)] = None,
) -> dict[str, Any]:
    """Proof that the tree of *from* entries is a prefix of the tree of *to* entries."""
    await scoping.tenant_in_scope(session, principal, Perm.ledger_read, tenant_id, body=False)
    try:
        proof = await service.consistency_proof(session, tenant_id, from_size, to_size)
    except (ValueError, IndexError) as exc:
        raise InvalidInput(str(exc) or "sizes out of range", code="out_of_range") from exc
    return proof.to_json()


@router.get("/ledger/{tenant_id}/checkpoints", response_model=list[s.PublishedCheckpoint])
async def ledger_checkpoints(
    tenant_id: int, session: Session, principal: LedgerReader,
    after_size: Annotated[int, Query(ge=0, le=2**31 - 1,
                                     description="Only checkpoints of larger trees")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[s.PublishedCheckpoint]:
    """The tenant's signed checkpoints (C2SP signed notes), oldest first, for a witness to
    keep outside the database; `probity ledger verify --checkpoints DIR` checks against them."""
    await scoping.tenant_in_scope(session, principal, Perm.ledger_read, tenant_id, body=False)
    rows = await service.list_checkpoints(session, tenant_id, after_size=after_size,
                                          limit=limit)
    return [s.PublishedCheckpoint.model_validate(row) for row in rows]


@router.get("/ledger/public-keys")
async def ledger_public_keys(principal: LedgerReader) -> dict[str, Any]:
    """The keys that verify checkpoints and evidence packs (publish them out of band)."""
    keyring = service.default_keyring()
    return {"current": keyring.current_key_id, "keys": keyring.export_public_keys()}
