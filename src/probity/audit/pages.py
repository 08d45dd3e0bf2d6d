"""The audit page for auditors and HQ admins."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from probity.audit import service
from probity.auth.deps import AuditReader, Session
from probity.web.render import render

router = APIRouter(include_in_schema=False)


def _parse_day(value: str | None) -> datetime | None:
    from datetime import UTC

    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        return None


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(request: Request, session: Session, principal: AuditReader,
                     action: str | None = None, actor: str | None = None,
                     target_type: str | None = None, since: str | None = None,
                     until: str | None = None, page: int = 1) -> Response:
    page = max(page, 1)
    filters = {"action": action or None, "actor": actor or None,
               "target_type": target_type or None}
    rows = await service.list_audit(session, principal, limit=100, offset=(page - 1) * 100,
                                    since=_parse_day(since), until=_parse_day(until), **filters)
    query = "&".join(f"{k}={v}" for k, v in {**filters, "since": since, "until": until}.items()
                     if v)
    return render(request, "audit/list.html", rows=rows, page=page, query=query,
                  f={**filters, "since": since or "", "until": until or ""})
