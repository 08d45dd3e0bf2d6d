"""The chat writer's direct path (`probity.chat.direct`: the common batch through the bare
sqlite3 driver; `probity.chat.direct_pg`: through a bare psycopg connection — each test runs
on both when PROBITY_TEST_DATABASE_URL is PostgreSQL) stores exactly what the session path
stores — the same columns in the same stored form, the same ledger chain, rollups equal to a
direct aggregate of the messages — and hands everything it does not cover (resends, alerts)
to the session path without writing anything itself; cold or stale rollup caches it reloads
outside its transaction and tries again; a due ledger checkpoint it signs itself
(tests/chat/test_direct_checkpoint.py)."""

from __future__ import annotations

import asyncio
import fcntl
import inspect
import os
import random
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from tests.analytics.test_rollup import BASE, _cube, _cube_of, _direct, _rolled, _setup
from tests.chat.test_writer import BLOCKED, Published, _conversations

from probity.analytics import rollup
from probity.chat import direct, store
from probity.chat.screening import forget_contexts
from probity.chat.send import prepare_send
from probity.chat.store import Receipt
from probity.chat.writer import MessageWriter
from probity.db import make_engine
from probity.ledger.service import verify_tenant
from probity.models import (
    Alert,
    Conversation,
    LedgerCheckpoint,
    LedgerEntry,
    LedgerRef,
    Message,
)
from probity.monitoring import enforce

TEXTS = ["您好，请问订单什么时候发货？", "好的，我帮您查一下物流信息", "退款已经提交了吗",
         "预计 1-3 个工作日到账", "请问还有其他问题吗", "谢谢，没有了"]
# The stored columns that must match between the two paths (not ids, times or client ids).
SAME = ("seq", "sender_role", "sender_user_id", "sender_employee_id", "kind", "body",
        "attachment_sha256", "attachment_mime", "attachment_size", "decision",
        "screening_status", "categories", "severity", "spans", "policy_version", "recalled_at")


async def _drive(writer: MessageWriter, convs: list[Any], pub: Published, rounds: int) -> None:
    """The same stream of sends (bursts of one to 20, both sides) and read receipts."""
    rng = random.Random(17)
    n = 0
    for _ in range(rounds):
        burst = []
        for _ in range(rng.randint(1, 20)):
            conv_id, customer, agent = convs[rng.randrange(len(convs))]
            burst.append(writer.submit(await prepare_send(
                conv_id, customer if n % 3 else agent, pub, text=TEXTS[n % len(TEXTS)],
                client_id=f"d{n}")))
            n += 1
        conv_id = convs[rng.randrange(len(convs))][0]
        burst.append(writer.receipt(Receipt(conv_id, "customer", pub, read=rng.randint(1, 9))))
        await asyncio.gather(*burst)


def _raw(url: str, conv_ids: list[int]) -> list[tuple[Any, ...]]:
    """The stored messages as the database holds them (SQLite: the text of timestamps and
    JSON; PostgreSQL: the JSON's text and the timestamp's type)."""
    if url.startswith("sqlite"):
        con = sqlite3.connect(url.split(":///", 1)[1])
        try:
            marks = ", ".join("?" * len(conv_ids))
            cols = ", ".join(SAME) + ", typeof(created_at), length(created_at)"
            rows = con.execute(
                f"SELECT conversation_id, {cols} FROM messages WHERE conversation_id IN "
                f"({marks}) ORDER BY conversation_id, seq", conv_ids).fetchall()
        finally:
            con.close()
    else:
        import psycopg

        conninfo = make_url(url).set(drivername="postgresql").render_as_string(
            hide_password=False)
        with psycopg.connect(conninfo) as pg:
            cols = ", ".join(SAME) + (", categories::text, spans::text, "
                                      "pg_typeof(created_at)::text")
            rows = pg.execute(
                f"SELECT conversation_id, {cols} FROM messages WHERE conversation_id = "
                "ANY(%s) ORDER BY conversation_id, seq", (conv_ids,)).fetchall()
    order = {cid: i for i, cid in enumerate(conv_ids)}
    return sorted(((order[r[0]], *r[1:]) for r in rows), key=lambda r: (r[0], r[1]))


async def test_the_direct_path_stores_what_the_session_path_stores(writer_url: str) -> None:
    enforce.reset()  # no monitoring rules cached by an earlier test
    a = _conversations(writer_url, 4)
    b = _conversations(writer_url, 4)
    pub = Published()
    fast = MessageWriter(writer_url)
    slow = MessageWriter(writer_url, direct=False)
    try:
        await _drive(fast, a, pub, 12)
        await _drive(slow, b, pub, 12)
        assert fast._direct is not None and fast.direct_batches > fast.fallbacks
        assert slow.direct_batches == 0
    finally:
        await fast.close()
        await slow.close()
    got_a, got_b = _raw(writer_url, [c[0] for c in a]), _raw(writer_url, [c[0] for c in b])
    assert got_a and got_a == got_b
    engine = make_engine(writer_url)
    try:
        async with AsyncSession(engine) as s:
            convs_a = (await s.execute(select(
                Conversation.last_seq, Conversation.customer_delivered_seq,
                Conversation.customer_read_seq).where(Conversation.id.in_([c[0] for c in a]))
                .order_by(Conversation.id))).all()
            convs_b = (await s.execute(select(
                Conversation.last_seq, Conversation.customer_delivered_seq,
                Conversation.customer_read_seq).where(Conversation.id.in_([c[0] for c in b]))
                .order_by(Conversation.id))).all()
            assert convs_a == convs_b
            tenant = await s.scalar(select(Conversation.tenant_id)
                                    .where(Conversation.id == a[0][0]))
            assert tenant is not None
            assert (await verify_tenant(s, tenant)).ok  # one chain through both paths
            entries = await s.scalar(select(func.count()).select_from(LedgerEntry).where(
                LedgerEntry.tenant_id == tenant, LedgerEntry.type == "chat.message"))
            messages = await s.scalar(select(func.count()).select_from(Message).where(
                Message.tenant_id == tenant))
            assert entries == messages
            # Both paths give a message's entry one ref, its message (`ledger.refs.ONLY`).
            ids = [str(i) for i in (await s.scalars(select(Message.id).where(
                Message.conversation_id.in_([c[0] for c in a + b])))).all()]
            seqs = select(LedgerRef.seq).where(
                LedgerRef.tenant_id == tenant, LedgerRef.ref_type == "message",
                LedgerRef.ref_id.in_(ids))
            refs = (await s.execute(select(LedgerRef.ref_type, LedgerRef.ref_id).where(
                LedgerRef.tenant_id == tenant, LedgerRef.seq.in_(seqs)))).all()
            assert len(ids) > 20 and sorted(refs) == sorted(("message", i) for i in ids)
    finally:
        await engine.dispose()


async def test_what_the_direct_path_does_not_cover_goes_the_session_way(
        writer_url: str) -> None:
    enforce.reset()
    convs = _conversations(writer_url, 2)
    (c1, customer, agent), (c2, customer2, _agent2) = convs
    pub = Published()
    writer = MessageWriter(writer_url)
    engine = make_engine(writer_url)
    try:
        first, dup = await writer.submit(await prepare_send(c1, customer, pub, text="在吗",
                                                            client_id="k1"))
        assert dup is False
        # A resend (the unique client_id) in a batch with a new message: rolled back, then
        # the session path returns the stored one and stores the new one.
        fallbacks = writer.fallbacks
        again, new = await asyncio.gather(
            writer.submit(await prepare_send(c1, customer, pub, text="在吗", client_id="k1")),
            writer.submit(await prepare_send(c2, customer2, pub, text="你好", client_id="k2")))
        assert again[1] is True and again[0].id == first.id
        assert new[1] is False and new[0].seq == 1
        assert writer.fallbacks > fallbacks
        # A blocked message (an alert and a case in the same transaction) is not offered to
        # the direct path; the allowed ones of other batches are.
        blocked, _ = await writer.submit(await prepare_send(c1, agent, pub, text=BLOCKED,
                                                            client_id="k3"))
        assert blocked.decision == "block"
        # A ledger checkpoint due (the latest looks 5 minutes old to the direct path): it
        # signs one itself from the tenant's Merkle range (`ledger.ranges`), in the batch's
        # transaction — no fallback (tests/chat/test_direct_checkpoint.py).
        writer._checked.clear()
        async with AsyncSession(engine) as s:
            tenant = await s.scalar(select(Conversation.tenant_id).where(Conversation.id == c1))
            checkpoints = await s.scalar(select(func.count()).select_from(LedgerCheckpoint)
                                         .where(LedgerCheckpoint.tenant_id == tenant))
            assert checkpoints
        original = direct.utcnow
        later = original() + timedelta(minutes=5)
        direct.utcnow = lambda: later  # type: ignore[assignment]
        try:
            fallbacks = writer.fallbacks
            await writer.submit(await prepare_send(c2, customer2, pub, text="好的",
                                                   client_id="k4"))
        finally:
            direct.utcnow = original  # type: ignore[assignment]
        assert writer.fallbacks == fallbacks
        async with AsyncSession(engine) as s:
            assert await s.scalar(select(func.count()).select_from(LedgerCheckpoint)
                                  .where(LedgerCheckpoint.tenant_id == tenant)) == checkpoints + 1
            alert = await s.scalar(select(Alert).where(Alert.message_id == blocked.id))
            assert alert is not None and alert.decision == "block"
            assert tenant is not None and (await verify_tenant(s, tenant)).ok
        # A monitoring rule cached (QA sampling, duty alerts: `on_batch` needs the session):
        # batches go straight to the session path, without a direct attempt first.
        direct_before, fallbacks = writer.direct_batches, writer.fallbacks
        enforce._by_tenant[tenant] = []  # what load_rules leaves for a tenant with a rule
        try:
            again, _ = await writer.submit(await prepare_send(c2, customer2, pub, text="收到",
                                                              client_id="k5"))
        finally:
            enforce.reset()
        assert again.seq == 3
        assert (writer.direct_batches, writer.fallbacks) == (direct_before, fallbacks)
        assert pub.delivered(c1) == [1]  # the block is acked, never delivered
        assert pub.delivered(c2) == [1, 2, 3]
    finally:
        await writer.close()
        await engine.dispose()


async def test_rollups_through_the_direct_path_equal_a_direct_aggregate(
        writer_url: str) -> None:
    """tests/analytics/test_rollup.py's property, with the writer (direct path, session path
    for alerts and cold caches) instead of `store_messages`: random sends at random hours from
    agents of different tenure, on and off the rota."""
    rollup.reset()
    enforce.reset()
    forget_contexts()
    engine = make_engine(writer_url)
    writer = MessageWriter(writer_url)
    pub = Published()
    originals = (direct.utcnow, store.utcnow)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as s:
            convs = await _setup(s)
            await s.commit()
        rng = random.Random(2031)
        texts = [*TEXTS, BLOCKED, "给你发个红包"]
        for _ in range(40):
            hour, minute = rng.randrange(24 * 14), rng.randrange(60)
            at = BASE + timedelta(hours=hour, minutes=minute)
            direct.utcnow = store.utcnow = lambda at=at: at  # type: ignore[assignment,misc]
            sends = []
            for _ in range(rng.randint(1, 6)):
                conv_id, agent, customer = convs[rng.randrange(3)]
                sends.append(await prepare_send(
                    conv_id, agent if rng.random() < 0.5 else customer, pub,
                    text=texts[rng.randrange(len(texts))]))
            await asyncio.gather(*(writer.submit(p) for p in sends))
        # Each new hour's rota window is a cache miss: reloaded outside the transaction,
        # then the direct path again (`rollup.refresh`), not the session path.
        assert writer.direct_batches > 0 and writer.refreshes > 0
        async with AsyncSession(engine) as s:
            rolled = await _rolled(s)
            assert rolled and rolled == await _direct(s)
            assert await _cube(s) == _cube_of(rolled)
    finally:
        direct.utcnow, store.utcnow = originals  # type: ignore[assignment]
        await writer.close()
        await engine.dispose()
        rollup.reset()


async def test_stale_rollup_caches_are_reloaded_outside_the_transaction(
        writer_url: str) -> None:
    """Cold or stale rollup caches (tenant zone, agent, rota) are no fallback: the writer
    reloads them in a read session of its own and stores the batch on the direct path. The
    reload also takes every cached entry past half its time to live, so entries loaded at
    different times go stale together instead of one batch after another."""
    rollup.reset()
    enforce.reset()
    (conv_id, customer, _agent), = _conversations(writer_url, 1)
    pub = Published()
    writer = MessageWriter(writer_url)
    try:
        await writer.submit(await prepare_send(conv_id, customer, pub, text="在吗",
                                               client_id="r1"))  # cold caches
        assert (writer.direct_batches, writer.refreshes, writer.fallbacks) == (1, 1, 0)
        await writer.submit(await prepare_send(conv_id, customer, pub, text="您好",
                                               client_id="r2"))  # warm: nothing to reload
        assert (writer.direct_batches, writer.refreshes, writer.fallbacks) == (2, 1, 0)
        # Everything stale now, and an entry no batch asks for past half its time to live.
        aged = rollup.time.monotonic() - 10 * rollup.EMPLOYEE_TTL_S
        for t, (zone, _at) in list(rollup._tz.items()):
            rollup._tz[t] = (zone, aged)
        for a, (hired, unit, _at) in list(rollup._employees.items()):
            rollup._employees[a] = (hired, unit, aged)
        half = rollup.time.monotonic() - 0.6 * rollup.EMPLOYEE_TTL_S
        rollup._employees[10**9] = (None, None, half)  # no such employee
        await writer.submit(await prepare_send(conv_id, customer, pub, text="好的",
                                               client_id="r3"))
        assert (writer.direct_batches, writer.refreshes, writer.fallbacks) == (3, 2, 0)
        assert all(at > aged for _z, at in rollup._tz.values())
        assert rollup._employees[10**9][2] > half  # reloaded ahead of its expiry
        # Monitoring rules gone stale (their 5 s) alone: read again the same way.
        send = await prepare_send(conv_id, customer, pub, text="收到", client_id="r4")
        assert enforce._rules is not None  # read by the first reload
        enforce._rules = (enforce._rules[0] - 2 * enforce.RULES_TTL_S, enforce._rules[1])
        await writer.submit(send)
        assert (writer.direct_batches, writer.refreshes, writer.fallbacks) == (4, 3, 0)
        assert enforce._fresh()
        assert pub.delivered(conv_id) == [1, 2, 3, 4]
    finally:
        await writer.close()
        rollup.reset()
        enforce.reset()


def test_the_postgresql_insert_numbers_its_placeholders_in_order() -> None:
    """The messages' INSERT reaches psycopg in $n form (`RawStatement`: psycopg parses no %s
    out of it, which it did anew every batch of 3 or more messages); the same statement as the
    %s form, numbered left to right, once per size."""
    import re

    from sqlalchemy.dialects.postgresql.psycopg import dialect as pg_dialect
    from sqlalchemy.engine import make_url as url_of

    from probity.chat.direct_pg import PgDirectStore
    from probity.ledger.service import RawStatement

    assert RawStatement.numbered("VALUES (%s, %s), (%s, %s)") == "VALUES ($1, $2), ($3, $4)"
    store = PgDirectStore(url_of("postgresql+psycopg://nobody@localhost/none"), pg_dialect())
    for n in (1, 3, 16):
        sql = store._sql("insert", n)
        assert isinstance(sql, RawStatement) and store._sql("insert", n) is sql
        width = len(direct._INSERT_COLUMNS)
        assert [int(x) for x in re.findall(r"\$(\d+)", sql)] == list(range(1, n * width + 1))
        assert re.sub(r"\$\d+", "%s", sql) == direct._sql("insert", n).replace("?", "%s")
    assert "$" not in store._sql("seqs", 2)


async def test_the_writers_of_several_processes_take_turns_on_a_sqlite_file(
        writer_url: str) -> None:
    """The direct path waits for the writers' lock beside the database file (what another
    process's writer holds from BEGIN IMMEDIATE to COMMIT) and stores its batch once it is given
    back — woken by the kernel, not polling SQLite's busy handler."""
    if not writer_url.startswith("sqlite"):
        pytest.skip("SQLite only: one write lock per database file")
    convs = _conversations(writer_url, 1)
    pub = Published()
    writer = MessageWriter(writer_url)
    conv_id, customer, _agent = convs[0]
    lock = os.open(f"{make_url(writer_url).database}-writers.lock", os.O_RDWR | os.O_CREAT)
    try:
        await writer.submit(await prepare_send(conv_id, customer, pub, text="先来一条",
                                               client_id="t0"))
        assert isinstance(writer._direct, direct.DirectStore)
        # Its statement journals stay in memory: no temporary file per multi-row statement.
        assert writer._direct.con.execute("PRAGMA temp_store").fetchone() == (2,)
        batches, fallbacks = writer.direct_batches, writer.fallbacks
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process's writer has its turn
        try:
            sent = asyncio.ensure_future(writer.submit(await prepare_send(
                conv_id, customer, pub, text="等它写完", client_id="t1")))
            await asyncio.sleep(0.5)
            assert not sent.done()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
        await asyncio.wait_for(sent, 10)
        assert (writer.direct_batches, writer.fallbacks) == (batches + 1, fallbacks)
    finally:
        os.close(lock)
        await writer.close()
    assert [r[1] for r in _raw(writer_url, [conv_id])] == [1, 2]


def test_the_direct_connection_caches_every_statement_a_batch_can_make(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The direct path makes one statement per batch size (messages, conversations); its
    connection's statement cache holds all of them for batches up to the writer's largest, so
    a run of batches of many sizes prepares none of them twice."""
    largest = inspect.signature(MessageWriter).parameters["max_batch"].default
    made = {direct._sql(kind, n) for kind in ("seqs1", "seqs", "insert", "receipts",
                                              "receipts_update")
            for n in range(1, largest + 1)}
    fixed = 16  # the rollups' two upserts, the ledger's entries, refs and head, the ranges'
    opened: list[dict[str, Any]] = []
    connect = sqlite3.connect

    def spy(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        opened.append(kwargs)
        return connect(*args, **kwargs)

    monkeypatch.setattr(direct.sqlite3, "connect", spy)
    direct.DirectStore(str(tmp_path / "cache.db"), sqlite.dialect()).close()
    assert opened and opened[0].get("cached_statements", 128) >= len(made) + fixed
