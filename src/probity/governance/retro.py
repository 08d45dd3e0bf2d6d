"""Retro-screening: a date range of history screened with the policy in force now.

A message the policy would now flag and that was allowed when it was sent raises a
*retrospective* alert: `source="retro_screening"`, `decision="retro"` (never "block": the
message was delivered then, and nothing is shown to the chat as a real-time block), evidence
naming the run and that it is retrospective; it is ledgered and joins or opens a case like any
other alert. A message that already has an alert is left alone (one alert per message).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.governance.replay import FLAG_CATEGORIES, ReplayTally
from probity.models import Alert, Conversation, Message, PolicyReplay
from probity.models.base import utcnow
from probity.models.chat import MessageKind
from probity.screening import CompiledPolicy, screen_message

CHUNK = 5000


@dataclass(frozen=True)
class _Row:
    message_id: int
    conversation_id: int
    tenant_id: int
    role: str
    text: str
    sender_user_id: int | None


@dataclass(frozen=True)
class _Hit:
    row: _Row
    decision: str
    categories: tuple[str, ...]
    severity: int
    masked: str
    spans: list[dict[str, object]]


def screen_rows(rows: list[_Row], policies: dict[int, CompiledPolicy]) -> list[_Hit]:
    """CPU only (a worker thread): the rows the policy flags now."""
    hits = []
    for r in rows:
        res = screen_message(r.text, r.role, policies[r.tenant_id])
        cats = tuple(c for c in res.categories if c in FLAG_CATEGORIES)
        if res.decision != "allow" and cats:
            hits.append(_Hit(r, res.decision, cats, res.severity, res.masked,
                             [s.to_dict() for s in res.spans]))
    return hits


async def run_retro(session: AsyncSession, row: PolicyReplay, tenant_ids: list[int],
                    policies: dict[int, CompiledPolicy],
                    progress: Callable[[int, int], None] | None) -> ReplayTally:
    from probity.cases.service import group_alert
    from probity.ledger.service import append_entry

    where = (Message.tenant_id.in_(tenant_ids), Message.kind == MessageKind.text,
             Message.created_at >= row.since, Message.created_at < row.until,
             Message.recalled_at.is_(None), Message.sender_role.in_(("customer", "agent")),
             Message.body != "", Message.decision == "allow")
    row.status = "running"
    row.total = int(await session.scalar(select(func.count()).select_from(Message)
                                         .where(*where)) or 0)
    tally = ReplayTally()
    last = 0
    now = utcnow()
    while True:
        found = (await session.execute(
            select(Message.id, Message.conversation_id, Message.tenant_id, Message.sender_role,
                   Message.body, Message.sender_user_id)
            .where(*where, Message.id > last).order_by(Message.id).limit(CHUNK))).all()
        if not found:
            break
        rows = [_Row(*f) for f in found]
        last = rows[-1].message_id
        hits = await asyncio.to_thread(screen_rows, rows, policies)
        tally.screened += len(rows)
        flagged = set(await session.scalars(select(Alert.message_id).where(
            Alert.message_id.in_([h.row.message_id for h in hits])))) if hits else set()
        convs = {c.id: c for c in (await session.scalars(select(Conversation).where(
            Conversation.id.in_({h.row.conversation_id for h in hits})))).all()} if hits else {}
        for hit in hits:
            if hit.row.message_id in flagged:
                continue
            conv = convs[hit.row.conversation_id]
            alert = Alert(
                tenant_id=hit.row.tenant_id, org_unit_id=conv.org_unit_id,
                conversation_id=conv.id, message_id=hit.row.message_id,
                sender_role=hit.row.role, sender_user_id=hit.row.sender_user_id,
                agent_employee_id=conv.agent_employee_id, source="retro_screening",
                rule="retro_screening", customer_id=conv.customer_id, subject=hit.row.role,
                agent_part="initiator" if hit.row.role == "agent" else "recipient",
                decision="retro", category=hit.categories[0], categories=list(hit.categories),
                severity=hit.severity, snippet=hit.masked[:200], spans=hit.spans,
                evidence={"retrospective": True, "run_id": row.id,
                          "policy_key": list(row.base_key), "screened_at": now.isoformat()},
                dedupe_key=f"retro:{hit.row.message_id}", created_at=now)
            session.add(alert)
            await session.flush()
            await append_entry(session, alert.tenant_id, "alert.raised", {
                "alert_id": alert.id, "message_id": alert.message_id,
                "conversation_id": alert.conversation_id, "categories": alert.categories,
                "retrospective": True, "run_id": row.id}, checkpoint=False)
            await group_alert(session, alert)
            tally.changed += 1
            for cat in hit.categories:
                tally.counts[(alert.tenant_id, cat, "new")] += 1
        row.done = tally.screened
        if progress is not None:
            progress(tally.screened, row.total)
    row.changed = tally.changed
    row.summary = [{"tenant_id": t, "category": c, "kind": k, "messages": n}
                   for (t, c, k), n in sorted(tally.counts.items())]
    row.status = "done"
    row.finished_at = utcnow()
    await session.flush()
    return tally
