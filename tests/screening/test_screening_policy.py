"""Policy data, compilation, per-role decisions, allow-lists and hot reload."""

from __future__ import annotations

import json
import threading

from probity.screening import (
    CompiledPolicy,
    LexiconEntry,
    PolicySpec,
    Screener,
    compile_policy,
    default_policy_spec,
    screen_message,
)


def test_spec_round_trips_through_json() -> None:
    spec = default_policy_spec()
    data = json.loads(json.dumps(spec.to_dict(), ensure_ascii=False))
    again = PolicySpec.from_dict(data)
    assert again.to_dict() == spec.to_dict()
    assert PolicySpec.from_json(spec.to_json()).to_dict() == spec.to_dict()
    assert len(spec.lexicon) > 300


def test_minimal_custom_policy() -> None:
    spec = PolicySpec.from_dict({
        "name": "t1", "version": 7,
        "lexicon": [{"term": "暗号", "category": "contact", "severity": 2}],
    })
    compiled = compile_policy(spec)
    res = screen_message("说暗号", "customer", compiled)
    assert res.decision == "warn" and res.severity == 2 and res.categories == ["contact"]
    assert compiled.version == 7
    # the default lexicon is not part of a custom policy (the rules layer alone allows)
    rules_only = compile_policy(PolicySpec.from_dict({**spec.to_dict(),
                                                      "model": {"enabled": False}}))
    assert screen_message("加我微信", "customer", rules_only).decision == "allow"
    # the learned layer still sees the intent, and alone it only warns (no opt-in to block)
    res = screen_message("加我微信", "customer", compiled)
    assert res.decision == "warn" and res.source == "model" and res.spans


def test_actions_are_per_role() -> None:
    spec = default_policy_spec()
    spec.actions["customer"]["contact"] = "warn"
    compiled = compile_policy(spec)
    assert screen_message("加我微信", "customer", compiled).decision == "warn"
    assert screen_message("加我微信", "agent", compiled).decision == "block"


def test_thresholds() -> None:
    spec = default_policy_spec()
    spec.thresholds = {"warn": 3, "block": 4}
    compiled = compile_policy(spec)
    assert screen_message("加我微信", "customer", compiled).decision == "warn"


def test_allow_terms_and_numbers(policy: CompiledPolicy) -> None:
    assert screen_message("有事打 13812345678", "customer", policy).decision == "block"
    spec = default_policy_spec()
    spec.allow_numbers.append("138-1234-5678")
    spec.allow_terms.append("暗号")
    spec.lexicon.append(LexiconEntry("暗号", "contact", 3))
    compiled = compile_policy(spec)
    assert screen_message("有事打 13812345678", "customer", compiled).decision == "allow"
    assert screen_message("说暗号", "customer", compiled).decision == "allow"


def test_role_restricted_terms(policy: CompiledPolicy) -> None:
    assert screen_message("加急费200", "agent", policy).decision != "allow"
    assert screen_message("加急费200", "customer", policy).decision == "allow"


def test_large_policy_compiles() -> None:
    spec = default_policy_spec()
    spec.lexicon += [LexiconEntry(f"暗语{i:05d}", "bribe", 3) for i in range(10_000)]
    compiled = compile_policy(spec)
    assert screen_message("说暗语01234吧", "customer", compiled).categories == ["bribe"]


def test_unknown_values_are_rejected() -> None:
    import pytest

    from probity.screening import PolicyError

    with pytest.raises(PolicyError):
        PolicySpec.from_dict({"lexicon": [{"term": "x", "category": "nope"}]})
    with pytest.raises(PolicyError):
        PolicySpec.from_dict({"actions": {"customer": {"contact": "explode"}}})


def test_hot_reload_is_atomic() -> None:
    v1 = compile_policy(PolicySpec.from_dict({
        "version": 1, "lexicon": [{"term": "苹果", "category": "contact"}]}))
    v2 = compile_policy(PolicySpec.from_dict({
        "version": 2, "lexicon": [{"term": "香蕉", "category": "contact"}]}))
    screener = Screener(v1)
    stop = threading.Event()
    errors: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            res = screener.screen("苹果香蕉", "customer")
            # exactly one policy applied: one of the two words, never both or neither
            if len(res.spans) != 1 or res.policy_version not in (1, 2):
                errors.append(repr(res))

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(200):
        old = screener.swap(v2 if i % 2 == 0 else v1)
        assert old.version in (1, 2)
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert screener.policy.version == 1


def test_screening_imports_nothing_from_web_or_database() -> None:
    import subprocess
    import sys

    code = (
        "import sys, probity.screening, probity.screening.cli;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('fastapi', 'sqlalchemy', "
        "'starlette', 'alembic') or m.startswith(('probity.db', 'probity.models', "
        "'probity.web', 'probity.app'))];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""


def test_a_big_lexicon_compiles_to_compact_tables_with_the_same_matches() -> None:
    """Above 20,000 keys the per-term tables are int arrays and flags (no object per term);
    what they say must be what the terms say: one-part terms, terms sharing an anchor, terms
    of several parts, the built-in lexicon's phonetic spellings, and per-role entries."""
    base = default_policy_spec()
    chars = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥金木水火土日月星山川东南西北春夏秋冬"
    filler = sorted({a + b + c for a in chars for b in chars for c in chars})[:21_000]
    extra = [LexiconEntry(t, "bribe", 2) for t in filler]
    extra += [
        LexiconEntry("暗号接头", "contact", 3),
        LexiconEntry("暗号接头", "payment", 2),  # a second entry on the same anchor
        LexiconEntry("老地方*见面", "contact", 3, max_gap=3),  # two parts
        LexiconEntry("只限坐席", "payment", 3, roles=("agent",)),
    ]
    spec = PolicySpec(name="big", version=2, lexicon=base.lexicon + extra,
                      allow_terms=base.allow_terms, contexts=base.contexts,
                      model={"enabled": False})
    compiled = compile_policy(spec)
    assert len(compiled.key_info) > 20_000
    assert len(compiled.entries) == len(spec.lexicon)
    assert compiled.entries[-1].entry.term == "只限坐席"
    assert compiled.entries[-2].parts[0] != compiled.entries[-2].parts[1]

    one = screen_message("说" + filler[123] + "吧", "customer", compiled)
    assert one.decision == "warn" and one.categories == ["bribe"]
    shared = screen_message("暗号接头", "customer", compiled)
    assert shared.decision == "block" and set(shared.categories) == {"contact", "payment"}
    two = screen_message("老地方 明天 见面", "customer", compiled)
    assert two.decision == "block" and two.categories == ["contact"]
    assert screen_message("老地方", "customer", compiled).decision == "allow"
    assert screen_message("只限坐席", "customer", compiled).decision == "allow"
    assert screen_message("只限坐席", "agent", compiled).decision == "block"
    # the built-in lexicon's homophones still match inside the big policy
    assert screen_message("加我薇信", "customer", compiled).decision == "block"
    assert screen_message("您好，请问还有什么可以帮您？", "agent", compiled).decision == "allow"
