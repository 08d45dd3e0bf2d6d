"""Contexts that must NOT be flagged, and refusals."""

from __future__ import annotations

import pytest

from probity.screening import CompiledPolicy, screen_message

CLEAN = [
    # order, tracking, dates, amounts, model numbers
    ("customer", "订单号 202405121234567890 帮我查一下"),
    ("customer", "订单 15012345678 还没发货"),
    ("agent", "运单号 SF1234567890123"),
    ("customer", "2024-05-12 13:45 下的单"),
    ("agent", "退款金额 1380.00 元"),
    ("customer", "型号 SM-G9910 有货吗"),
    ("customer", "IMEI 356938035643809 能保修吗"),
    # official hotlines
    ("agent", "官方客服热线 400-820-8820"),
    ("agent", "call our hotline 800 810 1234"),
    # official payment
    ("customer", "可以用微信支付吗"),
    ("agent", "支持微信支付和支付宝，在App内选择即可"),
    ("customer", "Can I pay with WeChat Pay?"),
    # coupons called 红包
    ("customer", "红包怎么用"),
    ("agent", "平台给您发了一个5元无门槛红包"),
    ("agent", "作为补偿，给您账户发放了一个10元红包"),
    # refunds
    ("agent", "退款原路退回，1-3个工作日到账"),
    ("customer", "退款会退到我微信零钱吗"),
    # verification
    ("agent", "请提供下单手机号的后四位核实身份"),
    ("customer", "尾号是5678"),
    # scam reports and questions
    ("customer", "有人加我微信说是客服，让我转账，是骗子吗"),
    ("customer", "这个微信号是你们官方的吗"),
    ("customer", "Someone asked me to pay outside the platform, is this a scam?"),
    # compliance warnings
    ("agent", "请勿向个人账户转账，谨防诈骗"),
    ("agent", "我们不会要求您添加私人微信"),
    ("agent", "Please do not transfer money to personal accounts."),
    # phones as products
    ("customer", "我的手机屏幕坏了"),
    ("customer", "iPhone 15 Pro Max 256G"),
    ("customer", "手机壳和手机一起发吗"),
]


@pytest.mark.parametrize(("role", "text"), CLEAN)
def test_clean_context_is_allowed(role: str, text: str, policy: CompiledPolicy) -> None:
    res = screen_message(text, role, policy)
    assert res.decision == "allow", (text, res)
    assert res.masked == text


@pytest.mark.parametrize(
    "text",
    ["按规定我们不能收红包，谢谢您的好意", "心意领了，钱就不用了", "I can't accept gifts, sorry.",
     "红包我不能收"],
)
def test_agent_refusal_is_positive_and_allowed(text: str, policy: CompiledPolicy) -> None:
    res = screen_message(text, "agent", policy)
    assert res.decision == "allow"
    assert "refusal" in res.categories
    assert res.masked == text  # a refusal is never masked


def test_negation_does_not_cross_clauses(policy: CompiledPolicy) -> None:
    res = screen_message("不要在平台说了，加我微信", "agent", policy)
    assert res.decision == "block"


def test_question_form_is_not_negation(policy: CompiledPolicy) -> None:
    assert screen_message("能不能加个微信", "customer", policy).decision == "block"


def test_coupon_context_does_not_hide_private_red_envelope(policy: CompiledPolicy) -> None:
    res = screen_message("我私下给你发个红包，你帮我多发点优惠券", "customer", policy)
    assert "bribe" in res.categories
