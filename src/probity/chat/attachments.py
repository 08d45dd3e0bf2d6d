"""Attachments stored by content address (SHA-256) on local disk, with size and type checks."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from probity.errors import InvalidInput
from probity.screening.media import MAX_IMAGE_PIXELS, ImageRejected, image_dimensions

T = TypeVar("T")

MAX_IMAGE_BYTES = 1_500_000
MAX_VOICE_BYTES = 1_500_000

IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
VOICE_TYPES = {"audio/webm", "audio/ogg", "audio/mp4", "audio/mpeg", "audio/wav"}


class AttachmentTooLarge(InvalidInput):
    status_code = 413
    code = "attachment_too_large"


def sniff_image(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def sniff_voice(data: bytes) -> str | None:
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "audio/webm"
    if data.startswith(b"OggS"):
        return "audio/ogg"
    if data[4:8] == b"ftyp":
        return "audio/mp4"
    if data.startswith(b"ID3") or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    return None


def check_image(data: bytes) -> str:
    if len(data) > MAX_IMAGE_BYTES:
        raise AttachmentTooLarge(f"the image is larger than {MAX_IMAGE_BYTES // 1000} kB",
                                 limit=MAX_IMAGE_BYTES)
    mime = sniff_image(data)
    if mime is None:
        raise InvalidInput("the file is not an image (PNG, JPEG, GIF or WebP)", code="not_an_image")
    rejected_image(image_dimensions, data)  # pixel bombs refused before anything is decoded
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            img.verify()
    except Exception as exc:  # any decoder failure means "not an image"
        raise InvalidInput("the image is damaged or not an image",
                           code="not_an_image") from exc
    return mime


def rejected_image(fn: Callable[[bytes], T], data: bytes) -> T:
    """Run an image step; an image the screening library refuses (too many pixels, damaged)
    becomes a 413 / 422 with the library's message, never a 500."""
    try:
        return fn(data)
    except ImageRejected as exc:
        if exc.code == "image_too_large":
            raise AttachmentTooLarge(str(exc), code=exc.code,
                                     limit_pixels=MAX_IMAGE_PIXELS) from exc
        raise InvalidInput(str(exc), code=exc.code) from exc


def check_voice(data: bytes) -> str:
    if len(data) > MAX_VOICE_BYTES:
        raise AttachmentTooLarge(f"the voice note is larger than {MAX_VOICE_BYTES // 1000} kB",
                                 limit=MAX_VOICE_BYTES)
    mime = sniff_voice(data)
    if mime is None:
        raise InvalidInput("the file is not a voice recording (WebM, Ogg, MP4, MP3 or WAV)",
                           code="not_audio")
    return mime


def path_for(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256[2:4] / sha256


def store(root: Path, data: bytes) -> str:
    """Write `data` under its SHA-256 (once) and return the hex digest."""
    digest = hashlib.sha256(data).hexdigest()
    path = path_for(root, digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    return digest
