"""Images (QR + OCR) and voice notes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from probity.screening import (
    CompiledPolicy,
    OCRUnavailable,
    SpeechToText,
    classify_payload,
    compile_policy,
    default_policy_spec,
    screen_image,
    screen_voice,
)

zxingcpp = pytest.importorskip("zxingcpp")
from screening_helpers import qr_png  # noqa: E402


@pytest.mark.parametrize(
    ("payload", "kind", "category"),
    [
        ("wxp://f2f0xYzAbC123", "wechat_payment", "payment"),
        ("https://u.wechat.com/EAbCdEf12345", "wechat_friend", "contact"),
        ("HTTPS://QR.ALIPAY.COM/fkx12345abcde", "alipay_payment", "payment"),
        ("https://t.me/someone", "telegram", "contact"),
        ("https://wa.me/8613812345678", "whatsapp", "contact"),
        ("https://shop.example.com/item/1", "url", ""),
        ("hello", "text", ""),
    ],
)
def test_classify_payload(payload: str, kind: str, category: str) -> None:
    cls = classify_payload(payload)
    assert (cls.kind, cls.category) == (kind, category)


def test_personal_payment_qr_is_blocked(policy: CompiledPolicy) -> None:
    res = screen_image(qr_png("wxp://f2f0xYzAbC123"), "agent", policy, ocr=False)
    assert res.decision == "block"
    assert res.categories == ["payment"]
    assert res.qr[0].kind == "wechat_payment"
    assert "xYzAbC123" not in res.qr[0].payload_preview  # payload is not echoed in full


def test_merchant_qr_on_allow_list_is_allowed() -> None:
    spec = default_policy_spec()
    spec.allow_qr.append("https://qr.alipay.com/company-")
    compiled = compile_policy(spec)
    res = screen_image(qr_png("https://qr.alipay.com/company-shop-01"), "agent", compiled,
                       ocr=False)
    assert res.decision == "allow"
    assert res.qr[0].kind == "merchant"


def test_qr_with_plain_text_is_screened_as_message(policy: CompiledPolicy) -> None:
    res = screen_image(qr_png("加我微信 abc12345"), "customer", policy, ocr=False)
    assert res.decision == "block" and "contact" in res.categories


def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"]:
        if Path(path).exists():
            return ImageFont.truetype(path, 40)
    pytest.skip("no TrueType font to render test text")


def test_text_in_image_is_screened(policy: CompiledPolicy) -> None:
    try:
        from probity.screening.media import ocr_engine

        ocr_engine()
    except OCRUnavailable as exc:
        pytest.skip(f"OCR unavailable: {exc}")
    img = Image.new("RGB", (900, 120), "white")
    ImageDraw.Draw(img).text((20, 30), "Add me on WeChat: tom_2024", fill="black", font=_font())
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    res = screen_image(buf.getvalue(), "customer", policy)
    assert "wechat" in res.text.lower()
    assert res.decision == "block" and "contact" in res.categories


def test_voice_without_backend_is_unscreened(policy: CompiledPolicy) -> None:
    res = screen_voice(b"\x00\x01", "customer", policy)
    assert res.status == "unscreened" and res.decision == "allow"


class FakeSTT:
    def transcribe(self, audio: bytes, mime_type: str) -> str:
        return "加我微信吧"


class BrokenSTT:
    def transcribe(self, audio: bytes, mime_type: str) -> str:
        raise RuntimeError("backend down")


def test_voice_with_backend(policy: CompiledPolicy) -> None:
    assert isinstance(FakeSTT(), SpeechToText)
    res = screen_voice(b"...", "customer", policy, stt=FakeSTT())
    assert res.status == "screened" and res.decision == "block"
    broken = screen_voice(b"...", "customer", policy, stt=BrokenSTT())
    assert broken.status == "failed" and "backend down" in broken.reason
