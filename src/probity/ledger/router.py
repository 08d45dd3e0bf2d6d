"""JSON API of the records domain: access log, retention rules, legal holds, purges, ledger
status / verification / proofs, and conversation evidence packs. Thin: authorise, one service
call, commit, return."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from probity.auth.deps import Session, require
from probity.auth.permissions import Perm, Principal
from probity.ledger import access
from probity.ledger import schemas as s

router = APIRouter(prefix="/api/v1", tags=["records"])

AccessLogReader = Annotated[Principal, Depends(require(Perm.access_log_read))]


@router.get("/access-log", response_model=list[s.AccessRead])
async def list_access_log(
    session: Session, principal: AccessLogReader,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    target_type: Annotated[str | None, Query(max_length=32)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    tenant_id: int | None = None, since: datetime | None = None, until: datetime | None = None,
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
    tenant_id: int | None = None, since: datetime | None = None, until: datetime | None = None,
) -> Response:
    rows = await access.list_access(session, principal, limit=100_000, actor=actor,
                                    target_type=target_type, target_id=target_id,
                                    tenant_id=tenant_id, since=since, until=until)
    return Response(access.access_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="access-log.csv"'})
