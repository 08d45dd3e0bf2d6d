"""Context rules over the final hits of the rules layer: product/voucher codes and refusal scope.

Both work on the original text with the unit -> offset maps of the folded text; see
engine._screen_slow, which calls them after its own context rules.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from probity.screening.engine import Hit, _Ctx


# A product, voucher, order or flight code that starts with a slang token (WX-08, HB74299,
# VX37285): with a code word before it and no request verb in the message it is no channel.
_CODE_TOKEN: Final = re.compile(
    r"(?<![A-Za-z])(?:wx|vx|hb|qq|WX|VX|HB|QQ|Wx|Vx|Hb|Qq)[-_]?[0-9][A-Za-z0-9-]*")
_CODE_WORDS: Final = re.compile(
    r"(?:型号|编码|编号|券码|优惠码|兑换码|订单号|单号|工单|航班|批次|批号|车次|货号|款号|色号|颜色|"
    r"会员号|卡号|sku|SKU|code|Code|order|Order|model|Model|flight|Flight|ticket|voucher|ref)"
    r"[\s:：#号]*$")
_REQUEST_VERB: Final = re.compile(
    r"加我|加一下|加个|加好友|联系我|找我|私聊|私信|搜|add me|contact me", re.I)


def _drop_code_tokens(text: str, hits: list[Hit], starts: list[int],
                      ends: list[int]) -> list[Hit]:
    if _REQUEST_VERB.search(text) is not None:
        return hits
    codes = [(m.start(), m.end()) for m in _CODE_TOKEN.finditer(text)
             if _CODE_WORDS.search(text, max(0, m.start() - 8), m.start()) is not None]
    if not codes:
        return hits
    kept: list[Hit] = []
    for h in hits:
        segs = [(starts[a], ends[b - 1]) for a, b in h.part_units] if h.us >= 0 else h.segs
        if segs and all(any(cs <= a and b <= ce for cs, ce in codes) for a, b in segs):
            continue  # every part of the hit lies inside a product / voucher code
        kept.append(h)
    return kept


_SENTENCE_BREAK: Final = re.compile(r"[。！!；;\n]|\.(?:\s|$)")
_QUESTION_BREAK: Final = re.compile(r"[？?]")
_CONTRAST: Final = re.compile(r"但是|但|不过|可是|然而|只是|\bbut\b|\bhowever\b|\bthough\b", re.I)
_PLACE_BEFORE: Final = re.compile(r"(?:平台|这里|这边|app|APP|系统|网上|线上)\S{0,2}$")


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
    for us, ue in ctx.get("decline") + ctx.get("refusal_strong"):
        cs, ce = starts[us], ends[ue - 1]
        if _PLACE_BEFORE.search(text, max(0, cs - 6), cs) is not None:
            continue
        cues.append((cs, ce, (us, ue)))
    if not cues or any(h.us < 0 for h in hits):
        return hits, [], None  # an ID or a number was given: nothing is refused
    kept: list[Hit] = []
    refused: list[Hit] = []
    used: tuple[int, int] | None = None
    for h in hits:
        he = ends[h.part_units[-1][1] - 1] if h.part_units else ends[h.ue - 1]
        hit_cue = None
        for cs, _ce, unit in cues:
            if cs < he:
                continue
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
