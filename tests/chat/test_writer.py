"""The send path's database work: a fixed number of statements per batch, whatever its size
(DESIGN: tests that pin query counts on hot paths), and the group-commit writer's guarantees —
ack after commit, per-conversation seq order, idempotent resends, a closed conversation failing
alone, deliveries after commit in seq order."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, event, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from tests.chat.conftest import sign_in
from tests.chat.helpers import active_conversation

from probity.auth.deps import commit
from probity.chat.conversations import Participant, mark
from probity.chat.send import prepare_send
from probity.chat.store import PendingSend, Receipt, store_messages, store_receipts
from probity.chat.wire import ALERTS_CHANNEL, conv_channel
from probity.chat.writer import MessageWriter
from probity.db import make_engine, sync_url
from probity.errors import Conflict
from probity.ledger.service import verify_tenant
from probity.models import (
    Alert,
    Conversation,
    ConversationStatus,
    Customer,
    LedgerEntry,
    Message,
    RoleAssignment,
    User,
)
from probity.models import Role as R
from probity.models.base import utcnow
from probity.monitoring import enforce

BLOCKED = "加我vx abc12345，私下聊"
# How long a test waits for the writer's own checkpointer thread: on time, not on a count of
# messages, so a loaded machine that schedules the thread late does not fail the test.
_SETTLE_S = 30.0


class Published:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, channel: str, event: dict[str, Any]) -> None:
        self.events.append((channel, event))

    def delivered(self, conv_id: int) -> list[int]:
        return [e["message"]["seq"] for ch, e in self.events
                if ch == conv_channel(conv_id) and e["type"] == "message"]


@contextlib.contextmanager
def statements(session: AsyncSession) -> Iterator[list[str]]:
    """Every statement the session's connection sends while the block runs."""
    seen: list[str] = []
    # On the connection itself: a listener added to the engine after the connection was made
    # is not told about executemany batches.
    target = session.bind.sync_connection  # type: ignore[union-attr]

    def hook(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.startswith(("SAVEPOINT", "RELEASE")):  # the test's own transaction
            seen.append(" ".join(statement.split()[:3]) + ("" if "ledger" not in statement
                                                            else " (ledger)"))

    event.listen(target, "before_cursor_execute", hook)
    try:
        yield seen
    finally:
        event.remove(target, "before_cursor_execute", hook)


def _cache_refresh(statement: str) -> bool:
    """The analytics hook's per-process cache refreshes (at most every few seconds or minutes
    per process: the monitoring rules, a tenant's display zone)."""
    return statement.startswith("SELECT monitoring_rules.") or "settings_versions" in statement \
        or statement.startswith("SELECT tenants.timezone")


async def _participants(db: AsyncSession, conv_id: int) -> tuple[Participant, Participant]:
    conv = await db.get(Conversation, conv_id)
    assert conv is not None
    return (Participant("customer", conv.customer_user_id, None, None),
            Participant("agent", conv.agent_user_id, conv.agent_employee_id, None))


async def test_statements_per_batch_do_not_grow_with_the_batch(as_user: Any, db: AsyncSession,
                                                               dialect: str) -> None:
    c1, _ = await active_conversation(as_user)
    c2, _ = await active_conversation(as_user)
    pub = Published()
    who1, agent1 = await _participants(db, c1)
    who2, agent2 = await _participants(db, c2)

    async def send(conv_id: int, who: Participant, text: str, cid: str) -> PendingSend:
        return await prepare_send(conv_id, who, pub, text=text, client_id=cid)

    # Prime: the tenant's ledger head and a fresh checkpoint exist.
    await store_messages(db, [await send(c1, who1, "你好", "prime")])
    await commit(db)

    # Per batch, the chat's own statements: one UPDATE … RETURNING (the seqs of every
    # conversation), one SELECT (resends), one INSERT (the messages). The ledger adds its own,
    # per tenant and batch: head SELECT, entries INSERT, refs INSERT (the ledger_refs index),
    # checkpoint SELECT, and on PostgreSQL the advisory append lock. The old path spent 8 (9 on
    # PostgreSQL) on EACH message: the conversation re-read, resend SELECT, seq UPDATE, INSERT,
    # ledger head/INSERT/checkpoint, BEGIN/COMMIT.
    chat_statements = ["UPDATE conversations SET",
                       "SELECT messages.id, messages.conversation_id,",
                       "INSERT INTO messages"]
    ledger_most = 5 if dialect == "postgresql" else 4
    # The analytics hook (probity.analytics.rollup.record_batch, one call per batch) adds two
    # grouped upserts (hourly rollups and the dashboards' cube); its per-process caches (tenant
    # zone, agents' hire dates and rota, monitoring rules) are primed by the batch above and
    # counted apart.
    await store_messages(db, [await send(c2, agent2, "您好", "prime2")])
    await commit(db)
    analytics = "INSERT INTO analytics_rollup_"
    # On SQLite the two upserts go straight to the driver in one hop
    # (probity.analytics.rollup._sqlite_upserts), which tells the cursor-event listeners.
    upserts = 2

    def own(seen: list[str]) -> list[str]:
        return [x for x in seen if "ledger" not in x and "pg_advisory" not in x
                and not x.startswith(analytics) and not _cache_refresh(x)]

    one = [await send(c1, who1, "请问订单什么时候发货？", "one")]
    with statements(db) as seen:
        (outcome,) = await store_messages(db, one)
    assert sum(x.startswith(analytics) for x in seen) == upserts
    seen[:] = [x for x in seen if not _cache_refresh(x)]
    assert own(seen) == chat_statements
    assert len(seen) - len(chat_statements) - upserts <= ledger_most, seen
    assert not isinstance(outcome, BaseException) and outcome[1] is False
    await commit(db)
    per_message = len(seen)

    many = [await send(c, w, f"第{i}条", f"b{i}")
            for i, (c, w) in enumerate([(c1, who1), (c2, agent2), (c1, agent1), (c2, who2)] * 5)]
    with statements(db) as seen:
        outcomes = await store_messages(db, many)
    assert sum(x.startswith(analytics) for x in seen) == upserts
    seen[:] = [x for x in seen if not _cache_refresh(x)]
    assert own(seen) == chat_statements
    assert len(seen) == per_message, seen  # 20 messages, two conversations: the same count
    await commit(db)
    stored = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(stored) == 20 and not any(dup for _m, dup in stored)
    # Seqs follow on, without gaps, in batch order per conversation.
    seqs1 = [m.seq for m, _ in stored if m.conversation_id == c1]
    seqs2 = [m.seq for m, _ in stored if m.conversation_id == c2]
    assert seqs1 == list(range(3, 13)) and seqs2 == list(range(2, 12))  # c2's 1: the prime
    # Delivered only after the commit, in seq order.
    assert pub.delivered(c1) == [1, 2, *range(3, 13)] and pub.delivered(c2) == [1, *seqs2]

    # Blocked messages add their alerts: one INSERT for the alerts, one for their ledger entries;
    # then each alert joins or opens a case (statements per alert: alerts are the rare case).
    mixed = [await send(c1, who1, BLOCKED, "x1"), await send(c2, who2, "好的", "x2"),
             await send(c2, who2, BLOCKED, "x3")]
    with statements(db) as seen:
        outcomes = await store_messages(db, mixed)
    chat_part = own(seen)
    assert chat_part[:4] == [*chat_statements, "INSERT INTO alerts"]
    assert any(x.startswith("INSERT INTO case_alerts") for x in chat_part[4:])
    await commit(db)
    blocked = [m for m, _ in outcomes if m.decision == "block"]  # type: ignore[misc]
    assert len(blocked) == 2
    alerts = (await db.scalars(select(Alert).where(
        Alert.message_id.in_([m.id for m in blocked])))).all()
    assert len(alerts) == 2
    assert 13 not in pub.delivered(c1), "a blocked message is never delivered"
    assert sum(1 for ch, _ in pub.events if ch == ALERTS_CHANNEL) == 2
    conv1 = await db.get(Conversation, c1, populate_existing=True)
    assert conv1 is not None
    tenant = conv1.tenant_id
    kinds = (await db.scalars(select(LedgerEntry.type).where(
        LedgerEntry.tenant_id == tenant, ~LedgerEntry.type.startswith("case."),
        LedgerEntry.type != "audit.entry")
        .order_by(LedgerEntry.seq.desc()).limit(5))).all()
    assert list(kinds) == ["alert.raised", "alert.raised", "chat.message", "chat.message",
                           "chat.message"]
    assert (await verify_tenant(db, tenant)).ok


async def test_a_chat_message_maintains_only_the_indexes_its_queries_use(
        db: AsyncSession) -> None:
    """Every index on `messages` is a B-tree insert per message and pages in the writer's
    commit (issue 17). The unique keys (seq order, resends), the tenant's and the flagged
    messages' partial indexes are read by queries; the sender employee's was read by none and
    is gone (migration 0037). An index added here needs a query that reads it."""
    def indexes(sync: Session) -> set[str]:
        from sqlalchemy import inspect

        found = inspect(sync.connection())
        names = {str(ix["name"]) for ix in found.get_indexes("messages")}
        return names | {str(uq["name"]) for uq in found.get_unique_constraints("messages")}

    names = await db.run_sync(indexes)
    assert "ix_messages_sender_employee_id" not in names
    assert names == {"uq_messages_client_id", "uq_messages_conversation_id",
                     "ix_messages_tenant_id", "ix_messages_flagged_conversation",
                     "ix_messages_flagged_tenant"}, names


async def test_resends_and_closed_conversations_in_a_batch(as_user: Any,
                                                           db: AsyncSession) -> None:
    c1, _ = await active_conversation(as_user)
    c2, _ = await active_conversation(as_user)
    pub = Published()
    who1, _a1 = await _participants(db, c1)
    who2, _a2 = await _participants(db, c2)
    first = await store_messages(db, [await prepare_send(c1, who1, pub, text="一", client_id="k1")])
    await commit(db)
    m1, _ = first[0]  # type: ignore[misc]

    await db.execute(update(Conversation).where(Conversation.id == c2)
                     .values(status=ConversationStatus.closed))
    batch = [
        await prepare_send(c1, who1, pub, text="一", client_id="k1"),   # resent: stored before
        await prepare_send(c1, who1, pub, text="二", client_id="k2"),
        await prepare_send(c2, who2, pub, text="三", client_id="k3"),   # its conversation closed
        await prepare_send(c1, who1, pub, text="二", client_id="k2"),   # twice in the batch
        await prepare_send(c1, who1, pub, text="四"),                   # no client_id
    ]
    out = await store_messages(db, batch)
    await commit(db)
    assert out[0][0].id == m1.id and out[0][1] is True  # type: ignore[index]
    assert isinstance(out[2], Conflict) and out[2].code == "closed"
    m2, dup2 = out[1]  # type: ignore[misc]
    assert dup2 is False and m2.seq == 2
    assert out[3][0] is m2 and out[3][1] is True  # type: ignore[index]
    assert out[4][0].seq == 3  # type: ignore[index]
    # The seqs the resends did not use were given back: no gap.
    conv = await db.get(Conversation, c1, populate_existing=True)
    assert conv is not None and conv.last_seq == 3
    assert pub.delivered(c1) == [1, 2, 3]
    assert await db.scalar(select(Message.id).where(Message.conversation_id == c2)) is None


async def test_receipts_in_two_statements_whatever_their_number(as_user: Any,
                                                                 db: AsyncSession) -> None:
    """Receipts are batched like messages: one SELECT and one UPDATE (executemany) for any
    number of them; per side, seqs only rise, a read implies delivered, and neither passes the
    conversation's last seq; one receipt event per conversation and side that moved."""
    c1, _ = await active_conversation(as_user)
    c2, _ = await active_conversation(as_user)
    pub = Published()
    who1, agent1 = await _participants(db, c1)
    who2, _agent2 = await _participants(db, c2)
    await store_messages(db, [await prepare_send(c, w, pub, text=f"消息{i}")
                              for i, (c, w) in enumerate([(c1, who1), (c1, agent1)] * 3
                                                         + [(c2, who2)] * 2)])
    await commit(db)  # c1: seqs 1..6, c2: 1..2
    pub.events.clear()
    receipts = [Receipt(c1, "customer", pub, delivered=2), Receipt(c1, "customer", pub, read=4),
                Receipt(c1, "customer", pub, delivered=3),  # lower than the read: no change
                Receipt(c1, "agent", pub, delivered=99),    # past the last seq: 6
                Receipt(c2, "customer", pub, read=1), Receipt(c2, "customer", pub, read=1),
                *(Receipt(c2, "agent", pub, delivered=n) for n in (1, 2, 1))]
    with statements(db) as seen:
        await store_receipts(db, receipts)
    assert seen == ["SELECT conversations.id, conversations.last_seq,",
                    "UPDATE conversations SET"], seen
    with statements(db) as seen:
        await store_receipts(db, [Receipt(c1, "customer", pub, read=1)])  # moves nothing
    assert seen == ["SELECT conversations.id, conversations.last_seq,"]
    await commit(db)
    conv1 = await db.get(Conversation, c1, populate_existing=True)
    conv2 = await db.get(Conversation, c2, populate_existing=True)
    assert conv1 is not None and conv2 is not None
    assert (conv1.customer_delivered_seq, conv1.customer_read_seq) == (4, 4)
    assert (conv1.agent_delivered_seq, conv1.agent_read_seq) == (6, 0)
    assert (conv2.customer_delivered_seq, conv2.customer_read_seq) == (1, 1)
    assert (conv2.agent_delivered_seq, conv2.agent_read_seq) == (2, 0)
    got = sorted((e["conversation_id"], e["by"], e["delivered"], e["read"])
                 for _ch, e in pub.events if e["type"] == "receipt")
    assert got == sorted([(c1, "customer", 4, 4), (c1, "agent", 6, 0),
                          (c2, "customer", 1, 1), (c2, "agent", 2, 0)])


# ---- the writer, against a database it really commits to ---------------------------------


def _conversations(url: str, n: int) -> list[tuple[int, Participant, Participant]]:
    engine = create_engine(sync_url(url))
    out = []
    with Session(engine) as s:
        user, ra = s.execute(
            select(User, RoleAssignment).join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.role == R.agent, RoleAssignment.org_unit_id.is_not(None))
            .order_by(User.id).limit(1)).one()
        customer = s.scalars(select(Customer).where(Customer.tenant_id == ra.tenant_id)).first()
        assert customer is not None
        for _ in range(n):
            conv = Conversation(
                tenant_id=ra.tenant_id, org_unit_id=ra.org_unit_id, customer_id=customer.id,
                guest_token_hash=hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
                agent_user_id=user.id, agent_employee_id=user.employee_id,
                status=ConversationStatus.active, assigned_at=utcnow(), last_seq=0,
                customer_delivered_seq=0, customer_read_seq=0, agent_delivered_seq=0,
                agent_read_seq=0)
            s.add(conv)
            s.flush()
            out.append((conv.id, Participant("customer", None, None, None),
                        Participant("agent", user.id, user.employee_id, None)))
        s.commit()
    engine.dispose()
    return out


async def test_writer_batches_concurrent_sends_in_seq_order(chat_db_url: str) -> None:
    convs = _conversations(chat_db_url, 5)
    closed_id, *_ = _conversations(chat_db_url, 1)[0]
    pub = Published()
    writer = MessageWriter(chat_db_url)
    engine = make_engine(chat_db_url)
    try:
        async with AsyncSession(engine) as s:
            await s.execute(update(Conversation).where(Conversation.id == closed_id)
                            .values(status=ConversationStatus.closed))
            await s.commit()
        sends = []
        for i in range(120):
            conv_id, customer, agent = convs[i % len(convs)]
            who = customer if i % 2 else agent
            text = BLOCKED if i % 40 == 7 else f"消息 {i}"
            sends.append(await prepare_send(conv_id, who, pub, text=text, client_id=f"w{i}"))
        refused = await prepare_send(closed_id, convs[0][1], pub, text="在吗", client_id="z")
        results = await asyncio.gather(*(writer.submit(s) for s in sends),
                                       writer.submit(refused), return_exceptions=True)
        assert isinstance(results[-1], Conflict)
        stored = results[:-1]
        assert all(isinstance(r, tuple) and r[1] is False for r in stored)
        # Batched: far fewer transactions than messages.
        assert writer.messages == 121 and writer.batches < writer.messages
        # Per conversation, seqs are 1..n in the order the sends were submitted, and delivered
        # (after commit) in that order; blocked ones are acked but never delivered.
        for conv_id, *_ in convs:
            mine = [r[0] for r in stored if r[0].conversation_id == conv_id]  # type: ignore[index]
            assert [m.seq for m in mine] == list(range(1, len(mine) + 1))
            assert pub.delivered(conv_id) == [m.seq for m in mine if m.decision != "block"]
        # A resend after the fact returns the stored message.
        again = await writer.submit(await prepare_send(convs[0][0], convs[0][2], pub,
                                                       text="消息 0", client_id="w0"))
        assert again[1] is True and again[0].id == stored[0][0].id  # type: ignore[index]
        # Other chat writes run through the same writer, in their own transactions.
        conv_id, _customer, agent = convs[0]

        async def receipt(session: AsyncSession) -> int:
            conv = await session.get(Conversation, conv_id)
            assert conv is not None
            await mark(session, conv, agent, pub, read=2)
            return conv.agent_read_seq

        assert await writer.run(receipt) == 2
        assert pub.events[-1][1]["type"] == "receipt"
        # Socket receipts are queued and stored with whatever else is queued (messages, other
        # receipts) in one transaction; each future resolves after its commit.
        results = await asyncio.gather(
            writer.submit(await prepare_send(conv_id, agent, pub, text="还在吗", client_id="r1")),
            *(writer.receipt(Receipt(conv_id, "customer", pub, read=n)) for n in (1, 3, 2)))
        # Each receipt's future gets its side's seqs once stored (the HTTP endpoint's answer).
        assert results[0][1] is False and results[2:] == [(3, 3), (3, 3)]
        assert results[1] in ((1, 1), (3, 3))
        assert writer.receipts == 3
        receipts = [e for _ch, e in pub.events if e["type"] == "receipt"]
        assert receipts[-1] == {"type": "receipt", "conversation_id": conv_id,
                                "by": "customer", "delivered": 3, "read": 3}
        async with AsyncSession(engine) as s:
            tenant = await s.scalar(select(Conversation.tenant_id)
                                    .where(Conversation.id == conv_id))
            assert tenant is not None
            assert (await verify_tenant(s, tenant)).ok
            assert await s.scalar(select(Message.id).where(
                Message.conversation_id == closed_id)) is None
    finally:
        await writer.close()
        await engine.dispose()


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "session"])
async def test_the_writer_spends_the_same_statements_on_a_batch_of_any_size(
        writer_url: str, direct: bool) -> None:
    """Issue 17: the writer's transaction for one message and for sixty (of eight
    conversations, both sides) sends the same statements, one of each kind — executemany or
    multi-row, never one per message — on the direct path (the bare driver, what the writer
    uses for batches without alerts) and on the session path alike, on SQLite and
    PostgreSQL."""
    enforce.reset()  # no monitoring rules cached by an earlier test
    convs = _conversations(writer_url, 8)
    pub = Published()
    writer = MessageWriter(writer_url, direct=direct)
    try:
        # Prime: the thread and its connection, the ledger head, a checkpoint, the analytics
        # hook's per-process caches (all outside what is counted).
        for conv_id, customer, agent in convs:
            await writer.submit(await prepare_send(conv_id, customer, pub, text="您好",
                                                   client_id=f"p{conv_id}"))
            await writer.submit(await prepare_send(conv_id, agent, pub, text="您好，请讲",
                                                   client_id=f"q{conv_id}"))
        assert writer._engine is not None
        target = writer._engine.sync_engine
        per_batch: list[list[str]] = [[]]

        def counted(statement: str) -> bool:
            return not _cache_refresh(statement) and "ledger_checkpoints" not in statement

        def kind(statement: str) -> str:
            # On PostgreSQL the ledger rows of a batch of service.PG_COPY_MIN entries or more
            # go by COPY: that is the table's one INSERT.
            words = statement.split()
            return " ".join(["INSERT", "INTO", words[1]] if words[0] == "COPY" else words[:3])

        def hook(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if counted(statement):
                per_batch[-1].append(kind(statement))

        def committed(_conn: Any) -> None:
            per_batch.append([])

        def ran(run: list[tuple[str, Any]]) -> None:  # the direct path: one call per batch
            per_batch[-1].extend(kind(sql) for sql, _params in run if counted(sql))
            per_batch.append([])

        if direct:
            assert writer._direct is not None
            writer._direct.on_statements = ran
        event.listen(target, "before_cursor_execute", hook)
        event.listen(target, "commit", committed)
        direct_before = writer.direct_batches
        try:
            await writer.submit(await prepare_send(convs[0][0], convs[0][1], pub,
                                                   text="请问订单什么时候发货？", client_id="one"))
            before = writer.largest_batch
            sends = [await prepare_send(c, customer if i % 2 else agent, pub,
                                        text=f"第{i}条消息", client_id=f"m{i}")
                     for i, (c, customer, agent) in enumerate(convs * 8)][:60]
            results = await asyncio.gather(*(writer.submit(s) for s in sends))
        finally:
            event.remove(target, "before_cursor_execute", hook)
            event.remove(target, "commit", committed)
        assert all(dup is False for _m, dup in results)
        assert writer.largest_batch > max(before, 1)  # some batch really held many messages
        batches = [b for b in per_batch if b]
        assert len(batches) >= 2
        assert all(b == batches[0] for b in batches), batches
        assert sum(x.startswith("INSERT INTO messages") for x in batches[0]) == 1
        assert len(batches[0]) <= 10, batches[0]
        if direct:  # every counted batch went the direct way (none fell back)
            assert writer.direct_batches - direct_before == len(batches)
            assert batches[0][0].startswith("UPDATE conversations SET")
            if writer.sqlite:  # the ledger head comes back with the seqs: no head SELECT
                assert not any(x.startswith("SELECT") for x in batches[0]), batches[0]
                assert len(batches[0]) <= 6, batches[0]
        else:
            assert writer.direct_batches == 0
    finally:
        await writer.close()


@pytest.fixture(scope="module")
def http_server(chat_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests.chat.conftest import run_server

    yield from run_server(chat_db_url, tmp_path_factory.mktemp("writer-http"))


def test_concurrent_http_sends_on_sqlite_all_stored(http_server: str) -> None:
    """Concurrent HTTP sends go through the process's writer: none fails with 'database is
    locked', and every seq is used exactly once."""
    agent = sign_in(http_server, "agent")
    assert agent.put("/api/v1/chat/agent/availability",
                     json={"available": True}).status_code == 200
    customer = sign_in(http_server, "customer")
    conv = customer.post("/api/v1/chat/conversations", json={}).json()["conversation"]
    cookies = dict(customer.cookies)
    csrf = customer.headers["X-CSRF-Token"]

    def post(i: int) -> httpx.Response:
        with httpx.Client(base_url=http_server, timeout=30, cookies=cookies,
                          headers={"X-CSRF-Token": csrf}) as c:
            return c.post(f"/api/v1/chat/conversations/{conv['id']}/messages",
                          json={"text": f"第{i}条", "client_id": f"h{i}"})

    with ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(post, range(48)))
    assert [r.status_code for r in responses] == [201] * 48, [r.text for r in responses
                                                             if r.status_code != 201][:3]
    assert sorted(r.json()["seq"] for r in responses) == list(range(1, 49))
    history = customer.get(f"/api/v1/chat/conversations/{conv['id']}/messages").json()
    assert [m["seq"] for m in history] == list(range(1, 49))

    # HTTP receipts take the writer's batched path too: concurrent ones all land, each
    # answers with its side's seqs once stored, monotonic and capped at the last seq.
    def receipt(n: int) -> httpx.Response:
        with httpx.Client(base_url=http_server, timeout=30, cookies=cookies,
                          headers={"X-CSRF-Token": csrf}) as c:
            return c.post(f"/api/v1/chat/conversations/{conv['id']}/receipts",
                          params={"read": n} if n % 2 else {"delivered": n})

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(receipt, [*range(1, 41), 99]))
    assert [r.status_code for r in answers] == [200] * 41, [r.text for r in answers][:3]
    for n, r in zip([*range(1, 41), 99], answers, strict=True):
        got = r.json()
        assert got["delivered"] >= min(n, 48) and got["delivered"] >= got["read"]
        assert got["delivered"] <= 48 and got["read"] <= 48
    state = customer.get(f"/api/v1/chat/conversations/{conv['id']}").json()
    assert (state["customer_delivered_seq"], state["customer_read_seq"]) == (48, 48), state


async def test_socket_receipts_are_held_for_the_next_message_and_stored_alone_otherwise(
        chat_db_url: str) -> None:
    """A socket's receipt (`receipt_soon`: nobody waits for it) shares the next message's
    transaction when one comes within the hold, and is stored on its own when none comes."""
    (conv_id, _customer, agent), = _conversations(chat_db_url, 1)
    pub = Published()
    held = MessageWriter(chat_db_url, receipt_hold_s=30.0)  # a message always comes first
    try:
        first = await held.submit(await prepare_send(conv_id, agent, pub, text="您好",
                                                     client_id="h1"))
        before = held.transactions
        soon = held.receipt_soon(Receipt(conv_id, "customer", pub, read=first[0].seq))
        await held.submit(await prepare_send(conv_id, agent, pub, text="还在吗", client_id="h2"))
        assert await soon == (1, 1)
        assert held.transactions == before + 1 and held.receipts == 1  # one transaction for both
    finally:
        await held.close()
    alone = MessageWriter(chat_db_url, receipt_hold_s=0.01)
    engine = make_engine(chat_db_url)
    try:
        soon = alone.receipt_soon(Receipt(conv_id, "customer", pub, read=2))
        assert await asyncio.wait_for(soon, 30) == (2, 2)  # no message came: stored anyway
        async with AsyncSession(engine) as s:
            conv = await s.get(Conversation, conv_id)
            assert conv is not None and conv.customer_read_seq == 2
        # Closing the writer stores a receipt still held.
        late = MessageWriter(chat_db_url, receipt_hold_s=30.0)
        pending = late.receipt_soon(Receipt(conv_id, "agent", pub, read=2))
        await asyncio.sleep(0)
        await late.close()
        assert pending.done() and pending.result() == (2, 2)
    finally:
        await alone.close()
        await engine.dispose()


async def test_the_writer_waits_for_company_only_while_items_stream_in(
        chat_db_url: str) -> None:
    """Coalescing: a lone item (a quiet server, one HTTP send) is written at once; while items
    stream in (the last `COALESCE_RECENT` arrived within `COALESCE_STREAM_S`), a short queue
    waits up to `coalesce_s` for more, and what comes meanwhile shares its transaction."""
    from probity.chat.writer import COALESCE_RECENT, COALESCE_STREAM_S, _Queued

    loop = asyncio.get_running_loop()
    idle = MessageWriter("sqlite+aiosqlite:///unused.db", coalesce_s=5.0)
    idle._pending.append(_Queued(loop.create_future(), 100.0))
    assert idle._wait_until() == 0.0  # nothing streamed before it: no wait
    idle._arrivals.extend([100.0 - 10 * COALESCE_STREAM_S] * COALESCE_RECENT)
    assert idle._wait_until() == 0.0  # items came, but too far apart
    idle._arrivals.extend([99.99] * COALESCE_RECENT)
    assert idle._wait_until() == 105.0  # streaming: wait for company

    (conv_id, _customer, agent), = _conversations(chat_db_url, 1)
    pub = Published()
    writer = MessageWriter(chat_db_url, coalesce_s=30.0)
    try:
        first = await writer.submit(await prepare_send(conv_id, agent, pub, text="您好",
                                                       client_id="c0"))
        assert first[0].seq == 1  # written at once: nothing streamed before it
        before = writer.transactions
        sends = [await prepare_send(conv_id, agent, pub, text=f"第{i}条", client_id=f"c{i}")
                 for i in range(1, 4)]
        writer._arrivals.extend([time.monotonic()] * COALESCE_RECENT)  # as under load
        one = asyncio.ensure_future(writer.submit(sends[0]))
        await asyncio.sleep(0.05)  # the first waits for company (up to 30 s) …
        assert not one.done()
        rest = [asyncio.ensure_future(writer.submit(s)) for s in sends[1:]]
        await asyncio.sleep(0)
        writer.stop_soon()  # … until there is reason not to (here: close)
        got = await asyncio.gather(one, *rest)
        assert [m.seq for m, _dup in got] == [2, 3, 4]
        assert writer.transactions == before + 1  # the three shared one transaction
    finally:
        await writer.close()


async def test_the_writer_leaves_wal_checkpoints_to_a_thread_of_their_own(
        chat_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite: the writer's COMMITs never checkpoint the WAL (its connection's
    ``wal_autocheckpoint`` is 0), so a checkpoint's copying and fsync are not paid inside a
    batch's transaction with its senders waiting; a thread of the writer's own runs a PASSIVE
    checkpoint while the writer commits (and, past `WAL_RESET_PAGES`, a second one under the
    process's write gate, which it gives back), and one last when the writer stops."""
    from probity.chat import writer as writer_module

    monkeypatch.setattr(writer_module, "WAL_CHECKPOINT_S", 0.0)  # one after every commit
    monkeypatch.setattr(writer_module, "WAL_RESET_PAGES", 1)  # and one more under the gate
    (conv_id, _customer, agent), = _conversations(chat_db_url, 1)
    pub = Published()
    writer = MessageWriter(chat_db_url)
    try:
        await writer.submit(await prepare_send(conv_id, agent, pub, text="您好",
                                               client_id="wal0"))
        assert writer._direct is not None and writer._checkpointer is not None
        con = writer._direct.con  # type: ignore[attr-defined]
        assert con.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0  # default 1,000
        checkpointer = writer._checkpointer
        i = 0
        deadline = time.monotonic() + _SETTLE_S  # the checkpointer's thread runs on its own
        while not checkpointer.gated and time.monotonic() < deadline:  # time (a loaded
            i += 1                                                      # machine: seconds)
            await writer.submit(await prepare_send(conv_id, agent, pub, text=f"第{i}条",
                                                   client_id=f"wal{i}"))
            await asyncio.sleep(0.01)
        assert checkpointer.checkpoints >= 2 and checkpointer.gated >= 1
        assert checkpointer.last is not None  # (busy, WAL pages, pages checkpointed)
        # The gate was given back: the writer still commits.
        await writer.submit(await prepare_send(conv_id, agent, pub, text="最后一条",
                                               client_id="wal-last"))
    finally:
        await writer.close()
    assert writer._checkpointer is None and not checkpointer._thread.is_alive()


async def _until(done: Callable[[], bool], deadline: float) -> None:
    """Wait (polling: the checkpointer's thread has no event to await) until `done` or the
    deadline."""
    while not done() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)


async def test_the_gated_checkpoint_waits_for_the_writers_turn_of_other_processes(
        chat_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite: the checkpointer's RESTART blocks every writer of the file while it runs, so it
    takes the writers' turn (`WritersTurn`) as a chat writer does: while another process's
    writer holds the turn it waits for it, and the writers of other processes wait for it in
    the kernel (woken when it gives the turn back) instead of in SQLite's busy handler (sleeps
    of up to 100 ms, each holding its own turn). A PASSIVE checkpoint blocks no writer and
    takes no turn."""
    from probity.chat import writer as writer_module
    from probity.chat.direct import WritersTurn

    monkeypatch.setattr(writer_module, "WAL_CHECKPOINT_S", 0.0)  # one after every commit
    monkeypatch.setattr(writer_module, "WAL_RESET_PAGES", 1)  # and one more under the gate
    (conv_id, _customer, agent), = _conversations(chat_db_url, 1)
    database = make_url(chat_db_url).database
    assert database is not None
    pub = Published()
    writer = MessageWriter(chat_db_url)
    other = WritersTurn(database)  # another process's writer: its own open file
    try:
        await writer.submit(await prepare_send(conv_id, agent, pub, text="您好",
                                               client_id="turn0"))
        checkpointer = writer._checkpointer
        assert checkpointer is not None
        deadline = time.monotonic() + _SETTLE_S  # the checkpointer's thread runs on its own
        await _until(lambda: checkpointer.gated > 0, deadline)  # time (a loaded machine)
        assert checkpointer.gated >= 1  # the WAL has pages: each checkpoint is followed by one
        await asyncio.sleep(0.2)  # the thread has gone back to waiting for the next one
        gated, checkpoints = checkpointer.gated, checkpointer.checkpoints
        other.take()
        try:
            checkpointer.committed()  # ask for one (WAL_CHECKPOINT_S is 0)
            await _until(lambda: checkpointer.checkpoints > checkpoints, deadline)
            assert checkpointer.checkpoints > checkpoints  # the PASSIVE one ran
            await asyncio.sleep(0.3)
            assert checkpointer.gated == gated  # the RESTART waits for the turn
            assert checkpointer.gate.holder is not None  # (holding this process's gate)
        finally:
            other.give_back()
        await _until(lambda: checkpointer.gated > gated, deadline)
        assert checkpointer.gated == gated + 1  # given the turn, it ran
        await _until(lambda: checkpointer.gate.holder is None, deadline)
        assert checkpointer.gate.holder is None  # and gave the gate back
        await writer.submit(await prepare_send(conv_id, agent, pub, text="最后一条",
                                               client_id="turn-last"))  # still commits
    finally:
        other.close()
        await writer.close()


def _size(path: str) -> int:
    return os.stat(path).st_size


async def test_a_reader_on_an_old_snapshot_does_not_let_the_wal_grow_for_ever(
        chat_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite: while a reader holds an old snapshot, no checkpoint can copy past it and the WAL
    grows; once it is gone, the checkpointer's gated checkpoint (past `WAL_RESET_PAGES`: a
    RESTART) lets the writer's next transaction reset the WAL, and the writer's
    ``journal_size_limit`` cuts the file back instead of leaving it at its largest: a PASSIVE
    one under a stream of readers left the WAL unreset, and a reset alone never shrinks the
    file."""
    from probity.chat import writer as writer_module

    monkeypatch.setattr(writer_module, "WAL_CHECKPOINT_S", 0.0)  # one after every commit
    monkeypatch.setattr(writer_module, "WAL_RESET_PAGES", 8)
    (conv_id, _customer, agent), = _conversations(chat_db_url, 1)
    database = make_url(chat_db_url).database
    assert database is not None
    wal = database + "-wal"
    pub = Published()
    writer = MessageWriter(chat_db_url)
    reader = sqlite3.connect(database, isolation_level=None)
    try:
        await writer.submit(await prepare_send(conv_id, agent, pub, text="您好",
                                               client_id="pin0"))
        checkpointer = writer._checkpointer
        assert checkpointer is not None
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM messages").fetchone()  # a snapshot, kept
        for i in range(1, 40):
            await writer.submit(await prepare_send(conv_id, agent, pub, text=f"第{i}条",
                                                   client_id=f"pin{i}"))
        await asyncio.sleep(0.1)
        pinned = _size(wal)
        assert pinned > 8 * 4096  # nothing past the reader's snapshot could be copied
        reader.execute("COMMIT")  # the reader goes
        i = 39
        deadline = time.monotonic() + _SETTLE_S  # the checkpointer's thread runs on its own
        while _size(wal) >= pinned and time.monotonic() < deadline:  # time
            i += 1
            await writer.submit(await prepare_send(conv_id, agent, pub, text=f"第{i}条",
                                                   client_id=f"pin{i}"))
            await asyncio.sleep(0.01)
        assert _size(wal) < pinned  # the file itself shrank
        assert checkpointer.restarted >= 1
        await writer.submit(await prepare_send(conv_id, agent, pub, text="最后一条",
                                               client_id="pin-last"))  # still commits
    finally:
        reader.close()
        await writer.close()


async def test_committed_batches_go_back_to_the_loop_in_one_wake_up(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """While the application's loop is busy, every transaction the writer commits meanwhile
    goes back in ONE call_soon_threadsafe (one self-pipe write), in commit order, and is
    finished there (delivered) without waking the finisher task; once the loop has taken
    them, the next hand-back wakes it again."""
    from probity.chat.writer import _Done

    loop = asyncio.get_running_loop()
    wakes: list[Any] = []
    real = loop.call_soon_threadsafe

    def counting(callback: Any, *args: Any) -> Any:
        wakes.append(callback)
        return real(callback, *args)

    monkeypatch.setattr(loop, "call_soon_threadsafe", counting)
    writer = MessageWriter("sqlite+aiosqlite:///unused.db")
    writer._main, writer._done = loop, asyncio.Queue()
    finished: list[int] = []

    def batch(i: int) -> _Done:
        async def effect() -> None:
            finished.append(i)
        return _Done([], [effect], [])

    batches = [batch(i) for i in range(5)]

    def commit_all() -> None:  # the writer's thread, while this loop does not run
        for done in batches:
            writer._hand_back(done)

    with ThreadPoolExecutor(1) as pool:
        pool.submit(commit_all).result()  # blocks the loop meanwhile
    assert len(wakes) == 1
    await asyncio.sleep(0)
    assert finished == [0, 1, 2, 3, 4]
    assert writer._done.empty()
    writer._hand_back(batch(5))
    assert len(wakes) == 2
    await asyncio.sleep(0)
    assert finished == [0, 1, 2, 3, 4, 5]


async def test_a_delivery_that_waits_keeps_the_commit_order() -> None:
    """A hand-back whose delivery has to wait (an effect that suspends, e.g. Redis) goes on in
    the finisher task, and the transactions handed back after it wait behind it: deliveries
    and outcomes keep the commit order; those that never wait are finished at once."""
    from probity.chat.writer import _Done, _Queued, _Then

    loop = asyncio.get_running_loop()
    writer = MessageWriter("sqlite+aiosqlite:///unused.db")
    writer._start_finisher(loop)
    order: list[str] = []
    gate = loop.create_future()

    def done(name: str, wait: bool) -> tuple[_Done, asyncio.Future[Any]]:
        async def effect() -> None:
            order.append(f"{name} delivering")
            if wait:
                await gate
            order.append(f"{name} delivered")
        future: asyncio.Future[Any] = loop.create_future()

        def acked(result: Any) -> None:  # as submit_soon's: called as the outcome is set
            order.append(f"{name} acked {result}")
            future.set_result(result)
        return _Done([_Queued(_Then(acked))], [effect], [name]), future

    a, _fa = done("a", False)
    b, _fb = done("b", True)
    c, fc = done("c", False)
    for d in (a, b, c):
        writer._outbox.append(d)
    writer._take_back()
    await asyncio.sleep(0)
    assert order == ["a delivering", "a delivered", "a acked a", "b delivering"]
    assert not fc.done()
    gate.set_result(None)
    await asyncio.wait_for(fc, 5)
    await asyncio.sleep(0)
    assert order == ["a delivering", "a delivered", "a acked a", "b delivering",
                     "b delivered", "b acked b", "c delivering", "c delivered", "c acked c"]
    assert writer._finishing == 0
    writer._finish_now(_Done([], [], []))  # nothing queued: at once again
    await writer.close()


async def test_a_delivery_that_yields_bare_is_finished_too() -> None:
    """An effect whose first step is a bare yield (``asyncio.sleep(0)``: it yields None, not a
    future) is not finished by that step: the finisher task runs the rest of it, then acks."""
    from probity.chat.writer import _Done, _Queued, _Then

    loop = asyncio.get_running_loop()
    writer = MessageWriter("sqlite+aiosqlite:///unused.db")
    writer._start_finisher(loop)
    order: list[str] = []
    acked: asyncio.Future[Any] = loop.create_future()

    async def effect() -> None:
        order.append("delivering")
        await asyncio.sleep(0)
        order.append("delivered")

    def then(result: Any) -> None:
        order.append(f"acked {result}")
        acked.set_result(result)

    writer._outbox.append(_Done([_Queued(_Then(then))], [effect], ["m"]))
    writer._take_back()
    await asyncio.wait_for(acked, 5)
    assert order == ["delivering", "delivered", "acked m"]
    assert writer._finishing == 0


async def test_two_writers_on_one_sqlite_file_store_everything_in_seq_order(
        chat_db_url: str) -> None:
    """Two app processes' writers (two MessageWriters) on one database, sending to the same
    conversations at once: every message stored, seqs 1..n per conversation without gaps."""
    convs = _conversations(chat_db_url, 4)
    pub = Published()
    writers = [MessageWriter(chat_db_url), MessageWriter(chat_db_url)]
    try:
        sends = []
        for i in range(160):
            conv_id, customer, agent = convs[i % len(convs)]
            sends.append((writers[(i // 4) % 2], await prepare_send(
                conv_id, customer if i % 2 else agent, pub, text=f"消息 {i}",
                client_id=f"t{i}")))
        results = await asyncio.gather(*(w.submit(s) for w, s in sends))
        assert all(dup is False for _m, dup in results)
        assert all(w.messages == 80 for w in writers)
        for conv_id, *_ in convs:
            seqs = sorted(m.seq for m, _dup in results if m.conversation_id == conv_id)
            assert seqs == list(range(1, 41))
    finally:
        for w in writers:
            await w.close()


async def test_a_writer_that_cannot_open_its_database_fails_its_callers(tmp_path: Any) -> None:
    """Its thread could not start (here: no such directory for the SQLite file): the caller
    gets the error instead of waiting for ever, and a later call tries again."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'chat.db'}"
    writer = MessageWriter(url)

    async def job(session: AsyncSession) -> int:
        return 1

    try:
        for _ in range(2):
            with pytest.raises(RuntimeError, match="could not open the database"):
                await asyncio.wait_for(writer.run(job), 30)
        (tmp_path / "missing").mkdir()
        assert await asyncio.wait_for(writer.run(job), 30) == 1
    finally:
        await writer.close()
