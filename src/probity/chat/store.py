"""Storing screened messages: a batch of any conversations in one transaction with a fixed
number of statements (seqs, resends, messages, alerts, ledger entries, cases), deliveries
queued after commit. Used by the group-commit writer (`probity.chat.writer`) and inline by
callers that hold their own transaction."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, case, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from probity.analytics.rollup import record_batch
from probity.auth.deps import after_commit
from probity.chat.conversations import Participant
from probity.chat.screening import record_refusals, screening_evidence
from probity.chat.wire import (
    ALERTS_CHANNEL,
    MessageRow,
    Publish,
    alert_event,
    conv_channel,
    message_wire,
)
from probity.errors import Conflict, DomainError
from probity.governance.notices import notice_texts
from probity.ledger.facts import alert_payload, message_payload
from probity.ledger.service import CHECKPOINT_INTERVAL_S, append_entries, maybe_checkpoint
from probity.models import Alert, Conversation, ConversationStatus, Message, MessageKind
from probity.models.base import utcnow
from probity.screening.context import Turn

log = logging.getLogger("probity.chat")

CheckpointDue = Callable[[int], bool]
# The writer looks for a due checkpoint at most this often per tenant (instead of one SELECT per
# batch); it asks for one when the latest is older than CHECKPOINT_INTERVAL_S minus this, so a
# ledger being written still gets a checkpoint at least every CHECKPOINT_INTERVAL_S.
CHECKPOINT_CHECK_S = 10


class ConvState(NamedTuple):
    """A conversation of a batch as its seq allocation returned it (UPDATE … RETURNING): its
    new `last_seq` and the current tenant, team, agent and customer (for alerts and cases)."""

    id: int
    last_seq: int
    tenant_id: int
    org_unit_id: int
    agent_employee_id: int | None
    customer_id: int


@dataclass
class PendingSend:
    """A message that passed validation and screening, on its way to the database."""

    conv_id: int
    who: Participant
    publish: Publish
    text: str
    client_id: str | None
    result: Any  # the screening result (None: unscreened attachment)
    screening_status: str = "screened"
    kind: MessageKind = MessageKind.text
    mime: str | None = None
    digest: str | None = None
    size: int | None = None
    turn: Turn | None = None  # the conversation context's record of this message
    offer: Turn | None = None  # the other party's latest offer (a refusal's episode)

    @property
    def decision(self) -> str:
        return str(self.result.decision) if self.result is not None else "allow"



Outcome = tuple[MessageRow | Message, bool] | DomainError

_CONVERSATIONS = cast(Table, Conversation.__table__)
_MESSAGES = cast(Table, Message.__table__)
# The columns of a stored message as the send path hands it on (`MessageRow`, in its order).
_ROW_FIELDS = tuple(f.name for f in dataclasses.fields(MessageRow))
_INSERT_MESSAGES = insert(_MESSAGES).returning(
    _MESSAGES.c.id, _MESSAGES.c.conversation_id, _MESSAGES.c.seq)
_ALERT_COLUMNS = (
    "tenant_id", "org_unit_id", "conversation_id", "message_id", "sender_role",
    "sender_user_id", "agent_employee_id", "decision", "category", "categories", "severity",
    "snippet", "spans", "created_at", "source", "customer_id", "subject", "agent_part",
    "evidence")


async def _insert_returning_ids(session: AsyncSession, model: Any, rows: list[Any],
                                columns: tuple[str, ...], key: tuple[str, ...]) -> None:
    """INSERT the rows (plain, unattached ORM objects) in ONE statement and give each its new
    id. The ORM's unit of work would send one INSERT per row on SQLite (it cannot rely on the
    order of RETURNING there); this is a Core executemany, which SQLAlchemy sends as a single
    multi-row INSERT … RETURNING ("insertmanyvalues", compiled once and cached, whatever the
    number of rows), and RETURNING carries a unique key of each row, so its order does not
    matter."""
    table = model.__table__
    stmt = insert(table).returning(table.c.id, *(table.c[k] for k in key))
    params = [{c: getattr(r, c) for c in columns} for r in rows]
    result = await session.execute(stmt, params[0] if len(params) == 1 else params)
    ids = {tuple(getattr(row, k) for k in key): row.id for row in result}
    for r in rows:
        r.id = ids[tuple(getattr(r, k) for k in key)]


# A stored message's columns as `message_tuple` gives them: `MessageRow`'s, without id and
# recalled_at (NULL: a new message).
VALUE_COLUMNS = ("conversation_id", "tenant_id", "seq", "sender_role", "sender_user_id",
                 "sender_employee_id", "client_id", "kind", "body", "attachment_sha256",
                 "attachment_mime", "attachment_size", "decision", "screening_status",
                 "categories", "severity", "spans", "policy_version", "created_at")
assert _ROW_FIELDS[1:-1] == VALUE_COLUMNS


def message_tuple(s: PendingSend, tenant_id: int, seq: int, now: datetime) -> tuple[Any, ...]:
    """The stored message's columns (`VALUE_COLUMNS`), as a tuple: the chat writer's direct
    path builds its INSERT row and `MessageRow` from it, with no dict per message."""
    r = s.result
    who = s.who
    role = who.role
    if r is None:
        categories: list[str] = []
        spans: list[dict[str, Any]] = []
        severity = policy_version = 0
        decision = "allow"
    else:
        categories = list(r.categories)
        spans = [sp.to_dict() for sp in r.spans]
        severity = int(r.severity)
        policy_version = int(getattr(r, "policy_version", 0) or 0)
        decision = str(r.decision)
    return (s.conv_id, tenant_id, seq, role, who.user_id,
            who.employee_id if role == "agent" else None, s.client_id, s.kind, s.text,
            s.digest, s.mime, s.size, decision, s.screening_status, categories, severity,
            spans, policy_version, now)


def message_values(s: PendingSend, tenant_id: int, seq: int, now: datetime
                   ) -> dict[str, Any]:
    """The stored message's columns (`MessageRow`'s, without id and recalled_at)."""
    return dict(zip(VALUE_COLUMNS, message_tuple(s, tenant_id, seq, now), strict=True))


async def store_messages(session: AsyncSession, sends: list[PendingSend], *,
                         checkpoint_due: CheckpointDue | None = None) -> list[Outcome]:
    """Store screened messages of any conversations in the session's transaction (flush only)
    with a fixed number of round trips, whatever the number of messages:

    1. one ``UPDATE conversations … RETURNING`` allocates every conversation's seqs (and says
       which are closed, and their current tenant/team/agent);
    2. one SELECT finds idempotent resends (by client_id), then a rare UPDATE gives back the
       seqs they did not use; the write comes first so that, on SQLite, the transaction takes
       the write lock before it reads (a deferred read-then-write can fail outright);
    3. one INSERT for the messages, one for the alerts (multi-row, see
       `_insert_returning_ids`), the ledger entries per tenant;
    4. delivery and alert events queued with after_commit, in seq order.

    Returns, per send in order, (message, duplicate) or the DomainError for that send alone.
    """
    counts: dict[int, int] = {}
    for s in sends:
        counts[s.conv_id] = counts.get(s.conv_id, 0) + 1
    ids = sorted(counts)
    # Core statements on the session's connection (no ORM unit of work, no per-message ORM
    # objects): compiled once and cached by SQLAlchemy, whatever the number of messages.
    conn = await session.connection()
    ct = _CONVERSATIONS
    bump: Any = (ct.c.last_seq + counts[ids[0]] if len(ids) == 1 else
                 ct.c.last_seq + case(counts, value=ct.c.id))
    rows = (await conn.execute(
        update(ct)
        .where(ct.c.id.in_(ids), ct.c.status != ConversationStatus.closed)
        .values(last_seq=bump)
        .returning(ct.c.id, ct.c.last_seq, ct.c.tenant_id, ct.c.org_unit_id,
                   ct.c.agent_employee_id, ct.c.customer_id))).all()
    convs = {r.id: ConvState(*r) for r in rows}
    keyed = [s for s in sends if s.client_id and s.conv_id in convs]
    stored: dict[tuple[int, str, str], MessageRow] = {}
    if keyed:
        mt = _MESSAGES
        found = await conn.execute(select(*(mt.c[c] for c in _ROW_FIELDS)).where(
            mt.c.conversation_id.in_({s.conv_id for s in keyed}),
            mt.c.client_id.in_({s.client_id for s in keyed})))
        for row in found:
            m = MessageRow(*row)
            assert m.client_id is not None
            stored[(m.conversation_id, m.sender_role, m.client_id)] = m
    # Which sends are new: the closed ones fail, resends (stored before, or twice in the batch)
    # return the stored message.
    plan: list[Outcome | PendingSend | tuple[int, str, str]] = []
    fresh: dict[int, int] = {}
    seen_keys: set[tuple[int, str, str]] = set()
    for s in sends:
        if s.conv_id not in convs:
            plan.append(Conflict("the conversation is closed", code="closed"))
            continue
        key = (s.conv_id, s.who.role, s.client_id) if s.client_id else None
        if key is not None and key in stored:
            plan.append((stored[key], True))
            continue
        if key is not None and key in seen_keys:
            plan.append(key)  # resolved once its first copy is built
            continue
        if key is not None:
            seen_keys.add(key)
        fresh[s.conv_id] = fresh.get(s.conv_id, 0) + 1
        plan.append(s)
    unused = {cid: counts[cid] - fresh.get(cid, 0) for cid in convs}
    for cid, n in unused.items():
        if n:  # rare: give back the seqs allocated to resends (we hold the row lock)
            await conn.execute(update(ct).where(ct.c.id == cid)
                               .values(last_seq=ct.c.last_seq - n))
    next_seq_of = {cid: convs[cid].last_seq - counts[cid] + 1 for cid in convs}
    now = utcnow()
    params: list[dict[str, Any]] = []
    for item in plan:
        if not isinstance(item, PendingSend):
            continue
        seq = next_seq_of[item.conv_id]
        next_seq_of[item.conv_id] = seq + 1
        params.append(message_values(item, convs[item.conv_id].tenant_id, seq, now))
    messages: list[tuple[PendingSend, MessageRow]] = []
    by_key: dict[tuple[int, str, str], MessageRow] = {}
    if params:
        # ONE multi-row INSERT … RETURNING ("insertmanyvalues"); RETURNING carries each row's
        # unique (conversation, seq), so its order does not matter.
        inserted = await conn.execute(_INSERT_MESSAGES,
                                      params[0] if len(params) == 1 else params)
        new_ids = {(row[1], row[2]): row[0] for row in inserted}
        fresh_sends = iter(s for s in plan if isinstance(s, PendingSend))
        for p in params:
            s = next(fresh_sends)
            msg = MessageRow(id=new_ids[(p["conversation_id"], p["seq"])], **p,
                             recalled_at=None)
            messages.append((s, msg))
            if s.client_id:
                by_key[(s.conv_id, s.who.role, s.client_id)] = msg
    outcomes: list[Outcome] = []
    for item in plan:
        if isinstance(item, PendingSend):
            continue
        if isinstance(item, tuple) and len(item) == 3:
            outcomes.append((by_key[item], True))
        else:
            outcomes.append(item)
    if messages:
        await record_refusals(session, [(s, m, convs[s.conv_id]) for s, m in messages])
        alerts: dict[int, Alert] = {}
        for s, msg in messages:
            if msg.decision in ("warn", "block"):
                masked = str(getattr(s.result, "masked", "") or "")
                conv = convs[s.conv_id]
                alerts[msg.id] = Alert(
                    tenant_id=msg.tenant_id, org_unit_id=conv.org_unit_id,
                    conversation_id=s.conv_id, message_id=msg.id, sender_role=s.who.role,
                    sender_user_id=s.who.user_id, agent_employee_id=conv.agent_employee_id,
                    source="screening", customer_id=conv.customer_id,
                    subject=s.who.role,
                    agent_part="initiator" if s.who.role == "agent" else "recipient",
                    evidence=screening_evidence(s.result), decision=msg.decision,
                    category=msg.categories[0] if msg.categories else "other",
                    categories=msg.categories, severity=msg.severity, snippet=masked[:200],
                    spans=msg.spans, created_at=now)
        if alerts:
            await _insert_returning_ids(session, Alert, list(alerts.values()), _ALERT_COLUMNS,
                                        ("message_id",))
        # Risk analytics: the batch's hourly rollups (one grouped upsert) and the monitoring
        # rules in force (QA sampling, alerts to HR on duty) — ONE call per batch.
        await record_batch(session, [(m, convs[s.conv_id].org_unit_id,
                                      convs[s.conv_id].agent_employee_id)
                                     for s, m in messages], conn)
        await ledger_messages(session, [m for _s, m in messages], list(alerts.values()),
                              checkpoint_due)
        if alerts:
            # Alerts join (or open) a case in the same transaction: same agent and customer
            # within the tenant's grouping window, de-duplicated.
            from probity.cases.service import group_alert

            for alert in alerts.values():
                await group_alert(session, alert)
        for s, msg in messages:
            _queue_delivery(session, s.publish, s.conv_id, msg, alerts.get(msg.id))
    # Put the outcomes back in the order of `sends`.
    fresh_iter = iter(messages)
    other_iter = iter(outcomes)
    result: list[Outcome] = []
    for item in plan:
        result.append((next(fresh_iter)[1], False) if isinstance(item, PendingSend)
                      else next(other_iter))
    return result




async def ledger_messages(session: AsyncSession, messages: list[MessageRow] | list[Message],
                          alerts: list[Alert],
                          checkpoint_due: CheckpointDue | None = None) -> None:
    """The ledger entries of stored messages and their alerts: per tenant (in tenant order, so
    concurrent writers take the tenants' append locks in the same order), the messages (salted:
    a message is personal data that retention may purge) and then their alerts, one INSERT
    each. A single message gives [chat.message, alert.raised], as before batching.

    Without `checkpoint_due`, every append looks for a due checkpoint (append_entries'
    default); with it, only the tenants for which it says so."""
    for tenant_id in sorted({m.tenant_id for m in messages}):
        ms = [("chat.message", message_payload(m)) for m in messages if m.tenant_id == tenant_id]
        al = [("alert.raised", alert_payload(a)) for a in alerts if a.tenant_id == tenant_id]
        default = checkpoint_due is None
        await append_entries(session, tenant_id, ms, purgeable=True,
                             checkpoint=default and not al)
        if al:
            await append_entries(session, tenant_id, al, checkpoint=default)
        if checkpoint_due is not None and checkpoint_due(tenant_id):
            await maybe_checkpoint(session, tenant_id,
                                   max_age_s=CHECKPOINT_INTERVAL_S - CHECKPOINT_CHECK_S)




def _queue_delivery(session: AsyncSession, publish: Publish, conv_id: int, msg: MessageRow,
                    alert: Alert | None) -> None:
    after_commit(session, delivery_effect(publish, conv_id, msg, alert))


def delivery_effect(publish: Publish, conv_id: int, msg: MessageRow, alert: Alert | None
                    ) -> Callable[[], Awaitable[None]]:
    """What the application's loop publishes once the message is committed."""
    # Carry the stored row (by value) to every process; each connection renders its own view.
    payload: dict[str, Any] = {"type": "message", "message": message_wire(msg)}
    alert_payload = alert_event(alert) if alert is not None else None
    deliver = msg.decision != "block"
    # A customer's blocked attempt never reaches the agent, but the agent is told it happened
    # (staff connections only; customers' sockets drop this event).
    attempt = None
    if not deliver and msg.sender_role == "customer":
        attempt = {"type": "customer_attempt", "conversation_id": conv_id, "seq": msg.seq,
                   "categories": list(msg.categories or []),
                   "notice": notice_texts(msg.tenant_id).agent_customer_attempt}

    async def effect() -> None:
        if deliver:
            # This process's sockets render their views from the row the event's message was
            # made from (`wire.WireMessage`), not from its wire form parsed back.
            await publish(conv_channel(conv_id), payload)
        elif attempt is not None:
            await publish(conv_channel(conv_id), attempt)
        if alert_payload is not None:
            await publish(ALERTS_CHANNEL, alert_payload)

    return effect


def deliveries_effect(sent: list[tuple[PendingSend, MessageRow]]
                      ) -> Callable[[], Awaitable[None]]:
    """`delivery_effect` of a batch's messages that raise no alert and are delivered (the chat
    writer's direct path stores only those: decision allow), as ONE effect: each message's
    event published in commit order, a failure logged and the next one published, as the
    writer's hand-back does per effect — one closure per batch instead of one per message."""
    events = [(s.publish, conv_channel(s.conv_id), {"type": "message",
                                                   "message": message_wire(m)})
              for s, m in sent]

    async def effect() -> None:
        for publish, channel, payload in events:
            try:
                await publish(channel, payload)
            except Exception:  # a fan-out failure must not turn a stored write into an error
                log.exception("chat delivery failed after commit")

    return effect



# ---- receipts --------------------------------------------------------------------------------

_SEQ_COLUMNS = ("customer_delivered_seq", "customer_read_seq", "agent_delivered_seq",
                "agent_read_seq")


@dataclass(frozen=True)
class Receipt:
    """A delivered/read receipt from a conversation's customer or agent, on its way to the
    writer (which stores the receipts it finds queued together, with the messages)."""

    conv_id: int
    side: str  # customer | agent
    publish: Publish
    delivered: int | None = None
    read: int | None = None


async def store_receipts(session: AsyncSession, receipts: list[Receipt]
                         ) -> dict[tuple[int, str], tuple[int, int]]:
    """Receipts of any conversations in the session's transaction (flush only) with two
    statements whatever their number: one SELECT of the conversations' seqs, one UPDATE
    executemany that only ever raises them (monotonic in SQL too: a writer in another process
    cannot be moved back). The rules of `mark`: per side, a read implies delivered, and neither
    passes the conversation's last seq. One `receipt` event per conversation and side that
    moved, after commit. Returns, per (conversation, side) of the receipts, its (delivered,
    read) seqs once they are stored."""
    table = cast(Table, Conversation.__table__)
    ids = sorted({r.conv_id for r in receipts})
    rows = (await session.execute(
        select(table.c.id, table.c.last_seq, *(table.c[c] for c in _SEQ_COLUMNS))
        .where(table.c.id.in_(ids)))).all()
    state: dict[int, dict[str, int]] = {r.id: dict(r._mapping) for r in rows}
    now, moved = plan_receipts(receipts, state)
    if not moved:
        return now
    raise_to = {c: case((table.c[c] < bindparam(f"new_{c}"), bindparam(f"new_{c}")),
                        else_=table.c[c]) for c in _SEQ_COLUMNS}
    await session.execute(
        update(table).where(table.c.id == bindparam("conv_id")).values(raise_to),
        [{"conv_id": cid, **{f"new_{c}": state[cid][c] for c in _SEQ_COLUMNS}}
         for cid in sorted({cid for cid, _side in moved})])
    after_commit(session, receipts_effect(state, moved))
    return now


ReceiptMoves = dict[tuple[int, str], Publish]
# A side's (delivered, read) columns.
_SIDE_SEQS = {side: (f"{side}_delivered_seq", f"{side}_read_seq")
              for side in ("customer", "agent")}


def plan_receipts(receipts: list[Receipt], state: dict[int, dict[str, int]]
                  ) -> tuple[dict[tuple[int, str], tuple[int, int]], ReceiptMoves]:
    """Apply the receipts to `state` (per conversation id: its ``last_seq`` and the four
    seqs, as read in the transaction) by the rules of `mark`: per side, a read implies
    delivered, and neither passes the conversation's last seq, and neither goes back.
    Returns, per (conversation, side) of the receipts, its (delivered, read) seqs then, and
    the (conversation, side) pairs that moved (with the publisher of their event)."""
    moved: ReceiptMoves = {}
    for r in receipts:
        seqs = state.get(r.conv_id)
        columns = _SIDE_SEQS.get(r.side)
        if seqs is None or columns is None:
            continue
        top = seqs["last_seq"]
        d_col, r_col = columns
        delivered, read = r.delivered, r.read
        if read is not None:
            capped = read if read < top else top
            if seqs[r_col] < capped:
                seqs[r_col] = capped
                delivered = read if delivered is None or delivered < read else delivered
                moved[(r.conv_id, r.side)] = r.publish
        if delivered is not None:
            capped = delivered if delivered < top else top
            if seqs[d_col] < capped:
                seqs[d_col] = capped
                moved[(r.conv_id, r.side)] = r.publish
    now: dict[tuple[int, str], tuple[int, int]] = {}
    for r in receipts:
        seqs = state.get(r.conv_id)
        columns = _SIDE_SEQS.get(r.side)
        if seqs is not None and columns is not None:
            now[(r.conv_id, r.side)] = (seqs[columns[0]], seqs[columns[1]])
    return now, moved


def receipts_effect(state: dict[int, dict[str, int]], moved: ReceiptMoves
                    ) -> Callable[[], Awaitable[None]]:
    """One `receipt` event per (conversation, side) that moved, published after commit."""
    events = [(publish, conv_channel(cid), {
        "type": "receipt", "conversation_id": cid, "by": side,
        "delivered": state[cid][_SIDE_SEQS[side][0]],
        "read": state[cid][_SIDE_SEQS[side][1]]}) for (cid, side), publish in moved.items()]

    async def effect() -> None:
        for publish, channel, event in events:
            await publish(channel, event)

    return effect
