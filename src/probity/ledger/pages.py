"""Pages of the records domain: the access log (auditors, HQ admins) and the ledger status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from probity.auth.deps import Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.ledger import access, verification
from probity.web.render import page_tz, parse_day, render

router = APIRouter(include_in_schema=False)

AccessLogReader = Annotated[Principal, Depends(require(Perm.access_log_read))]


@router.get("/access-log", response_class=HTMLResponse)
async def access_log_page(request: Request, session: Session, principal: AccessLogReader,
                          actor: str | None = None, target_type: str | None = None,
                          target_id: str | None = None, since: str | None = None,
                          until: str | None = None, page: int = 1) -> Response:
    page = max(page, 1)
    filters = {"actor": actor or None, "target_type": target_type or None,
               "target_id": target_id or None}
    rows = await access.list_access(session, principal, limit=100, offset=(page - 1) * 100,
                                    since=parse_day(since, page_tz(request)),
                                    until=parse_day(until, page_tz(request), end=True), **filters)
    from urllib.parse import urlencode

    query = urlencode({k: v for k, v in {**filters, "since": since, "until": until}.items()
                       if v})
    return render(request, "records/access_log.html", rows=rows, page=page, query=query,
                  f={**filters, "since": since or "", "until": until or ""})


LedgerReader = Annotated[Principal, Depends(require(Perm.ledger_read))]
# Starting a verification runs work: not for the read-only auditor.
LedgerVerifier = Annotated[Principal, Depends(require(Perm.ledger_verify))]


@router.get("/ledger", response_class=HTMLResponse)
async def ledger_page(request: Request, session: Session, principal: LedgerReader) -> Response:
    items = await verification.ledger_status(session, principal)
    for item in items:
        ver = item["verification"]
        item["state"] = (None if ver is None
                         else await verification.verification_state(session, ver))
    return render(request, "records/ledger.html", items=items)


@router.post("/ledger/verify", response_class=HTMLResponse)
async def ledger_verify_form(request: Request, session: Session, principal: LedgerVerifier,
                             tenant_id: Annotated[int, Form()]) -> Response:
    """Start a verification. htmx swaps in the progress fragment (which polls itself every
    second); without JavaScript the form posts and the page reloads."""
    row = await verification.request_verification(session, principal, tenant_id)
    await commit(session)
    if request.headers.get("hx-request"):
        st = await verification.verification_state(session, row)
        return render(request, "records/_verification.html", v=row, st=st, tenant_id=tenant_id)
    return RedirectResponse("/ledger", status_code=303)


@router.get("/ledger/verifications/{verification_id}", response_class=HTMLResponse)
async def ledger_verification_fragment(request: Request, verification_id: int,
                                       session: Session, principal: LedgerReader) -> Response:
    row = await verification.get_verification(session, principal, verification_id)
    st = await verification.verification_state(session, row)
    return render(request, "records/_verification.html", v=row, st=st, tenant_id=row.tenant_id)
