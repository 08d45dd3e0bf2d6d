"""Pages of the records domain: the access log (auditors, HQ admins) and the ledger status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from probity.auth.deps import Session, require
from probity.auth.permissions import Perm, Principal
from probity.ledger import access
from probity.web.render import render

router = APIRouter(include_in_schema=False)

AccessLogReader = Annotated[Principal, Depends(require(Perm.access_log_read))]


def _day(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        return None


@router.get("/access-log", response_class=HTMLResponse)
async def access_log_page(request: Request, session: Session, principal: AccessLogReader,
                          actor: str | None = None, target_type: str | None = None,
                          target_id: str | None = None, since: str | None = None,
                          until: str | None = None, page: int = 1) -> Response:
    page = max(page, 1)
    filters = {"actor": actor or None, "target_type": target_type or None,
               "target_id": target_id or None}
    rows = await access.list_access(session, principal, limit=100, offset=(page - 1) * 100,
                                    since=_day(since), until=_day(until), **filters)
    from urllib.parse import urlencode

    query = urlencode({k: v for k, v in {**filters, "since": since, "until": until}.items()
                       if v})
    return render(request, "records/access_log.html", rows=rows, page=page, query=query,
                  f={**filters, "since": since or "", "until": until or ""})
