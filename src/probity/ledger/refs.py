"""What a ledger entry is about: the ``(ref_type, ref_id)`` pairs written to ``ledger_refs`` with
the entry, derived from the payload's top-level keys. Pure: no database, no web.

The index lets an evidence pack find a conversation's or a case's entries with an indexed
lookup instead of a scan over payload text, and it survives a retention purge (the payload goes,
the refs stay), so purged entries stay in packs and in verification.

A chat message's entry is about its message only (`ONLY`): its conversation and sender are the
``messages`` row's own columns, and that row is never deleted, so
``ledger.service.entries_about`` reaches a conversation's messages through
``messages.conversation_id``. Refs to the conversation and the sender made every message write
two leaves of the lookup index at random places, over a quarter of the chat writer's pages per
commit (issue 17); entries written before that keep theirs, and both are found.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ONLY", "REF_KEYS", "refs_of"]

# payload key -> ref_type
REF_KEYS: dict[str, str] = {
    "message_id": "message",
    "conversation_id": "conversation",
    "alert_id": "alert",
    "case_id": "case",
    "customer_id": "customer",
    "order_id": "order",
    "audit_id": "audit",
    "agent_employee_id": "employee",
    "sender_employee_id": "employee",
    "employee_id": "employee",
    "payment_no": "payment",
    "refund_no": "refund",
}
# entry type -> the one payload key its refs come from (the rest is reached through that record)
ONLY: dict[str, str] = {"chat.message": "message_id"}
_CASE_EVENT_KEY = "event_id"  # in case.* entries: the case_events row
_ORDER = {key: index for index, key in enumerate(REF_KEYS)}
_SORTED: dict[frozenset[str], list[str]] = {}  # REF_KEYS present -> them in REF_KEYS order


def _ref_value(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and 0 < len(value) <= 64:
        return value
    return None


def refs_of(entry_type: str, payload: Any) -> list[tuple[str, str]]:
    """The distinct ``(ref_type, ref_id)`` pairs an entry of *entry_type* with *payload* is
    about (none for a payload that is not an object)."""
    if not isinstance(payload, dict):
        return []
    only = ONLY.get(entry_type)
    if only is not None:
        value = _ref_value(payload.get(only))
        return [] if value is None else [(REF_KEYS[only], value)]
    out: list[tuple[str, str]] = []
    # Only the payload's keys that name a record (a set intersection in C), in REF_KEYS order;
    # remembered per key set (a chat message's payload has the same 19 keys every time).
    present = payload.keys() & _ORDER.keys()
    keys = _SORTED.get(frozenset(present)) if len(present) > 1 else present
    if keys is None:
        keys = sorted(present, key=_ORDER.__getitem__)
        if len(_SORTED) >= 256:
            _SORTED.clear()
        _SORTED[frozenset(present)] = keys
    for key in keys:
        ref_type = REF_KEYS[key]
        value = _ref_value(payload[key])
        if value is not None and (ref_type, value) not in out:
            out.append((ref_type, value))
    if entry_type.startswith("case."):
        value = _ref_value(payload.get(_CASE_EVENT_KEY))
        if value is not None:
            out.append(("case_event", value))
    return out
