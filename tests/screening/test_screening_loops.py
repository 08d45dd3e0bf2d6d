"""The C loops of the compiled screening modules give what the regexes and C-level built-ins
they replace give (setup.py compiles them; where nothing is compiled they run interpreted and
the same comparison holds). Seeded random texts over the characters that matter to each, and
the labelled corpus."""

from __future__ import annotations

import json
import random
from itertools import accumulate, repeat
from pathlib import Path

import pytest

from probity.screening import engine, normalize, numbers
from probity.screening.scope import _CODE_TOKEN

CORPUS = Path(__file__).parent / "corpus.jsonl"
ALPHABET = ("加我微信vx号码电话扣扣qq红包现金不要您好订单一二三四五六七八九零幺洞拐勾壹贰〇两十"
            "0123456789０１２３٣۴१①⑩㊀ⅷabchtpwxyzHTPWXYZQBVAK@＠.-_()[]:/ 　，。！？\n\t"
            "😀🐧🧧𠮶𝟗İKſ\u200b\x00\x01·•*")


def _texts() -> list[str]:
    rng = random.Random(4)
    out = [json.loads(line)["text"] for line in CORPUS.read_text("utf-8").splitlines()
           if line.strip()]
    for _ in range(3000):
        n = rng.randint(0, rng.choice([6, 30, 200]))
        out.append("".join(rng.choice(ALPHABET) for _ in range(n)))
    out += ["", "wx", "WX", "Vx", "hB", "qQ", "xw", "q q", "一二三", "一二", "１２3", "a.b",
            "http", "ALİPAY", "alipay", "(at)", "[at]", "@", "＠"]
    return out


TEXTS = _texts()


def test_content_offsets_are_the_content_runs() -> None:
    content = normalize.tables().content
    for text in TEXTS:
        starts = [i for m in content.finditer(text) for i in range(m.start(), m.end())]
        assert normalize._content_offsets(text) == (starts, [s + 1 for s in starts]), text


def test_fold_loop_is_the_translation() -> None:
    fast = normalize.tables().fast
    for text in TEXTS:
        got = normalize._fold_bmp(text)
        one = text.translate(fast)
        if normalize.EXPAND in one:
            assert got is None, text
            continue
        starts, ends = normalize._unit_offsets(one)
        assert got is not None, text
        assert (got.text, got.compact, got.starts, got.ends) == (
            text, one.replace(normalize.SEP, ""), starts, ends), text


def test_digit_groups_loop_is_the_regex() -> None:
    def fields(groups: list[numbers._Group]) -> list[tuple[int, int, str, bool]]:
        return [(g.start, g.end, g.digits, bool(g.alnum)) for g in groups]

    for text in TEXTS:
        assert fields(numbers._groups_loop(text)) == fields(numbers._groups_regex(text)), text


@pytest.mark.parametrize("text", TEXTS[-19:])
def test_engine_loops_on_edge_cases(text: str) -> None:
    _check_engine_loops(text)


def test_engine_loops_are_the_regexes() -> None:
    for text in TEXTS:
        _check_engine_loops(text)


def _check_engine_loops(text: str) -> None:
    assert engine._has_code_token(text) == (_CODE_TOKEN.search(text) is not None), text
    assert engine._cn_digit_run(text) == (engine._CN_DIGIT_RUN.search(text) is not None), text
    compact = normalize.fold_exact(text).compact
    assert engine._prefix_weights(compact) == [
        0, *accumulate(map(engine._LIGHT.get, compact, repeat(4)))], text
    low = text.lower()
    assert engine._has_special(text) == (
        "@" in low or "＠" in low or "http" in low or "www." in low or ".me/" in low
        or "wxp:" in low or "alipay" in low or "(at)" in low or "[at]" in low), text


def test_separator_loop_is_the_regex() -> None:
    separators = normalize.tables().separators
    for text in TEXTS:
        assert normalize.strip_separators(text) == separators.sub("", text), text


def test_mask_loop_is_the_regex() -> None:
    for text in TEXTS:
        for lo, hi in ((0, len(text)), (1, len(text) - 1), (2, 9)):
            hi = max(lo, min(hi, len(text)))
            assert numbers._masked(text, lo, hi) == (
                numbers._MASK.search(text, lo, hi) is not None), text
