"""What the WebSocket send path does on the event loop per message (issue 17): no database read
per message for the monitoring rules once one read is under way, no worker-thread hop for an
already compiled screener."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from probity.chat import screening as chat_screening
from probity.monitoring import enforce
from probity.screening import default_policy


class _Rows:
    def all(self) -> list[Any]:
        return []


class _Db:
    def __init__(self) -> None:
        self.reads = 0

    def __call__(self) -> _Db:
        return self

    async def __aenter__(self) -> _Db:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def scalars(self, _stmt: Any) -> _Rows:
        self.reads += 1
        await asyncio.sleep(0.01)
        return _Rows()


def test_messages_arriving_while_the_rules_are_read_share_one_read() -> None:
    enforce.reset()
    db = _Db()
    policy = default_policy()

    async def run() -> list[Any]:
        return await asyncio.gather(*(
            enforce.policy_for_sender(policy, 1, "agent", 5, sessionmaker=db)  # type: ignore[arg-type]
            for _ in range(50)))

    got = asyncio.run(run())
    assert all(p is policy for p in got)
    assert db.reads == 1
    enforce.reset()


def test_a_change_overtaking_a_read_is_not_kept() -> None:
    enforce.reset()
    db = _Db()

    async def run() -> None:
        task = asyncio.ensure_future(enforce._refresh_rules(db))  # type: ignore[arg-type]
        await asyncio.sleep(0.003)  # the read is under way (it takes 10 ms)
        enforce.reset()  # a rule changed while the read was under way
        await task

    asyncio.run(run())
    assert not enforce._fresh()


def test_a_compiled_screener_is_not_warmed_in_a_thread_again(monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    asyncio.run(chat_screening.warm_screener())
    hops: list[Any] = []

    async def to_thread(*args: Any) -> None:
        hops.append(args)

    monkeypatch.setattr(chat_screening.asyncio, "to_thread", to_thread)
    asyncio.run(chat_screening.warm_screener())
    assert hops == []


def test_warming_builds_the_digit_view_the_first_message_would(monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    from probity.screening import numbers

    if not numbers._COMPILED:
        pytest.skip("the digit view is built only where the numbers layer is compiled")
    monkeypatch.setattr(numbers, "_DIGITS_BMP", None)
    monkeypatch.setattr(chat_screening, "_warm", False)
    asyncio.run(chat_screening.warm_screener())
    assert numbers._DIGITS_BMP is not None and len(numbers._DIGITS_BMP) == 0x10000


def test_a_participant_is_sent_the_other_sides_receipts_only() -> None:
    from types import SimpleNamespace

    from probity.chat.conversations import Participant
    from probity.chat.ws import Connection
    from probity.events import EventBus

    sent: list[str] = []

    class _Socket:
        app = SimpleNamespace(state=SimpleNamespace(
            bus=EventBus(), db=SimpleNamespace(sessionmaker=None),
            settings=SimpleNamespace(chat_access_recheck_s=10.0)))

        async def send_text(self, text: str) -> None:
            sent.append(text)

    def frames_for(role: str) -> list[str]:
        sent.clear()
        conn = Connection(_Socket(), 1, 1, Participant(role, None, None, None),  # type: ignore[arg-type]
                          None, None)
        conn.live = True  # the backlog is sent
        for by in ("customer", "agent"):
            event = {"type": "receipt", "conversation_id": 1, "by": by, "delivered": 3, "read": 3}
            assert conn.take(event)  # as the conversation's subscription delivers it: sent
        return [f.split('"by":"')[1].split('"')[0] for f in sent]

    assert frames_for("customer") == ["agent"]
    assert frames_for("agent") == ["customer"]
    assert frames_for("supervisor") == ["customer", "agent"]
