"""Each disguise from the issue, with the span mapped back to the original text."""

from __future__ import annotations

import pytest

from probity.screening import CompiledPolicy, screen_message


def flagged(text: str, policy: CompiledPolicy, role: str = "customer") -> set[str]:
    res = screen_message(text, role, policy)
    assert res.decision != "allow", (text, res)
    return set(res.categories)


@pytest.mark.parametrize(
    "text",
    [
        "加我ＷＸ", "加我Wx", "加我微信", "加我微信".translate(str.maketrans("微信", "微信")),
        "加我微信號",  # traditional
    ],
)
def test_width_case_traditional(text: str, policy: CompiledPolicy) -> None:
    assert "contact" in flagged(text, policy)


@pytest.mark.parametrize(
    "text",
    ["加 我 微 信", "加.我.微.信", "加*我*微*信", "加😀我😀微😀信", "加\u200b我\u200b微\u200b信",
     "加~我~微~信", "加♥我♥微♥信", "加我 V . X"],
)
def test_inserted_separators(text: str, policy: CompiledPolicy) -> None:
    assert "contact" in flagged(text, policy)


@pytest.mark.parametrize(
    "text",
    ["vx多少", "wx聊", "加个V", "V我一下联系方式", "扣扣号多少", "企鹅号发我", "绿泡泡联系",
     "加我 WeChat", "tg找我"],
)
def test_abbreviations_and_slang_contact(text: str, policy: CompiledPolicy) -> None:
    assert flagged(text, policy) & {"contact", "payment"}


@pytest.mark.parametrize("text", ["发个hb给你帮帮忙", "🧧给你，帮个忙", "HB已发你，帮我加急"])
def test_abbreviations_and_slang_bribe(text: str, policy: CompiledPolicy) -> None:
    assert "bribe" in flagged(text, policy)


@pytest.mark.parametrize("word", ["薇信", "威信", "维信", "徽信", "威芯", "微芯", "薇芯"])
def test_homophones_and_lookalikes_of_wechat(word: str, policy: CompiledPolicy) -> None:
    text = f"加我{word}聊"
    res = screen_message(text, "customer", policy)
    assert "contact" in res.categories
    covered = "".join(text[s.start : s.end] for s in res.spans)
    assert word[-1] in covered  # the disguised word itself is highlighted


@pytest.mark.parametrize("word", ["虹包", "鸿包", "红bao", "hongbao", "hong bao"])
def test_homophones_of_red_envelope(word: str, policy: CompiledPolicy) -> None:
    assert "bribe" in flagged(f"给你发个{word}，帮我加急", policy)


@pytest.mark.parametrize(
    "text", ["weixin", "jia wo wei xin", "jiawoweixin", "wei xin liao", "加我 wei xin"]
)
def test_pinyin(text: str, policy: CompiledPolicy) -> None:
    assert "contact" in flagged(text, policy)


@pytest.mark.parametrize("text", ["加我V信", "wei信聊", "微xin号多少", "给你红bao"])
def test_mixed_script(text: str, policy: CompiledPolicy) -> None:
    assert flagged(text, policy) & {"contact", "bribe"}


PHONES = [
    "13812345678",
    "138 1234 5678",
    "138-1234-5678",
    "138.1234.5678",
    "138/1234/5678",
    "1 3 8 1 2 3 4 5 6 7 8",
    "+86 138 1234 5678",
    "+8613812345678",
    "0086 13812345678",
    "一三八一二三四五六七八",
    "幺三八幺二三四五六七八",
    "壹叁捌壹贰叁肆伍陆柒捌",
    "一三八零零零零一二三四",
    "①③⑧①②③④⑤⑥⑦⑧",
    "１３８１２３４５６７８",
    "13８1２3４5６7８",
    "138 一二三四 5678",
    "13 8🌟12 34🌟5678",
]


@pytest.mark.parametrize("number", PHONES)
def test_phone_numbers_in_disguise(number: str, policy: CompiledPolicy) -> None:
    text = f"有事打我 {number} 就行"
    res = screen_message(text, "customer", policy)
    assert res.decision == "block" and "contact" in res.categories
    start = text.index(number)
    # every digit of the number is masked in the copy
    for i, ch in enumerate(number):
        if ch.strip() and ch not in "+-./🌟":
            assert res.masked[start + i] == "*", (number, res.masked)


def test_phone_spread_across_a_sentence(policy: CompiledPolicy) -> None:
    text = "我电话前面是138，中间是1234，最后是5678"
    res = screen_message(text, "customer", policy)
    assert "contact" in res.categories
    assert "138" not in res.masked and "5678" not in res.masked


def test_spans_map_to_original_offsets(policy: CompiledPolicy) -> None:
    text = "您好！！加　我　ＶＸ：ａｂｃ１２３４５"
    res = screen_message(text, "customer", policy)
    assert res.decision == "block"
    joined = "".join(text[s.start : s.end] for s in res.spans)
    assert "ＶＸ" in joined and "ａｂｃ１２３４５" in joined
    assert res.masked.startswith("您好！！")
    assert len(res.masked) == len(text)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("把钱转到我个人账户", "payment"),
        ("不走平台，直接转我", "payment"),
        ("扫我的收款码付款", "payment"),
        ("卡号 6222 0212 3456 7890 128，打到这个卡", "payment"),
        ("退款我分你一半", "bribe"),
        ("给你200辛苦费", "bribe"),
        ("送你一张购物卡，帮我通过", "bribe"),
        ("给你充100话费，帮我加急", "bribe"),
        ("我的邮箱 abc123@163.com 发我", "contact"),
        ("Add me on Telegram", "contact"),
        ("私聊", "contact"),
    ],
)
def test_categories(text: str, category: str, policy: CompiledPolicy) -> None:
    assert category in flagged(text, policy)


def test_agent_solicitation(policy: CompiledPolicy) -> None:
    assert "bribe" in flagged("想快点处理的话，给点好处费", policy, role="agent")


def test_mobile_blocks_agree_with_phonenumbers() -> None:
    import random

    import phonenumbers

    from probity.screening.numbers import is_cn_mobile

    rng = random.Random(5)
    for _ in range(20000):
        digits = "1" + "".join(rng.choice("0123456789") for _ in range(10))
        ours = is_cn_mobile(digits)
        num = phonenumbers.parse("+86" + digits, None)
        kinds = (phonenumbers.PhoneNumberType.MOBILE,
                 phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
        theirs = phonenumbers.is_valid_number(num) and phonenumbers.number_type(num) in kinds
        if theirs:
            assert ours, digits
