"""Conversation context stores: in memory (one process) and in Redis (shared by processes).

The Redis tests need a real server: PROBITY_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/7).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator

import pytest

from probity.screening import CompiledPolicy
from probity.screening.context import (
    ConversationContext,
    MemoryContextStore,
    RedisContextStore,
    Turn,
)

REDIS_URL = os.environ.get("PROBITY_TEST_REDIS_URL", "")
pytestmark = pytest.mark.redis
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="PROBITY_TEST_REDIS_URL is not set")


def test_context_state_round_trips_through_json(policy: CompiledPolicy) -> None:
    ctx = ConversationContext()
    ctx.screen("加我微信", "customer", policy)
    ctx.screen("您好，请问有什么可以帮您", "agent", policy)
    ctx.turns[0].seq = 41
    back = ConversationContext.from_json(ctx.to_json())
    assert [t.to_list() for t in back.turns] == [t.to_list() for t in ctx.turns]
    assert back.risk == pytest.approx(ctx.risk)
    assert back.turns[0].seq == 41 and back.turns[0].tid


@pytest.mark.parametrize("raw", [None, b"", b"not json", b'{"turns": [[1]]}', b"[]"])
def test_unreadable_state_starts_an_empty_context(raw: bytes | None) -> None:
    assert not ConversationContext.from_json(raw).turns


def test_memory_store_keeps_the_most_recent_conversations(policy: CompiledPolicy) -> None:
    store = MemoryContextStore(max_contexts=2)
    store.screen(1, "加个", "customer", policy)
    store.screen(2, "你好", "customer", policy)
    store.screen(3, "你好", "customer", policy)  # conversation 1 is the least recent: dropped
    v = store.screen(1, "微信吧", "customer", policy)
    assert v.reason != "joined"  # nothing left to join with
    store.screen(4, "加个", "customer", policy)
    assert store.screen(4, "微信吧", "customer", policy).reason == "joined"


@pytest.fixture
def redis_stores() -> Iterator[list[RedisContextStore]]:
    """Two stores on the same Redis (as two app processes would have), own key prefix."""
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    stores = [RedisContextStore(REDIS_URL, prefix) for _ in range(2)]
    yield stores
    stores[0].forget()


@needs_redis
def test_a_split_id_is_caught_across_processes(redis_stores: list[RedisContextStore],
                                               policy: CompiledPolicy) -> None:
    a, b = redis_stores
    assert a.screen(7, "加个", "customer", policy).result.decision == "allow"
    v = b.screen(7, "微信吧", "customer", policy)  # the other process sees the first half
    assert v.result.decision != "allow" and v.reason == "joined"


@needs_redis
def test_a_split_bribe_and_a_reference_across_processes(
        redis_stores: list[RedisContextStore], policy: CompiledPolicy) -> None:
    a, b = redis_stores
    a.screen(8, "给你500块", "customer", policy)
    assert b.screen(8, "帮我加急处理一下", "customer", policy).reason == "joined"
    a.screen(9, "加我微信", "customer", policy)
    b.screen(9, "不好意思哦", "agent", policy)
    # ordinary alone (see test_screening_conversation)
    got = a.screen(9, "还是那个号", "customer", policy)
    assert (got.result.decision, got.reason) == ("warn", "reference")


@needs_redis
def test_the_offer_seq_is_shared(redis_stores: list[RedisContextStore],
                                 policy: CompiledPolicy) -> None:
    a, b = redis_stores
    offer = a.screen(10, "加我微信", "customer", policy)
    a.remember_seq(10, offer.turn, 5)
    refusal = b.screen(10, "您说要加我微信，这个真不行", "agent", policy)
    assert refusal.offer is not None and refusal.offer.seq == 5


@needs_redis
def test_concurrent_writers_lose_no_turn(redis_stores: list[RedisContextStore],
                                         policy: CompiledPolicy) -> None:
    a, b = redis_stores

    def send(store: RedisContextStore, n: int) -> None:
        for i in range(n):
            store.screen(11, f"订单 {i} 什么时候到", "customer", policy)

    threads = [threading.Thread(target=send, args=(s, 3)) for s in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ctx = ConversationContext.from_json(a._redis.get(a.key(11)))
    assert len(ctx.turns) == 6  # 3 + 3, none overwritten by the other writer
    assert a._redis.ttl(a.key(11)) > 0


def test_unreachable_redis_falls_back_to_memory(policy: CompiledPolicy) -> None:
    store = RedisContextStore("redis://127.0.0.1:1/0", f"test-{uuid.uuid4().hex[:8]}")
    assert store.screen(12, "加个", "customer", policy).result.decision == "allow"
    v = store.screen(12, "微信吧", "customer", policy)
    assert v.reason == "joined"  # screened, with this process's context
    store.remember_seq(12, Turn("customer", "x", True, ("contact",), 1.0, tid="t"), 3)
    store.forget()


@needs_redis
def test_the_event_loop_path_shares_the_context_and_loses_no_turn(
        redis_stores: list[RedisContextStore], policy: CompiledPolicy) -> None:
    """`ascreen` (the WebSocket send path's, on the asyncio client): the same context as
    `screen`, and concurrent messages of one conversation each keep their turn."""
    import asyncio

    a, b = redis_stores

    async def run() -> None:
        assert (await a.ascreen(17, "加个", "customer", policy)).result.decision == "allow"
        v = b.screen(17, "微信吧", "customer", policy)  # a blocking caller sees it too
        assert v.result.decision != "allow" and v.reason == "joined"
        await asyncio.gather(*(s.ascreen(18, f"第{i}条", "agent", policy)
                               for i, s in enumerate([a, b] * 3)))

    asyncio.run(run())
    raw = a._redis.get(a.key(18))
    assert len(ConversationContext.from_json(raw).turns) == 6


def test_unreachable_redis_falls_back_to_memory_on_the_event_loop(policy: CompiledPolicy
                                                                   ) -> None:
    import asyncio

    store = RedisContextStore("redis://127.0.0.1:1/0", f"test-{uuid.uuid4().hex[:8]}")

    async def run() -> None:
        assert (await store.ascreen(13, "加个", "customer", policy)).result.decision == "allow"
        v = await store.ascreen(13, "微信吧", "customer", policy)
        assert v.reason == "joined"  # screened, with this process's context

    asyncio.run(run())


@needs_redis
def test_the_event_loop_path_reads_only_after_another_process_wrote(
        redis_stores: list[RedisContextStore], policy: CompiledPolicy) -> None:
    """`ascreen` keeps the state it last wrote: its next message on the conversation is one
    compare-and-set, no read first; when another process wrote meanwhile, the compare-and-set
    hands over that state and nothing of it is lost."""
    import asyncio

    a, b = redis_stores

    async def run() -> None:
        await a.ascreen(19, "您好", "agent", policy)
        client = a._async_client()
        reads: list[str] = []
        real_get = client.get

        async def get(key: str) -> object:
            reads.append(key)
            return await real_get(key)

        client.get = get
        await a.ascreen(19, "请问有什么可以帮您", "agent", policy)
        assert reads == []  # its own last write: nothing read first
        await b.ascreen(19, "加个", "customer", policy)  # the other process, meanwhile
        v = await a.ascreen(19, "微信吧", "customer", policy)
        assert v.result.decision != "allow" and v.reason == "joined"  # b's half seen

    asyncio.run(run())
    assert len(ConversationContext.from_json(a._redis.get(a.key(19))).turns) == 4
