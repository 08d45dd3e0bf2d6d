"""Refusal scope: a decline cancels the trigger in its own sentence, for agents and customers;
the message is allowed and tagged ``refusal``. Giving a contact away is never cancelled."""

from __future__ import annotations

import pytest

from probity.screening import CompiledPolicy, screen_message

REFUSALS = [
    ("agent", "您说要加我微信，这个真不行，公司规定只能在平台沟通"),
    ("agent", "红包我不能收，谢谢您的好意"),
    ("agent", "感谢，但私下转账我们是不接受的，请走平台付款"),
    ("agent", "您发的微信号我不能加，我们只在平台服务"),
    ("customer", "你让我私下转账给你？我不会转的，我走平台付款"),
    ("customer", "我不会给你发红包的，别想了"),
    ("customer", "I won't pay you outside the app, I'll use the official checkout."),
    ("customer", "我不加你微信，有问题平台说"),
    ("agent", "好意心领了，加V这个我这边没法加，图片可以直接在对话框里发给我"),  # on my side
    ("customer", "bu jia wei xin, you shi jiu zai zhe li shuo"),  # a decline in pinyin
]

STILL_FLAGGED = [
    ("customer", "加我微信：abc12345，平台不行"),  # an ID given: never cancelled
    ("customer", "公司规定不让加微信，但你可以加我微信"),  # contrast: the request stands
    ("customer", "加我微信吧，平台不行"),  # "the platform is no good" is no decline
    ("customer", "我这边不方便，你加我微信吧"),  # a decline before the request, not of it
    ("customer", "jia wo wei xin ba"),
    ("agent", "加我微信吧"),
    ("customer", "私下转账给你吧。不行的话再说"),  # the decline is in another sentence
    ("customer", "我直接转账给你行不行，平台太麻烦"),  # 行不行 asks: its 不行 declines nothing
    ("customer", "能不能私下转账给你，可不可以"),
]


@pytest.mark.parametrize(("role", "text"), REFUSALS)
def test_refusal_allows_and_tags(policy: CompiledPolicy, role: str, text: str) -> None:
    res = screen_message(text, role, policy)
    assert res.decision == "allow", (text, res)
    assert "refusal" in res.categories, (text, res)
    assert any(s.category == "refusal" for s in res.spans)


@pytest.mark.parametrize(("role", "text"), STILL_FLAGGED)
def test_refusal_scope_is_its_own_clause(policy: CompiledPolicy, role: str, text: str) -> None:
    res = screen_message(text, role, policy)
    assert res.decision != "allow", (text, res)
    assert "refusal" not in res.categories


def test_the_rules_say_why_they_dropped_a_hit(policy: CompiledPolicy) -> None:
    """A hit dropped for a negation or decline is `negated`; one dropped for an allow-list,
    coupon or code context is only `suppressed` (the model may overrule it more easily)."""
    from probity.screening.engine import screen_rules

    declined = screen_rules("我不加微信", "customer", policy)
    assert declined.suppressed and declined.negated
    listed = screen_rules("平台小二，我给您发个红包", "customer", policy)
    assert listed.suppressed and not listed.negated
