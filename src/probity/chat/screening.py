"""The one process-wide screener used by the send path (compiled once, never per message).

The screening library (`probity.screening`) is being written alongside; this adapter uses its
agreed interface (`Screener.screen(text, role)`, `screen_image(data, role, policy)`) as soon as
the package exports it, and otherwise falls back to a small built-in rule set so the channel is
never unscreened. `screener_name()` says which one is in use.
"""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

BLOCK_NOTICE = "请通过官方渠道联系，私下联系/转账不受平台保障"
BLOCK_NOTICE_EN = ("Please keep to the official channel: private contact or transfers are not "
                   "protected by the platform.")
WARN_REMINDER = "合规提醒：请勿引导客户私下联系、收取红包或私下收款。"


class Result(Protocol):
    decision: str
    categories: list[str]
    severity: int
    masked: str

    def to_dict(self) -> dict[str, Any]: ...


class ScreenerLike(Protocol):
    def screen(self, text: str, role: str) -> Any: ...


@dataclass(frozen=True)
class FallbackSpan:
    start: int
    end: int
    category: str
    rule: str
    severity: int

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "category": self.category,
                "rule": self.rule, "severity": self.severity}


@dataclass(frozen=True)
class FallbackResult:
    decision: str
    categories: list[str]
    severity: int
    spans: list[FallbackSpan] = field(default_factory=list)
    masked: str = ""
    policy_version: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "categories": list(self.categories),
                "severity": self.severity, "spans": [s.to_dict() for s in self.spans],
                "masked": self.masked}


# (category, severity, decision, pattern). Deliberately small: a stop-gap, not the product.
_RULES: list[tuple[str, int, str, re.Pattern[str]]] = [
    ("contact", 3, "block", re.compile(
        r"(加|添加|加个|私聊)\s*(我|个)?\s*(v\s*x|vx|wx|微\s*信|威信|薇信|qq|扣扣|企鹅)", re.I)),
    ("contact", 3, "block", re.compile(r"(?<!\d)1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)")),
    ("payment", 3, "block", re.compile(r"(私下|直接)\s*(转账|转给我|付给我|收款)")),
    ("bribe", 2, "warn", re.compile(r"(给你|发你|包个|塞个)\s*(个)?\s*红包")),
]
_REFUSAL = re.compile(r"(不能|不可以|不收|不要|拒绝).{0,4}(红包|私下|加微信|转账)")


class FallbackScreener:
    version = 0

    def screen(self, text: str, role: str) -> FallbackResult:
        spans: list[FallbackSpan] = []
        decision = "allow"
        if role == "agent" and _REFUSAL.search(text):
            m = _REFUSAL.search(text)
            assert m is not None
            return FallbackResult("allow", ["refusal"], 0,
                                  [FallbackSpan(m.start(), m.end(), "refusal", "refusal", 0)],
                                  text)
        for cat, sev, dec, rx in _RULES:
            for m in rx.finditer(text):
                spans.append(FallbackSpan(m.start(), m.end(), cat, "fallback", sev))
                if dec == "block" or decision == "allow":
                    decision = dec if decision != "block" else decision
        if not spans:
            return FallbackResult("allow", [], 0, [], text)
        masked = list(text)
        for s in spans:
            for i in range(s.start, s.end):
                masked[i] = "*"
        cats = sorted({s.category for s in spans})
        return FallbackResult(decision, cats, max(s.severity for s in spans), spans,
                              "".join(masked))


_build_lock = threading.Lock()
_screener: ScreenerLike | None = None


def get_screener() -> ScreenerLike:
    """Built once per process (compiling a policy is expensive; screening is not)."""
    global _screener
    screener = _screener
    if screener is None:
        with _build_lock:  # two threads asking at once must not compile twice
            if _screener is None:
                _screener = _build()
            screener = _screener
    return screener


def _build() -> ScreenerLike:
    try:
        from probity.screening import Screener

        return Screener()
    except Exception:  # the library is not importable yet: fall back
        return FallbackScreener()


def screener_ready() -> bool:
    return _screener is not None


_warming = False


def warm_screener_in_background() -> None:
    """Start building the screener in a thread (once per process), e.g. when the first socket
    opens, so that the first message does not wait for the compile."""
    global _warming
    if _warming or screener_ready():
        return
    _warming = True
    threading.Thread(target=get_screener, name="screener-build", daemon=True).start()


async def warm_screener() -> None:
    """Build the screener off the event loop: compiling the policy takes about a second, which
    on the loop would stall every socket of the process at its first message."""
    if not screener_ready():
        await asyncio.to_thread(get_screener)


def screener_name() -> str:
    return "fallback" if isinstance(get_screener(), FallbackScreener) else "probity.screening"


def screen_text(text: str, role: str) -> Any:
    return get_screener().screen(text, role)


def screen_image_bytes(data: bytes, role: str) -> tuple[FallbackResult | None, str]:
    """(result, status): status is "screened", or "unscreened" when no image screener exists.
    The library's image result (QR codes + OCR text) is normalised to the text-result shape."""
    screener = get_screener()
    try:
        from probity.screening import screen_image
    except Exception:  # the library is not importable: stored, marked unscreened
        return None, "unscreened"
    res = screen_image(data, role, getattr(screener, "policy", None))
    inner = getattr(res, "text_result", None)
    spans = [FallbackSpan(s.start, s.end, s.category, s.rule, s.severity)
             for s in (inner.spans if inner is not None else [])]
    masked = "[image]" + (f" {inner.masked}" if inner is not None and inner.masked else "")
    if getattr(res, "qr", None):
        masked += " [QR code]"
    return FallbackResult(res.decision, list(res.categories), int(res.severity), spans,
                          masked), "screened"


def screen_voice_bytes(data: bytes, role: str, mime: str) -> tuple[Any | None, str]:
    """Voice notes go through the library's SpeechToText adapter; none is configured, so they
    are stored, delivered and marked "unscreened" for review."""
    try:
        from probity.screening import screen_voice
    except Exception:
        return None, "unscreened"
    res = screen_voice(data, role, getattr(get_screener(), "policy", None), mime_type=mime)
    return res.result, res.status
