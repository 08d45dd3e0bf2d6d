"""The real-time bus: in-process by default, Redis when `settings.redis_url` is set.

Publishers call `publish(channel, event)` only after their transaction has committed (queue it
with `probity.auth.deps.after_commit`). Subscribers (WebSocket connections) get an asyncio queue
per subscription. With Redis (`RedisEventBus`), an event goes to the publishing process's own
subscribers at once and, through Redis, only to the OTHER processes that hold a subscriber of
its channel: each process listens on one pub/sub channel of its own and registers, in Redis,
the channels it holds; a script routes each batch of published events to the processes
registered for them, one Redis message per process and batch (see `RedisEventBus`). Publishes
are pipelined (one sender task writes everything queued meanwhile in one call), so a batch of
committed messages costs one Redis round trip, not one per event; their order is kept.
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

    async def _on_join(self, channel: str) -> None:
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
        try:
            # Returns once the channel's events reach this process (with Redis: registered).
            if first:
                await self._on_first(channel)
            else:
                await self._on_join(channel)
            yield sub
        finally:
            subs.discard(sub)
            if not subs:
                self._subs.pop(channel, None)
                await self._on_last(channel)

    async def close(self) -> None:
        return None


# Routing (run by Redis, atomically, once per batch of events): ARGV = prefix, the publishing
# process's id, then (channel, item) pairs. Each channel's registered processes are read from its
# set `<prefix>:subs:<channel>`; each process but the publisher gets ONE message on its own
# channel `<prefix>:proc:<id>` with its items, as a JSON array (the items are JSON already). A
# process that no longer listens (PUBLISH reached nobody: it died, or its connection dropped,
# and it registers again when it comes back) is taken out of the sets it was found in.
_ROUTE = """
local prefix, me = ARGV[1], ARGV[2]
local members, out, order, seen = {}, {}, {}, {}
for i = 3, #ARGV, 2 do
  local ch = ARGV[i]
  local procs = members[ch]
  if procs == nil then
    procs = redis.call('SMEMBERS', prefix .. ':subs:' .. ch)
    members[ch] = procs
  end
  for _, p in ipairs(procs) do
    if p ~= me then
      local buf = out[p]
      if buf == nil then
        buf = {}
        out[p] = buf
        order[#order + 1] = p
        seen[p] = {}
      end
      buf[#buf + 1] = ARGV[i + 1]
      seen[p][ch] = true
    end
  end
end
local sent = 0
for _, p in ipairs(order) do
  local data = '[' .. table.concat(out[p], ',') .. ']'
  local got = redis.call('PUBLISH', prefix .. ':proc:' .. p, data)
  if got == 0 then
    for ch, _ in pairs(seen[p]) do
      redis.call('SREM', prefix .. ':subs:' .. ch, p)
    end
  else
    sent = sent + 1
  end
end
return sent
"""
# A registration set's expiry, renewed while the process holds the channel (a process that
# died leaves at most this long behind, for channels nobody published to since). The renewal
# also restores a registration the routing script dropped while this process's pub/sub
# connection was down (redis-py may reconnect without telling): events can be lost to it for
# that long at most, and the bus's epoch is bumped when it happens.
REGISTRATION_TTL_S = 24 * 3600
REGISTRATION_RENEW_S = 30.0


class RedisEventBus(EventBus):
    """Fan-out across processes through Redis, routed to the processes that hold the channel.

    Each process has an id and listens on ONE Redis pub/sub channel of its own. While it has
    local subscribers to a channel (a conversation, the alert feed, an account), its id is in
    that channel's registration set in Redis (`<prefix>:subs:<channel>`). A publish is delivered
    to the publishing process's own subscribers at once (the event object itself: not
    serialised, not parsed, no round trip), and serialised once (orjson) for the others. The
    events queued while the previous Redis write was in flight go out together: one script
    (`_ROUTE`), run atomically by Redis, reads the channels' registrations and sends each
    OTHER process that holds any of them one message with all its events of the batch. So a
    process receives only the events of channels it holds, never its own, and one Redis message
    per batch rather than one per event; a conversation whose sockets are all on one process
    costs no Redis message at all.

    Nothing is missed when a socket opens: a subscriber's `subscribe` returns only once the
    process's registration for the channel is stored in Redis, and the socket reads its backlog
    after that. An event committed before the registration is in the backlog; one committed
    after it is routed to the process, since the routing script runs after the commit and sees
    the registration (Redis runs commands one at a time).
    """

    def __init__(self, url: str, prefix: str = "probity") -> None:
        super().__init__()
        import uuid

        import redis.asyncio as aioredis

        # Pub/sub channels are global to a Redis server (not per database number), so every
        # deployment sharing one names its channels with its own prefix.
        self._prefix = prefix
        self.process_id = uuid.uuid4().hex[:16]
        self._inbox_channel = f"{prefix}:proc:{self.process_id}"
        self._redis = aioredis.from_url(url)
        self._route = self._redis.register_script(_ROUTE)
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._reader: asyncio.Task[None] | None = None
        self._renewer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._listening = False  # this process's own channel is subscribed (confirmed)
        # channel → the registration in progress (later subscribers wait for it too)
        self._registering: dict[str, asyncio.Future[bool]] = {}
        # Publishing is pipelined: events queue here (in order) and one sender task writes all
        # that queued while its previous write was in flight, in one script call.
        self._outbox: list[tuple[str, bytes]] = []
        self._outbox_ready = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None

    def _subs_key(self, channel: str) -> str:
        return f"{self._prefix}:subs:{channel}"

    async def publish(self, channel: str, event: Event) -> None:
        # Serialised once, here (orjson: UTF-8 as is), for the other processes — before the
        # local subscribers see it (they annotate the event object they are given).
        self._outbox.append((channel, orjson.dumps([channel, event],
                                                   option=orjson.OPT_NON_STR_KEYS)))
        self._outbox_ready.set()
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send())
        self._fanout(channel, event)

    async def _route_batch(self, items: list[tuple[str, bytes]]) -> None:
        args: list[Any] = [self._prefix, self.process_id]
        for channel, data in items:
            args.append(channel)
            args.append(data)
        await self._route(keys=[], args=args)

    async def _send(self) -> None:
        while True:
            if not self._outbox:
                self._outbox_ready.clear()
                await self._outbox_ready.wait()
                continue
            items, self._outbox = self._outbox, []
            for attempt in range(3):
                try:
                    await self._route_batch(items)
                    break
                except asyncio.CancelledError:
                    raise
                except Exception:  # a dropped connection: retry, then give up on these
                    log.exception("redis publish failed (attempt %d)", attempt + 1)
                    await asyncio.sleep(0.1 * (attempt + 1))

    async def _listen(self) -> None:
        """Subscribe to this process's own channel, and wait until Redis has it (a process
        must listen before it registers: the routing script forgets a process nobody hears)."""
        if self._listening:
            return
        await self._pubsub.subscribe(self._inbox_channel)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read())
        for _ in range(200):
            got = await self._redis.pubsub_numsub(self._inbox_channel)
            if got and int(got[0][1]) > 0:
                break
            await asyncio.sleep(0.005)
        else:
            raise ConnectionError("redis: this process's channel was not subscribed")
        self._listening = True
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew())

    async def _register(self, channels: list[str]) -> int:
        """Register this process for the channels; returns how many were not registered."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for channel in channels:
                pipe.sadd(self._subs_key(channel), self.process_id)
                pipe.expire(self._subs_key(channel), REGISTRATION_TTL_S)
            got = await pipe.execute()
        return sum(int(x) for x in got[::2])

    async def _on_first(self, channel: str) -> None:
        # Later subscribers to the channel wait for this registration (`_on_join`); the
        # future says whether it is stored (False: they register themselves).
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._registering[channel] = future
        try:
            async with self._lock:
                await self._listen()
                await self._register([channel])
        except BaseException:
            future.set_result(False)
            raise
        else:
            future.set_result(True)
        finally:
            if self._registering.get(channel) is future:
                del self._registering[channel]

    async def _on_join(self, channel: str) -> None:
        future = self._registering.get(channel)
        if future is not None and not await asyncio.shield(future):
            # The first subscriber's registration failed (Redis, or its socket went away
            # meanwhile): this one registers the channel itself.
            await self._on_first(channel)

    async def _on_last(self, channel: str) -> None:
        async with self._lock:
            if channel not in self._subs:
                await self._redis.srem(self._subs_key(channel), self.process_id)

    async def _renew(self) -> None:
        """Renew this process's registrations now and then, and restore any that the routing
        script dropped while this process's connection was down."""
        while True:
            await asyncio.sleep(REGISTRATION_RENEW_S)
            try:
                async with self._lock:
                    self._listening = False  # confirm the subscription again first
                    await self._listen()
                    if self._subs and await self._register(list(self._subs)):
                        self.epoch += 1  # events published meanwhile were lost to us
                        log.warning("redis bus: registrations restored (events may be lost)")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("redis bus: renewing the registrations failed")

    async def _read(self) -> None:
        reregister = False
        while True:
            try:
                if reregister:
                    async with self._lock:
                        self._listening = False
                        await self._listen()
                        if self._subs:
                            await self._register(list(self._subs))
                reregister = False
                msg = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:  # a dropped connection: log, back off, retry
                log.exception("redis pub/sub read failed")
                self.epoch += 1  # events published meanwhile are lost to this process
                reregister = True  # the routing script may have dropped its registrations
                await asyncio.sleep(0.5)
                continue
            if msg is None or msg.get("type") != "message":
                if not self._pubsub.subscribed:
                    await asyncio.sleep(0.05)
                continue
            try:
                items = orjson.loads(msg["data"])
                for channel, event in items:
                    self._fanout(channel, event)
            except (orjson.JSONDecodeError, TypeError, ValueError):
                log.warning("undecodable events dropped")

    async def close(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._sender
        if self._outbox:  # what was still queued
            with contextlib.suppress(Exception):
                await self._route_batch(self._outbox)
            self._outbox = []
        for task in (self._reader, self._renewer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._subs:  # this process's registrations go with it
            with contextlib.suppress(Exception):
                async with self._redis.pipeline(transaction=False) as pipe:
                    for channel in self._subs:
                        pipe.srem(self._subs_key(channel), self.process_id)
                    await pipe.execute()
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
