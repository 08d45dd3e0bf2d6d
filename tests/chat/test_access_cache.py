"""The chat sockets' shared access decisions (`probity.chat.access.AccessCache`): one read per
credential and per batch of conversations, dropped at once by an event, never used by a socket
that subscribed after the read."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from probity.auth.permissions import Principal
from probity.chat import access
from probity.chat.access import AccessCache


class _Bus:
    epoch = 0


class _Result:
    def __init__(self, rows: list[tuple[int, int | None]]) -> None:
        self.rows = rows

    def tuples(self) -> _Result:
        return self

    def all(self) -> list[tuple[int, int | None]]:
        return self.rows


class _Db:
    """A stand-in sessionmaker: conversations' agents, and counts of what was read."""

    def __init__(self) -> None:
        self.agents: dict[int, int | None] = {}
        self.conv_reads: list[list[int]] = []
        self.cred_reads = 0
        self.cred_keys: list[list[access.CredKey]] = []
        self.valid = True

    def __call__(self) -> _Db:
        return self

    async def __aenter__(self) -> _Db:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def execute(self, stmt: Any) -> _Result:
        ids = sorted(stmt.compile().params.values())[0]
        self.conv_reads.append(list(ids))
        await asyncio.sleep(0)
        return _Result([(i, self.agents.get(i)) for i in ids])


@pytest.fixture
def db(monkeypatch: pytest.MonkeyPatch) -> _Db:
    fake = _Db()

    async def credential_states(_session: Any, keys: list[access.CredKey]
                                ) -> dict[access.CredKey, tuple[bool, None]]:
        fake.cred_reads += 1
        fake.cred_keys.append(sorted(keys))
        await asyncio.sleep(0)
        return {key: (fake.valid, None) for key in keys}

    monkeypatch.setattr(access, "credential_states", credential_states)
    return fake


def _agent(uid: int) -> Principal:
    return Principal(user_id=uid, username=f"a{uid}", display_name="", tenant_id=1,
                     employee_id=None, customer_id=None, session_version=1)


def test_sockets_share_one_credential_read_and_batch_their_conversations(db: _Db) -> None:
    async def run() -> None:
        db.agents = {c: 7 for c in range(1, 41)}
        cache = AccessCache(db, _Bus(), 10.0)  # type: ignore[arg-type]
        since = time.monotonic()
        got = await asyncio.gather(*(cache.check(_agent(7), c, since) for c in range(1, 41)))
        assert all(ok for ok, _until in got)
        assert db.cred_reads == 1  # one agent, 40 sockets: one read
        assert sum(len(ids) for ids in db.conv_reads) == 40
        assert len(db.conv_reads) <= 2  # read together, not one SELECT each
        reads = (db.cred_reads, len(db.conv_reads))
        await asyncio.gather(*(cache.check(_agent(7), c, since) for c in range(1, 41)))
        assert (db.cred_reads, len(db.conv_reads)) == reads  # kept

    asyncio.run(run())


def test_an_event_drops_the_shared_answer_at_once(db: _Db) -> None:
    async def run() -> None:
        db.agents = {1: 7}
        cache = AccessCache(db, _Bus(), 10.0)  # type: ignore[arg-type]
        since = time.monotonic()
        assert (await cache.check(_agent(7), 1, since))[0]
        db.agents = {1: 8}  # reassigned …
        cache.invalidate(7, 1)  # … and its event delivered
        assert not (await cache.check(_agent(7), 1, since))[0]
        assert (await cache.check(_agent(8), 1, since))[0]
        db.valid = False  # the account's sessions ended
        cache.invalidate(8, None)
        assert not (await cache.check(_agent(8), 1, since))[0]

    asyncio.run(run())


def test_a_socket_never_uses_an_answer_read_before_it_subscribed(db: _Db) -> None:
    async def run() -> None:
        db.agents = {1: 7}
        bus = _Bus()
        cache = AccessCache(db, bus, 10.0)  # type: ignore[arg-type]
        assert (await cache.check(_agent(7), 1, time.monotonic()))[0]
        db.agents = {1: 8}  # reassigned while no socket of the process listened
        assert not (await cache.check(_agent(7), 1, time.monotonic()))[0]
        # and an epoch change (events may have been lost) reads again too
        reads = len(db.conv_reads)
        bus.epoch += 1
        await cache.check(_agent(8), 1, 0.0)
        assert len(db.conv_reads) == reads + 1

    asyncio.run(run())


def test_a_holder_read_as_a_socket_opens_serves_its_first_frames(db: _Db) -> None:
    async def run() -> None:
        db.agents = {1: 7, 2: 7, 3: 7}
        bus = _Bus()
        cache = AccessCache(db, bus, 10.0)  # type: ignore[arg-type]
        since = time.monotonic()
        cache.holder_read(1, 7, cache.holder_mark(1))  # the socket's own read, subscribed
        assert (await cache.check(_agent(7), 1, since))[0]
        assert db.conv_reads == []  # no read of its own
        # an event delivered during that read: its answer is not kept
        mark = cache.holder_mark(2)
        cache.invalidate(None, 2)
        cache.holder_read(2, 8, mark)
        assert (await cache.check(_agent(7), 2, since))[0]
        assert db.conv_reads == [[2]]
        # nor when the bus's epoch changed during it (events may have been lost)
        mark = cache.holder_mark(3)
        bus.epoch += 1
        cache.holder_read(3, 8, mark)
        assert (await cache.check(_agent(7), 3, 0.0))[0]
        assert db.conv_reads[-1] == [3]
        # a read that began before a socket subscribed is never that socket's answer
        db.agents[4] = 7
        cache.holder_read(4, 8, cache.holder_mark(4))
        subscribed = time.monotonic() + 1.0
        assert (await cache.check(_agent(7), 4, subscribed))[0]
        assert db.conv_reads[-1] == [4]

    asyncio.run(run())


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_conversations_in_use_are_read_again_early_together(
        db: _Db, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read of the conversations that fell due also reads the entries in use that are past
    half their period: the process's conversations come due together, not one read each."""
    clock = _Clock()
    monkeypatch.setattr(access, "time", clock)

    async def run() -> None:
        db.agents = {c: 7 for c in range(1, 5)}
        cache = AccessCache(db, _Bus(), 10.0)  # type: ignore[arg-type]
        since = clock.now
        for c in (1, 2):  # read at t = 0
            assert (await cache.check(_agent(7), c, since))[0]
        clock.now += 1
        assert (await cache.check(_agent(7), 3, since))[0]  # read at t = 1
        clock.now += 4.5  # t = 5.5: 1 and 2 are past half their period, 3 is not
        assert (await cache.check(_agent(7), 4, since))[0]
        assert db.conv_reads[-1] == [1, 2, 4]
        clock.now += 5  # t = 10.5: 1 and 2 would have lapsed at t = 10; read at t = 5.5
        reads = len(db.conv_reads)
        for c in (1, 2, 4):
            assert (await cache.check(_agent(7), c, since))[0]
        assert len(db.conv_reads) == reads
        # The entry nobody asked about since t = 1 lapses instead of being read again
        # (in use: asked for within two periods).
        clock.now += 11  # t = 21.5
        await cache.check(_agent(7), 1, since)
        assert db.conv_reads[-1] == [1, 2, 4]
        # An event still drops an early-read entry at once.
        db.agents[2] = 8
        cache.invalidate(None, 2)
        assert not (await cache.check(_agent(7), 2, since))[0]

    asyncio.run(run())


def test_credentials_are_read_together_and_again_early_together(
        db: _Db, monkeypatch: pytest.MonkeyPatch) -> None:
    """60 agents' sockets: the credentials due meanwhile are read with one read, and a read
    also reads the credentials in use that are past half their period (they then come due
    together instead of one read per agent every period); one nobody uses lapses."""
    clock = _Clock()
    monkeypatch.setattr(access, "time", clock)

    async def run() -> None:
        db.agents = {c: c for c in range(1, 61)}
        cache = AccessCache(db, _Bus(), 10.0)  # type: ignore[arg-type]
        since = clock.now
        got = await asyncio.gather(*(cache.check(_agent(u), u, since) for u in range(1, 41)))
        assert all(ok for ok, _until in got)
        assert db.cred_reads <= 2 and sum(map(len, db.cred_keys)) == 40
        clock.now += 6  # t = 6: the first 40 are past half their period
        reads = db.cred_reads
        await asyncio.gather(*(cache.check(_agent(u), u, since) for u in range(41, 61)))
        assert db.cred_reads == reads + 1  # the 20 new ones, and the 40 read again early
        assert {k[0] for k in db.cred_keys[-1]} == set(range(1, 61))
        clock.now += 5  # t = 11: the first read would have lapsed at t = 10
        reads = db.cred_reads
        await asyncio.gather(*(cache.check(_agent(u), u, since) for u in range(1, 61)))
        assert db.cred_reads == reads
        # An event still drops a credential's answer at once.
        db.valid = False
        cache.invalidate(5, None)
        assert not (await cache.check(_agent(5), 5, since))[0]

    asyncio.run(run())



def test_entries_of_sockets_that_ask_once_a_period_are_read_again_together(
        db: _Db, monkeypatch: pytest.MonkeyPatch) -> None:
    """A socket keeps its own decision for a period and asks again at its next frame after
    that, so a socket in use asks a little more than a period apart: its entry still counts as
    in use, and is read with the first entry that falls due rather than one read each."""
    clock = _Clock()
    monkeypatch.setattr(access, "time", clock)

    async def run() -> None:
        db.agents = {c: 7 for c in range(1, 5)}
        cache = AccessCache(db, _Bus(), 10.0)  # type: ignore[arg-type]
        since = clock.now
        await asyncio.gather(*(cache.check(_agent(7), c, since) for c in range(1, 5)))
        reads = len(db.conv_reads)
        clock.now += 10.5  # every entry lapsed; the sockets ask again at their next frames
        for c in range(1, 5):
            assert (await cache.check(_agent(7), c, since))[0]
            clock.now += 0.5
        assert db.conv_reads[reads:] == [[1, 2, 3, 4]]

    asyncio.run(run())
