"""The direct path's rows (`probity.chat.direct`): `_new_row` makes the very `MessageRow` its
constructor makes, `store.message_tuple` the values `message_values` gives the session path."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from probity.chat.conversations import Participant
from probity.chat.direct import _new_row
from probity.chat.store import VALUE_COLUMNS, PendingSend, message_tuple, message_values
from probity.chat.wire import MessageRow
from probity.models import MessageKind


def test_new_row_is_the_constructors_row() -> None:
    fields = dataclasses.fields(MessageRow)
    assert all(f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
               for f in fields)
    assert not hasattr(MessageRow, "__post_init__")
    now = datetime.now(UTC)
    for values in [(1, 2, 3, 4, "agent", 5, 6, "c", MessageKind.text, "hi", None, None, None,
                    "allow", "screened", [], 0, [], 0, now, None),
                   (9, 8, 7, 6, "customer", None, None, None, MessageKind.image, "", "ab",
                    "image/png", 10, "warn", "screened", ["contact"], 2,
                    [{"start": 0, "end": 1}], 3, now, now)]:
        made, built = _new_row(values), MessageRow(*values)
        assert made == built
        assert [getattr(made, f.name) for f in fields] == list(values)
        assert type(made) is MessageRow


def test_message_tuple_is_message_values() -> None:
    async def publish(_c: str, _e: dict[str, Any]) -> None:
        return None

    now = datetime.now(UTC)
    result = SimpleNamespace(categories=("contact",), severity=2, decision="warn",
                             spans=[SimpleNamespace(to_dict=lambda: {"start": 0})],
                             policy_version=4)
    for who in (Participant("agent", 3, 4, None), Participant("customer", None, None, None)):
        for r in (None, result):
            s = PendingSend(1, who, publish, "hello", "c1", r)
            values = message_tuple(s, 7, 8, now)
            assert dict(zip(VALUE_COLUMNS, values, strict=True)) == message_values(s, 7, 8, now)
            assert values[VALUE_COLUMNS.index("decision")] == s.decision


def test_deliveries_effect_publishes_what_the_delivery_effects_did() -> None:
    """The direct path's one effect per batch publishes, in order, what one `delivery_effect`
    per message published; a failing publish is logged and the next message still goes."""
    import asyncio
    import contextlib

    from probity.chat.store import deliveries_effect, delivery_effect

    seen: list[tuple[str, Any]] = []

    async def publish(channel: str, event: dict[str, Any]) -> None:
        if event["message"]["body"] == "boom":
            raise RuntimeError("fan-out down")
        seen.append((channel, event))

    now = datetime.now(UTC)
    agent = Participant("agent", 3, 4, None)
    sent = []
    for i, body in enumerate(["a", "boom", "c"]):
        s = PendingSend(10 + i, agent, publish, body, None, None)
        sent.append((s, _new_row((i + 1, *message_tuple(s, 7, i + 1, now), None))))

    async def run() -> list[tuple[str, Any]]:
        seen.clear()
        await deliveries_effect(sent)()
        batch = list(seen)
        seen.clear()
        for s, m in sent:
            with contextlib.suppress(RuntimeError):
                await delivery_effect(s.publish, s.conv_id, m, None)()
        assert seen == batch
        return batch

    batch = asyncio.run(run())
    assert [c for c, _e in batch] == ["conv:10", "conv:12"]
    assert all(type(e["message"]).__name__ == "WireMessage" for _c, e in batch)
