"""The audit trail for auditors and HQ admins: filtered listing and CSV export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from probity.audit import service
from probity.audit.schemas import AuditRead
from probity.auth.deps import AuditReader, Session
from probity.bounds import AwareDatetime, DbId

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/audit", response_model=list[AuditRead])
async def list_audit(
    session: Session, principal: AuditReader,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    target_type: Annotated[str | None, Query(max_length=64)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    tenant_id: DbId | None = None, since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[AuditRead]:
    rows = await service.list_audit(session, principal, limit=limit, offset=offset,
                                    action=action, actor=actor, target_type=target_type,
                                    target_id=target_id, tenant_id=tenant_id, since=since,
                                    until=until)
    return [AuditRead.model_validate(r) for r in rows]


@router.get("/audit.csv", response_class=Response)
async def export_audit(
    session: Session, principal: AuditReader,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    target_type: Annotated[str | None, Query(max_length=64)] = None,
    tenant_id: DbId | None = None, since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
) -> Response:
    rows = await service.list_audit(session, principal, limit=100_000, offset=0, action=action,
                                    actor=actor, target_type=target_type, tenant_id=tenant_id,
                                    since=since, until=until)
    return Response(service.audit_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="audit.csv"'})
