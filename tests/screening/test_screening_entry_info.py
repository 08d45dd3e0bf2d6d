"""The engine reads a lexicon entry's fields through result.EntryInfo (made on the entry's
first hit, kept in the policy's HotTables.info): every field must say what the LexiconEntry
says, on the compiled path and the pure one, and a hit must carry its entry's flags."""

from __future__ import annotations

import itertools

from probity.screening import LexiconEntry, compile_policy, default_policy_spec, screen_message
from probity.screening.result import (
    COUPON_SENSITIVE,
    EMAIL,
    ID_FOLLOWS,
    NEEDS_CUE,
    OWN_NUMBER,
    PINNED,
    EntryInfo,
    entry_flags,
)


def _expected_flags(e: LexiconEntry) -> int:
    bits = 0
    for flag, on in ((NEEDS_CUE, e.needs_cue), (ID_FOLLOWS, e.id_follows),
                     (COUPON_SENSITIVE, e.coupon_sensitive), (EMAIL, e.email),
                     (OWN_NUMBER, e.own_number), (PINNED, e.pinned)):
        if on:
            bits |= flag
    return bits


def test_entry_info_mirrors_every_field_of_its_entry() -> None:
    spec = default_policy_spec()
    names = ("needs_cue", "id_follows", "coupon_sensitive", "email", "own_number", "pinned")
    extra = []
    for i, combo in enumerate(itertools.product((False, True), repeat=len(names))):
        roles = (("customer",), ("agent",), ("customer", "agent"))[i % 3]
        extra.append(LexiconEntry(f"测试词{i:02d}号", "contact", 1 + i % 3, roles=roles,
                                  max_gap=i % 5, **dict(zip(names, combo, strict=True))))
    spec.lexicon = spec.lexicon + extra
    policy = compile_policy(spec)
    hot = policy.hot
    assert hot.info == [None] * len(hot.lex)
    for eid in range(len(hot.lex)):
        e = hot.lexicon[hot.lex[eid]]
        info = EntryInfo(e, hot.multi.get(eid), hot.first[eid])
        assert info.entry is e
        assert (info.category, info.severity, info.rule) == (e.category, e.severity, e.term)
        assert info.max_gap == e.max_gap
        assert info.parts == hot.multi.get(eid) and info.first == hot.first[eid]
        assert bool(info.roles & 1) == ("customer" in e.roles)
        assert bool(info.roles & 2) == ("agent" in e.roles)
        assert info.flags == entry_flags(e) == _expected_flags(e)


def test_hits_carry_their_entry_and_its_info_is_kept() -> None:
    spec = default_policy_spec()
    spec.lexicon = [*spec.lexicon, LexiconEntry("只限坐席词", "bribe", 3, roles=("agent",),
                                                pinned=True)]
    policy = compile_policy(spec)
    # The agent-only term flags for agents, not for customers (roles bits).
    assert screen_message("这是只限坐席词", "agent", policy).decision == "block"
    assert screen_message("这是只限坐席词", "customer", policy).decision == "allow"
    made = [i for i in policy.hot.info if i is not None]
    assert any(i.rule == "只限坐席词" and i.flags == PINNED for i in made)
    before = list(policy.hot.info)
    screen_message("这是只限坐席词", "agent", policy)
    assert all(a is b for a, b in zip(before, policy.hot.info, strict=True))
    # A pinned term's hit is concrete (the model never overrules it).
    assert screen_message("这是只限坐席词", "agent", policy).concrete
