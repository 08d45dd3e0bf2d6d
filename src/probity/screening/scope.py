"""Context rules over the final hits of the rules layer: product/voucher codes and refusal scope.

Both work on the original text with the unit -> offset maps of the folded text; see
engine._screen_slow, which calls them after its own context rules.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from probity.screening.engine import Hit, _Ctx


# A product, voucher, order, ticket or account code that holds a slang token (WX-08, HB74299,
# VX37285, RX-VX-20240311, QQ-EN-302, FQ8Z2024WX, qq_bb_0571889): no channel when a code word
# comes right before it (型号是 / 编号为 / 订单 / code:), or when the token sits inside a
# longer code (letters or digits glued before it), and no request verb is in the message.
_CODE_TOKEN: Final = re.compile(r"(?:wx|vx|hb|qq)", re.I)
_CODE_CHAIN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{3,}")
_CODE_WORDS: Final = re.compile(
    r"(?:型号|编码|编号|券码|优惠码|兑换码|订单号|订单|单号|工单|航班|批次|批号|车次|货号|款号|色号|颜色|"
    r"会员号|卡号|票号|证书号|合同号|保单号|房号|学号|工号|序列号|版本|规格|"
    r"(?:宽带|会员|登录|系统|平台|学员|缴费|户|客户)账号|"
    r"sku|code|order|model|flight|ticket|voucher|ref|serial|booking|pnr)"
    r"[\s:：#号为是]{0,3}$", re.I)
_REQUEST_VERB: Final = re.compile(
    r"加我|加一下|加个|加好友|联系我|找我|私聊|私信|搜|add me|contact me", re.I)


def _code_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    heads: set[str] = set()
    later: list[tuple[re.Match[str], str]] = []
    for m in _CODE_CHAIN.finditer(text):
        chain = m.group()
        tok = _CODE_TOKEN.search(chain)
        if tok is None or not any(c.isdigit() for c in chain) or len(chain) < 5:
            continue
        glued = tok.start() > 0 and chain[tok.start() - 1] not in "-_"
        inner = tok.start() > 0  # RX-VX-…, …2024WX: the token is not the code's head
        worded = _CODE_WORDS.search(text, max(0, m.start() - 10), m.start()) is not None
        if worded or glued or (inner and chain.count("-") + chain.count("_") >= 1
                               and chain[:tok.start()].rstrip("-_").isalnum()
                               and chain[:tok.start()].rstrip("-_").isupper()):
            spans.append(m.span())
            heads.add(chain[:tok.end()].upper())
        else:
            later.append((m, chain[:tok.end()].upper()))
    # "WX-2200 还是 WX-2200S": another code with the same head as one already named a code.
    spans.extend(m.span() for m, head in later if head in heads)
    return spans


def _drop_code_tokens(text: str, hits: list[Hit], starts: list[int],
                      ends: list[int]) -> list[Hit]:
    if _REQUEST_VERB.search(text) is not None:
        return hits
    codes = _code_spans(text)
    if not codes:
        return hits
    kept: list[Hit] = []
    for h in hits:
        segs = [(starts[a], ends[b - 1]) for a, b in h.part_units] if h.us >= 0 else h.segs
        if segs and all(any(cs <= a and b <= ce for cs, ce in codes) for a, b in segs):
            continue  # every part of the hit lies inside a product / voucher code
        kept.append(h)
    return kept


_QUOTES: Final = re.compile(r"“[^”]{1,120}”|\"[^\"]{1,120}\"|「[^」]{1,120}」|『[^』]{1,120}』"
                            r"|‘[^’]{1,120}’")


def _quoted_refusal(text: str, hits: list[Hit], cues: list[tuple[int, int, tuple[int, int]]],
                    starts: list[int], ends: list[int]) -> tuple[int, int] | None:
    """Every trigger inside quotation marks, and a decline outside them (anywhere in the
    message): the offer is quoted to be refused ("您说的“转我两千”这个我真的不能接受")."""
    quotes = [m.span() for m in _QUOTES.finditer(text)]
    if not quotes:
        return None
    for h in hits:
        segs = [(starts[a], ends[b - 1]) for a, b in h.part_units] if h.part_units else [
            (starts[h.us], ends[h.ue - 1])]
        if not all(any(qs <= a and b <= qe for qs, qe in quotes) for a, b in segs):
            return None
    for cs, ce, unit in cues:
        if not any(qs <= cs and ce <= qe for qs, qe in quotes):
            if _CONTRAST.search(text, ce) is not None and _after_contrast_trigger(text, ce):
                return None
            return unit
    return None


def _after_contrast_trigger(text: str, pos: int) -> bool:
    """A contrast word after the decline, followed by a new request outside quotes."""
    return _REQUEST_VERB.search(text, pos) is not None


_SENTENCE_BREAK: Final = re.compile(r"[。！!；;\n]|\.(?:\s|$)")
_QUESTION_BREAK: Final = re.compile(r"[？?]")
_CONTRAST: Final = re.compile(r"但是|但|不过|可是|然而|只是|\bbut\b|\bhowever\b|\bthough\b", re.I)
_ASK_FORMS: Final = frozenset({"行不行", "可不可以", "好不好", "能不能", "要不要", "是不是",
                               "方不方便", "会不会", "有没有", "可以不可以", "成不成"})
# "平台不行" (the platform is no good) declines nothing; "我这边没法加" (on my side) does.
_PLACE_BEFORE: Final = re.compile(r"(?:平台|(?<![我们])这里|(?<![我们])这边|app|APP|系统|网上|线上)"
                                  r"\S{0,2}$")


def _refusal_scope(
    text: str,
    hits: list[Hit],
    ctx: _Ctx,
    starts: list[int],
    ends: list[int],
) -> tuple[list[Hit], list[Hit], tuple[int, int] | None]:
    """Split term hits into (kept, refused) by the declines after them in their sentence.

    A decline cancels a term hit (a request, an offer: never a number, ID, e-mail or link,
    which give a contact away whatever is said around them) when it follows the hit in the
    same sentence with no contrast word between (但, 不过, but) — or opens the sentence
    right after a question that quotes the offer ("你让我私下转账？我不会转的"). "平台不行"
    (the platform is no good) is no decline. Returns the first decline used as the refusal.
    """
    cues: list[tuple[int, int, tuple[int, int]]] = []
    # "…转你本金行不行" asks; its 不行 declines nothing.
    asks = [(a, b) for a, b in ctx.get("not_negation")
            if text[starts[a]:ends[b - 1]] in _ASK_FORMS]
    for us, ue in ctx.get("decline") + ctx.get("refusal_strong"):
        cs, ce = starts[us], ends[ue - 1]
        if _PLACE_BEFORE.search(text, max(0, cs - 6), cs) is not None:
            continue
        if any(a < ue and us < b for a, b in asks):
            continue
        cues.append((cs, ce, (us, ue)))
    if not cues or any(h.us < 0 for h in hits):
        return hits, [], None  # an ID or a number was given: nothing is refused
    quoted = _quoted_refusal(text, hits, cues, starts, ends)
    if quoted is not None:
        return [], list(hits), quoted
    kept: list[Hit] = []
    refused: list[Hit] = []
    used: tuple[int, int] | None = None
    for h in hits:
        he = ends[h.part_units[-1][1] - 1] if h.part_units else ends[h.ue - 1]
        hit_cue = None
        for cs, ce, unit in cues:
            if cs < he and (ce <= he or cs <= starts[h.us]):
                continue  # before the trigger (a decline may overlap its end: 红包请您收回)
            between = text[he:cs]
            if _CONTRAST.search(between) is not None:
                continue
            if _SENTENCE_BREAK.search(between) is not None:
                continue
            questions = list(_QUESTION_BREAK.finditer(between))
            if len(questions) > 1:
                continue
            if questions and len(between[questions[0].end():].strip()) > 4:
                continue  # after a question only a decline opening the next sentence counts
            hit_cue = unit
            break
        if hit_cue is None:
            kept.append(h)
        else:
            refused.append(h)
            used = used or hit_cue
    return kept, refused, used
