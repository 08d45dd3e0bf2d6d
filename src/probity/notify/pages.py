"""The in-app inbox page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from probity.auth.deps import CurrentPrincipal, Session, commit
from probity.notify import service
from probity.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/notifications", response_class=HTMLResponse)
async def inbox(request: Request, session: Session, principal: CurrentPrincipal) -> Response:
    rows = await service.my_notifications(session, principal, unread=False, limit=200)
    return render(request, "notify/inbox.html", rows=rows)


@router.post("/notifications/{notification_id}/read")
async def mark_read(notification_id: int, session: Session, principal: CurrentPrincipal,
                    next: Annotated[str, Form()] = "/notifications") -> Response:
    n = await service.mark_read(session, principal, notification_id)
    await commit(session)
    target = f"/cases/{n.case_id}" if next == "case" and n.case_id else "/notifications"
    return RedirectResponse(target, status_code=303)
