"""Replay before publishing a screening policy, and retro-screening after.

A *replay* runs a candidate overlay of a tenant over the last 30 days of text messages of the
tenant and every tenant below it (they inherit it), as a background job with progress, and
stores the decisions that would change: new and cleared flags per category and subsidiary,
with a few samples. Publishing the overlay (`policy.service.set_policy`) then needs that
replay — finished, of this very overlay, on the chain still in force — or a recorded override
reason: 409 otherwise. A *retro* run screens a date range with the published policy and raises
a retrospective alert for each message that would now be flagged and was not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.permissions import Perm, Principal
from probity.errors import Conflict, InvalidInput, NotFound
from probity.governance.replay import ReplayItem, ReplayTally, replay_batch
from probity.models import Message, PolicyReplay, Tenant
from probity.models.base import utcnow
from probity.models.chat import MessageKind
from probity.policy.schemas import PolicyOverlay
from probity.policy.service import (
    PolicyChain,
    candidate_spec,
    check_overlay,
    effective_spec,
    overlay_hash,
    policy_chain,
)
from probity.screening import CompiledPolicy, compile_policy, default_policy

REPLAY_DAYS = 30
CHUNK = 5000
Progress = Callable[[int, int], None]


async def _subtree(session: AsyncSession, tenant_id: int) -> list[Tenant]:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("tenant not found")
    q = select(Tenant).where(Tenant.path.startswith(tenant.path, autoescape=True))
    return list((await session.scalars(q.order_by(Tenant.path))).all())


async def start_replay(session: AsyncSession, actor: Principal, tenant_id: int,
                       overlay: PolicyOverlay) -> PolicyReplay:
    """Check the candidate (scope, locks, stricter only), store the run and enqueue its job
    (sent after commit)."""
    from probity.jobs import enqueue

    chain = await check_overlay(session, actor, tenant_id, overlay)
    now = utcnow()
    row = PolicyReplay(
        tenant_id=tenant_id, kind="replay",
        overlay=overlay.model_dump(mode="json", exclude_none=True),
        overlay_sha256=overlay_hash(overlay), base_key=list(chain.key),
        since=now - timedelta(days=REPLAY_DAYS), until=now, status="queued", total=0, done=0,
        changed=0, created_by_user_id=actor.user_id)
    session.add(row)
    await session.flush()
    record_audit(session, actor, "policy.replay", target_type="policy_replay",
                 target_id=row.id, tenant_id=tenant_id,
                 after={"overlay_sha256": row.overlay_sha256, "since": row.since,
                        "until": row.until})
    await enqueue(session, "governance.policy_replay", params={"replay_id": row.id},
                  tenant_id=tenant_id, principal=actor, key=f"policy-replay:{row.id}")
    return row


async def start_retro(session: AsyncSession, actor: Principal, tenant_id: int,
                      since: datetime, until: datetime) -> PolicyReplay:
    """Screen a date range of the tenant's (and its subtree's) history with the policy in
    force; new flags become retrospective alerts."""
    from probity.auth.scoping import tenant_in_scope
    from probity.jobs import enqueue

    await tenant_in_scope(session, actor, Perm.policy_manage, tenant_id, body=False)
    if since.tzinfo is None or until.tzinfo is None:
        raise InvalidInput("since and until need a time zone", code="invalid_range")
    if not since < until or until - since > timedelta(days=366):
        raise InvalidInput("the range must run forwards and cover at most a year",
                           code="invalid_range")
    chain = await policy_chain(session, tenant_id)
    row = PolicyReplay(tenant_id=tenant_id, kind="retro", overlay=None, overlay_sha256=None,
                       base_key=list(chain.key), since=since, until=until, status="queued",
                       total=0, done=0, changed=0, created_by_user_id=actor.user_id)
    session.add(row)
    await session.flush()
    record_audit(session, actor, "policy.retro_screen", target_type="policy_replay",
                 target_id=row.id, tenant_id=tenant_id, after={"since": since, "until": until})
    await enqueue(session, "governance.retro_screen", params={"replay_id": row.id},
                  tenant_id=tenant_id, principal=actor, key=f"retro-screen:{row.id}")
    return row


async def get_replay(session: AsyncSession, actor: Principal, replay_id: int) -> PolicyReplay:
    row = await session.get(PolicyReplay, replay_id)
    if row is None:
        raise NotFound("replay not found")
    tenant = await session.get(Tenant, row.tenant_id)
    if tenant is None or not actor.scope(Perm.policy_read).covers_path(tenant.path):
        raise NotFound("replay not found")
    return row


async def list_replays(session: AsyncSession, actor: Principal, tenant_id: int
                       ) -> list[PolicyReplay]:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None or not actor.scope(Perm.policy_read).covers_path(tenant.path):
        raise NotFound("tenant not found")
    q = select(PolicyReplay).where(PolicyReplay.tenant_id == tenant_id)
    return list((await session.scalars(q.order_by(PolicyReplay.id.desc()).limit(20))).all())


async def check_published_replay(session: AsyncSession, tenant_id: int, sha256: str,
                                 chain: PolicyChain, replay_id: int | None,
                                 override_reason: str | None) -> dict[str, Any]:
    """The gate in front of publishing: what to record with the new version."""
    if override_reason:
        return {"replay_id": None, "override_reason": override_reason}
    if replay_id is None:
        raise Conflict("replay the candidate over the last 30 days before publishing it, or "
                       "give an override reason", code="replay_required",
                       template="replay the candidate over the last 30 days before "
                                "publishing it, or give an override reason")
    row = await session.get(PolicyReplay, replay_id)
    if (row is None or row.kind != "replay" or row.tenant_id != tenant_id
            or row.overlay_sha256 != sha256):
        raise Conflict("that replay is not of this overlay for this tenant",
                       code="replay_mismatch",
                       template="that replay is not of this overlay for this tenant")
    if row.status != "done":
        raise Conflict("the replay has not finished yet", code="replay_running",
                       template="the replay has not finished yet")
    if list(chain.key) != list(row.base_key):
        raise Conflict("the policy changed since the replay; replay it again",
                       code="replay_stale",
                       template="the policy changed since the replay; replay it again")
    return {"replay_id": row.id, "override_reason": None}


# -- running (inside the job) ------------------------------------------------------------------


def _filtered(session: AsyncSession, tenant_ids: list[int], since: datetime,
              until: datetime) -> Any:
    return (Message.tenant_id.in_(tenant_ids), Message.kind == MessageKind.text,
            Message.created_at >= since, Message.created_at < until,
            Message.recalled_at.is_(None), Message.sender_role.in_(("customer", "agent")),
            Message.body != "")


async def _policies(session: AsyncSession, tenants: list[Tenant], candidate_of: int | None,
                    overlay: PolicyOverlay | None
                    ) -> tuple[dict[int, CompiledPolicy], dict[int, CompiledPolicy]]:
    """Each tenant's current compiled policy and (for a replay) its candidate; compiled once
    per distinct spec, in worker threads. Identical specs share one object."""
    by_spec: dict[str, CompiledPolicy] = {}

    async def compiled(spec: Any) -> CompiledPolicy:
        import json

        data = spec.to_dict()
        data.pop("version", None)
        key = json.dumps(data, sort_keys=True, ensure_ascii=False)
        if key not in by_spec:
            by_spec[key] = await asyncio.to_thread(compile_policy, spec)
        return by_spec[key]

    current: dict[int, CompiledPolicy] = {}
    candidate: dict[int, CompiledPolicy] = {}
    for t in tenants:
        chain = await policy_chain(session, t.id)
        current[t.id] = (await compiled(effective_spec(chain)) if chain.versions or chain.locks
                         else await asyncio.to_thread(default_policy))
        if overlay is not None and candidate_of is not None:
            candidate[t.id] = await compiled(candidate_spec(chain, candidate_of, overlay))
    return current, candidate


async def _items(session: AsyncSession, tenant_ids: list[int], since: datetime,
                 until: datetime, after_id: int) -> list[ReplayItem]:
    rows = await session.execute(
        select(Message.id, Message.conversation_id, Message.tenant_id, Message.sender_role,
               Message.body).where(*_filtered(session, tenant_ids, since, until),
                                   Message.id > after_id)
        .order_by(Message.id).limit(CHUNK))
    return [ReplayItem(i, c, t, r, b) for i, c, t, r, b in rows]


async def run(session: AsyncSession, row: PolicyReplay, progress: Progress | None = None,
              current: dict[int, CompiledPolicy] | None = None,
              candidate: dict[int, CompiledPolicy] | None = None) -> ReplayTally:
    """Screen the run's messages chunk by chunk in a worker thread; store the outcome on the
    row (flush only). A retro run compares the policy the message was screened with (its
    stored decision) against the policy in force, and raises retrospective alerts."""
    tenants = await _subtree(session, row.tenant_id)
    ids = [t.id for t in tenants]
    overlay = PolicyOverlay.model_validate(row.overlay) if row.overlay is not None else None
    if current is None or candidate is None:
        current, candidate = await _policies(session, tenants, row.tenant_id, overlay)
    if row.kind == "retro":
        from probity.governance.retro import run_retro

        return await run_retro(session, row, ids, current, progress)
    row.status = "running"
    total = int(await session.scalar(select(func.count()).select_from(Message).where(
        *_filtered(session, ids, row.since, row.until))) or 0)
    row.total = total
    tally = ReplayTally()
    last = 0
    while True:
        items = await _items(session, ids, row.since, row.until, last)
        if not items:
            break
        last = items[-1].message_id
        tally.merge(await asyncio.to_thread(replay_batch, items, current, candidate))
        row.done = tally.screened
        if progress is not None:
            progress(tally.screened, total)
    names = {t.id: t.name for t in tenants}
    row.changed = tally.changed
    row.summary = [{"tenant_id": t, "tenant": names.get(t, str(t)), "category": c, "kind": k,
                    "messages": n} for (t, c, k), n in sorted(tally.counts.items())]
    row.samples = [{"tenant_id": ch.tenant_id, "category": c, "kind": k,
                    "message_id": ch.message_id, "conversation_id": ch.conversation_id,
                    "role": ch.role, "before": ch.before, "after": ch.after,
                    "masked": ch.masked[:300]}
                   for (_t, c, k), changes in sorted(tally.samples.items()) for ch in changes]
    row.status = "done"
    row.finished_at = utcnow()
    await session.flush()
    return tally


async def replay_view(session: AsyncSession, actor: Principal, row: PolicyReplay
                      ) -> dict[str, Any]:
    """The run as the viewer may see it: progress (from its job), the counts, and samples —
    with their masked text only where the viewer supervises conversations of that tenant."""
    from probity.models.jobs import Job

    key = f"{'policy-replay' if row.kind == 'replay' else 'retro-screen'}:{row.id}"
    job = await session.scalar(select(Job).where(Job.idempotency_key == key))
    paths = dict((await session.execute(select(Tenant.id, Tenant.path))).all())
    names = dict((await session.execute(select(Tenant.id, Tenant.name))).all())
    supervise = actor.scope(Perm.chat_supervise)
    samples = []
    for s in row.samples or []:
        visible = supervise.covers_path(paths.get(s["tenant_id"], ""))
        samples.append({**s, "tenant": names.get(s["tenant_id"], ""),
                        "masked": s["masked"] if visible else None})
    done = row.done if row.status == "done" else (job.progress_done if job else 0)
    total = row.total if row.status == "done" else (job.progress_total if job else None)
    return {"id": row.id, "tenant_id": row.tenant_id, "kind": row.kind,
            "status": row.status if row.status == "done" else (job.state if job else row.status),
            "since": row.since, "until": row.until, "overlay_sha256": row.overlay_sha256,
            "done": done, "total": total, "changed": row.changed,
            "summary": [{**x, "tenant": names.get(x["tenant_id"], "")}
                        for x in row.summary or []],
            "samples": samples, "created_at": row.created_at, "finished_at": row.finished_at,
            "error": (job.last_error if job and job.state == "failed" else row.error)}
