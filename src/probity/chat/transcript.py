"""The read-only conversation page (issue 15): a conversation's transcript as compliance, HR,
the auditor or a team lead reads it from an alert or a case — who said what and when (names,
times in the tenant's zone), and what screening decided for each message.

Access is the `chat.supervise` grant in scope (`participant_for`, the scoping rules every
conversation read goes through): out of scope is a 404 like a missing conversation. What each
message shows is `wire.message_view` for a supervisor, so a blocked message's text needs
`chat.evidence` here as everywhere. Every reading by a non-participant is recorded in the same
transaction, before anything is shown: the access log (who, what, why) and the audit trail
(`conversation.read`). Where the reader's role must give a reason (a setting) and none came
with the link, the page asks for one first and records nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.deps import Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.chat.conversations import Participant, participant_for, record_read
from probity.chat.wire import message_view
from probity.ledger.access import MAX_REASON, reason_required, record_access
from probity.models import Conversation, Customer, Message, OrgUnit, User
from probity.web.render import render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(require(Perm.chat_supervise))]
LIMIT = 1000  # messages shown; a longer conversation says so and links its evidence pack


@dataclass(frozen=True)
class Line:
    """One message as the page shows it."""

    seq: int
    at: datetime
    sender_role: str
    sender_name: str | None
    kind: str
    decision: str | None
    categories: list[str]
    segments: list[tuple[str, str | None]]  # (text, category of a screened span or None)
    withheld: bool  # blocked and the reader may not see its text
    recalled_at: datetime | None


@dataclass
class Transcript:
    conversation: Conversation
    customer_name: str
    agent_name: str | None
    team_name: str | None
    lines: list[Line] = field(default_factory=list)
    truncated: bool = False


def segments(text: str, spans: list[dict[str, Any]] | None) -> list[tuple[str, str | None]]:
    """`text` cut at the screened spans: (piece, category) with None for plain text."""
    out: list[tuple[str, str | None]] = []
    pos = 0
    for s in sorted(spans or [], key=lambda s: int(s.get("start", 0))):
        start, end = int(s.get("start", 0)), int(s.get("end", 0))
        if start < pos or end <= start or end > len(text):
            continue
        if start > pos:
            out.append((text[pos:start], None))
        out.append((text[start:end], str(s.get("category", "")) or None))
        pos = end
    if pos < len(text):
        out.append((text[pos:], None))
    return out


async def transcript(session: AsyncSession, conv: Conversation, who: Participant
                     ) -> Transcript:
    """The conversation's messages as `who` may see them, with the senders' names."""
    rows = list((await session.scalars(
        select(Message).where(Message.conversation_id == conv.id)
        .order_by(Message.seq).limit(LIMIT + 1))).all())
    user_ids = {m.sender_user_id for m in rows if m.sender_user_id}
    if conv.agent_user_id:
        user_ids.add(conv.agent_user_id)
    users = dict((await session.execute(select(User.id, User.display_name).where(
        User.id.in_(user_ids)))).all()) if user_ids else {}
    customer = await session.scalar(select(Customer.name).where(
        Customer.id == conv.customer_id)) if conv.customer_id else None
    team = await session.scalar(select(OrgUnit.name).where(
        OrgUnit.id == conv.org_unit_id)) if conv.org_unit_id else None
    out = Transcript(conv, customer or "", users.get(conv.agent_user_id)
                     if conv.agent_user_id else None, team, truncated=len(rows) > LIMIT)
    for m in rows[:LIMIT]:
        view = message_view(m, who)
        if view is None:
            continue
        if m.sender_role == "customer":
            name: str | None = customer
        else:
            name = users.get(m.sender_user_id) if m.sender_user_id else None
        withheld = bool(view.get("blocked")) and "body" not in view
        out.lines.append(Line(
            seq=m.seq, at=m.created_at, sender_role=m.sender_role, sender_name=name,
            kind=m.kind.value, decision=m.decision if m.decision != "allow" else None,
            categories=list(m.categories or []),
            segments=[] if withheld else segments(str(view.get("body") or ""),
                                                  view.get("spans")),
            withheld=withheld, recalled_at=m.recalled_at))
    return out


@router.get("/conversations/{conv_id}", response_class=HTMLResponse)
async def conversation_page(
    request: Request, conv_id: int, session: Session, principal: Reader,
    reason: Annotated[str | None, Query(max_length=MAX_REASON)] = None,
) -> Response:
    conv, who = await participant_for(session, principal, None, conv_id)
    reason = (reason or "").strip() or None
    supervisor = who.role == "supervisor"
    must_say_why = supervisor and reason_required(request.app.state.settings, principal)
    if must_say_why and reason is None:
        # Nothing is shown, so nothing is recorded: the reader says why first.
        return render(request, "chat/transcript_reason.html", conv=conv)
    if supervisor:
        await record_access(session, principal, "conversation", conv.id, conv.tenant_id,
                            reason, require_reason=must_say_why)
        record_read(session, conv, who)
    view = await transcript(session, conv, who)
    await commit(session)
    return render(request, "chat/transcript.html", t=view, reason=reason,
                  recorded=supervisor)
