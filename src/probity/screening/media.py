"""Images (QR codes + OCR text) and voice notes.

* QR codes are decoded with zxing-cpp and classified: personal WeChat / Alipay friend and
  payment codes, the company's own merchant codes (policy ``allow_qr``), chat links, URLs.
* Text in images is read with rapidocr-onnxruntime (its wheel ships the models). The OCR
  engine is created lazily once per process and reused; if it cannot be imported,
  :class:`OCRUnavailable` explains why.
* Voice notes are screened only when a :class:`SpeechToText` backend is configured; otherwise
  they are stored and marked ``unscreened``. No backend is bundled.
"""

from __future__ import annotations

import io
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from probity.screening.engine import screen_message
from probity.screening.payloads import classify_payload
from probity.screening.policy import CATEGORIES, CompiledPolicy, default_policy
from probity.screening.result import ScreeningResult, Span

_RANK = {"allow": 0, "warn": 1, "block": 2}


class OCRUnavailable(RuntimeError):
    """rapidocr-onnxruntime (or its onnxruntime dependency) cannot be loaded."""


@dataclass(frozen=True)
class QRFinding:
    kind: str  # wechat_payment, wechat_friend, alipay_payment, merchant, url, text, ...
    category: str  # contact | payment | "" (nothing to flag)
    severity: int
    payload_preview: str  # first characters only: payloads may carry personal IDs

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "category": self.category, "severity": self.severity,
                "payload_preview": self.payload_preview}


@dataclass(frozen=True)
class ImageScreeningResult:
    decision: str
    categories: list[str]
    severity: int
    qr: list[QRFinding]
    text: str  # OCR text ("" when OCR was skipped or found nothing)
    text_result: ScreeningResult | None
    ocr_used: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "categories": list(self.categories),
            "severity": self.severity,
            "qr": [q.to_dict() for q in self.qr],
            "text": self.text_result.masked if self.text_result else "",
            "text_spans": [s.to_dict() for s in self.text_result.spans]
            if self.text_result else [],
            "ocr_used": self.ocr_used,
        }


_OCR: Any = None
_OCR_LOCK = threading.Lock()


def ocr_engine() -> Any:
    """The process-wide RapidOCR engine (created on first use)."""
    global _OCR
    if _OCR is None:
        with _OCR_LOCK:
            if _OCR is None:
                try:
                    from rapidocr_onnxruntime import RapidOCR
                except Exception as exc:  # ImportError, or onnxruntime failing to load
                    raise OCRUnavailable(
                        "text in images needs the OCR extra "
                        f"(pip install 'probity[ocr]', i.e. rapidocr-onnxruntime): {exc}"
                    ) from exc
                _OCR = RapidOCR()
    return _OCR


# Decompression bombs: a 17 kB PNG can declare 12,000 × 12,000 pixels (1.5 GB decoded). The
# declared size is read from the header and refused *before* anything is decoded; what passes
# is decoded at most at OCR size (JPEG draft mode decodes it already reduced) and downscaled
# before QR and OCR, which gain nothing from more pixels.
MAX_IMAGE_PIXELS = 24_000_000  # 24 megapixels (a 6000 × 4000 photo)
MAX_SCREEN_SIDE = 2560  # longest side handed to QR decoding and OCR


class ImageRejected(ValueError):
    """The image cannot be screened: too many pixels, or damaged. ``code`` says which."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def image_dimensions(data: bytes) -> tuple[int, int]:
    """Width and height from the image header (nothing decoded); :class:`ImageRejected` when
    the header is unreadable or declares more than :data:`MAX_IMAGE_PIXELS`."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
    except Image.DecompressionBombError as exc:
        raise ImageRejected(str(exc), "image_too_large") from exc
    except Exception as exc:  # any header the decoder cannot read
        raise ImageRejected("the image is damaged or not an image", "not_an_image") from exc
    if width <= 0 or height <= 0:
        raise ImageRejected("the image has no pixels", "not_an_image")
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageRejected(
            f"the image has {width} × {height} pixels; at most "
            f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels are accepted", "image_too_large")
    return width, height


def _open_image(data: bytes) -> Any:
    """Decode for screening: size checked first, decoded reduced where the format allows,
    then downscaled to :data:`MAX_SCREEN_SIDE`. Damaged data raises :class:`ImageRejected`."""
    from PIL import Image

    image_dimensions(data)
    try:
        img = Image.open(io.BytesIO(data))
        img.draft("RGB", (MAX_SCREEN_SIDE, MAX_SCREEN_SIDE))  # JPEG: decode at 1/2..1/8 scale
        img.load()
        rgb = img.convert("RGB")
    except Exception as exc:  # truncated or corrupt pixel data
        raise ImageRejected("the image is damaged or truncated", "not_an_image") from exc
    if max(rgb.size) > MAX_SCREEN_SIDE:
        rgb.thumbnail((MAX_SCREEN_SIDE, MAX_SCREEN_SIDE))
    return rgb


def decode_qr(image: Any) -> list[str]:
    import zxingcpp

    return [r.text for r in zxingcpp.read_barcodes(image) if r.text]


def ocr_text(image: Any) -> str:
    import numpy as np

    engine = ocr_engine()
    result, _elapsed = engine(np.asarray(image))
    if not result:
        return ""
    return "\n".join(str(line[1]) for line in result)


def _preview(payload: str) -> str:
    """The start of a payload with every digit masked: enough to recognise the kind of code,
    never a phone number or an account."""
    return re.sub(r"\d", "*", payload[:16])


def screen_image(
    data: bytes,
    role: str,
    policy: CompiledPolicy | None = None,
    *,
    ocr: bool = True,
) -> ImageScreeningResult:
    """Screen an image: QR codes it contains, and its text (OCR) as a message."""
    if policy is None:
        policy = default_policy()
    image = _open_image(data)
    findings: list[QRFinding] = []
    cat_sev: dict[str, int] = {}
    extra_text: list[str] = []
    for payload in decode_qr(image):
        cls = classify_payload(payload, policy.allow_qr)
        findings.append(QRFinding(cls.kind, cls.category, cls.severity, _preview(payload)))
        if cls.category:
            cat_sev[cls.category] = max(cat_sev.get(cls.category, 0), cls.severity)
        elif cls.kind == "text":
            extra_text.append(payload)  # a QR holding plain text: screen it like a message
    text = ocr_text(image) if ocr else ""
    full = "\n".join(t for t in [text, *extra_text] if t)
    text_result = screen_message(full, role, policy) if full else None
    decision = "allow"
    actions = policy.actions.get(role, {})
    for cat, sev in cat_sev.items():
        act = "block" if sev >= policy.block_at else "warn" if sev >= policy.warn_at else "allow"
        cap = actions.get(cat, "block")
        act = cap if _RANK[cap] < _RANK[act] else act
        decision = act if _RANK[act] > _RANK[decision] else decision
    if text_result is not None:
        if _RANK[text_result.decision] > _RANK[decision]:
            decision = text_result.decision
        for c in text_result.categories:
            cat_sev[c] = max(cat_sev.get(c, 0), text_result.severity if c != "refusal" else 0)
    categories = [c for c in CATEGORIES if c in cat_sev]
    severity = max((v for k, v in cat_sev.items() if k != "refusal"), default=0)
    return ImageScreeningResult(decision, categories, severity, findings, full, text_result, ocr)


# ---------------------------------------------------------------------------------------------
# Voice


@runtime_checkable
class SpeechToText(Protocol):
    """Adapter for a speech-to-text backend (none is bundled)."""

    def transcribe(self, audio: bytes, mime_type: str) -> str:
        """Return the transcript of ``audio``; raise on failure."""
        ...


@dataclass(frozen=True)
class VoiceScreeningResult:
    status: str  # "screened" | "unscreened" | "failed"
    decision: str  # "allow" when unscreened: the note is stored and marked for review
    result: ScreeningResult | None = None
    reason: str = ""
    spans: list[Span] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "decision": self.decision, "reason": self.reason,
                "result": self.result.to_dict() if self.result else None}


def screen_voice(
    audio: bytes,
    role: str,
    policy: CompiledPolicy | None = None,
    *,
    stt: SpeechToText | None = None,
    mime_type: str = "audio/ogg",
) -> VoiceScreeningResult:
    """Screen a voice note through ``stt`` if configured; otherwise mark it unscreened."""
    if stt is None:
        return VoiceScreeningResult("unscreened", "allow", None,
                                    "no speech-to-text backend configured")
    try:
        transcript = stt.transcribe(audio, mime_type)
    except Exception as exc:  # a backend failure must not lose the message
        return VoiceScreeningResult("failed", "allow", None, f"speech-to-text failed: {exc}")
    result = screen_message(transcript, role, policy)
    return VoiceScreeningResult("screened", result.decision, result, "", list(result.spans))
