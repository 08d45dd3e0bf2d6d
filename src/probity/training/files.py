"""Course attachments, stored by content address (SHA-256) under their own folder of the
attachments store (like résumés: a chat retention purge never touches them). The type is
sniffed from the content; Office files (ZIP containers) are told apart by their extension."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.permissions import Perm, Principal
from probity.chat.attachments import AttachmentTooLarge, path_for
from probity.errors import InvalidInput, NotFound
from probity.models import Assignment, Course, CourseAttachment

MAX_ATTACHMENT_BYTES = 20_000_000
OFFICE = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/msword"),
)


def sniff(data: bytes, filename: str) -> str:
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise AttachmentTooLarge(
            "the file is larger than 20 MB", template="The file is larger than {limit} MB",
            params={"limit": MAX_ATTACHMENT_BYTES // 1_000_000}, limit=MAX_ATTACHMENT_BYTES)
    if not data:
        raise InvalidInput("the file is empty", code="empty_file", template="The file is empty")
    for magic, mime in MAGIC:
        if data.startswith(magic):
            return mime
    if data.startswith(b"PK\x03\x04"):
        ext = Path(filename).suffix.lower()
        if ext in OFFICE:
            return OFFICE[ext]
    if data[4:8] == b"ftyp":
        return "video/mp4"
    raise InvalidInput("an attachment must be a PDF, an Office document, an image or an MP4",
                       code="unsupported_attachment",
                       template="An attachment must be a PDF, an Office document, a PNG or "
                                "JPEG image, or an MP4 video")


def attachment_path(root: Path, sha256: str) -> Path:
    return path_for(root / "training", sha256)


def store(root: Path, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    path = attachment_path(root, sha)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(data)
        tmp.replace(path)
    return sha


async def attach(session: AsyncSession, actor: Principal, course_id: int, data: bytes,
                 filename: str, root: Path) -> CourseAttachment:
    from probity.training.service import _course_for

    course = await _course_for(session, actor, course_id, Perm.training_manage, edit=True)
    mime = sniff(data, filename)
    sha = store(root, data)
    name = Path(filename or "attachment").name[:200] or "attachment"
    att = CourseAttachment(course_id=course.id, sha256=sha, filename=name, mime=mime,
                           size=len(data))
    session.add(att)
    await session.flush()
    record_audit(session, actor, "training.attach", target_type="course", target_id=course.id,
                 tenant_id=course.tenant_id,
                 after={"filename": name, "sha256": sha, "size": len(data)})
    return att


async def attachments_of(session: AsyncSession, course_id: int) -> list[CourseAttachment]:
    return list((await session.scalars(select(CourseAttachment).where(
        CourseAttachment.course_id == course_id).order_by(CourseAttachment.id))).all())


async def readable_attachment(session: AsyncSession, principal: Principal, attachment_id: int,
                              root: Path) -> tuple[Path, CourseAttachment]:
    """The file, for readers of the course (training.read scope) and its assignees; 404
    otherwise."""
    row = (await session.execute(select(CourseAttachment, Course).join(
        Course, Course.id == CourseAttachment.course_id).where(
        CourseAttachment.id == attachment_id))).first()
    if row is None:
        raise NotFound("attachment not found")
    from probity.training.service import _course_for

    att, course = row
    ok = False
    if principal.can(Perm.training_read):
        try:
            await _course_for(session, principal, course.id, Perm.training_read)
            ok = True
        except NotFound:
            ok = False
    if not ok and principal.employee_id is not None:
        ok = bool(await session.scalar(select(Assignment.id).where(
            Assignment.course_id == course.id,
            Assignment.employee_id == principal.employee_id)))
    if not ok:
        raise NotFound("attachment not found")
    path = attachment_path(root, att.sha256)
    if not path.exists():
        raise NotFound("attachment not found")
    return path, att
