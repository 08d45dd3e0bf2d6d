"""A subscription's queue (`probity.events.Subscription`): FIFO, bounded (a full queue drops its
oldest event and the new one for an `overflow`, which `watch` sees too), nothing lost when a
waiting `get` is cancelled; and the chat socket's raw ASGI callables
(`probity.middleware.RAW_ASGI`), left in a WebSocket's scope only."""

from __future__ import annotations

import asyncio
from typing import Any

from probity import events
from probity.events import OVERFLOW, EventBus, Subscription
from probity.middleware import RAW_ASGI, RequestContextMiddleware


async def test_events_come_out_in_order_and_a_waiting_get_is_woken() -> None:
    sub = Subscription(EventBus(), "c")
    waiting = asyncio.ensure_future(sub.get())
    await asyncio.sleep(0)
    assert not waiting.done()
    sub.deliver({"n": 1})
    sub.deliver({"n": 2})
    assert await asyncio.wait_for(waiting, 1) == {"n": 1}
    assert await sub.get() == {"n": 2}
    assert sub.empty()


async def test_a_full_queue_drops_the_oldest_and_queues_an_overflow(monkeypatch: Any) -> None:
    monkeypatch.setattr(events, "QUEUE_SIZE", 3)
    seen: list[dict[str, Any]] = []
    sub = Subscription(EventBus(), "c", lambda e: bool(seen.append(e)))
    for n in range(4):
        sub.deliver({"n": n})
    assert [await sub.get() for _ in range(3)] == [{"n": 1}, {"n": 2}, OVERFLOW]
    assert seen[-1] is OVERFLOW and sub.empty()


async def test_watch_that_takes_an_event_keeps_it_out_of_the_queue() -> None:
    sub = Subscription(EventBus(), "c", lambda e: e.get("mine") is True)
    sub.deliver({"mine": True})
    assert sub.empty()


async def test_a_cancelled_get_loses_nothing() -> None:
    sub = Subscription(EventBus(), "c")
    first = asyncio.ensure_future(sub.get())
    await asyncio.sleep(0)
    sub.deliver({"n": 1})  # wakes `first`, which is then cancelled before it runs
    first.cancel()
    second = asyncio.ensure_future(sub.get())
    assert await asyncio.wait_for(second, 1) == {"n": 1}
    assert first.cancelled()


async def test_the_raw_asgi_callables_are_left_in_a_websocket_scope_only() -> None:
    got: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        got[scope["type"]] = scope.get(RAW_ASGI)

    async def receive() -> dict[str, Any]:
        return {}

    async def send(_message: Any) -> None:
        return None

    mw = RequestContextMiddleware(app)
    await mw({"type": "websocket", "headers": []}, receive, send)
    await mw({"type": "http", "headers": []}, receive, send)
    assert got["websocket"] == (receive, send)
    assert got["http"] is None
