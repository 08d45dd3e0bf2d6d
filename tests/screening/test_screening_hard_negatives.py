"""False-positive classes (issue 12): codes holding WX/VX/HB/QQ, masked numbers, offers quoted
to be declined, and the model's refusal veto. Written as classes, not as the blind lines."""

from __future__ import annotations

import pytest

from probity.screening import CompiledPolicy, screen_message
from probity.screening.engine import screen_rules

CODES = [
    ("agent", "您的处方编号为RX-VX-20231107，可在App里查看"),
    ("agent", "学员编号为 QQ-MA-118，课表已推送"),
    ("agent", "证书编号 WX-ZS-20230101-007，随货寄出"),
    ("agent", "您的宽带账号为 qq_zj_0571123，密码已短信发送"),
    ("customer", "这款型号是 VX-300 还是 VX-300Pro？"),
    ("agent", "优惠券码 MB7Z2023WX，在结算页输入"),
    ("agent", "订单 HB202312010045 的补偿已发放到账户"),
]
STILL_CONTACT = [
    ("customer", "我的wx是 lily_88"),
    ("customer", "vx: abc12345"),
    ("customer", "我的QQ号为 12345678"),
    ("customer", "加我 wx-2200s"),
]


@pytest.mark.parametrize(("role", "text"), CODES)
def test_codes_holding_a_slang_token_are_no_channel(role: str, text: str,
                                                    policy: CompiledPolicy) -> None:
    assert screen_rules(text, role, policy).decision == "allow", text


@pytest.mark.parametrize(("role", "text"), STILL_CONTACT)
def test_ids_after_a_channel_are_still_contact(role: str, text: str,
                                               policy: CompiledPolicy) -> None:
    assert screen_rules(text, role, policy).decision != "allow", text


@pytest.mark.parametrize("text", [
    "访客登记手机 137****2291，今晚21:00前有效",
    "验证码已发送至尾号 **6612 的手机",
    "收件人 李** 186****0937，请核对",
])
def test_masked_numbers_are_no_contact(text: str, policy: CompiledPolicy) -> None:
    assert screen_rules(text, "agent", policy).decision == "allow", text


def test_a_separator_star_is_no_mask(policy: CompiledPolicy) -> None:
    assert screen_rules("加我 139*0011*2233", "customer", policy).decision != "allow"


@pytest.mark.parametrize(("role", "text"), [
    ("agent", "您提到的“加个微信私下联系”，这个我真的没法答应，请在平台内沟通。"),
    ("customer", "你说的「转我个人账户能便宜」我想了想还是算了，我拒绝，按平台流程来。"),
])
def test_an_offer_quoted_to_be_declined_is_a_refusal(role: str, text: str,
                                                     policy: CompiledPolicy) -> None:
    res = screen_rules(text, role, policy)
    assert res.decision == "allow" and "refusal" in res.categories, res


def test_a_quoted_offer_then_a_real_request_is_flagged(policy: CompiledPolicy) -> None:
    res = screen_rules("“加个微信”这个不行，不过你可以加我QQ 12345678", "agent", policy)
    assert res.decision != "allow"


def test_a_decline_overlapping_the_trigger_refuses_it(policy: CompiledPolicy) -> None:
    res = screen_rules("红包请您收回，投诉的结果要看调查", "agent", policy)
    assert res.decision == "allow" and "refusal" in res.categories


def test_the_model_reads_a_refusal_the_rules_flagged(policy: CompiledPolicy) -> None:
    model = policy.model
    assert model is not None and model.refusal_veto is not None
    text = "感谢您的心意，但我们不能接受任何形式的感谢费，结果以平台审核为准"
    res = screen_message(text, "agent", policy)
    assert res.decision == "allow" and "refusal" in res.categories


def test_the_refusal_veto_never_overrules_a_number(policy: CompiledPolicy) -> None:
    res = screen_message("不能收您的红包，有事打我手机 138 0013 8000", "agent", policy)
    assert res.decision != "allow"


@pytest.mark.parametrize("text", [
    "医院总机 021-64041234，转急诊科",
    "营业厅座机 0755-26781234，工作日9点到5点",
    "酒店前台电话 0898-88561234，入住当天可以直接打",
])
def test_an_institutions_landline_named_by_an_agent_is_official(
        text: str, policy: CompiledPolicy) -> None:
    assert screen_rules(text, "agent", policy).decision == "allow", text


@pytest.mark.parametrize("text", [
    "紧急联系人电话要改成 139 1234 5678，麻烦帮我更新",
    "我的手机 13912345678 欠费停机了，缴费后多久恢复",
])
def test_a_customers_own_number_for_the_service_is_no_contact(
        text: str, policy: CompiledPolicy) -> None:
    assert screen_rules(text, "customer", policy).decision == "allow", text


def test_the_rules_decline_in_another_clause_is_a_refusal(policy: CompiledPolicy) -> None:
    # The rules flag 心意 (no decline in its own clause) and see the decline after it; the
    # model finds nothing flagged: allowed and tagged refusal, the rule listed as vetoed.
    model = policy.model
    assert model is not None and model.rules_refusal_below > 0
    text = "谢谢您和家人的心意，不过我们不能收，成绩复核按统一流程办理。"
    res = screen_message(text, "agent", policy)
    assert res.decision == "allow" and "refusal" in res.categories, res


@pytest.mark.parametrize(("role", "text"), [
    ("agent", "本行不会通过微信或QQ联系您办理退款，请不要添加陌生账号，有问题就在App里说"),
    ("agent", "我们员工不能代收任何款项，还款请在手机银行App里操作"),
    ("customer", "什么手续费？我不交，该怎么排就怎么排"),
    ("customer", "我还是到柜台交吧，转给个人我不放心"),
])
def test_a_refusal_without_a_trigger_word_is_recognised(role: str, text: str,
                                                        policy: CompiledPolicy) -> None:
    res = screen_message(text, role, policy)
    assert res.decision == "allow" and "refusal" in res.categories, (text, res.model_scores)


@pytest.mark.parametrize(("role", "text"), [
    ("customer", "微信就不加了哈，有什么事就在这里说吧"),
    ("agent", "私下交易我们是不做的哦，请在平台下单，售后有保障"),
    ("agent", "员工的私人联系方式不方便提供，有问题您在这里留言就行"),
])
def test_a_term_the_model_vetoes_in_a_decline_is_tagged_refusal(
        role: str, text: str, policy: CompiledPolicy) -> None:
    # The rules flag the term alone (no decline in its clause they know); the model finds
    # nothing flagged and reads a refusal: allowed, tagged refusal, the term listed as vetoed.
    res = screen_message(text, role, policy)
    assert res.decision == "allow" and "refusal" in res.categories, res
    assert res.vetoed
