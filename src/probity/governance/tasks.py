"""Governance background work: policy replays and retro-screening (probity.jobs tasks)."""

from __future__ import annotations

from typing import Any

from probity.auth.permissions import Perm
from probity.jobs import JobContext, task
from probity.models import PolicyReplay


@task("governance.policy_replay", perm=Perm.policy_read)
async def policy_replay(ctx: JobContext, *, replay_id: int) -> dict[str, Any]:
    """Replay a candidate screening policy over the last 30 days (see governance.replays)."""
    return await _run(ctx, replay_id)


@task("governance.retro_screen", perm=Perm.policy_read)
async def retro_screen(ctx: JobContext, *, replay_id: int) -> dict[str, Any]:
    """Screen a date range with the published policy; new flags → retrospective alerts."""
    return await _run(ctx, replay_id)


async def _run(ctx: JobContext, replay_id: int) -> dict[str, Any]:
    from probity.governance.replays import run

    row = await ctx.db.get(PolicyReplay, replay_id)
    if row is None:
        return {"replay_id": replay_id, "skipped": "no such run"}
    if row.status == "done":  # a repeated delivery: the outcome is stored
        return {"replay_id": row.id, "changed": row.changed}
    tally = await run(ctx.db, row, lambda done, total: ctx.progress(done, total,
                                                                     stage=row.kind))
    return {"replay_id": row.id, "screened": tally.screened, "changed": tally.changed}
