# cython: annotation_typing=False
"""The learned layer combined with the rules (see intent.py for the model itself).

* the rules blocked or warned: kept — unless the decision rests on lexicon terms alone (no
  number, ID, e-mail or link) and the model scores every flagged category below its
  ``veto_below``, or reads the message as a refusal (``refusal_veto``): then allowed (tagged
  refusal in the second case), the overruled rules listed in ``vetoed``;
* the rules allowed: the model flags a category at or above its threshold — a *warn* (an
  alert), a *block* only when the tenant opted in (``model_blocks``) and the score reaches the
  block threshold — with the driving n-grams as spans (rule ``model:<n-gram>``). Never when the
  rules dropped a hit for a context reason (allow-list, negation, refusal, report...) or the
  text holds an allow-listed number: the model does not overrule an explicit exception;
* a refusal the rules did not see is tagged from the model's refusal score.
"""

from __future__ import annotations

import re
from typing import Final

from probity.screening.intent import (
    _VIEW_FALLBACK,
    IntentModel,
    model_view,
    normalise,
    score_of,
)
from probity.screening.normalize import fold_exact
from probity.screening.policy import FLAGGED_CATEGORIES, CompiledPolicy
from probity.screening.result import ScreeningResult, Span

_DECISION_RANK: Final = {"allow": 0, "warn": 1, "block": 2}
_NONZERO: Final = re.compile(r"[1-9]")
_DIGIT_RUNS: Final = re.compile(r"[0-9]+")


def with_model(res: ScreeningResult, text: str, role: str, policy: CompiledPolicy,
                model: IntentModel, compact: str | None = None) -> ScreeningResult:
    """``compact``: the rules' 1:1 compact string of ``text``, if they made one (the model
    then does not fold the text again)."""
    sc = score_of(model, text, role, compact)  # model.score(text, role, False, compact)
    scores = sc.scores
    res.model_scores = scores
    if res.decision != "allow":
        if res.concrete or not sc.notable:
            # A number, ID, e-mail or link in the finding (every veto of _rules_flagged needs
            # a lexicon-only one), or nothing over a threshold and nothing under the veto:
            # the rules stand.
            return res
        return _rules_flagged(res, text, model, scores, compact)
    if not sc.over:
        # Allowed by the rules and no class at its threshold (a short message's threshold
        # is only ever raised): neither a flag nor a refusal tag can follow. (``over``
        # implies ``notable``.)
        return res
    return _with_scores(res, text, role, policy, model, scores, compact)


def _model_text(text: str, compact: str | None) -> str:
    """``normalise(text)``, from the rules' compact string where that gives the same
    (IntentModel.score's rule, test_screening_model_view): a refusal's drivers on a long
    text without folding it again."""
    if compact is not None and _VIEW_FALLBACK.search(compact) is None:
        return model_view(compact)
    return normalise(text)


def _max_flagged(scores: dict[str, float]) -> float:
    """``max(scores[c] for c in FLAGGED_CATEGORIES)`` without a generator (a C loop where
    learned.pxd compiles it)."""
    best = 0.0
    first = True
    for c in FLAGGED_CATEGORIES:
        v = scores[c]
        if first or v > best:
            best = v
            first = False
    return best


def _rules_flagged(res: ScreeningResult, text: str, model: IntentModel,
                   scores: dict[str, float], compact: str | None = None) -> ScreeningResult:
    """The rest of :func:`with_model` where a score is notable and the rules flagged the
    message: the model may veto a lexicon-only finding (a cpdef function in learned.pxd:
    no generator expressions, most adversarial messages end here with the rules' result)."""
    if res.concrete:
        return res  # every veto below needs a lexicon-only finding
    mf = _max_flagged(scores)  # (pure; once for the three conditions below)
    veto = model.veto_below
    if (veto > 0 and "refusal" not in res.categories
            and len(text) >= model.veto_min_chars and mf < veto):
        # A lexicon term alone (no number, ID, e-mail or link) that the model finds
        # ordinary: a code, an everyday word, a quoted offer. Allowed; the rules' finding
        # stays visible as `vetoed` for reviewers and feedback.
        # A decline of the term ("私下交易我们是不做的", "微信就不加了") is tagged refusal
        # at the same score as on any allowed message.
        if scores["refusal"] >= model.thresholds.get("refusal", 1.0):
            return ScreeningResult("allow", ["refusal"], 0, [], text, res.policy_version,
                                   scores,
                                   model.drivers(_model_text(text, compact), "refusal", 3),
                                   "model-veto", vetoed=[sp.rule for sp in res.spans])
        return ScreeningResult("allow", [], 0, [], text, res.policy_version, scores, [],
                               "model-veto", vetoed=[sp.rule for sp in res.spans])
    rv = model.refusal_veto
    if rv is not None and scores["refusal"] >= rv[0] and mf < rv[1]:
        # The trigger is quoted or reported to be declined ("您说的“加个微信”我没法答应"):
        # a lexicon term alone in a message the model reads as a refusal. Allowed and
        # tagged refusal; the overruled rules stay visible as `vetoed`.
        comp = _model_text(text, compact)
        return ScreeningResult("allow", ["refusal"], 0, [], text, res.policy_version,
                               scores, model.drivers(comp, "refusal", 3), "model-veto",
                               vetoed=[sp.rule for sp in res.spans])
    rr = model.rules_refusal_below
    ra = model.rules_refusal_above
    if (rr > 0 and "refusal" in res.categories
            and (mf < rr or 0 < ra <= scores["refusal"])):
        # The rules found a decline, but not in the trigger's own clause ("感谢您的心意，
        # 但我们不能收"), and the model finds nothing flagged — or reads the message as a
        # refusal too ("我不去抖音私信你": both layers see the decline): a refusal.
        spans = [sp for sp in res.spans if sp.category == "refusal"]
        return ScreeningResult("allow", ["refusal"], 0, spans, text, res.policy_version,
                               scores, [], "model-veto",
                               vetoed=[sp.rule for sp in res.spans
                                       if sp.category != "refusal"])
    return res  # the rules decided (with their spans); the scores feed the context


def _with_scores(res: ScreeningResult, text: str, role: str, policy: CompiledPolicy,
                 model: IntentModel, scores: dict[str, float],
                 compact: str | None = None) -> ScreeningResult:
    """The rest of :func:`with_model` where a score is notable and the rules allowed the
    message (a separate function: with_model is a cpdef function in learned.pxd, which
    cannot hold the closures below)."""
    th = model.thresholds
    if len(text) < model.veto_min_chars and model.short_threshold > 0:
        floor = model.short_threshold  # a few characters are too little for the model alone
        th = {c: max(t, floor) for c, t in th.items()}
    if model.ascii_threshold > 0 and (text.isascii() or (
            model.ascii_share < 1.0 and ascii_share(text) >= model.ascii_share)):
        # English or pinyin only (or mostly, from v10: ascii_share): the model alone flags
        # from ascii_threshold up.
        floor = model.ascii_threshold
        th = {c: max(t, floor) if c != "refusal" else t for c, t in th.items()}
    hit = [c for c in FLAGGED_CATEGORIES if scores[c] >= th[c]]
    margin = model.refusal_margin
    if hit and margin is not None and scores["refusal"] >= margin[0]:
        hit = [c for c in hit if scores[c] >= margin[1]]  # it reads as a refusal too
    if hit and _official_number(text, policy):
        hit = []
    if hit and res.suppressed:
        # The rules dropped a hit for a context reason (negation, allow-list, coupon, code…):
        # the model alone does not overrule that, unless it is all but certain and reads no
        # refusal ("我不在平台买了，货到了我当面给你现金": 不 is no decline of the offer).
        so = model.suppressed_override
        if not res.negated and model.allowlist_override is not None:
            # ...an allow-list, coupon or code context ("平台…红包", "转账给我们") is weaker
            # evidence than a negation: its own (lower) bar.
            so = model.allowlist_override
        hit = [] if so is None else [c for c in hit if scores[c] >= so[0]
                                     and scores["refusal"] < so[1]]
    over = model.refusal_override
    if hit and ("refusal" not in res.categories or (
            over is not None and scores["refusal"] < over[1]
            and max(scores[c] for c in hit) >= over[0])):
        cat = max(hit, key=scores.__getitem__)
        act = "warn"
        if policy.model_blocks and scores[cat] >= model.block_thresholds.get(cat, 1.0):
            act = "block"
        cap = policy.actions.get(role, {}).get(cat, "block")
        if _DECISION_RANK[cap] < _DECISION_RANK[act]:
            act = cap
        folded = fold_exact(text)
        comp = model_view(folded.compact)
        drivers = model.drivers(comp, cat)
        spans = []
        for g, _w in drivers:
            i = comp.find(g)
            if i >= 0:
                spans.append(Span(folded.starts[i], folded.ends[i + len(g) - 1], cat,
                                  "model:" + g, 2))
        spans.sort()
        if act == "allow":
            return res
        masked = _mask_spans(text, spans)
        return ScreeningResult(act, [cat], 2, spans, masked, res.policy_version, scores,
                               drivers, "model")
    if "refusal" not in res.categories and scores["refusal"] >= th["refusal"]:
        res.categories.append("refusal")
        res.source = "model"
        comp = _model_text(text, compact)
        res.drivers = model.drivers(comp, "refusal", 3)
    return res


def ascii_share(text: str) -> float:
    """The share of a text's letters that are ASCII (Latin letters against CJK and other
    letters; 0.0 for a text without letters)."""
    ascii_letters = other = 0
    for ch in text:
        if ch.isalpha():
            if ch < "\x80":
                ascii_letters += 1
            else:
                other += 1
    total = ascii_letters + other
    return ascii_letters / total if total else 0.0


def _official_number(text: str, policy: CompiledPolicy) -> bool:
    """An allow-listed number or hotline prefix (400…, 95…) in the text."""
    for run in _DIGIT_RUNS.findall(text.replace("-", "").replace(" ", "")):
        if run in policy.allow_numbers or (
                len(run) >= 5 and run.startswith(policy.allow_number_prefixes)):
            return True
    return False


def _mask_spans(text: str, spans: list[Span]) -> str:
    chars = list(text)
    for sp in spans:
        for i in range(sp.start, min(sp.end, len(chars))):
            chars[i] = "*"
    return "".join(chars)
