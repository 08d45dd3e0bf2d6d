"""Screening in the send path, with the tenant's compiled policy.

Every message is screened with the effective policy of its conversation's tenant (built-in
policy + HQ → subsidiary overlays, see `probity.policy`), compiled once per version by
`probity.policy.registry` and swapped atomically when a new version lands. Screening itself is
CPU only (no database); images go through QR decoding + OCR, voice through the library's
`SpeechToText` adapter (none configured: stored and marked "unscreened").
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

from probity.screening import CompiledPolicy, default_policy, screen_message

BLOCK_NOTICE = "请通过官方渠道联系，私下联系/转账不受平台保障"
BLOCK_NOTICE_EN = ("Please keep to the official channel: private contact or transfers are not "
                   "protected by the platform.")
WARN_REMINDER = "合规提醒：请勿引导客户私下联系、收取红包或私下收款。"


@dataclass(frozen=True)
class ResultSpan:
    start: int
    end: int
    category: str
    rule: str
    severity: int

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "category": self.category,
                "rule": self.rule, "severity": self.severity}


@dataclass(frozen=True)
class MediaResult:
    """An image's screening result in the shape of a text result (decision, spans, masked)."""

    decision: str
    categories: list[str]
    severity: int
    spans: list[ResultSpan] = field(default_factory=list)
    masked: str = ""
    policy_version: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "categories": list(self.categories),
                "severity": self.severity, "spans": [s.to_dict() for s in self.spans],
                "masked": self.masked}


async def warm_screener() -> None:
    """Compile the built-in policy off the event loop (about a second, once per process), so
    the first message of a process does not stall every socket."""
    await asyncio.to_thread(default_policy)


_warming = threading.Lock()
_warm_started = False


def warm_screener_in_background() -> None:
    """Start compiling the built-in policy in a thread (once per process), e.g. when the first
    socket opens, so that the first message does not wait for it."""
    global _warm_started
    with _warming:
        if _warm_started:
            return
        _warm_started = True
    threading.Thread(target=default_policy, name="policy-compile", daemon=True).start()


def screen_text(text: str, role: str, policy: CompiledPolicy | None = None) -> Any:
    return screen_message(text, role, policy or default_policy())


def screen_image_bytes(data: bytes, role: str, policy: CompiledPolicy | None = None
                       ) -> tuple[MediaResult | None, str]:
    """(result, "screened"): the library's image result (QR codes + OCR text) in the shape of
    a text result."""
    from probity.screening import screen_image

    res = screen_image(data, role, policy or default_policy())
    inner = getattr(res, "text_result", None)
    spans = [ResultSpan(s.start, s.end, s.category, s.rule, s.severity)
             for s in (inner.spans if inner is not None else [])]
    masked = "[image]" + (f" {inner.masked}" if inner is not None and inner.masked else "")
    if getattr(res, "qr", None):
        masked += " [QR code]"
    return MediaResult(res.decision, list(res.categories), int(res.severity), spans,
                          masked), "screened"


def screen_voice_bytes(data: bytes, role: str, mime: str,
                       policy: CompiledPolicy | None = None) -> tuple[Any | None, str]:
    """Voice notes go through the library's SpeechToText adapter; none is configured, so they
    are stored, delivered and marked "unscreened" for review."""
    from probity.screening import screen_voice

    res = screen_voice(data, role, policy or default_policy(), mime_type=mime)
    return res.result, res.status
