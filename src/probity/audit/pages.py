"""The audit page for auditors and HQ admins."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from probity.audit import service
from probity.auth.deps import AuditReader, Session
from probity.web.render import page_tz, parse_day, render

router = APIRouter(include_in_schema=False)


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(request: Request, session: Session, principal: AuditReader,
                     action: str | None = None, actor: str | None = None,
                     target_type: str | None = None, since: str | None = None,
                     until: str | None = None, page: int = 1) -> Response:
    page = max(page, 1)
    filters = {"action": action or None, "actor": actor or None,
               "target_type": target_type or None}
    rows = await service.list_audit(session, principal, limit=100, offset=(page - 1) * 100,
                                    since=parse_day(since, page_tz(request)),
                                    until=parse_day(until, page_tz(request), end=True), **filters)
    query = "&".join(f"{k}={v}" for k, v in {**filters, "since": since, "until": until}.items()
                     if v)
    from sqlalchemy import select

    from probity.models import AuditEntry

    actions = (await session.scalars(select(AuditEntry.action).distinct()
                                     .order_by(AuditEntry.action))).all()
    target_types = (await session.scalars(select(AuditEntry.target_type).distinct()
                                          .order_by(AuditEntry.target_type))).all()
    return render(request, "audit/list.html", rows=rows, page=page, query=query,
                  actions=actions, target_types=target_types,
                  f={**filters, "since": since or "", "until": until or ""})
