"""Decompression bombs and damaged images (issue 16, item 6): the declared pixel count is
refused before anything is decoded, what passes is downscaled before QR/OCR, and a truncated
image is a 4xx, never a 500."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import pytest
from PIL import Image
from tests.chat.helpers import active_conversation

from probity.screening.media import (
    MAX_IMAGE_PIXELS,
    MAX_SCREEN_SIDE,
    ImageRejected,
    _open_image,
    image_dimensions,
)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def bomb_png(width: int = 12_000, height: int = 12_000) -> bytes:
    """A tiny PNG declaring width × height grey pixels (all zero: it compresses to ~kB)."""
    raw = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte + one byte per pixel
    data = b"".join(raw.compress(row) for _ in range(height)) + raw.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", data)
            + _chunk(b"IEND", b""))


def truncated_png() -> bytes:
    """Every chunk well-formed (so PIL's verify() passes) but the pixel stream cut short."""
    width, height = 64, 64
    rows = b"".join(b"\x00" + bytes(range(width)) for _ in range(height))
    data = zlib.compress(rows)[: 40]
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", data)
            + _chunk(b"IEND", b""))


def test_pixel_bomb_is_refused_from_its_header() -> None:
    data = bomb_png()
    assert len(data) < 300_000
    with pytest.raises(ImageRejected) as info:
        image_dimensions(data)
    assert info.value.code == "image_too_large" and "12000 × 12000" in str(info.value)
    with pytest.raises(ImageRejected):
        _open_image(data)


def test_large_but_allowed_image_is_downscaled_before_screening() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (4000, 3000), (200, 200, 200)).save(buf, format="JPEG")
    assert MAX_IMAGE_PIXELS >= 4000 * 3000
    img = _open_image(buf.getvalue())
    assert max(img.size) <= MAX_SCREEN_SIDE


def test_truncated_pixels_are_rejected_not_crashed() -> None:
    with Image.open(io.BytesIO(truncated_png())) as img:
        img.verify()  # the old check passed this file
    with pytest.raises(ImageRejected) as info:
        _open_image(truncated_png())
    assert info.value.code == "not_an_image"


async def _upload(as_user: Any, data: bytes) -> Any:
    conv_id, _ = await active_conversation(as_user)
    customer = await as_user("customer")
    return await customer.post(f"/api/v1/chat/conversations/{conv_id}/attachments",
                               files={"file": ("x.png", data, "image/png")},
                               data={"kind": "image"})


async def test_pixel_bomb_upload_is_413(as_user: Any) -> None:
    r = await _upload(as_user, bomb_png())
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "image_too_large" and "megapixels" in r.json()["detail"]


async def test_truncated_png_upload_is_422(as_user: Any) -> None:
    r = await _upload(as_user, truncated_png())
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "not_an_image"
