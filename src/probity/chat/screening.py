"""Screening in the send path, with the tenant's compiled policy.

Every message is screened with the effective policy of its conversation's tenant (built-in
policy + HQ → subsidiary overlays, see `probity.policy`), compiled once per version by
`probity.policy.registry` and swapped atomically when a new version lands. Screening itself is
CPU only (no database); images go through QR decoding + OCR, voice through the library's
`SpeechToText` adapter (none configured: stored and marked "unscreened").
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from probity.screening import CompiledPolicy, default_policy, screen_message
from probity.screening.context import (
    ContextStore,
    ContextVerdict,
    ConversationContext,
    MemoryContextStore,
    RedisContextStore,
    Turn,
)

if TYPE_CHECKING:
    from probity.chat.store import ConvState, PendingSend
    from probity.chat.wire import MessageRow

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


_warm = False

# A message that reaches what screening builds on its first use beside the policy (where it is
# compiled, the numbers layer's digit view of the whole BMP: 65,536 characters, ~64 ms), so
# that the first real message with digits does not pay it on the event loop.
_WARM_TEXT = ("加微信 wx_12345，电话 138 0013 8000 或 一三八零零一三八零零零，"
              "转账到 a@example.com，详见 https://t.cn/x")


def _compile_and_warm() -> None:
    screen_message(_WARM_TEXT, "customer", default_policy())


async def warm_screener() -> None:
    """Compile the built-in policy and screen one message with it off the event loop (about a
    second, once per process), so the first message of a process does not stall every socket.
    Once it is done this returns at once: before, every message paid a hop to a worker thread
    and back (issue 17)."""
    global _warm
    if _warm:
        return
    await asyncio.to_thread(_compile_and_warm)
    _warm = True


_warming = threading.Lock()
_warm_started = False


def warm_screener_in_background() -> None:
    """Start compiling the built-in policy and screening one message with it in a thread (once
    per process), e.g. when the first socket opens, so that the first message does not wait
    for it."""
    global _warm_started
    with _warming:
        if _warm_started:
            return
        _warm_started = True
    threading.Thread(target=_compile_and_warm, name="policy-compile", daemon=True).start()


def screen_text(text: str, role: str, policy: CompiledPolicy | None = None) -> Any:
    return screen_message(text, role, policy or default_policy())


MAX_CONTEXTS = 20_000
_store: ContextStore = MemoryContextStore(MAX_CONTEXTS)


def configure_context_store(redis_url: str | None, prefix: str = "probity", *,
                            affinity: bool = False) -> ContextStore:
    """Conversation contexts in Redis (shared by every app process) when a URL is given, else
    in this process's memory (the MAX_CONTEXTS most recently active conversations).

    ``affinity``: every request that screens in a conversation's context is served by this
    process (a worker of `probity.dispatch`, settings.chat_affinity): memory, even with Redis,
    as with one process (no round trip per message)."""
    global _store
    if affinity:
        redis_url = None
    current = getattr(_store, "url", None)
    if redis_url and current == redis_url:
        return _store
    if redis_url:
        _store = RedisContextStore(redis_url, prefix)
    elif not isinstance(_store, MemoryContextStore):
        _store = MemoryContextStore(MAX_CONTEXTS)
    return _store


def context_store() -> ContextStore:
    return _store


def context_for(conv_id: int) -> ConversationContext:
    """The conversation's screening context in this process's memory store (tests)."""
    if not isinstance(_store, MemoryContextStore):
        raise TypeError("the conversation contexts are in Redis, not in this process")
    return _store.context(conv_id)


def screen_in_context(conv_id: int, text: str, role: str,
                      policy: CompiledPolicy | None = None) -> ContextVerdict:
    """Screen one text message with the last few messages of its conversation."""
    return _store.screen(conv_id, text, role, policy or default_policy())


async def ascreen_in_context(conv_id: int, text: str, role: str,
                             policy: CompiledPolicy | None = None) -> ContextVerdict:
    """`screen_in_context` on the event loop (a shared store's round trips do not block it)."""
    return await _store.ascreen(conv_id, text, role, policy or default_policy())


def remember_seq(conv_id: int, turn: Turn, seq: int) -> None:
    """The stored message's seq for its context turn (refusal episodes)."""
    _store.remember_seq(conv_id, turn, seq)


def forget_contexts() -> None:
    """For tests."""
    _store.forget()


def screen_image_bytes(data: bytes, role: str, policy: CompiledPolicy | None = None
                       ) -> tuple[MediaResult | None, str]:
    """(result, "screened"): the library's image result (QR codes + OCR text) in the shape of
    a text result. Without the OCR extra the image is screened for QR codes only and marked
    "unscreened" (text in it was not read), with a hint in the log."""
    from probity.screening import OCRUnavailable, screen_image

    status = "screened"
    try:
        res = screen_image(data, role, policy or default_policy())
    except OCRUnavailable as exc:
        _warn_no_ocr(exc)
        res = screen_image(data, role, policy or default_policy(), ocr=False)
        status = "unscreened"
    inner = getattr(res, "text_result", None)
    spans = [ResultSpan(s.start, s.end, s.category, s.rule, s.severity)
             for s in (inner.spans if inner is not None else [])]
    masked = "[image]" + (f" {inner.masked}" if inner is not None and inner.masked else "")
    if getattr(res, "qr", None):
        masked += " [QR code]"
    return MediaResult(res.decision, list(res.categories), int(res.severity), spans,
                          masked), status


_ocr_warned = False


def _warn_no_ocr(exc: Exception) -> None:
    global _ocr_warned
    if not _ocr_warned:
        _ocr_warned = True
        logging.getLogger("probity.chat").warning(
            "images are screened for QR codes only: %s", exc)


def screen_voice_bytes(data: bytes, role: str, mime: str,
                       policy: CompiledPolicy | None = None) -> tuple[Any | None, str]:
    """Voice notes go through the library's SpeechToText adapter; none is configured, so they
    are stored, delivered and marked "unscreened" for review."""
    from probity.screening import screen_voice

    res = screen_voice(data, role, policy or default_policy(), mime_type=mime)
    return res.result, res.status


def screening_evidence(result: Any) -> dict[str, Any] | None:
    """What an alert keeps about how it was decided, for reviewers: for a decision of the
    learned layer or the conversation context, the model's scores and the phrases (n-grams)
    that drove it; None for a rules decision (its spans say it all)."""
    explain = getattr(result, "explanation", None)
    return explain() if callable(explain) else None


async def record_refusals(session: AsyncSession,
                          stored: list[tuple[PendingSend, MessageRow, ConvState]]) -> None:
    """Refusal rows for the stored messages tagged ``refusal`` (one INSERT for the batch, and
    nothing at all when there are none), and the context turns learn their seq.

    ``stored``: (the send, its stored message, its conversation as the batch's seq allocation
    returned it). An agent's refusal also marks the open customer cases of that
    customer and agent: the agent's part becomes ``refuser``.
    """
    from sqlalchemy import insert, update

    from probity.models import Case, Refusal

    rows: list[dict[str, Any]] = []
    refusers: set[tuple[int, int]] = set()
    for send, msg, conv in stored:
        if send.turn is not None:
            remember_seq(msg.conversation_id, send.turn, msg.seq)
        if "refusal" not in (msg.categories or []) or msg.sender_role not in ("agent",
                                                                             "customer"):
            continue
        offer = send.offer
        offer_seq = offer.seq if offer is not None else None
        declined = sorted({*(offer.categories if offer is not None else ()),
                           *(s["category"] for s in (msg.spans or [])
                             if s.get("category") in ("contact", "bribe", "payment"))})
        rows.append({
            "tenant_id": msg.tenant_id, "org_unit_id": conv.org_unit_id,
            "conversation_id": msg.conversation_id, "message_id": msg.id, "seq": msg.seq,
            "refuser_role": msg.sender_role,
            "refuser_employee_id": msg.sender_employee_id if msg.sender_role == "agent" else None,
            "customer_id": conv.customer_id,
            "episode": offer_seq if offer_seq is not None else msg.seq, "offer_seq": offer_seq,
            "declined": declined, "created_at": msg.created_at})
        if msg.sender_role == "agent" and conv.agent_employee_id is not None:
            refusers.add((conv.agent_employee_id, conv.customer_id))
    if not rows:
        return
    await session.execute(insert(Refusal), rows)
    from probity.cases.service import OPEN_FOR_GROUPING

    for agent_id, customer_id in sorted(refusers):
        await session.execute(
            update(Case).where(Case.subject == "customer", Case.agent_employee_id == agent_id,
                               Case.customer_id == customer_id,
                               Case.status.in_(list(OPEN_FOR_GROUPING)))
            .values(agent_part="refuser").execution_options(synchronize_session=False))
