"""Signed checkpoints published outside the database.

A checkpoint stored only beside the entries it signs can be deleted together with a rewritten
chain. So every checkpoint is also written, once its transaction has committed, to
``PROBITY_CHECKPOINT_DIR`` (``<dir>/<tenant code>/<tree size>.<hash>.note``, the C2SP signed note,
written once and never rewritten) — a directory a separate process, another machine or a
witness can hold — and served at ``GET /api/v1/ledger/checkpoints`` for witnesses that poll.
``probity ledger verify --checkpoints DIR`` verifies each note's signature and checks the ledger
against it, wherever the database's own checkpoints went.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from probity.ledger.checkpoint import Checkpoint, CheckpointError, Keyring, verify_checkpoint

__all__ = ["configure", "load_checkpoints", "note_path", "publish_committed", "publish_note",
           "queue"]

log = logging.getLogger("probity.ledger")
_PENDING = "probity.ledger.publish"
_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")
_root: Path | None = None


def configure(root: Path | None) -> None:
    """Where committed checkpoints are written in this process (None: nowhere)."""
    global _root
    _root = root
    if not _installed:
        _install()


def note_path(root: Path, tenant_code: str, tree_size: int, note: str) -> Path:
    if not _SAFE.match(tenant_code):
        raise ValueError(f"tenant code {tenant_code!r} cannot name a directory")
    digest = hashlib.sha256(note.encode("utf-8")).hexdigest()[:16]
    return root / tenant_code / f"{tree_size:012d}.{digest}.note"


def publish_note(root: Path, tenant_code: str, tree_size: int, note: str) -> Path:
    """Write one signed note (atomically; an existing file is the same note and is kept)."""
    path = note_path(root, tenant_code, tree_size, note)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(note)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return path


def load_checkpoints(root: Path, tenant_code: str, keyring: Keyring
                     ) -> tuple[list[Checkpoint], list[str]]:
    """The tenant's published checkpoints whose signatures verify, and a problem line for each
    file that does not (wrong key, altered text, another tenant's note)."""
    good: list[Checkpoint] = []
    problems: list[str] = []
    folder = root / tenant_code
    if not _SAFE.match(tenant_code) or not folder.is_dir():
        return good, problems
    for path in sorted(folder.glob("*.note")):
        try:
            cp = verify_checkpoint(path.read_text(encoding="utf-8"), keyring)
        except (CheckpointError, UnicodeDecodeError, OSError) as exc:
            problems.append(f"published checkpoint {path.name}: {exc}")
            continue
        if cp.tenant != tenant_code:
            problems.append(f"published checkpoint {path.name} is for tenant {cp.tenant}")
            continue
        good.append(cp)
    return good, problems


def queue(session: Session, row: Any, tenant_code: str) -> None:
    """Publish *row* (a LedgerCheckpoint) once the session's transaction commits."""
    if _root is not None:
        session.info.setdefault(_PENDING, []).append((row, tenant_code))


def publish_committed(tenant_code: str, tree_size: int, note: str) -> None:
    """Publish a checkpoint whose transaction has just committed: at a session's commit
    (`queue`) or without a session (the chat writer's direct path, `ledger.ranges`). The
    transaction stands whatever happens here: a note that cannot be written (a full disk, an
    unwritable folder) is logged, not raised, so no caller takes a committed batch for a
    failed one; the checkpoint is in its row, served by the checkpoints endpoint, and the
    next one is published as usual."""
    root = _root
    if root is None:
        return
    try:
        publish_note(root, tenant_code, tree_size, note)
    except (OSError, ValueError):
        log.exception("ledger: checkpoint %s/%d committed but not published to %s",
                      tenant_code, tree_size, root)


def _after_commit(session: Session) -> None:
    pending: list[tuple[Any, str]] = session.info.pop(_PENDING, [])
    if _root is None:
        return
    for row, code in pending:
        if inspect(row).persistent:  # not from a rolled-back savepoint
            publish_committed(code, row.tree_size, row.note)


def _after_rollback(session: Session) -> None:
    if not session.in_transaction():
        session.info.pop(_PENDING, None)


_installed = False


def _install() -> None:
    global _installed
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_rollback", _after_rollback)
    _installed = True
