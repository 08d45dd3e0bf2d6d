"""The team lead's pages: the team's live conversations (supervise, reassign) and its alerts.

Scope is the lead's `chat.supervise` / `chat.reassign` grants (a team lead's are their team);
a conversation outside it is a 404 like a missing one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from probity.alerts.view import alert_rows
from probity.auth.deps import Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.chat.conversations import participant_for, reassign
from probity.chat.inbox import inbox_rows
from probity.errors import DomainError
from probity.events import get_bus
from probity.models import Alert, Conversation, ConversationStatus, Role, RoleAssignment, User
from probity.web.render import render

router = APIRouter(include_in_schema=False)
Lead = Annotated[Principal, Depends(require(Perm.chat_reassign))]


async def _team_agents(session: Session, org_unit_ids: set[int]
                       ) -> dict[int, list[tuple[int, str]]]:
    """The agents of each team: (user id, display name)."""
    rows = (await session.execute(
        select(RoleAssignment.org_unit_id, User.id, User.display_name)
        .join(User, User.id == RoleAssignment.user_id)
        .where(RoleAssignment.role == Role.agent, RoleAssignment.org_unit_id.in_(org_unit_ids))
        .order_by(User.display_name))).all()
    out: dict[int, list[tuple[int, str]]] = {}
    for unit, uid, name in rows:
        if unit is not None:
            out.setdefault(unit, []).append((uid, name))
    return out


@router.get("/team", response_class=HTMLResponse)
async def team_page(request: Request, session: Session, principal: Lead,
                    error: str = "") -> Response:
    scope = principal.scope(Perm.chat_reassign)
    convs = list((await session.scalars(
        select(Conversation).where(
            scope.filter(Conversation.tenant_id, Conversation.org_unit_id),
            Conversation.status != ConversationStatus.closed)
        .order_by(Conversation.id.desc()).limit(60))).all())
    alerts = list((await session.scalars(
        select(Alert).where(scope.filter(Alert.tenant_id, Alert.org_unit_id))
        .order_by(Alert.id.desc()).limit(20))).all())
    return render(request, "team/live.html", rows=await inbox_rows(session, convs),
                  agents=await _team_agents(session, {c.org_unit_id for c in convs}),
                  alerts=await alert_rows(session, principal, alerts), error=error)


@router.get("/team/conversations/{conv_id}", response_class=HTMLResponse)
async def supervise_page(request: Request, conv_id: int, session: Session, principal: Lead
                         ) -> Response:
    """Watch a conversation live (read-only; the read is recorded like any supervisor's)."""
    conv, _who = await participant_for(session, principal, None, conv_id)
    rows = await inbox_rows(session, [conv])
    return render(request, "team/supervise.html", row=rows[0])


@router.post("/team/conversations/{conv_id}/reassign")
async def reassign_form(request: Request, conv_id: int, session: Session, principal: Lead,
                        to_user_id: Annotated[int, Form()],
                        reason: Annotated[str, Form()] = "") -> Response:
    try:
        await reassign(session, principal, get_bus(request.app).publish, conv_id,
                       to_user_id, reason.strip() or None)
    except DomainError as exc:
        if exc.status_code == 404:
            raise
        await session.rollback()
        return RedirectResponse(f"/team?error={exc.code}", status_code=303)
    await commit(session)
    return RedirectResponse("/team", status_code=303)
