"""The C fast path of canonical_json writes exactly the bytes of the Python RFC 8785 encoder.

The fast path (``json`` C encoder, sorted keys, compact separators, no ASCII escaping) is taken
only for exact JSON types with ints in the safe range and keys inside the BMP; everything else
falls back to the reference encoder. Whatever path a value takes, the bytes (or the error) must
be those of :func:`canonical_json_reference`.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probity.ledger import canonical
from probity.ledger.canonical import (
    MAX_SAFE_INTEGER,
    CanonicalJSONError,
    canonical_json,
    canonical_json_reference,
)

# Text of every kind: control characters, quotes, backslashes, CJK, astral (emoji), the
# U+E000–U+FFFF block whose UTF-16 order differs from code-point order against astral keys,
# and lone surrogates (refused by both).
_ALPHABET = st.one_of(
    st.characters(min_codepoint=0, max_codepoint=0x7F),
    st.characters(min_codepoint=0x4E00, max_codepoint=0x4E40),
    st.characters(min_codepoint=0xE000, max_codepoint=0xFFFF),
    st.characters(min_codepoint=0x1F600, max_codepoint=0x1F610),
    st.sampled_from(['"', "\\", "\x00", "\x1f", "\x7f", "\u2028", "\ud800"]),
)
_text = st.text(_ALPHABET, max_size=12)
_safe_int = st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
_any_int = st.one_of(_safe_int, st.integers(), st.sampled_from(
    [MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1, -MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER - 1]))


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


_leaf = st.one_of(
    st.none(), st.booleans(), _any_int, _text,
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([Colour.RED, Level.HIGH, 1.0, -0.0, 1e21, 1e-7, 100.0]),
)
_key = st.one_of(_text, st.sampled_from(["\ufb01", "\U0001f600", "\u20ac", "a"]))
_values = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(_key, inner, max_size=5),
        # non-str keys: refused by both
        st.dictionaries(st.one_of(_key, st.integers(0, 3), st.none()), inner, max_size=3),
    ),
    max_leaves=25,
)

# What the product writes: flat or shallow dicts of ids, codes, times, texts, lists of codes.
_product_payload = st.fixed_dictionaries(
    {
        "message_id": _safe_int,
        "conversation_id": _safe_int,
        "sender_role": st.sampled_from(["customer", "agent"]),
        "body": _text,
        "decision": st.sampled_from(["allow", "warn", "block"]),
        "categories": st.lists(st.sampled_from(["contact", "payment", "other"]), max_size=3),
        "severity": st.integers(0, 5),
        "created_at": st.just("2026-12-04T21:00:00.000000Z"),
    },
    optional={"spans": st.lists(st.fixed_dictionaries(
        {"start": st.integers(0, 2000), "end": st.integers(0, 2000), "rule": _text}),
        max_size=3), "attachment": st.none() | _text, "amount": _text},
)


def _outcome(encode: Any, value: Any) -> tuple[str, Any]:
    try:
        return "ok", encode(value)
    except (CanonicalJSONError, RecursionError, TypeError, ValueError) as exc:
        return "error", type(exc).__name__


@settings(max_examples=400, deadline=None)
@given(_values)
def test_fast_path_matches_reference_for_any_value(value: Any) -> None:
    assert _outcome(canonical_json, value) == _outcome(canonical_json_reference, value)


@settings(max_examples=300, deadline=None)
@given(_product_payload)
def test_product_payloads_take_the_fast_path_byte_identically(payload: dict[str, Any]) -> None:
    assert canonical._fast_ok(payload)
    assert _outcome(canonical_json, payload) == _outcome(canonical_json_reference, payload)


@pytest.mark.parametrize("value", [
    1.0, {"a": 0.5}, [1e21], {"a": Colour.RED}, {"a": Level.HIGH}, {1: "x"},
    {"\U0001f600": 1, "\ufb01": 2}, MAX_SAFE_INTEGER + 1, {"a": [-(2**60)]},
])
def test_values_outside_the_fast_path_fall_back(value: Any) -> None:
    assert not canonical._fast_ok(value)
    assert _outcome(canonical_json, value) == _outcome(canonical_json_reference, value)


def test_fast_path_taken_for_plain_payloads() -> None:
    payload = {"b": [1, "x", None, True, {"c": "中文\n"}], "a": (MAX_SAFE_INTEGER,)}
    assert canonical._fast_ok(payload)
    assert canonical_json(payload) == canonical_json_reference(payload)


# ---- the chat writer's message payloads through orjson (`ledger.facts.message_json`) --------

def _message_payload(**values: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "message_id": 1, "conversation_id": 2, "conv_seq": 3,
        "created_at": "2026-12-06T10:00:00.000000Z", "sender_role": "customer",
        "sender_user_id": None, "sender_employee_id": None, "client_id": "c1", "kind": "text",
        "body": "你好", "attachment_sha256": None, "attachment_mime": None,
        "attachment_size": None, "decision": "allow", "screening_status": "screened",
        "categories": [], "severity": 0, "spans": [], "policy_version": 0}
    payload.update(values)
    return payload


_scalar = st.one_of(st.none(), _any_int, _text, st.booleans(), st.floats(),
                    st.sampled_from([Colour.RED, Level.HIGH, 1.0]))
_message_payloads = st.builds(
    _message_payload,
    message_id=_any_int, conversation_id=_safe_int, conv_seq=_scalar,
    sender_user_id=st.none() | _any_int, sender_employee_id=_scalar,
    client_id=st.none() | _text, body=_text, attachment_mime=_scalar,
    attachment_size=st.none() | _any_int, decision=_scalar,
    categories=st.lists(st.one_of(_text, _leaf), max_size=3),
    severity=_any_int, spans=st.lists(_values, max_size=3), policy_version=_scalar,
)


@settings(max_examples=600, deadline=None)
@given(_message_payloads)
def test_message_json_is_canonical_json_or_none(payload: dict[str, Any]) -> None:
    from probity.ledger.facts import message_json

    made = message_json(payload)
    if made is not None:
        assert made == canonical_json_reference(payload)


def test_message_json_writes_the_product_payload_and_refuses_the_rest() -> None:
    from probity.ledger.facts import message_json

    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    for payload in (_message_payload(), _message_payload(body=every, client_id="\x00\x1f\"\\"),
                    _message_payload(categories=["contact"], spans=[{"start": 0, "end": 2,
                                                                     "rule": "r\n"}],
                                     sender_user_id=MAX_SAFE_INTEGER, severity=-3)):
        assert message_json(payload) == canonical_json(payload)
    for payload in (_message_payload(severity=1.0), _message_payload(body=Colour.RED),
                    _message_payload(message_id=MAX_SAFE_INTEGER + 1),
                    _message_payload(body="x\ud800"), _message_payload(spans=[{"a": 0.5}]),
                    _message_payload(categories=[Colour.RED]),
                    _message_payload(spans=[{"\U0001f600": 1, "\ufb01": 2}]),
                    {**_message_payload(), "extra": 1}):
        assert message_json(payload) is None


# ---- a message's payload encoded before the writer's turn, its seq, time and id put in inside it
# (`ledger.facts.message_json_parts` / `message_json_join`, issue 17) -------------------------

_seqs_and_ids = st.integers(min_value=0, max_value=MAX_SAFE_INTEGER + 2)
_times = st.datetimes(timezones=st.just(UTC))


@settings(max_examples=600, deadline=None)
@given(_message_payloads, _seqs_and_ids, _times, _seqs_and_ids)
def test_message_json_parts_joined_are_message_json_of_the_whole_payload(
        payload: dict[str, Any], seq: int, moment: datetime, message_id: int) -> None:
    """Byte for byte what `message_json` writes of the payload with the three values in it,
    whatever the other values (a body that spells a member out, `,"conv_seq":0,`, included);
    None wherever `message_json` is None (the joined ints beyond ±(2**53−1) too)."""
    from probity.ledger.chain import format_time
    from probity.ledger.facts import (
        TURN_VALUES,
        message_json,
        message_json_join,
        message_json_parts,
    )

    created = format_time(moment)
    whole = message_json({**payload, "conv_seq": seq, "created_at": created,
                          "message_id": message_id})
    parts = message_json_parts({**payload, **TURN_VALUES})
    joined = None if parts is None else message_json_join(parts, seq, created.encode(),
                                                          message_id)
    assert joined == whole


def test_message_json_parts_cut_at_the_members_not_in_a_string() -> None:
    from probity.ledger.facts import TURN_VALUES, message_json_join, message_json_parts

    spelled = ',"conv_seq":0,"created_at":"","message_id":0,'
    payload = _message_payload(body=spelled, client_id=spelled, **TURN_VALUES)
    parts = message_json_parts(payload)
    assert parts is not None
    joined = message_json_join(parts, 7, b"2026-12-07T13:00:00.000000Z", 99)
    assert joined == canonical_json(_message_payload(
        body=spelled, client_id=spelled, conv_seq=7, created_at="2026-12-07T13:00:00.000000Z",
        message_id=99))
    assert message_json_join(parts, MAX_SAFE_INTEGER + 1, b"", 1) is None
