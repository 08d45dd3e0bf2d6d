"""Historical chat transcripts: one row per message, grouped into conversations by the source
system's conversation reference.

Imported messages are real messages of closed conversations, marked ``screening_status =
"imported"`` (they were never screened here) with the source's decision (``allow`` unless given),
and each gets its own ``chat.message`` ledger entry like a live message — so the ledger's row
cross-check holds, evidence packs include them, and retro-screening (`governance/retro.py`, which
screens allowed text messages of a date range) flags what the policy in force finds in them.
The source's references (conversation, message, and the source ledger entry's hash when the file
comes from a Probity export) are kept in ``import_keys``: a second import finds them and changes
nothing; a message whose text differs from the one imported is a row error (messages are never
edited).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import String, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Perm
from probity.imports.engine import ImportContext
from probity.imports.registry import Field, ImportKind, Row, register_kind, stream_rows
from probity.imports.registry import parsers as p
from probity.ledger.facts import message_payload
from probity.ledger.service import append_entries
from probity.models import (
    Conversation,
    ConversationStatus,
    Customer,
    Employee,
    ImportKey,
    LedgerEntry,
    LedgerRef,
    Message,
    MessageKind,
    OrgUnit,
    User,
)

SEP = "\x1f"


def _msg_key(conv: str, msg: str) -> str:
    return f"{conv}{SEP}{msg}"


async def _keys(ctx: ImportContext, kind: str, keys: list[str]) -> dict[str, Any]:
    return await ctx.lookup(ImportKey.external_key, keys, ImportKey.target_id,
                            ImportKey.original_ref,
                            where=(ImportKey.tenant_id == ctx.tenant_id) & (ImportKey.kind == kind))


async def resolve_transcripts(ctx: ImportContext, rows: list[Row]) -> None:
    t = ctx.tenant_id
    convs = await _keys(ctx, "conversation", [r["conversation_ref"] for _, r in rows])
    msgs = await _keys(ctx, "message", [_msg_key(r["conversation_ref"], r["message_ref"])
                                        for _, r in rows])
    bodies: dict[int, str] = {}
    ids = [m.target_id for m in msgs.values()]
    for i in range(0, len(ids), 2000):
        bodies.update(dict((await ctx.session.execute(select(Message.id, Message.body).where(
            Message.id.in_(ids[i:i + 2000])))).all()))
    units = dict((await ctx.session.execute(select(OrgUnit.code, OrgUnit.id).where(
        OrgUnit.tenant_id == t))).all())
    customers = await ctx.lookup(Customer.customer_no, (r["customer_no"] for _, r in rows),
                                 Customer.id, where=Customer.tenant_id == t)
    agents = await ctx.lookup(Employee.employee_no,
                              (r["agent_employee_no"] for _, r in rows
                               if r.get("agent_employee_no")), Employee.id,
                              where=Employee.tenant_id == t)
    users = dict((await ctx.session.execute(select(User.employee_id, User.id).where(
        User.employee_id.in_([a.id for a in agents.values()])))).all()) if agents else {}
    head: dict[str, dict[str, Any]] = {}
    new_customers: dict[str, str] = {}
    for n, r in rows:
        ref = r["conversation_ref"]
        key = _msg_key(ref, r["message_ref"])
        if key in msgs:
            if bodies.get(msgs[key].target_id) == r["body"]:
                ctx.plan.same()
            else:
                ctx.plan.error(n, "body", "Differs from the imported message {key}; messages "
                               "are never changed.", key=r["message_ref"])
            continue
        unit = units.get(r["team_code"])
        if unit is None:
            ctx.plan.error(n, "team_code", "Unknown org unit {code}.", code=r["team_code"])
            continue
        cust = customers.get(r["customer_no"])
        if cust is None and r["customer_no"] not in new_customers:
            if not r.get("customer_name"):
                ctx.plan.error(n, "customer_no", "Unknown customer {code} (give customer_name "
                               "to create it).", code=r["customer_no"])
                continue
            new_customers[r["customer_no"]] = r["customer_name"]
        agent = agents.get(r["agent_employee_no"]) if r.get("agent_employee_no") else None
        if r.get("agent_employee_no") and agent is None:
            ctx.plan.error(n, "agent_employee_no", "Unknown employee {code}.",
                           code=r["agent_employee_no"])
            continue
        conv = {"org_unit_id": unit, "customer_no": r["customer_no"],
                "agent_employee_id": agent.id if agent else None}
        first = head.setdefault(ref, conv)
        if first != conv:
            ctx.plan.error(n, "conversation_ref", "The rows of conversation {ref} disagree on "
                           "its team, customer or agent.", ref=ref)
            continue
        if r["sender_role"] == "agent" and agent is None:
            ctx.plan.error(n, "agent_employee_no", "An agent's message needs the agent.")
            continue
        sender = users.get(agent.id) if agent is not None and r["sender_role"] == "agent" else None
        ctx.plan.insert(n, {"_conv": ref, "_key": key, "_n": n, "_original": r.get(
            "original_hash") or None, "sender_role": r["sender_role"],
            "sender_employee_id": agent.id if agent and r["sender_role"] == "agent" else None,
            "sender_user_id": sender, "kind": MessageKind(r["kind"]), "body": r["body"],
            "decision": r["decision"], "created_at": r["sent_at"],
            "client_id": "import:" + r["message_ref"]}, show=r)
    ctx.state.update(convs=convs, head=head, new_customers=new_customers, users=users)
    if new_customers:
        ctx.plan.extra["new_customers"] = len(new_customers)
    ctx.plan.extra["conversations"] = len({r["_conv"] for r in ctx.plan.inserts} - set(convs))


async def apply_transcripts(ctx: ImportContext) -> None:
    s, t = ctx.session, ctx.tenant_id
    run_id = ctx.run.id if ctx.run else None
    new_customers: dict[str, str] = ctx.state["new_customers"]
    await ctx.insert(Customer, [{"tenant_id": t, "customer_no": no, "name": name}
                                for no, name in new_customers.items()])
    customers = await ctx.lookup(Customer.customer_no, [h["customer_no"] for h in
                                                        ctx.state["head"].values()],
                                 Customer.id, where=Customer.tenant_id == t)
    by_conv: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in ctx.plan.inserts:
        by_conv[r["_conv"]].append(r)
    existing: dict[str, Any] = ctx.state["convs"]
    conv_rows: dict[str, Conversation] = {}
    if existing:
        for c in (await s.scalars(select(Conversation).where(Conversation.id.in_(
                [k.target_id for k in existing.values()])))).all():
            ref = next(r for r, k in existing.items() if k.target_id == c.id)
            conv_rows[ref] = c
    agents_user = ctx.state["users"]
    fresh: list[Conversation] = []
    for ref, items in by_conv.items():
        items.sort(key=lambda r: (r["created_at"], r["_n"]))
        if ref in conv_rows:
            continue
        h = ctx.state["head"][ref]
        c = Conversation(
            tenant_id=t, org_unit_id=h["org_unit_id"],
            customer_id=customers[h["customer_no"]].id,
            agent_employee_id=h["agent_employee_id"],
            agent_user_id=agents_user.get(h["agent_employee_id"]),
            status=ConversationStatus.closed, created_at=items[0]["created_at"],
            assigned_at=items[0]["created_at"], closed_at=items[-1]["created_at"], last_seq=0)
        conv_rows[ref] = c
        fresh.append(c)
    s.add_all(fresh)
    await s.flush()
    keys = [{"tenant_id": t, "kind": "conversation", "external_key": ref,
             "target_id": conv_rows[ref].id, "run_id": run_id} for ref in by_conv
            if ref not in existing]
    messages: list[tuple[Message, dict[str, Any]]] = []
    for ref, items in by_conv.items():
        c = conv_rows[ref]
        for r in items:
            c.last_seq += 1
            m = Message(conversation_id=c.id, tenant_id=t, seq=c.last_seq,
                        screening_status="imported", categories=[], severity=0, spans=[],
                        policy_version=0, **{k: v for k, v in r.items()
                                             if not k.startswith("_")})
            messages.append((m, r))
        c.customer_delivered_seq = c.customer_read_seq = c.last_seq
        c.agent_delivered_seq = c.agent_read_seq = c.last_seq
    s.add_all([m for m, _ in messages])
    await s.flush()
    # Each message is ledgered like a live one (salted: retention may purge its text).
    await append_entries(s, t, [("chat.message", message_payload(m)) for m, _ in messages],
                         purgeable=True)
    keys += [{"tenant_id": t, "kind": "message", "external_key": r["_key"], "target_id": m.id,
              "run_id": run_id, "original_ref": r["_original"]} for m, r in messages]
    await ctx.insert(ImportKey, keys)


async def export_transcripts(session: AsyncSession, tenant_id: int
                             ) -> AsyncIterator[dict[str, Any]]:
    """One streamed join (messages with their conversation's team, customer and agent, and
    the hash of their ``chat.message`` entry), so a tenant's history is never held at once."""
    original = (select(LedgerEntry.entry_hash).join(
        LedgerRef, (LedgerRef.tenant_id == LedgerEntry.tenant_id)
        & (LedgerRef.seq == LedgerEntry.seq))
        .where(LedgerRef.tenant_id == tenant_id, LedgerRef.ref_type == "message",
               LedgerRef.ref_id == cast(Message.id, String),
               LedgerEntry.type == "chat.message")
        .order_by(LedgerEntry.seq.desc()).limit(1).scalar_subquery())
    q = (select(Message.conversation_id, Message.seq, OrgUnit.code, Customer.customer_no,
                Employee.employee_no, Message.created_at, Message.sender_role, Message.kind,
                Message.body, Message.decision, original.label("original_hash"))
         .join(Conversation, Conversation.id == Message.conversation_id)
         .outerjoin(OrgUnit, OrgUnit.id == Conversation.org_unit_id)
         .outerjoin(Customer, Customer.id == Conversation.customer_id)
         .outerjoin(Employee, Employee.id == Conversation.agent_employee_id)
         .where(Message.tenant_id == tenant_id, Message.recalled_at.is_(None))
         .order_by(Message.id))
    async for m in stream_rows(session, q):
        yield {"conversation_ref": str(m.conversation_id), "message_ref": str(m.seq),
               "team_code": m.code, "customer_no": m.customer_no,
               "agent_employee_no": m.employee_no, "sent_at": m.created_at.isoformat(),
               "sender_role": m.sender_role, "kind": m.kind.value, "body": m.body,
               "decision": m.decision, "original_hash": m.original_hash}


register_kind(ImportKind(
    name="transcripts", title="Chat transcripts", perm=Perm.records_manage,
    key=("conversation_ref", "message_ref"), order=110, max_rows=500_000, fields=(
        Field("conversation_ref", p.text(100), aliases=("会话编号", "会话ID", "conversation")),
        Field("message_ref", p.text(56), aliases=("消息编号", "消息ID", "message")),
        Field("team_code", p.text(32), aliases=("团队编码", "team")),
        Field("customer_no", p.text(32), aliases=("客户编号", "customer")),
        Field("customer_name", p.text(100), required=False, aliases=("客户姓名",)),
        Field("agent_employee_no", p.text(32), required=False, aliases=("客服工号", "agent")),
        Field("sent_at", p.instant(), aliases=("发送时间", "time")),
        Field("sender_role", p.choice(("customer", "agent", "system")),
              aliases=("发送方", "sender")),
        Field("kind", p.choice(k.value for k in MessageKind), required=False, default="text",
              aliases=("消息类型",)),
        Field("body", p.body(), aliases=("内容", "消息内容", "text")),
        Field("decision", p.choice(("allow", "warn", "block")), required=False,
              default="allow", aliases=("筛查结果",)),
        Field("original_hash", p.text(64), required=False, aliases=("原哈希",)),
    ),
    resolve=resolve_transcripts, apply=apply_transcripts, export=export_transcripts))
