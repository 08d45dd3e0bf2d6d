"""Conversation context in the library: split IDs and bribes, references, the risk total."""

from __future__ import annotations

from probity.screening import CompiledPolicy
from probity.screening.context import ConversationContext


def _run(policy: CompiledPolicy, turns: list[tuple[str, str]]) -> list[tuple[str, str | None]]:
    ctx = ConversationContext()
    out = []
    for role, text in turns:
        v = ctx.screen(text, role, policy)
        out.append((v.result.decision, v.reason))
    return out


def test_an_id_handed_out_over_several_messages(policy: CompiledPolicy) -> None:
    got = _run(policy, [("customer", "加个"), ("customer", "微信吧")])
    assert got[0] == ("allow", None)
    assert got[1][0] != "allow" and got[1][1] == "joined"
    phone = _run(policy, [("customer", "我手机"), ("customer", "138 0013"), ("customer", "8000")])
    assert phone[-1][0] != "allow"


def test_a_bribe_split_across_turns(policy: CompiledPolicy) -> None:
    got = _run(policy, [("customer", "给你500块"), ("customer", "帮我加急处理一下")])
    assert got == [("allow", None), (got[1][0], "joined")] and got[1][0] != "allow"


def test_a_reference_to_an_earlier_request(policy: CompiledPolicy) -> None:
    # "还是那个号" is ordinary on its own (model v6 flags the longer "就还是那个号，你搜一下"
    # by itself): only the earlier request makes it a contact.
    got = _run(policy, [("customer", "加我微信"), ("agent", "不好意思哦"),
                        ("customer", "还是那个号")])
    assert got[0][0] == "block" and got[2] == ("warn", "reference")


def test_flagged_turns_are_not_joined_again(policy: CompiledPolicy) -> None:
    got = _run(policy, [("customer", "加个"), ("customer", "微信吧"), ("customer", "给你500块")])
    assert got[2] == ("allow", None)


def test_ordinary_conversation_stays_allowed(policy: CompiledPolicy) -> None:
    turns = [("customer", "你好，我的订单什么时候到"), ("agent", "您好，预计明天送达"),
             ("customer", "订单号 123456，麻烦再查一下"), ("agent", "好的，已经在派送了"),
             ("customer", "谢谢，那我等着"), ("customer", "对了发票怎么开")]
    assert all(d == "allow" for d, _r in _run(policy, turns))
