"""The compiled screening paths added for the adversarial stream give what the code they
replace gives (setup.py compiles them; interpreted, the same comparison holds): the
separator test between digit groups, the nearest number cue, the allowed-number test, the
contact-ID prefilter, the negation shortcut and the fast path's separator removal. Seeded
random texts over the characters that matter, and the labelled corpus."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from probity.screening import engine, normalize, numbers
from probity.screening.engine import Hit, _Ctx
from probity.screening.normalize import fold_exact, tables
from probity.screening.policy import default_policy

CORPUS = Path(__file__).parent / "corpus.jsonl"
ALPHABET = ("加我微信vx号码电话扣扣qq红包现金不要您好订单一二三四五六七八九零幺洞拐勾壹贰〇两十"
            "0123456789０１２３①⑩㊀ⅷ⓫ↂabchtpwxyzidIDHTPWXYZQBVAK@＠.-_()[]:：=—>~～（/"
            " 　，。！？、,"
            "\n\t😀🐧𠮶\u200b\x00·•*是为號号码")


def _texts() -> list[str]:
    rng = random.Random(9)
    out = [json.loads(line)["text"] for line in CORPUS.read_text("utf-8").splitlines()
           if line.strip()]
    for _ in range(3000):
        n = rng.randint(0, rng.choice([6, 30, 120]))
        out.append("".join(rng.choice(ALPHABET) for _ in range(n)))
    out += ["", " ", "1 2", "1\u200b2", "1😀2", "1 😀 2", "id: abc12", "号 ID12345", "：：：ab123"]
    return out


TEXTS = _texts()


def test_only_separators_is_the_separator_regex() -> None:
    seps = tables().separators
    rng = random.Random(1)
    for text in TEXTS:
        n = len(text)
        for _ in range(4):
            a = rng.randint(0, n)
            b = rng.randint(a, n)
            assert numbers._only_separators(text, a, b) == (
                seps.fullmatch(text, a, b) is not None), (text, a, b)


def _nearest_reference(start: int, kinds: tuple[str, ...], ctx: _Ctx,
                       ends: list[int]) -> str | None:
    best: tuple[int, str] | None = None
    for kind in kinds:
        for _us, ue in ctx.get(kind):
            oe = ends[ue - 1]
            if oe <= start and start - oe <= 12 and (best is None or oe > best[0]):
                best = (oe, kind)
    return best[1] if best else None


def test_nearest_cue_is_the_closest_phrase_before() -> None:
    rng = random.Random(2)
    kinds = ("number_context", "phone_cue", "bank_cue", "qq_cue")
    for text in TEXTS[:2000]:
        folded = fold_exact(text)
        n = len(folded.compact)
        if not n:
            continue
        ctx = _Ctx()
        for kind in (*kinds, "other"):
            if rng.random() < 0.5:
                spans = []
                for _ in range(rng.randint(1, 3)):
                    us = rng.randint(0, n - 1)
                    spans.append((us, rng.randint(us + 1, n)))
                ctx.by_kind[kind] = spans
        for start in range(len(text) + 1):
            assert numbers._nearest_cue(start, kinds, ctx, folded) == _nearest_reference(
                start, kinds, ctx, folded.ends), (text, start, ctx.by_kind)


def test_allowed_numbers_and_prefixes() -> None:
    policy = default_policy()
    for digits in ("4008123123", "008640081231234", "864008123123", "13800138000", "95588",
                   "0086", "86", ""):
        core = digits
        for prefix in ("0086", "86"):
            if core.startswith(prefix) and len(core) - len(prefix) >= 10:
                core = core[len(prefix):]
                break
        expected = (core in policy.allow_numbers or digits in policy.allow_numbers
                    or any(core.startswith(p) for p in policy.allow_number_prefixes))
        assert numbers._allowed(digits, policy) == expected, digits


_ID_AFTER = engine._ID_AFTER


def _id_after_reference(text: str, pos: int) -> tuple[int, int] | None:
    stop = min(pos + 30, len(text))
    m = _ID_AFTER.match(text, pos, stop)
    if m is None:
        return None
    token = m.group(1)
    norm = token.translate(tables().fast)
    if not any(c.isdigit() for c in norm) and "_" not in token and "-" not in token:
        return None
    end = m.end(1)
    if end < len(text) and text[end].isascii() and text[end].isalnum():
        return None
    return (m.start(1), end)


# The compiled pre-test's edges: IDs of exactly five characters, four, "_-." inside and in
# front, starting at the 12th and 13th character after the word, ending at its 30th.
_ID_EDGES = ["ab12", "ab123", "a_-.1", "_ab12", ".ab12", "-ab12", "ab1 23", "ａｂ１２３", "ab１2_"]
_ID_TEXTS = [p + i + t for p in ("", "号", "：" * 6, "id" * 6, "是" * 11, "是" * 12, "是" * 13,
                                 " " * 25, " " * 26)
             for i in _ID_EDGES for t in ("", "x", "。", "abcdefghij" * 3)]


def test_contact_id_after_a_channel_word() -> None:
    h = Hit([], "contact", 3, "微信", 0, 1, [(0, 1)])
    for text in TEXTS + _ID_TEXTS:
        for pos in range(len(text) + 1):
            got = engine._id_after(text, pos, h)
            want = _id_after_reference(text, pos)
            assert (None if got is None else tuple(got.segs[0])) == want, (text, pos)


def test_negations_without_a_negation_cue() -> None:
    ctx = _Ctx()
    ctx.by_kind["not_negation"] = [(0, 2)]
    ctx.by_kind["cue_contact"] = [(1, 2)]
    assert engine._valid_negations(ctx, []) == []
    ctx.by_kind["negation_near"] = [(3, 4)]
    assert engine._valid_negations(ctx, []) == [(3, 4, 1)]


def test_the_fast_paths_separators_are_separators() -> None:
    """The fast path drops these characters with str.replace before its regex: they must be
    separators (what folds to nothing), or the compact string would differ."""
    one = normalize._one_bmp()
    for ch in "，。？！、~,. ":
        assert one[ord(ch)] == "\x00", ch
        assert re.fullmatch(tables().separators, ch), ch


def _replace_chain(text: str) -> str:
    quick = text.replace("，", "").replace(" ", "")
    if not quick.isalnum():
        quick = (quick.replace("。", "").replace("？", "").replace("！", "")
                 .replace("、", "").replace("~", "").replace(",", "").replace(".", ""))
        if not quick.isalnum():
            quick = tables().separators.sub("", quick)
    return quick


def test_quick_strip_is_the_fast_paths_replace_chain() -> None:
    extra = ["⓫", "加⓫微信", "ↂ 1", "微信，⓫", "a，b", "，", "，，", "微 信", "微信!", "微😀信 ，"]
    for text in [t for t in TEXTS if not t.isascii()] + extra:
        assert normalize.quick_strip(text) == _replace_chain(text), text


def test_separator_drop_over_every_bmp_character() -> None:
    """normalize._drop_separators (the C buffer where compiled) against the regex and the
    replace chain: every BMP code point alone and between two kept characters, runs of
    separators at either end and in the middle; nothing dropped gives the text itself."""
    separators = tables().separators
    content = tables().content
    for cp in range(0x10000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        for text in (ch, "加" + ch + "a", ch + ch + "微" + ch):
            assert normalize.strip_separators(text) == separators.sub("", text), hex(cp)
            assert normalize.quick_strip(text) == _replace_chain(text), hex(cp)
            # (and the content offsets, filled in place where compiled)
            starts = [i for m in content.finditer(text) for i in range(m.start(), m.end())]
            assert normalize._content_offsets(text) == (starts, [s + 1 for s in starts])
    for text in ["", "加我微信", "abc", "😀 加", "， ，", " 加 ", "加\u200b我 ，微信。"]:
        assert normalize.strip_separators(text) == separators.sub("", text), text
        if not separators.search(text):
            assert normalize.strip_separators(text) is text


def _fold_reference(text: str) -> tuple[str, list[int], list[int]] | None:
    """``_fold_bmp``'s formula through the fold dict: None where a character expands, else
    the characters not marked SEP and their [start, end)."""
    one = text.translate(tables().fast)
    if normalize.EXPAND in one:
        return None
    starts = [i for i, c in enumerate(one) if c != normalize.SEP]
    return one.replace(normalize.SEP, ""), starts, [i + 1 for i in starts]


def _check_fold_bmp(text: str) -> None:
    folded = normalize._fold_bmp(text)
    want = _fold_reference(text)
    if want is None:
        assert folded is None, text
        return
    assert folded is not None, text
    assert folded.text is text
    assert (folded.compact, folded.starts, folded.ends) == want, text
    assert type(folded.compact) is str
    assert type(folded.starts) is list and type(folded.ends) is list
    assert all(type(x) is int for x in folded.starts + folded.ends)
    assert folded == fold_exact(text), text


def test_fold_bmp_is_the_fold_table_formula() -> None:
    """_fold_bmp (compiled: C buffers, one str, lists made at their size; interpreted: the
    append loop) gives what the fold dict gives: every BMP character alone and in runs of
    1,000 (past 256: offsets that are not cached ints), the texts, long random texts, and
    texts with astral characters and expanding ones (⑩: None)."""
    for cp in range(0x10000):
        _check_fold_bmp(chr(cp))
    for a in range(0, 0x10000, 1000):
        _check_fold_bmp("".join(chr(cp) for cp in range(a, min(a + 1000, 0x10000))))
    rng = random.Random(17)
    for text in TEXTS:
        _check_fold_bmp(text)
    for _ in range(300):
        _check_fold_bmp("".join(rng.choice(ALPHABET) for _ in range(rng.randint(200, 2000))))
    for text in ["", "⑩", "a⑩", "ＡＢ 𠮶 c", "😀" * 600, "a b" * 400, "\x00\x01" * 5]:
        _check_fold_bmp(text)
