"""The chat writer host (`probity.chat.host`): the app processes' direct batches stored by one
writer for the SQLite file. What it stores is what a process's own direct path stores, byte for
byte; batches that reach it together share one transaction with a fixed number of statements;
without a host every batch still gets stored (the session path); and a host that dies with a
batch leaves its senders a `retry`, never a false ack. The host runs here in a thread of the
test process on real Unix sockets and a real SQLite file; tests/chat/test_durability.py and
tests/test_dispatch.py run it as the dispatcher's process."""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.chat.test_direct import _drive, _raw
from tests.chat.test_writer import Published, _conversations

from probity.chat.direct import Turned, WritersTurn
from probity.chat.host import HostLost, WriterHost, _parts
from probity.chat.send import prepare_send
from probity.chat.store import Receipt
from probity.chat.writer import MessageWriter
from probity.db import make_engine
from probity.ledger.service import verify_tenant
from probity.models import Conversation
from probity.monitoring import enforce


class Host:
    """A `WriterHost` serving in a thread, and the address and key its clients use."""

    def __init__(self, url: str, tmp: Path) -> None:
        self.address = str(tmp / f"w-{secrets.token_hex(4)}.sock")
        self.key = secrets.token_bytes(32)
        self.host = WriterHost(url, self.address, self.key)
        self.thread = threading.Thread(target=self.host.serve, daemon=True)
        self.thread.start()

    def writer(self, url: str) -> MessageWriter:
        return MessageWriter(url, host=(self.address, self.key))

    def stop(self) -> None:
        self.host.stop()
        self.thread.join(30)


@pytest.fixture
def host(chat_db_url: str, tmp_path: Path) -> Iterator[Host]:
    h = Host(chat_db_url, tmp_path)
    try:
        yield h
    finally:
        h.stop()


async def test_the_host_stores_what_a_process_stores_itself(chat_db_url: str,
                                                             host: Host) -> None:
    """The same stream (bursts of sends on both sides, read receipts) through the host and
    through a writer's own direct path: the same stored text, one ledger chain, the same
    deliveries and receipt events."""
    enforce.reset()
    a = _conversations(chat_db_url, 4)
    b = _conversations(chat_db_url, 4)
    pub_a, pub_b = Published(), Published()
    remote = host.writer(chat_db_url)
    local = MessageWriter(chat_db_url)
    try:
        await _drive(remote, a, pub_a, 12)
        await _drive(local, b, pub_b, 12)
        assert remote.fallbacks == 0 and remote.direct_batches >= 12
        assert remote._checkpointer is None  # the host checkpoints the WAL
        assert host.host.transactions >= 12 and host.host.messages == remote.messages
    finally:
        await remote.close()
        await local.close()
    assert _raw(chat_db_url, [c[0] for c in a]) == _raw(chat_db_url, [c[0] for c in b])

    def events(pub: Published, convs: list[Any]) -> list[Any]:
        order = {f"conv:{c[0]}": i for i, c in enumerate(convs)}
        out = []
        for channel, e in pub.events:
            index = next(v for k, v in order.items() if channel.endswith(k))
            if e["type"] == "message":
                m = e["message"]
                out.append((index, "m", m["seq"], m["body"], m["sender_role"]))
            else:
                out.append((index, "r", e["by"], e["delivered"], e["read"]))
        return out

    assert events(pub_a, a) == events(pub_b, b)
    engine = make_engine(chat_db_url)
    try:
        async with AsyncSession(engine) as s:
            tenant = await s.scalar(select(Conversation.tenant_id)
                                    .where(Conversation.id == a[0][0]))
            assert tenant is not None
            assert (await verify_tenant(s, tenant)).ok
    finally:
        await engine.dispose()


async def test_batches_that_arrive_together_share_one_transaction(chat_db_url: str,
                                                                  host: Host) -> None:
    """Two processes' batches queued at the host while it writes are stored in one
    transaction, with the statements of one batch (whatever the number of processes)."""
    enforce.reset()
    convs = _conversations(chat_db_url, 3)
    pub = Published()
    first, w1, w2 = (host.writer(chat_db_url) for _ in range(3))
    runs: list[list[str]] = []
    host.host.store.on_statements = lambda run: runs.append(
        [" ".join(sql.split()[:3]) for sql, _p in run])
    turn = WritersTurn(chat_db_url.split(":///", 1)[1])
    try:
        # Warm up: each writer connected, the rollups' caches loaded.
        for w, (cid, customer, _agent) in zip((first, w1, w2), convs, strict=True):
            await w.submit(await prepare_send(cid, customer, pub, text="您好"))
        runs.clear()
        merged = host.host.merged
        # The host is held in the writers' turn on `first`'s batch; meanwhile the others come.

        async def until_waiting(n: int) -> None:
            deadline = time.monotonic() + 20
            while True:
                await asyncio.sleep(0.05)
                with host.host._lock:
                    conns = list(host.host.conns)
                if len(wait(conns, 0)) == n:
                    return
                assert time.monotonic() < deadline, f"not {n} batches waiting at the host"

        turn.take()
        try:
            held = asyncio.ensure_future(first.submit(await prepare_send(
                convs[0][0], convs[0][1], pub, text="在吗")))
            await asyncio.sleep(0.2)
            await until_waiting(0)  # the host has it, and waits for the turn
            others = [asyncio.ensure_future(w.submit(await prepare_send(
                cid, agent, pub, text="好的"))) for w, (cid, _c, agent) in
                zip((w1, w2), convs[1:], strict=True)]
            await until_waiting(2)  # w1's and w2's
        finally:
            turn.give_back()
        await held
        stored = await asyncio.gather(*others)
    finally:
        turn.close()
        for w in (first, w1, w2):
            await w.close()
    assert host.host.merged == merged + 1
    assert [m.seq for m, _dup in stored] == [2, 2]
    assert pub.delivered(convs[1][0]) == pub.delivered(convs[2][0]) == [1, 2]
    # `first`'s batch alone, then w1's and w2's together: the same statements.
    assert len(runs) == 2 and runs[0] == runs[1], runs


def test_a_stored_batch_is_split_back_by_process() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    sends_a = [(1, None, [], None, ("agent", "allow", ())), (2, None, [], None, ("a", "allow", ()))]
    sends_b = [(3, None, [], None, ("a", "allow", ()))] * 2
    turned = Turned([(0, 7, 5, 100), (2, 7, 1, 101), (3, 7, 2, 102)], now, {2},
                    {(1, "agent"): (5, 5), (3, "customer"): (0, 2)},
                    {1: {"last_seq": 5}, 3: {"last_seq": 2}}, [(1, "agent"), (3, "customer")])
    r_a = [Receipt(1, "agent", None, read=5)]  # type: ignore[arg-type]
    r_b = [Receipt(3, "customer", None, read=2),  # type: ignore[arg-type]
           Receipt(1, "agent", None, read=5)]  # type: ignore[arg-type]
    a, b = _parts(turned, [(None, sends_a, r_a), (None, sends_b, r_b)])  # type: ignore[list-item]
    assert a.placed == [(0, 7, 5, 100)] and a.closed == {2}
    assert a.seqs == {(1, "agent"): (5, 5)} and a.moved == [(1, "agent")]
    assert b.placed == [(0, 7, 1, 101), (1, 7, 2, 102)] and b.closed == set()
    assert b.seqs == {(1, "agent"): (5, 5), (3, "customer"): (0, 2)}
    assert b.moved == [(3, "customer")] and b.state == {3: {"last_seq": 2}}  # published once


async def test_without_a_host_every_batch_takes_the_session_path(chat_db_url: str,
                                                                 tmp_path: Path) -> None:
    enforce.reset()
    (cid, customer, _agent), = _conversations(chat_db_url, 1)
    pub = Published()
    writer = MessageWriter(chat_db_url, host=(str(tmp_path / "nobody.sock"), b"k" * 32))
    try:
        stored = [await writer.submit(await prepare_send(cid, customer, pub, text=f"第{i}条",
                                                         client_id=f"n{i}"))
                  for i in range(3)]
    finally:
        await writer.close()
    assert [m.seq for m, _dup in stored] == [1, 2, 3]
    assert writer.direct_batches == 0 and writer.fallbacks == 3
    assert "no chat writer host" in writer.fallback_reason
    assert pub.delivered(cid) == [1, 2, 3]


async def test_a_host_that_dies_with_a_batch_leaves_a_retry(chat_db_url: str,
                                                            tmp_path: Path) -> None:
    """The host's connection closes while it has the batch (it read it, then went away):
    the senders get `HostLost` (answered `retry` on the socket), not an ack; the next batch
    finds no host and is stored by the session path."""
    enforce.reset()
    (cid, customer, _agent), = _conversations(chat_db_url, 1)
    pub = Published()
    h = Host(chat_db_url, tmp_path)

    def die(requests: list[Any]) -> None:  # read the batch, then go away without answering
        for conn, _data in requests:
            h.host._drop(conn)

    writer = h.writer(chat_db_url)
    try:
        await writer.submit(await prepare_send(cid, customer, pub, text="一"))
        h.host._serve = die  # type: ignore[method-assign]
        with pytest.raises(HostLost):
            await writer.submit(await prepare_send(cid, customer, pub, text="二",
                                                   client_id="lost"))
        h.stop()
        message, dup = await writer.submit(await prepare_send(cid, customer, pub, text="二",
                                                              client_id="lost"))
        assert dup is False and message.seq == 2  # the host had stored nothing of it
        assert "no chat writer host" in writer.fallback_reason
    finally:
        await writer.close()
        h.stop()


def test_the_host_refuses_a_client_without_its_key(chat_db_url: str, host: Host) -> None:
    from multiprocessing.connection import AuthenticationError, Client

    with pytest.raises((AuthenticationError, EOFError, OSError)):
        Client(host.address, family="AF_UNIX", authkey=b"wrong" * 8)
    assert oct(os.stat(host.address).st_mode & 0o777) == "0o600"
