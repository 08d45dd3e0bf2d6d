"""Property tests: never raises, spans in range, masking hides spans, determinism."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from probity.screening import default_policy, screen_message

POLICY = default_policy()
ROLE = st.sampled_from(["customer", "agent"])
# Unicode in general, plus text biased towards what the engine looks at.
PIECES = st.sampled_from(["加", "我", "微", "信", "vx", "红包", "🧧", "138", "1234", "5678",
                          "一三八", "幺", "①", "＋", " ", "，", "@", "qq", "不", "转", "卡号",
                          "6222", "\u200b", "ß", "⑩", "ﬁ", "紅", "私聊", "http://t.me/x"])
TEXT = st.one_of(st.text(max_size=200), st.lists(PIECES, max_size=40).map("".join))


@settings(max_examples=400, deadline=None)
@given(TEXT, ROLE)
def test_never_raises_and_spans_are_valid(text: str, role: str) -> None:
    res = screen_message(text, role, POLICY)
    assert res.decision in ("allow", "warn", "block")
    assert len(res.masked) == len(text)
    for span in res.spans:
        assert 0 <= span.start < span.end <= len(text)
        if span.category != "refusal":
            assert res.masked[span.start : span.end] == "*" * (span.end - span.start)
    assert set(res.categories) <= {"contact", "bribe", "payment", "refusal"}
    assert (res.decision == "allow") or res.severity >= 2


@settings(max_examples=200, deadline=None)
@given(TEXT, ROLE)
def test_deterministic(text: str, role: str) -> None:
    assert screen_message(text, role, POLICY) == screen_message(text, role, POLICY)
    assert screen_message(text, role, POLICY).to_dict() == screen_message(
        text, role, POLICY).to_dict()


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_unmasked_characters_are_original(text: str) -> None:
    res = screen_message(text, "customer", POLICY)
    for a, b in zip(text, res.masked, strict=True):
        assert b in (a, "*")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(TEXT, ROLE), max_size=12))
def test_batch_equals_one_by_one(items: list[tuple[str, str]]) -> None:
    from probity.screening.engine import screen_batch

    assert screen_batch(items, POLICY) == [screen_message(t, r, POLICY) for t, r in items]
