"""The real-time bus: in-process by default, Redis pub/sub when `settings.redis_url` is set.

Publishers call `publish(channel, event)` only after their transaction has committed (queue it
with `probity.auth.deps.after_commit`). Subscribers (WebSocket connections) get an asyncio queue
per subscription. With Redis, each process holds ONE pub/sub connection: it subscribes to a
channel when the first local subscriber appears, and its reader task fans each Redis message out
to the local queues. A publish goes to Redis only, so a process that both publishes and
subscribes still receives each event exactly once. Publishes are pipelined (one sender task
writes everything queued meanwhile in one round trip), so a batch of committed messages costs
one Redis round trip, not one per event; their order is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson

log = logging.getLogger("probity.events")

Event = dict[str, Any]
# A slow consumer must not hold up everyone else: its queue is bounded and, when full, it is
# told to resynchronise (clients resume from their last seq, so nothing is lost).
QUEUE_SIZE = 1000
OVERFLOW: Event = {"type": "overflow"}


Watch = Callable[[Event], None]


class Subscription:
    """A subscriber's queue. `watch`, when given, sees each event synchronously as it is
    delivered (before the subscriber's task gets to it): a socket invalidates what it cached
    about its access there, so a frame read meanwhile is already checked against it."""

    def __init__(self, bus: EventBus, channel: str, watch: Watch | None = None) -> None:
        self.bus = bus
        self.channel = channel
        self.watch = watch
        self.queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)

    def deliver(self, event: Event) -> None:
        if self.watch is not None:
            self.watch(event)
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            if self.watch is not None:
                self.watch(OVERFLOW)
            self.queue.put_nowait(OVERFLOW)

    async def get(self) -> Event:
        return await self.queue.get()


class EventBus:
    """In-process fan-out."""

    def __init__(self) -> None:
        self._subs: dict[str, set[Subscription]] = {}
        # Bumped whenever events may have been lost (a dropped Redis connection): whatever a
        # subscriber concluded from the absence of events before is to be checked again.
        self.epoch = 0

    async def publish(self, channel: str, event: Event) -> None:
        self._fanout(channel, event)

    def _fanout(self, channel: str, event: Event) -> None:
        for sub in tuple(self._subs.get(channel, ())):
            sub.deliver(event)

    async def _on_first(self, channel: str) -> None:
        return None

    async def _on_last(self, channel: str) -> None:
        return None

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str, watch: Watch | None = None
                        ) -> AsyncIterator[Subscription]:
        sub = Subscription(self, channel, watch)
        subs = self._subs.setdefault(channel, set())
        first = not subs
        subs.add(sub)
        if first:
            await self._on_first(channel)
        try:
            yield sub
        finally:
            subs.discard(sub)
            if not subs:
                self._subs.pop(channel, None)
                await self._on_last(channel)

    async def close(self) -> None:
        return None


class RedisEventBus(EventBus):
    """Fan-out across processes through Redis pub/sub."""

    def __init__(self, url: str, prefix: str = "probity") -> None:
        super().__init__()
        import redis.asyncio as aioredis

        # Pub/sub channels are global to a Redis server (not per database number), so every
        # deployment sharing one names its channels with its own prefix.
        self._prefix = f"{prefix}:"
        self._redis = aioredis.from_url(url)
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        # Publishing is pipelined: events queue here (in order) and one sender task writes all
        # that queued while its previous write was in flight, in one round trip.
        self._outbox: list[tuple[str, bytes]] = []
        self._outbox_ready = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None

    async def publish(self, channel: str, event: Event) -> None:
        # Serialised once, here (orjson: UTF-8 as is); every process parses it once on receipt.
        self._outbox.append((f"{self._prefix}{channel}",
                             orjson.dumps(event, option=orjson.OPT_NON_STR_KEYS)))
        self._outbox_ready.set()
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send())

    async def _send(self) -> None:
        while True:
            if not self._outbox:
                self._outbox_ready.clear()
                await self._outbox_ready.wait()
                continue
            items, self._outbox = self._outbox, []
            for attempt in range(3):
                try:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for channel, data in items:
                            pipe.publish(channel, data)
                        await pipe.execute()
                    break
                except asyncio.CancelledError:
                    raise
                except Exception:  # a dropped connection: retry, then give up on these
                    log.exception("redis publish failed (attempt %d)", attempt + 1)
                    await asyncio.sleep(0.1 * (attempt + 1))

    async def _on_first(self, channel: str) -> None:
        async with self._lock:
            await self._pubsub.subscribe(f"{self._prefix}{channel}")
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read())

    async def _on_last(self, channel: str) -> None:
        async with self._lock:
            if channel not in self._subs:
                await self._pubsub.unsubscribe(f"{self._prefix}{channel}")

    async def _read(self) -> None:
        while True:
            try:
                msg = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:  # a dropped connection: log, back off, retry
                log.exception("redis pub/sub read failed")
                self.epoch += 1  # events published meanwhile are lost to this process
                await asyncio.sleep(0.5)
                continue
            if msg is None or msg.get("type") != "message":
                if not self._pubsub.subscribed:
                    await asyncio.sleep(0.05)
                continue
            channel = msg["channel"]
            if isinstance(channel, bytes):
                channel = channel.decode()
            try:
                event = orjson.loads(msg["data"])
            except orjson.JSONDecodeError:
                log.warning("undecodable event on %s dropped", channel)
                continue
            self._fanout(channel.removeprefix(self._prefix), event)

    async def close(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._sender
        if self._outbox:  # what was still queued
            with contextlib.suppress(Exception):
                async with self._redis.pipeline(transaction=False) as pipe:
                    for channel, data in self._outbox:
                        pipe.publish(channel, data)
                    await pipe.execute()
            self._outbox = []
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        await self._pubsub.aclose()
        await self._redis.aclose()


def get_bus(app: Any) -> EventBus:
    """The application's bus, created on first use from its settings."""
    bus: EventBus | None = getattr(app.state, "bus", None)
    if bus is None:
        settings = app.state.settings
        url = settings.redis_url
        bus = RedisEventBus(url, settings.redis_channel_prefix) if url else EventBus()
        app.state.bus = bus
    return bus
