"""The real-time bus: in-process by default, Redis when `settings.redis_url` is set.

Publishers call `publish(channel, event)` only after their transaction has committed (queue it
with `probity.auth.deps.after_commit`). Subscribers (WebSocket connections) get an asyncio queue
per subscription. With Redis (`RedisEventBus`), an event goes to the publishing process's own
subscribers at once and, through Redis, only to the OTHER processes that hold a subscriber of
its channel: each process listens on one pub/sub channel of its own and registers, in Redis,
the channels it holds; a script routes each batch of published events to the processes
registered for them, one Redis message per process and batch (see `RedisEventBus`). Publishes
are pipelined (everything published while the previous batch was in flight goes in one call),
so a batch of committed messages costs one Redis round trip, not one per event; their order is
kept. The batches and the messages received travel on the bus's own RESP connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson

from probity.resp import RedisReplyError, RespConnection, command, open_connection, where

log = logging.getLogger("probity.events")

Event = dict[str, Any]
# A slow consumer must not hold up everyone else: its queue is bounded and, when full, it is
# told to resynchronise (clients resume from their last seq, so nothing is lost).
QUEUE_SIZE = 1000
OVERFLOW: Event = {"type": "overflow"}


# Returns True when the subscriber is done with the event (it is then not queued), else None
# or False.
Watch = Callable[[Event], bool | None]


class Subscription:
    """A subscriber's queue. `watch`, when given, sees each event synchronously as it is
    delivered (before the subscriber's task gets to it): a socket invalidates what it cached
    about its access there, so a frame read meanwhile is already checked against it. When
    `watch` returns True, the subscriber has nothing more to do with the event and it is not
    queued: no wake-up of the subscriber's task for it (a chat socket's own messages and its
    own side's receipts, issue 17)."""

    def __init__(self, bus: EventBus, channel: str, watch: Watch | None = None) -> None:
        self.bus = bus
        self.channel = channel
        self.watch = watch
        # A deque and the waiting getters' futures, not an asyncio.Queue: the same bounded
        # FIFO for one consumer task, without Queue's Python layers (unfinished-task count,
        # `finished` event, two method calls per put and per get) for every event (issue 17).
        self.queue: deque[Event] = deque()
        self._getters: deque[asyncio.Future[None]] = deque()

    def deliver(self, event: Event) -> None:
        if self.watch is not None and self.watch(event):
            return
        queue = self.queue
        if len(queue) >= QUEUE_SIZE:
            queue.popleft()
            if self.watch is not None:
                self.watch(OVERFLOW)
            event = OVERFLOW
        queue.append(event)
        if self._getters:
            self._wake_next()

    def empty(self) -> bool:
        return not self.queue

    async def get(self) -> Event:
        queue = self.queue
        while not queue:
            getter = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                with contextlib.suppress(ValueError):
                    self._getters.remove(getter)
                if queue and not getter.cancelled():
                    # Woken and cancelled at once: hand the wake-up to another getter.
                    self._wake_next()
                raise
        return queue.popleft()

    def _wake_next(self) -> None:
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_result(None)
                return


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
# also restores a registration the routing script dropped while this process could not be
# reached: events can be lost to it for that long at most, and the bus's epoch is bumped when
# it happens.
REGISTRATION_TTL_S = 24 * 3600
REGISTRATION_RENEW_S = 30.0
_ROUTE_SCRIPT = _ROUTE.encode()
_ROUTE_SHA = hashlib.sha1(_ROUTE_SCRIPT).hexdigest().encode()  # Redis names scripts by SHA-1


# The bus's hot path — each batch of published events, each message another process sends
# this one — speaks RESP itself (`probity.resp`), on two connections of its own: through
# redis-py it cost ~190 µs of CPU per event at chat rates, where a batch is one event (command
# packing and encoders, the connection pool, a task woken for each reply and each pub/sub
# message). Registrations (a socket opening or closing) stay on redis-py.


class RedisEventBus(EventBus):
    """Fan-out across processes through Redis, routed to the processes that hold the channel.

    Each process has an id and listens on ONE Redis pub/sub channel of its own. While it has
    local subscribers to a channel (a conversation, the alert feed, an account), its id is in
    that channel's registration set in Redis (`<prefix>:subs:<channel>`). A publish is delivered
    to the publishing process's own subscribers at once (the event object itself: not
    serialised, not parsed, no round trip), and serialised once (orjson) for the others. The
    events published while the previous batch was in flight go out together: one script
    (`_ROUTE`), run atomically by Redis, reads the channels' registrations and sends each
    OTHER process that holds any of them one message with all its events of the batch. So a
    process receives only the events of channels it holds, never its own, and one Redis message
    per batch rather than one per event; a conversation whose sockets are all on one process
    costs no Redis message at all. The batches and the messages received go over two
    connections of the bus's own (`RespConnection`): a batch is one write, its reply and a
    received message are handled in the connection's callback (no task woken for either).

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
        self._route_args = (prefix.encode(), self.process_id.encode())
        self._where = where(url)
        self._redis = aioredis.from_url(url)  # registrations
        self._inbox: RespConnection | None = None  # subscribed to this process's channel
        self._router: RespConnection | None = None  # runs the routing script
        self._connecting: asyncio.Task[None] | None = None
        self._restorer: asyncio.Task[None] | None = None
        self._renewer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._listening = False  # this process's own channel is subscribed (confirmed)
        self._closing = False
        # channel → the registration in progress (later subscribers wait for it too)
        self._registering: dict[str, asyncio.Future[bool]] = {}
        # Publishing is pipelined: events queue here (in order); whatever queued while the
        # previous batch was in flight goes out as the next batch, in one script call.
        self._outbox: list[tuple[str, bytes]] = []
        self._in_flight: list[tuple[str, bytes]] | None = None
        self._flush_soon = False

    def _subs_key(self, channel: str) -> str:
        return f"{self._prefix}:subs:{channel}"

    async def publish(self, channel: str, event: Event) -> None:
        # Serialised once, here (orjson: UTF-8 as is), for the other processes — before the
        # local subscribers see it (they annotate the event object they are given).
        self._outbox.append((channel, orjson.dumps([channel, event],
                                                   option=orjson.OPT_NON_STR_KEYS)))
        if self._in_flight is None and not self._flush_soon:
            # Sent once this loop turn is over: what else it publishes joins the batch.
            self._flush_soon = True
            asyncio.get_running_loop().call_soon(self._flush)
        self._fanout(channel, event)

    # -- routing the published events -----------------------------------------------------

    def _route_command(self, items: list[tuple[str, bytes]], script: bytes | None = None
                       ) -> bytes:
        args = [b"EVAL" if script else b"EVALSHA", script or _ROUTE_SHA, b"0", *self._route_args]
        for channel, data in items:
            args.append(channel.encode())
            args.append(data)
        return command(*args)

    def _flush(self) -> None:
        self._flush_soon = False
        if self._in_flight is not None or not self._outbox:
            return
        router = self._router
        if router is None or not router.up:
            if self._connecting is None or self._connecting.done():
                self._connecting = asyncio.create_task(self._connect_router())
            return
        self._in_flight, self._outbox = self._outbox, []
        router.send(self._route_command(self._in_flight), self._routed)

    def _routed(self, value: Any) -> None:
        """The reply to the batch in flight."""
        items = self._in_flight
        if isinstance(value, ConnectionError):  # kept, and sent again on the next connection
            if not self._closing:
                self._connecting = asyncio.create_task(self._connect_router())
            return
        if (isinstance(value, RedisReplyError) and str(value).startswith("NOSCRIPT")
                and items and self._router is not None and self._router.up):
            # Redis's script cache was flushed: the same batch with the script's text.
            self._router.send(self._route_command(items, _ROUTE_SCRIPT), self._routed)
            return
        if isinstance(value, Exception):
            log.error("redis bus: %d events not routed: %s", len(items or ()), value)
        self._in_flight = None
        self._flush()

    async def _connect_router(self) -> None:
        for attempt in range(3):
            try:
                router = await open_connection(self._where, select=True)
                await router.call(b"SCRIPT", b"LOAD", _ROUTE_SCRIPT)
                break
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis unreachable: retry, then give up on these events
                log.exception("redis publish failed (attempt %d)", attempt + 1)
                await asyncio.sleep(0.1 * (attempt + 1))
        else:
            lost = len(self._outbox) + len(self._in_flight or ())
            self._outbox, self._in_flight = [], None
            log.error("redis bus: %d events not routed (Redis unreachable)", lost)
            return
        if self._router is not None:
            self._router.close()
        self._router = router
        if self._in_flight is not None:  # the batch whose connection was lost, first
            router.send(self._route_command(self._in_flight), self._routed)
        else:
            self._flush()

    # -- receiving the other processes' events ----------------------------------------------

    def _received(self, value: Any) -> None:
        """A message on this process's channel: a batch of events, in publish order."""
        if type(value) is not list or len(value) != 3 or value[0] != b"message":
            return
        try:
            items = orjson.loads(value[2])
        except orjson.JSONDecodeError:
            log.warning("undecodable events dropped")
            return
        for item in items:
            try:
                channel, event = item
                self._fanout(channel, event)
            except Exception:  # one bad event (or watch) must not cost the others
                log.exception("redis bus: an event not delivered")

    async def _listen(self) -> None:
        """Subscribe to this process's own channel, and wait until Redis confirms it (a
        process must listen before it registers: the routing script forgets a process nobody
        hears)."""
        if self._listening and self._inbox is not None and self._inbox.up:
            return
        if self._inbox is not None:
            self._inbox.on_lost = None
            self._inbox.close()
        inbox = await open_connection(self._where, select=False, push=self._received)
        try:
            await inbox.call(b"SUBSCRIBE", self._inbox_channel.encode())
        except BaseException:
            inbox.close()
            raise
        inbox.on_lost = self._inbox_lost
        self._inbox = inbox
        self._listening = True
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew())

    def _inbox_lost(self) -> None:
        self._listening = False
        if self._closing:
            return
        self.epoch += 1  # events published meanwhile are lost to this process
        log.warning("redis bus: connection lost, listening again")
        if self._restorer is None or self._restorer.done():
            self._restorer = asyncio.create_task(self._restore())

    async def _restore(self) -> None:
        """Listen again and restore the registrations (the routing script drops a process's
        while nobody hears it)."""
        delay = 0.5
        while not self._closing:
            try:
                async with self._lock:
                    await self._listen()
                    if self._subs:
                        await self._register(list(self._subs))
                self.epoch += 1  # and whatever was published until now
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("redis bus: listening again failed")
                await asyncio.sleep(delay)
                delay = min(2 * delay, 5.0)

    # -- registrations ------------------------------------------------------------------------

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
        script dropped while this process could not be reached (a connection that looks open
        but that Redis no longer counts as subscribed is replaced)."""
        while True:
            await asyncio.sleep(REGISTRATION_RENEW_S)
            try:
                async with self._lock:
                    got = await self._redis.pubsub_numsub(self._inbox_channel)
                    if not got or int(got[0][1]) == 0:
                        self._listening = False
                    await self._listen()
                    if self._subs and await self._register(list(self._subs)):
                        self.epoch += 1  # events published meanwhile were lost to us
                        log.warning("redis bus: registrations restored (events may be lost)")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("redis bus: renewing the registrations failed")

    async def close(self) -> None:
        self._closing = True
        # What is queued or in flight goes out first (for a second at most).
        for _ in range(200):
            if self._in_flight is None and not self._outbox:
                break
            if self._in_flight is None and not self._flush_soon:
                self._flush()
            await asyncio.sleep(0.005)
        for task in (self._connecting, self._renewer, self._restorer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        for conn in (self._router, self._inbox):
            if conn is not None:
                conn.on_lost = None
                conn.close()
        if self._subs:  # this process's registrations go with it
            with contextlib.suppress(Exception):
                async with self._redis.pipeline(transaction=False) as pipe:
                    for channel in self._subs:
                        pipe.srem(self._subs_key(channel), self.process_id)
                    await pipe.execute()
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
