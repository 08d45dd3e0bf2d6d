"""What other domains write into the ledger: one function per recorded fact.

Each appends in the caller's transaction (flush only), so the fact and its ledger entry are
committed or rolled back together.
"""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from probity.ledger.canonical import _fast_ok
from probity.ledger.chain import format_time
from probity.ledger.service import AppendedEntry, append_entry
from probity.models.alerts import Alert
from probity.models.chat import Message, MessageKind

if TYPE_CHECKING:
    from probity.chat.wire import MessageRow


def _value(value: Any) -> Any:
    return getattr(value, "value", value)  # enums as their stored value


def message_payload(msg: Message | MessageRow | Row[Any]) -> dict[str, Any]:
    """A chat message with its screening decision and attachment hash. (A `MessageKind`'s
    value is read from the member, ``_value_``: ``.value`` is a Python-level property.)"""
    return {
        "message_id": msg.id,
        "conversation_id": msg.conversation_id,
        "conv_seq": msg.seq,
        "created_at": format_time(msg.created_at),
        "sender_role": msg.sender_role,
        "sender_user_id": msg.sender_user_id,
        "sender_employee_id": msg.sender_employee_id,
        "client_id": msg.client_id,
        "kind": kind._value_ if type(kind := msg.kind) is MessageKind else _value(kind),
        "body": msg.body,
        "attachment_sha256": msg.attachment_sha256,
        "attachment_mime": msg.attachment_mime,
        "attachment_size": msg.attachment_size,
        "decision": msg.decision,
        "screening_status": msg.screening_status,
        "categories": list(msg.categories or []),
        "severity": msg.severity,
        "spans": list(msg.spans or []),
        "policy_version": msg.policy_version,
    }


# `message_payload`'s keys but its two lists, and the types its other values may have for
# `message_json` to write them (exact types: a subclass, a float… goes to canonical_json).
_MESSAGE_SCALARS = itemgetter(
    "message_id", "conversation_id", "conv_seq", "created_at", "sender_role", "sender_user_id",
    "sender_employee_id", "client_id", "kind", "body", "attachment_sha256", "attachment_mime",
    "attachment_size", "decision", "screening_status", "severity", "policy_version")
_MESSAGE_KEYS = 19
_SCALAR_TYPES = frozenset({str, int, type(None)})
_ORJSON = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER


def message_json(payload: dict[str, Any]) -> bytes | None:
    """``canonical_json(payload)`` of a `message_payload` dict, written by orjson (the ledger's
    chat writer: ~1 µs instead of ~6 µs through the standard library's encoder and its type
    pass), or None where only `canonical_json` may write it: a value of another type than
    ``str``, ``int`` and ``None`` (the two lists: `canonical._fast_ok`'s types), an int beyond
    ±(2**53−1) (OPT_STRICT_INTEGER), a lone surrogate. For those types orjson writes what the
    standard library's C encoder writes (strings escaped alike, checked over every code point
    by tests/ledger/test_canonical_fast.py), and the keys are ASCII, so its sort is RFC 8785's.
    Every key sorts after ``"_salt"`` (`chain.chain_texts` splices a salt in first)."""
    lists = payload["categories"], payload["spans"]
    if (len(payload) != _MESSAGE_KEYS
            or not _SCALAR_TYPES.issuperset(map(type, _MESSAGE_SCALARS(payload)))
            or ((lists[0] or lists[1]) and not _fast_ok(list(lists)))):
        return None
    try:
        return orjson.dumps(payload, option=_ORJSON)
    except orjson.JSONEncodeError:
        return None


# The values of a chat message's payload that its writer learns only in its write turn, and the
# placeholders `message_json_parts` takes them as: the seq, the time and the id.
TURN_VALUES = {"conv_seq": 0, "created_at": "", "message_id": 0}
_CUTS = (b',"conv_seq":0,', b',"created_at":"",', b',"message_id":0,')
MessageParts = tuple[bytes, bytes, bytes, bytes]
_MAX_INT = 2**53 - 1  # orjson's OPT_STRICT_INTEGER bound (`message_json`)


def message_json_parts(payload: dict[str, Any]) -> MessageParts | None:
    """`message_json` of a `message_payload` dict whose `TURN_VALUES` are the placeholders,
    cut around them, for `message_json_join` to put the real ones in: the chat writer encodes
    a message before its write turn and fills in its seq, time and id inside it. None where
    `message_json` is None. (Each cut is found where its key is a member of the object: inside
    a string value every quote is escaped, so ``,"conv_seq":`` cannot occur there.)"""
    body = message_json(payload)
    if body is None:
        return None
    a = body.find(_CUTS[0])
    b = body.find(_CUTS[1], a + 1)
    c = body.find(_CUTS[2], b + 1)
    if a < 0 or b < 0 or c < 0:
        return None
    # Where each placeholder starts: the `0` before a cut's last comma, the `""` before it.
    seq, created, ident = (a + len(_CUTS[0]) - 2, b + len(_CUTS[1]) - 3, c + len(_CUTS[2]) - 2)
    return body[:seq], body[seq + 1:created + 1], body[created + 1:ident], body[ident + 1:]


def message_json_join(parts: MessageParts, seq: int, created: bytes, message_id: int
                      ) -> bytes | None:
    """The payload's canonical JSON with its seq, time (`format_time`'s ASCII text, encoded)
    and id: `message_json` of the whole payload, byte for byte; None for an int `message_json`
    would not write (beyond ±(2**53−1))."""
    if seq > _MAX_INT or message_id > _MAX_INT:
        return None
    return b"%b%d%b%b%b%d%b" % (parts[0], seq, parts[1], created, parts[2], message_id,
                                parts[3])


def alert_payload(alert: Alert | Row[Any]) -> dict[str, Any]:
    return {
        "alert_id": alert.id,
        "message_id": alert.message_id,
        "conversation_id": alert.conversation_id,
        "customer_id": alert.customer_id,
        "org_unit_id": alert.org_unit_id,
        "sender_role": alert.sender_role,
        "sender_user_id": alert.sender_user_id,
        "agent_employee_id": alert.agent_employee_id,
        "decision": alert.decision,
        "category": alert.category,
        "categories": list(alert.categories or []),
        "severity": alert.severity,
        "snippet": alert.snippet,
    }


async def ledger_message(session: AsyncSession, msg: Message) -> AppendedEntry:
    # Salted: a message is personal data that retention may purge; its hash must not leak it.
    return await append_entry(
        session, msg.tenant_id, "chat.message", message_payload(msg), purgeable=True
    )


async def ledger_alert(session: AsyncSession, alert: Alert) -> AppendedEntry:
    return await append_entry(session, alert.tenant_id, "alert.raised", alert_payload(alert))
