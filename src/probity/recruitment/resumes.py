"""Résumés stored by content address (SHA-256) on local disk, like chat attachments."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from probity.chat.attachments import AttachmentTooLarge, path_for
from probity.errors import InvalidInput

MAX_RESUME_BYTES = 5_000_000
# Sniffed from the content, never from the file name or the client's Content-Type.
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/msword"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


def sniff_resume(data: bytes) -> str:
    if len(data) > MAX_RESUME_BYTES:
        raise AttachmentTooLarge(
            f"the résumé is larger than {MAX_RESUME_BYTES // 1_000_000} MB",
            template="The résumé is larger than {limit} MB",
            params={"limit": MAX_RESUME_BYTES // 1_000_000}, limit=MAX_RESUME_BYTES)
    if not data:
        raise InvalidInput("the résumé file is empty", code="empty_file",
                           template="The résumé file is empty")
    for magic, mime in SIGNATURES:
        if data.startswith(magic):
            return mime
    raise InvalidInput("a résumé must be a PDF, Word document, PNG or JPEG",
                       code="unsupported_resume",
                       template="A résumé must be a PDF, Word document, PNG or JPEG")


def resume_path(root: Path, sha256: str) -> Path:
    """Under its own folder of the attachments store, so a chat retention purge (which removes
    the files of purged messages by hash) never touches a résumé."""
    return path_for(root / "resumes", sha256)


def store_resume(root: Path, data: bytes) -> str:
    """Write the file under its SHA-256 (atomically; an identical file is stored once)."""
    sha = hashlib.sha256(data).hexdigest()
    path = resume_path(root, sha)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(data)
        tmp.replace(path)
    return sha
