"""The event bus across processes (`probity.events.RedisEventBus`): routed to the processes
that hold a channel, never back to the publisher, nothing missed by a subscriber that has
just subscribed. Two buses in one test stand for two app processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from probity.app import create_app
from probity.config import Settings
from probity.events import RedisEventBus, Subscription, get_bus

REDIS_URL = os.environ.get("PROBITY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def _redis_up() -> bool:
    client = aioredis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        return bool(await client.ping())
    except (OSError, aioredis.RedisError):
        return False
    finally:
        await client.aclose()


pytestmark = pytest.mark.redis


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    if not await _redis_up():
        pytest.skip(f"Redis unreachable at {REDIS_URL}")
    p = f"probity-test-events-{uuid.uuid4().hex[:8]}"
    yield p
    client = aioredis.from_url(REDIS_URL)
    keys = [k async for k in client.scan_iter(match=f"{p}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def _get(sub: Subscription) -> dict[str, object]:
    return await asyncio.wait_for(sub.get(), 5.0)


async def _nothing(sub: Subscription) -> bool:
    # Let the routing and the other bus's reader run (both are a round trip away).
    await asyncio.sleep(0.3)
    return sub.empty()


async def test_an_event_reaches_the_other_process_once_and_the_publisher_once(
        prefix: str) -> None:
    a, b = RedisEventBus(REDIS_URL, prefix), RedisEventBus(REDIS_URL, prefix)
    try:
        async with a.subscribe("conv:1") as on_a, b.subscribe("conv:1") as on_b:
            await a.publish("conv:1", {"type": "message", "seq": 1})
            await b.publish("conv:1", {"type": "message", "seq": 2})
            assert [(await _get(on_a))["seq"], (await _get(on_a))["seq"]] in ([1, 2], [2, 1])
            assert [(await _get(on_b))["seq"], (await _get(on_b))["seq"]] in ([1, 2], [2, 1])
            assert await _nothing(on_a) and await _nothing(on_b)  # no echo of its own
    finally:
        await a.close()
        await b.close()


async def test_a_process_gets_only_the_channels_it_holds_in_publish_order(prefix: str) -> None:
    a, b = RedisEventBus(REDIS_URL, prefix), RedisEventBus(REDIS_URL, prefix)
    raw = aioredis.from_url(REDIS_URL)
    pubsub = raw.pubsub(ignore_subscribe_messages=True)
    try:
        async with b.subscribe("conv:2") as on_b:
            # Watch what Redis carries to b: one message per batch, only conv:2's events.
            await pubsub.subscribe(f"{prefix}:proc:{b.process_id}")
            await asyncio.sleep(0.1)
            for seq in range(1, 6):
                await a.publish("conv:2", {"type": "message", "seq": seq})
                await a.publish("conv:3", {"type": "message", "seq": 100 + seq})
            got = [(await _get(on_b))["seq"] for _ in range(5)]
            assert got == [1, 2, 3, 4, 5]
            assert await _nothing(on_b)
            carried = []
            for _ in range(10):  # None also for the subscription's confirmation
                msg = await pubsub.get_message(timeout=0.1)
                if msg is not None:
                    carried.append(msg["data"])
            assert carried and len(carried) <= 5
            assert all(b"conv:3" not in data for data in carried)
    finally:
        await pubsub.aclose()
        await raw.aclose()
        await a.close()
        await b.close()


async def test_a_channel_held_by_the_publisher_alone_costs_no_redis_message(
        prefix: str) -> None:
    a, b = RedisEventBus(REDIS_URL, prefix), RedisEventBus(REDIS_URL, prefix)
    raw = aioredis.from_url(REDIS_URL)
    pubsub = raw.pubsub(ignore_subscribe_messages=True)
    try:
        async with a.subscribe("conv:4") as on_a, b.subscribe("conv:5"):
            await pubsub.psubscribe(f"{prefix}:proc:*")
            await asyncio.sleep(0.1)
            await a.publish("conv:4", {"type": "message", "seq": 1})
            assert (await _get(on_a))["seq"] == 1
            for _ in range(5):  # None also for the subscription's confirmation
                assert await pubsub.get_message(timeout=0.1) is None
    finally:
        await pubsub.aclose()
        await raw.aclose()
        await a.close()
        await b.close()


async def test_subscribe_returns_registered_and_the_last_unsubscribe_deregisters(
        prefix: str) -> None:
    a = RedisEventBus(REDIS_URL, prefix)
    raw = aioredis.from_url(REDIS_URL)
    key = f"{prefix}:subs:conv:6"
    try:
        async with a.subscribe("conv:6"), a.subscribe("conv:6"):
            # Registered before subscribe returns: a backlog read after it misses nothing.
            assert await raw.smembers(key) == {a.process_id.encode()}
        assert await raw.smembers(key) == set()
    finally:
        await raw.aclose()
        await a.close()


async def test_concurrent_subscribers_all_wait_for_the_registration(prefix: str) -> None:
    a, b = RedisEventBus(REDIS_URL, prefix), RedisEventBus(REDIS_URL, prefix)
    try:
        async def open_and_receive(seq: int) -> int:
            async with b.subscribe("conv:7") as sub:
                # Whoever returns from subscribe first or last: an event published now reaches it.
                await a.publish("conv:7", {"type": "message", "seq": seq})
                while True:
                    got = await _get(sub)
                    if got["seq"] == seq:
                        return seq

        assert sorted(await asyncio.gather(*(open_and_receive(i) for i in range(5)))) \
            == [0, 1, 2, 3, 4]
    finally:
        await a.close()
        await b.close()


async def test_a_process_that_is_gone_is_forgotten_by_the_routing(prefix: str) -> None:
    a = RedisEventBus(REDIS_URL, prefix)
    raw = aioredis.from_url(REDIS_URL)
    key = f"{prefix}:subs:conv:8"
    try:
        await raw.sadd(key, "dead-process")  # killed -9: registered, listening no more
        async with a.subscribe("conv:8") as on_a:
            await a.publish("conv:8", {"type": "message", "seq": 1})
            assert (await _get(on_a))["seq"] == 1
            for _ in range(50):
                if await raw.smembers(key) == {a.process_id.encode()}:
                    break
                await asyncio.sleep(0.02)
            assert await raw.smembers(key) == {a.process_id.encode()}
    finally:
        await raw.aclose()
        await a.close()


async def test_a_dropped_registration_is_restored_and_bumps_the_epoch(
        prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from probity import events

    monkeypatch.setattr(events, "REGISTRATION_RENEW_S", 0.05)
    a, b = RedisEventBus(REDIS_URL, prefix), RedisEventBus(REDIS_URL, prefix)
    raw = aioredis.from_url(REDIS_URL)
    key = f"{prefix}:subs:conv:9"
    try:
        async with b.subscribe("conv:9") as on_b:
            epoch = b.epoch
            await raw.delete(key)  # as the routing script does while b's connection is down
            for _ in range(100):
                if b.epoch > epoch:
                    break
                await asyncio.sleep(0.02)
            assert b.epoch > epoch  # what b concluded from the absence of events is doubtful
            assert await raw.smembers(key) == {b.process_id.encode()}
            await a.publish("conv:9", {"type": "message", "seq": 1})
            assert (await _get(on_b))["seq"] == 1
    finally:
        await raw.aclose()
        await a.close()
        await b.close()


async def test_when_the_first_registration_fails_the_next_subscriber_registers(
        prefix: str) -> None:
    a, b = RedisEventBus(REDIS_URL, prefix), RedisEventBus(REDIS_URL, prefix)
    real = b._register
    calls = 0

    async def failing_once(channels: list[str]) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(0.05)  # the second subscriber joins meanwhile
            raise ConnectionError("redis went away")
        return await real(channels)

    b._register = failing_once  # type: ignore[method-assign]
    try:
        async def first() -> None:
            async with b.subscribe("conv:10"):
                pass

        async def second() -> int:
            await asyncio.sleep(0.01)
            async with b.subscribe("conv:10") as sub:
                await a.publish("conv:10", {"type": "message", "seq": 1})
                return int((await _get(sub))["seq"])  # type: ignore[call-overload]

        got = await asyncio.gather(first(), second(), return_exceptions=True)
        assert isinstance(got[0], ConnectionError)  # the first is told
        assert got[1] == 1  # the second registered itself, and is reached
    finally:
        await a.close()
        await b.close()


async def test_a_dropped_connection_is_replaced_and_bumps_the_epoch(prefix: str) -> None:
    a, b = RedisEventBus(REDIS_URL, prefix), RedisEventBus(REDIS_URL, prefix)
    raw = aioredis.from_url(REDIS_URL)
    try:
        async with b.subscribe("conv:11") as on_b, a.subscribe("conv:12") as on_a:
            await a.publish("conv:11", {"type": "message", "seq": 1})
            assert (await _get(on_b))["seq"] == 1
            epoch = b.epoch
            # Redis drops b's listening connection and a's publishing one (a restart, a
            # proxy's idle timeout) — only these: the server may be shared.
            for conn in (b._inbox, a._router):
                assert conn is not None and conn.transport is not None
                host, port = conn.transport.get_extra_info("sockname")[:2]
                await raw.execute_command("CLIENT", "KILL", "ADDR", f"{host}:{port}")
            for _ in range(100):
                if b.epoch > epoch and b._listening:
                    break
                await asyncio.sleep(0.02)
            assert b.epoch > epoch  # what b concluded from the absence of events is doubtful
            for seq in range(2, 5):  # the publisher connects again; order is kept
                await a.publish("conv:11", {"type": "message", "seq": seq})
            assert [(await _get(on_b))["seq"] for _ in range(3)] == [2, 3, 4]
            await b.publish("conv:12", {"type": "message", "seq": 5})
            assert (await _get(on_a))["seq"] == 5
    finally:
        await raw.aclose()
        await a.close()
        await b.close()


async def test_the_app_closes_its_bus_on_shutdown_and_its_registrations_go(
        prefix: str, settings: Settings) -> None:
    # A process that stops (a deploy, `serve --workers` scaling down) takes its registrations
    # with it instead of leaving the routing to find it gone on the next message.
    app = create_app(settings.model_copy(
        update={"redis_url": REDIS_URL, "redis_channel_prefix": prefix}))
    raw = aioredis.from_url(REDIS_URL)
    key = f"{prefix}:subs:conv:7"
    try:
        async with contextlib.AsyncExitStack() as held:
            async with app.router.lifespan_context(app):
                bus = get_bus(app)
                assert isinstance(bus, RedisEventBus)
                await held.enter_async_context(bus.subscribe("conv:7"))
                assert await raw.smembers(key) == {bus.process_id.encode()}
            # Shut down with the subscription still held.
            assert await raw.smembers(key) == set()
    finally:
        await raw.aclose()
        create_app(settings)  # this process's limiter and context store back in memory
