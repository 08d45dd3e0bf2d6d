"""Replays of candidate screening policies, and retro-screening runs (API)."""

from __future__ import annotations

from fastapi import APIRouter

from probity.auth.deps import PolicyManager, PolicyReader, Session, commit
from probity.governance import replays
from probity.governance.schemas import ReplayRead, RetroStart
from probity.policy.schemas import PolicyOverlay, ReplayStart

router = APIRouter(tags=["governance"])


@router.post("/api/v1/policies/{tenant_id}/replays", status_code=202,
             response_model=ReplayRead)
async def start_replay(tenant_id: int, data: ReplayStart, session: Session,
                       principal: PolicyManager) -> ReplayRead:
    """Replay a candidate overlay over the last 30 days (a background job); publish it with
    `PUT /api/v1/policies/{tenant_id}` and `replay_id` once it is done."""
    row = await replays.start_replay(session, principal, tenant_id,
                                     PolicyOverlay.model_validate(data.model_dump()))
    view = await replays.replay_view(session, principal, row)
    await commit(session)
    return ReplayRead.model_validate(view)


@router.get("/api/v1/policies/{tenant_id}/replays", response_model=list[ReplayRead])
async def list_replays(tenant_id: int, session: Session, principal: PolicyReader
                       ) -> list[ReplayRead]:
    rows = await replays.list_replays(session, principal, tenant_id)
    return [ReplayRead.model_validate(await replays.replay_view(session, principal, r))
            for r in rows]


@router.get("/api/v1/replays/{replay_id}", response_model=ReplayRead)
async def get_replay(replay_id: int, session: Session, principal: PolicyReader) -> ReplayRead:
    row = await replays.get_replay(session, principal, replay_id)
    return ReplayRead.model_validate(await replays.replay_view(session, principal, row))


@router.post("/api/v1/policies/{tenant_id}/retro", status_code=202, response_model=ReplayRead)
async def start_retro(tenant_id: int, data: RetroStart, session: Session,
                      principal: PolicyManager) -> ReplayRead:
    """Screen a date range of history with the policy in force: retrospective alerts."""
    row = await replays.start_retro(session, principal, tenant_id, data.since, data.until)
    view = await replays.replay_view(session, principal, row)
    await commit(session)
    return ReplayRead.model_validate(view)
