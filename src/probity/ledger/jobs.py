"""Full ledger verification as a background job, with progress and a stored result.

The project has no job queue yet, so a verification is an asyncio task started once the request
that asked for it has committed (``after_commit``), with its own session. Progress (entries
hashed so far) lives in this process's memory while the task runs; the result is written to the
:class:`LedgerVerification` row. A row whose task died with its process stays unfinished and is
reported as ``interrupted`` once it is older than :data:`STALE_AFTER`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.permissions import Perm, Principal
from probity.errors import NotFound
from probity.ledger.checkpoint import Keyring
from probity.ledger.service import verify_tenant
from probity.models.base import utcnow
from probity.models.ledger import LedgerEntry
from probity.models.records import LedgerVerification

__all__ = [
    "STALE_AFTER",
    "SessionFactory",
    "get_verification",
    "pending",
    "progress_of",
    "run_verification",
    "schedule",
    "start_verifications",
]

log = logging.getLogger("probity.ledger.jobs")

STALE_AFTER = timedelta(hours=6)
SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]

_PROGRESS: dict[int, int] = {}  # verification id -> entries read so far (this process)
_TASKS: set[asyncio.Task[None]] = set()


def progress_of(verification_id: int) -> int | None:
    return _PROGRESS.get(verification_id)


def pending() -> list[asyncio.Task[None]]:
    """The verification tasks still running in this process (tests await them)."""
    return [t for t in _TASKS if not t.done()]


async def start_verifications(
    session: AsyncSession, principal: Principal | None, tenant_ids: list[int]
) -> list[LedgerVerification]:
    """Create one pending verification row per tenant (flush only; audited)."""
    rows = []
    for tenant_id in tenant_ids:
        total = await session.scalar(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.tenant_id == tenant_id))
        row = LedgerVerification(
            tenant_id=tenant_id, started_by_user_id=principal.user_id if principal else None,
            started_at=utcnow(), total_entries=int(total or 0), entries_checked=0,
            message="running")
        session.add(row)
        rows.append(row)
    await session.flush()
    for row in rows:
        record_audit(session, principal, "ledger.verify", target_type="ledger_verification",
                     target_id=row.id, tenant_id=row.tenant_id,
                     after={"total_entries": row.total_entries},
                     actor_name=None if principal else "system")
    return rows


async def run_verification(
    sessions: SessionFactory, verification_id: int, tenant_id: int,
    keyring: Keyring | None = None, *, chunk: int = 4096,
) -> None:
    """Verify the tenant's whole ledger and store the outcome on the verification row."""
    _PROGRESS[verification_id] = 0

    def progress(n: int) -> None:
        _PROGRESS[verification_id] = n

    try:
        async with sessions() as session:
            try:
                result = await verify_tenant(session, tenant_id, keyring, chunk=chunk,
                                             progress=progress)
                ok, checked, bad, message = (result.ok, result.entries, result.first_bad_seq,
                                             result.message)
            except Exception as exc:  # stored, not lost: the page shows why it failed
                log.exception("ledger verification %s failed", verification_id)
                await session.rollback()
                ok, checked, bad = False, _PROGRESS.get(verification_id, 0), None
                message = f"verification could not run: {exc.__class__.__name__}: {exc}"
            row = await session.get(LedgerVerification, verification_id)
            if row is not None:
                row.finished_at = utcnow()
                row.ok = ok
                row.entries_checked = checked
                row.first_bad_seq = bad
                row.message = message[:2000]
                await session.commit()
    finally:
        _PROGRESS.pop(verification_id, None)


def schedule(sessions: SessionFactory, verification_id: int, tenant_id: int) -> None:
    """Start :func:`run_verification` as a task of the running loop (call after commit)."""
    task = asyncio.get_running_loop().create_task(
        run_verification(sessions, verification_id, tenant_id),
        name=f"ledger-verify-{verification_id}")
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)


async def get_verification(
    session: AsyncSession, principal: Principal, verification_id: int
) -> LedgerVerification:
    scope = principal.scope(Perm.ledger_read)
    row = await session.scalar(select(LedgerVerification).where(
        LedgerVerification.id == verification_id, scope.filter(LedgerVerification.tenant_id)))
    if row is None:
        raise NotFound("no such verification")
    return row


def state_of(row: LedgerVerification) -> dict[str, Any]:
    """Running / ok / failed / interrupted, with progress while running."""
    if row.finished_at is not None:
        state = "ok" if row.ok else "failed"
        progress = row.entries_checked
    else:
        live = progress_of(row.id)
        if live is None and utcnow() - row.started_at > STALE_AFTER:
            state, progress = "interrupted", 0
        else:
            state, progress = "running", live or 0
    return {"state": state, "progress": progress}


async def request_verification(
    session: AsyncSession, principal: Principal, tenant_id: int, sessions: SessionFactory
) -> LedgerVerification:
    """Create the verification row and arrange for the job to start once the caller commits."""
    from probity.auth.deps import after_commit
    from probity.ledger.retention import tenant_in_scope

    await tenant_in_scope(session, principal, Perm.ledger_read, tenant_id)
    (row,) = await start_verifications(session, principal, [tenant_id])
    vid, tid = row.id, row.tenant_id

    async def effect() -> None:
        schedule(sessions, vid, tid)

    after_commit(session, effect)
    return row


async def ledger_status(session: AsyncSession, principal: Principal) -> list[dict[str, Any]]:
    """Per tenant in scope: size, latest checkpoint, latest verification."""
    from probity.ledger.retention import tenants_in_scope
    from probity.ledger.service import latest_checkpoint

    out = []
    for tenant in await tenants_in_scope(session, principal, Perm.ledger_read):
        head = await session.scalar(select(func.max(LedgerEntry.seq)).where(
            LedgerEntry.tenant_id == tenant.id))
        cp = await latest_checkpoint(session, tenant.id)
        last = await session.scalar(
            select(LedgerVerification).where(LedgerVerification.tenant_id == tenant.id)
            .order_by(LedgerVerification.id.desc()).limit(1))
        out.append({"tenant": tenant, "size": 0 if head is None else int(head) + 1,
                    "checkpoint": cp, "verification": last})
    return out
