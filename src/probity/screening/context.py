"""Conversation context: screen a message together with the last few of its conversation.

One `ConversationContext` per conversation holds its last turns (text, role, what screening
found). `screen` runs the message alone first; when that allows it, three context checks
follow, each cheap (the joined text is a few hundred characters through the same fast path):

1. **the sender's recent messages joined** with this one: an ID or number handed out over
   several messages ("我v是" / "abc" / "123456"), a bribe split across turns ("给你500" /
   "帮我加急"). Only a hit that reaches into *this* message counts (an older message was
   screened on its own already);
2. **a reference to an earlier request** ("same number as before", "还是那个号", "码发我")
   while an earlier turn of either party was about contact or payment;
3. **a conversation-level risk score**: each allowed message adds its risk (low-severity
   hits, the learned layer's probability), decaying by `decay` per turn; when the total
   crosses `threshold`, the message is warned and alerted even though no single message was.

The context lives in memory per process (see chat/screening.py); it never stores more than
`max_turns` turns per conversation.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Final

from probity.screening.engine import screen_message
from probity.screening.policy import CompiledPolicy
from probity.screening.result import ScreeningResult, Span

FLAGGED: Final = ("contact", "bribe", "payment")
_REFERENCE: Final = re.compile(
    r"(?:还是|就是|跟|和|同)(?:之前|上次|刚才|前面|上面|原来)?(?:那个|一样的?)(?:号|号码|账号|微信|码|卡|账户)?"
    r"|(?:之前|上次|刚才|前面|上面|原来)(?:说的|发的|给的|那个)(?:号|号码|账号|微信|码|卡|账户|方式)"
    r"|老(?:号码|地方|方式|规矩)|(?:码|二维码|名片|号)(?:发|给)(?:我|过来)"
    r"|same (?:number|account|id|one|as before)"
    r"|(?:the )?(?:number|account|id) (?:i|you) (?:gave|sent)"
    r"|as before|like last time|(?:send|give) me (?:your|the) (?:code|qr|id)",
    re.I,
)


@dataclass(slots=True)
class Turn:
    """One message as the context remembers it."""

    role: str
    text: str
    flagged: bool
    categories: tuple[str, ...]
    risk: float
    seq: int | None = None  # set once stored (for refusal episodes)
    blocked: bool = False


@dataclass(slots=True)
class ContextVerdict:
    """The result for this message, and what the context contributed."""

    result: ScreeningResult
    turn: Turn
    reason: str | None = None  # joined | reference | risk (None: the message alone decided)
    offer: Turn | None = None  # the other party's latest offer/request (refusal episodes)


@dataclass
class ConversationContext:
    max_turns: int = 6
    join_turns: int = 3
    threshold: float = 1.6
    decay: float = 0.7
    turns: deque[Turn] = field(default_factory=deque)
    risk: float = 0.0

    def screen(self, text: str, role: str, policy: CompiledPolicy) -> ContextVerdict:
        res = screen_message(text, role, policy)
        reason: str | None = None
        if res.decision == "allow" and "refusal" not in res.categories and self.turns:
            joined = self._joined(text, role, policy)
            if joined is not None:
                res, reason = joined, "joined"
            elif _REFERENCE.search(text) is not None:
                earlier = [c for t in self.turns for c in t.categories if c in FLAGGED]
                if earlier:
                    res = _context_result(res, earlier[-1], "context:reference", 2, policy)
                    reason = "reference"
        risk = 0.0 if res.decision != "allow" else _risk_of(res)
        self.risk = self.risk * self.decay + risk
        if reason is None and res.decision == "allow" and self.risk >= self.threshold:
            top = _top_category(self.turns, res)
            res = _context_result(res, top, "context:risk", 2, policy)
            reason = "risk"
            self.risk = 0.0
        offer = self.offer_for(role)
        turn = Turn(role, text, res.decision != "allow",
                    tuple(c for c in res.categories if c != "refusal"), risk,
                    blocked=res.decision == "block")
        self.turns.append(turn)
        while len(self.turns) > self.max_turns:
            self.turns.popleft()
        return ContextVerdict(res, turn, reason, offer)

    def offer_for(self, role: str) -> Turn | None:
        """The other party's latest flagged or risky turn: what a refusal by `role` declines."""
        for t in reversed(self.turns):
            if t.role != role and (t.flagged or t.categories or t.risk >= 0.5):
                return t
        return None

    def _joined(self, text: str, role: str, policy: CompiledPolicy) -> ScreeningResult | None:
        own: list[Turn] = []
        for t in reversed(self.turns):  # the sender's latest turns since their last flagged one
            if t.role != role:
                continue
            if t.blocked or len(own) >= self.join_turns:
                break  # a blocked message never reached the other side: nothing to complete
            own.insert(0, t)
        if not own:
            return None
        prefix = "".join(t.text for t in own)
        if len(prefix) > 400:
            prefix = prefix[-400:]
        joined = prefix + text
        jr = screen_message(joined, role, policy)
        if jr.decision == "allow":
            return None
        off = len(prefix)
        spans = [Span(max(0, s.start - off), s.end - off, s.category, "context:" + s.rule,
                      s.severity) for s in jr.spans if s.end > off]
        if not any(s.category in FLAGGED for s in spans):
            # Nothing found inside this message: it counts only when it completed what the
            # earlier messages started (they are allowed without it).
            if screen_message(prefix, role, policy).decision != "allow":
                return None
            spans = [Span(0, len(text), c, "context:joined", jr.severity)
                     for c in jr.categories if c in FLAGGED]
        return ScreeningResult(jr.decision, list(jr.categories), jr.severity, spans,
                               _mask(text, spans), jr.policy_version, jr.model_scores,
                               jr.drivers, "context")


def _risk_of(res: ScreeningResult) -> float:
    risk = 0.4 * sum(1 for s in res.spans if s.category in FLAGGED and s.severity <= 1)
    scores = getattr(res, "model_scores", None) or {}
    risk += max((float(scores.get(c, 0.0)) for c in FLAGGED), default=0.0)
    return risk if risk >= 0.25 else 0.0


def _top_category(turns: deque[Turn], res: ScreeningResult) -> str:
    scores = getattr(res, "model_scores", None) or {}
    best = max(FLAGGED, key=lambda c: float(scores.get(c, 0.0)))
    for t in reversed(turns):
        for c in t.categories:
            if c in FLAGGED:
                return c
    return best


def _context_result(res: ScreeningResult, category: str, rule: str, severity: int,
                    policy: CompiledPolicy) -> ScreeningResult:
    action = "warn" if severity >= policy.warn_at else "allow"
    spans = [*res.spans, Span(0, 0, category, rule, severity)]
    cats = [category, *(c for c in res.categories if c != category)]
    return ScreeningResult(action, cats, severity, spans, res.masked, res.policy_version,
                           res.model_scores, res.drivers, "context")


def _mask(text: str, spans: list[Span]) -> str:
    chars = list(text)
    for s in spans:
        if s.category in FLAGGED:
            for i in range(max(0, s.start), min(len(chars), s.end)):
                chars[i] = "*"
    return "".join(chars)
