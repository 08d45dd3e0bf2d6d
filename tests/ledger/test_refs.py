"""`probity.ledger.refs.refs_of`: what an entry is about, from its payload's top-level keys."""

from __future__ import annotations

from probity.ledger.refs import refs_of


def test_an_entry_is_about_the_records_its_payload_names() -> None:
    payload = {"alert_id": 7, "conversation_id": 3, "message_id": 41, "customer_id": "C-9",
               "sender_employee_id": 5, "employee_id": 5, "severity": 80}
    assert refs_of("alert.raised", payload) == [
        ("message", "41"), ("conversation", "3"), ("alert", "7"), ("customer", "C-9"),
        ("employee", "5")]
    assert refs_of("case.opened", {"case_id": 2, "event_id": 9}) == [
        ("case", "2"), ("case_event", "9")]
    assert refs_of("x", {"order_id": True, "payment_no": "", "refund_no": "r" * 65}) == []
    assert refs_of("x", ["not", "an", "object"]) == []


def test_a_chat_messages_entry_is_about_its_message_only() -> None:
    """Its conversation and sender are reached through the messages row (issue 17: refs to
    them cost the chat writer two index leaves per message)."""
    payload = {"message_id": 41, "conversation_id": 3, "sender_employee_id": 5,
               "sender_user_id": 8, "conv_seq": 2}
    assert refs_of("chat.message", payload) == [("message", "41")]
    assert refs_of("chat.message", {"message_id": 41}) == [("message", "41")]
    assert refs_of("chat.message", {"conversation_id": 3}) == []
