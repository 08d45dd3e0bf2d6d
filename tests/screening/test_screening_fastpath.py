"""The fast path (separators removed with str.replace / one regex, one anchor scan) gives
exactly the result of the exact fold (``fold_exact`` over the full table) on any text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from probity.screening import ScreeningResult, default_policy
from probity.screening.engine import _screen_slow, _worth_a_look
from probity.screening.engine import screen_rules as screen_message  # the rules layer
from probity.screening.normalize import fold_exact, tables
from probity.screening.policy import FOLD_MARK, CompiledPolicy

POLICY = default_policy()
ROLE = st.sampled_from(["customer", "agent"])
# Separators removed by str.replace in screen_message's fast path.
REPLACED = ["，", " ", "。", "？", "！", "、", "~", ",", "."]
ALNUM_SEPARATORS = sorted(tables().alnum_separators)
PIECES = st.sampled_from([
    "加", "我", "微", "信", "vx", "红包", "🧧", "138", "1234", "5678", "一三八", "幺", "①",
    "＋", "+", "@", "qq", "不", "转", "卡号", "6222", "\u200b", "⑩", "紅", "號", "私聊", "Ａ",
    "❤", "😊", "·", "_", "|", "：", "wei", "xin", "薇", "威信", "好的", "谢谢", "订单", "亲",
    *REPLACED, *ALNUM_SEPARATORS[:40],
])
TEXT = st.one_of(st.text(max_size=120), st.lists(PIECES, max_size=40).map("".join))


def _exact(text: str, role: str, policy: CompiledPolicy) -> ScreeningResult:
    """The reference: always the exact fold, never the regex/replace shortcut."""
    folded = fold_exact(text)
    if not _worth_a_look(text, folded.compact, role, policy):
        return ScreeningResult("allow", [], 0, [], text, policy.version)
    comp = policy.matcher.find_matches_as_indexes(folded.compact, overlapping=True)
    return _screen_slow(text, role, policy, folded, comp)


def test_replaced_characters_are_separators() -> None:
    fold = tables().fold
    for ch in REPLACED:
        assert fold[ch] == "", ch


def test_alnum_separators_are_fold_anchors() -> None:
    assert {"⓫", "ↂ", "ͺ"} <= tables().alnum_separators
    flags = POLICY.anchor_flags
    for ch in tables().alnum_separators:
        assert ch.isalnum() and tables().fold[ch] == ""
        matches = POLICY.anchor_matcher.find_matches_as_indexes(ch, overlapping=True)
        assert any(flags[aid] & FOLD_MARK for aid, _s, _e in matches), repr(ch)


@settings(max_examples=600, deadline=None)
@given(TEXT, ROLE)
def test_fast_path_equals_exact_fold(text: str, role: str) -> None:
    assert screen_message(text, role, POLICY).to_dict() == _exact(text, role, POLICY).to_dict()


def test_fast_path_examples() -> None:
    for text in ["加 微 信", "加，微，信", "加⓫微信", "加微ↂ信", "加微信ͺ", "好的，谢谢",
                 "亲。。。", "加威信。", "订单号 123456789012345678，查一下", "Ⅻ加Ⅻ微Ⅻ信Ⅻ"]:
        for role in ("customer", "agent"):
            got = screen_message(text, role, POLICY).to_dict()
            assert got == _exact(text, role, POLICY).to_dict(), text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=80))
def test_ascii_bytes_fold_equals_table(text: str) -> None:
    from probity.screening.normalize import ASCII_DROP, ASCII_FOLD, ASCII_LOWER

    assert text.encode().translate(ASCII_LOWER, ASCII_DROP).decode() == text.translate(ASCII_FOLD)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["6", "2", "1", "3", "8", "0", " ", "-", "卡号", "qq", "订单",
                                 "一", "三", "@", "号", "加", "，", "a"]), max_size=40)
       .map("".join), ROLE)
def test_digit_shortcut_equals_exact_fold(text: str, role: str) -> None:
    assert screen_message(text, role, POLICY).to_dict() == _exact(text, role, POLICY).to_dict()
