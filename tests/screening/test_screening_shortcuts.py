"""The engine's shortcuts around look-ups and regexes (issue 17, adversarial throughput) rest
on facts about the tables and patterns; each is checked here, on whichever path (compiled or
pure) this process runs:

* the Latin-letter test of a match's neighbours takes ASCII characters as a-z/A-Z without the
  fold table: the table's ASCII Latin letters are exactly those;
* numbers._run_digits gives a digit run's two translations (digit view, then a-j as 0-9);
* _emails_and_links skips the link regex without "://", "www." or ".me/": every _URL match
  holds one of them (re.I folds none of their letters to a character outside ASCII);
* _screen_slow tests context kinds as bits (_View.kind_bits): the same kinds as the keys.
"""

from __future__ import annotations

import json
import re
import string
import sys
from pathlib import Path

from probity.screening import default_policy
from probity.screening import engine as eng
from probity.screening.normalize import tables
from probity.screening.numbers import _digits_bmp, _groups_loop, _groups_regex
from probity.screening.policy import CONTEXT_KINDS

CORPUS = Path(__file__).parent / "corpus.jsonl"


def test_latin_ascii_is_letters() -> None:
    latin = tables().latin
    assert {c for c in latin if c < "\x80"} == set(string.ascii_letters)


def test_latin_neighbour_keeps_words_apart() -> None:
    policy = default_policy()
    # "wx" inside a word (ASCII and full-width letters around it) is no channel word.
    for text in ("wxyz 加我", "awx 加我", "ｗｘｙ加我"):
        assert eng.screen_rules(text, "customer", policy).decision == \
            eng.screen_rules(text.replace("wx", "wx" + "a"), "customer", policy).decision


def test_run_digits_is_the_two_translations() -> None:
    # _groups_loop builds a run's digits with numbers._run_digits; _groups_regex translates
    # the run through the digit table and then a-j to 0-9.
    view = _digits_bmp()
    runs = [chr(cp) for cp in range(0x10000) if "0" <= view[cp] <= "9" or "a" <= view[cp] <= "j"]
    assert len(runs) > 20
    texts = ["电话" + "".join(runs) + "好", "".join(r * 3 + "，" for r in runs),
             "一三八 1234 五六七八", "①③⑧-１２３４-⑤⑥⑦⑧", "幺三八洞洞拐勾 qq12345"]
    for text in texts:
        got = [(g.start, g.end, g.digits, g.alnum) for g in _groups_loop(text)]
        want = [(g.start, g.end, g.digits, g.alnum) for g in _groups_regex(text)]
        assert got == want, text


def test_url_needles_have_no_foreign_case_folds() -> None:
    for letter in "wme":
        pattern = re.compile(letter, re.I)
        foreign = [cp for cp in range(sys.maxunicode + 1)
                   if pattern.fullmatch(chr(cp)) and chr(cp).lower() != letter]
        assert foreign == [], letter


def _links_without_prefilter(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in eng._URL.finditer(text)]


def test_link_prefilter_misses_no_link() -> None:
    texts = [json.loads(x)["text"] for x in CORPUS.read_text("utf-8").splitlines() if x.strip()]
    texts += ["HTTPS://Example.com/x", "看 WwW.Shop.cn 吧", "t.ME/abc", "WA.Me/123", "wxp://f2f0",
              "ALIPAYS://platformapi", "联系 http：//x", "www。abc", "a.me", "加我 t.me", "x:y.z"]
    policy = default_policy()
    ctx = eng._Ctx()
    for text in texts:
        got = [h.segs[0] for h in eng._emails_and_links(text, ctx, policy, True, [])]
        want = [span for span in _links_without_prefilter(text)
                if eng.classify_payload(text[span[0]:span[1]], policy.allow_qr).category]
        assert got == want, text


def test_kind_constants() -> None:
    # (engine.pxd makes the K_ names C ints, not module attributes: read from the source)
    source = (Path(eng.__file__).parent / "engine.py").read_text("utf-8")
    pairs = re.findall(r'^(K_[A-Z_]+) = _KIND_BITS\["([a-z_]+)"\]$', source, re.M)
    assert len(pairs) >= 17
    for name, kind in pairs:
        assert name == "K_" + kind.upper()
        assert f"cdef int {name}" in _PXD or f" {name}," in _PXD or f" {name}\n" in _PXD, name
    assert {kind: 1 << i for i, kind in enumerate(CONTEXT_KINDS)} == eng._KIND_BITS


_PXD = (Path(eng.__file__).parent / "engine.pxd").read_text("utf-8")


def test_kind_bits_are_the_keys_kinds() -> None:
    policy = default_policy()
    view = eng._View(policy)
    other = policy.hot.other
    assert len(view.kind_bits) == len(other)
    for kid, info in enumerate(other):
        kinds = info[3] if info is not None else ()
        want = 0
        for kind in kinds:
            want |= 1 << CONTEXT_KINDS.index(kind)
        assert view.kind_bits[kid] == want, kid
