"""The learned intent layer: shipped and verified, refused when altered, trained from labelled
lines (with clear errors naming the line), at most warn on its own unless the tenant opts in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from probity.cli import app
from probity.screening import PolicyError, PolicySpec, Screener, compile_policy
from probity.screening.engine import screen_message
from probity.screening.intent import (
    IntentModel,
    ModelError,
    builtin_model_bytes,
    load_model,
    parse_model,
)
from probity.screening.policy import CompiledPolicy
from probity.screening.train import TrainingDataError, fit, read_examples, train_files

LINES = [
    ({"text": "加我微信吧", "role": "customer", "label": ["contact"]}),
    ({"text": "你的订单已发货", "role": "agent", "label": []}),
]


def test_the_shipped_model_loads_offline_and_verifies() -> None:
    model = load_model()
    assert model.version >= 1 and len(model.sha256) == 64
    assert set(model.thresholds) == {"contact", "bribe", "payment", "refusal"}
    scores = model.score("方便的话加一下我的私人联系方式，平台上说话不方便", "customer").scores
    assert scores["contact"] > scores["payment"]


def test_an_altered_or_mismatched_model_is_refused(tmp_path: Path) -> None:
    data = builtin_model_bytes()
    head, _, body = data.partition(b"\n")
    tampered = head + b"\n" + body.replace(b'"bias":[', b'"bias":[1.0,', 1)
    with pytest.raises(ModelError, match="checksum"):
        parse_model(tampered)
    with pytest.raises(ModelError, match="version"):
        parse_model(data, expect_version=load_model().version + 1)
    with pytest.raises(ModelError, match="not a model file"):
        parse_model(b"garbage\nmore")
    bad = tmp_path / "bad.json"
    bad.write_bytes(tampered)
    spec = PolicySpec(lexicon=[], model={"path": str(bad)})
    with pytest.raises(PolicyError, match="intent model refused"):
        compile_policy(spec)


def test_a_refused_model_leaves_the_previous_policy_in_force(tmp_path: Path) -> None:
    screener = Screener(compile_policy(PolicySpec(version=3, lexicon=[])))
    wrong = PolicySpec(version=4, lexicon=[], model={"version": 999})
    with pytest.raises(PolicyError):
        screener.swap(compile_policy(wrong))
    assert screener.policy.version == 3 and screener.policy.model is not None


def test_model_alone_warns_and_blocks_only_on_opt_in() -> None:
    text = "方便的话留个私人联系方式给我，以后直接找你"
    plain = compile_policy(PolicySpec(lexicon=[]))
    res = screen_message(text, "customer", plain)
    assert res.source == "model" and res.decision == "warn" and res.categories == ["contact"]
    assert res.spans and all(s.rule.startswith("model:") for s in res.spans)
    assert res.drivers and res.explanation() is not None  # reviewers see what drove it
    opted = compile_policy(PolicySpec(lexicon=[], model_blocks=True))
    assert screen_message(text, "customer", opted).decision in ("warn", "block")
    off = compile_policy(PolicySpec(lexicon=[], model={"enabled": False}))
    assert screen_message(text, "customer", off).decision == "allow"


def test_training_data_errors_name_the_line(tmp_path: Path) -> None:
    f = tmp_path / "d.jsonl"
    f.write_text(json.dumps(LINES[0], ensure_ascii=False) + "\n{oops\n", "utf-8")
    with pytest.raises(TrainingDataError, match=r"d\.jsonl:2: not valid JSON"):
        read_examples(f)
    f.write_text('{"text": "x", "role": "customer", "label": ["spam"]}\n', "utf-8")
    with pytest.raises(TrainingDataError, match=r"d\.jsonl:1: \"label\" must be"):
        read_examples(f)
    f.write_text('{"text": "", "role": "customer", "label": []}\n', "utf-8")
    with pytest.raises(TrainingDataError, match=r"d\.jsonl:1: \"text\""):
        read_examples(f)
    f.write_text("\n\n", "utf-8")
    with pytest.raises(TrainingDataError, match="no labelled lines"):
        read_examples(f)
    result = CliRunner().invoke(app, ["screen", "train", "--data", str(f), "--out",
                                      str(tmp_path / "m.json")])
    assert result.exit_code == 2 and "no labelled lines" in result.output
    assert not (tmp_path / "m.json").exists()


def test_train_writes_a_model_that_loads(tmp_path: Path) -> None:
    rows = [*LINES * 15,
            *({"text": f"订单{i}到了吗", "role": "customer", "label": []} for i in range(15)),
            *({"text": f"加我v信{i}", "role": "customer", "label": ["contact"]} for i in range(15))]
    f = tmp_path / "d.jsonl"
    f.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    out = tmp_path / "m.json"
    train_files([f], out, 7, iterations=60)
    model = load_model(out, expect_version=7)
    assert model.score("加我v信吧", "customer").scores["contact"] > 0.5
    assert fit(read_examples(f), iterations=5).payload["meta"]["examples"] == len(rows)


def test_cantonese_written_forms_read_like_mandarin_to_the_model() -> None:
    from probity.screening.intent import model_view, normalise

    assert normalise("我唔會加你，你俾佢電話我") == normalise("我不會加你，你给他電話我")
    assert normalise("喺度講就得") == normalise("在度讲就得")
    # Mandarin words holding characters that Cantonese also writes stay as they are
    assert normalise("系统呢") == "系统呢"
    # the view of an engine-folded string keeps its length (spans map back 1:1)
    assert model_view("唔加你12") == "不加你00"


def test_model_drivers_are_the_same_every_run() -> None:
    model = load_model()
    comp = "你加我微信我给你发红包"
    first = model.drivers(comp, "contact")
    assert first == sorted(first, key=lambda gw: (-gw[1], gw[0]))
    assert model.weights[first[0][0]][0] == pytest.approx(first[0][1], abs=1e-3)


def _model_alone_flags_at_half(text: str) -> tuple[IntentModel, CompiledPolicy, float]:
    """A private copy of the shipped model whose top flagged category for `text` (a customer's)
    has its threshold at half the text's score (the others at 1.0, no refusal margin), and a
    policy with no lexicon that uses it: the model alone decides. Returns (model, policy, score)."""
    import dataclasses

    model = parse_model(builtin_model_bytes())
    scores = model.score(text, "customer").scores
    cat = max(("contact", "bribe", "payment"), key=scores.__getitem__)
    s = scores[cat]
    assert 0.02 < s < 1.0
    for c in ("contact", "bribe", "payment"):
        model.thresholds[c] = s / 2 if c == cat else 1.0
    model.refusal_margin = None
    return model, dataclasses.replace(compile_policy(PolicySpec(lexicon=[])), model=model), s


def test_an_ascii_only_text_needs_the_ascii_threshold_before_the_model_alone_flags_it() -> None:
    text = "Please send the money to my own account and we can skip the app fee"
    model, policy, s = _model_alone_flags_at_half(text)
    model.ascii_threshold = 0.0
    assert screen_message(text, "customer", policy).decision == "warn"
    model.ascii_threshold = (s + 1) / 2  # English or pinyin only: the model alone needs this
    model._cache.clear()
    assert screen_message(text, "customer", policy).decision == "allow"
    assert load_model().ascii_threshold == 0.8  # the shipped combination (docs/SCREENING.md)


def test_a_mostly_ascii_mixed_text_needs_the_ascii_threshold_only_from_ascii_share() -> None:
    from probity.screening.learned import ascii_share

    text = "请把钱 send to my own account，we can skip the app fee"
    share = ascii_share(text)
    assert 0.5 < share < 1.0 and not text.isascii()
    model, policy, s = _model_alone_flags_at_half(text)
    model.ascii_threshold = (s + 1) / 2
    model.ascii_share = 1.0  # ASCII-only texts alone (v9): a mixed text keeps the thresholds
    assert screen_message(text, "customer", policy).decision == "warn"
    model.ascii_share = share - 0.01  # mostly ASCII counts as ASCII
    model._cache.clear()
    assert screen_message(text, "customer", policy).decision == "allow"
    assert ascii_share("没有字母 123") == 0.0 and ascii_share("abc") == 1.0
    assert load_model().ascii_share == 1.0  # shipped off: measured, not kept (docs/SCREENING.md)
