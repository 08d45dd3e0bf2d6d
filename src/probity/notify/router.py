"""Notification rules (per role, severity, channel) and each user's in-app inbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from probity.auth.deps import CurrentPrincipal, Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.notify import service
from probity.notify.schemas import NotificationRead, RuleCreate, RuleRead

router = APIRouter(tags=["notifications"])
CaseManager = Annotated[Principal, Depends(require(Perm.case_manage))]


def _rule(rule: object) -> RuleRead:
    out = RuleRead.model_validate(rule)
    out.has_secret = bool(getattr(rule, "secret", None))  # the secret itself is never returned
    return out


@router.get("/api/v1/notify/rules", response_model=list[RuleRead])
async def list_rules(session: Session, principal: CaseManager) -> list[RuleRead]:
    return [_rule(r) for r in await service.list_rules(session, principal)]


@router.post("/api/v1/notify/rules", response_model=RuleRead, status_code=201)
async def create_rule(body: RuleCreate, session: Session, principal: CaseManager) -> RuleRead:
    rule = await service.create_rule(session, principal, body.model_dump())
    await commit(session)
    return _rule(rule)


@router.delete("/api/v1/notify/rules/{rule_id}", response_model=RuleRead)
async def deactivate_rule(rule_id: int, session: Session, principal: CaseManager) -> RuleRead:
    rule = await service.deactivate_rule(session, principal, rule_id)
    await commit(session)
    return _rule(rule)


@router.get("/api/v1/notifications", response_model=list[NotificationRead])
async def my_notifications(session: Session, principal: CurrentPrincipal, unread: bool = False,
                           limit: Annotated[int, Query(ge=1, le=200)] = 50
                           ) -> list[NotificationRead]:
    rows = await service.my_notifications(session, principal, unread=unread, limit=limit)
    return [NotificationRead.model_validate(n) for n in rows]


@router.post("/api/v1/notifications/{notification_id}/read", response_model=NotificationRead)
async def mark_read(notification_id: int, session: Session, principal: CurrentPrincipal
                    ) -> NotificationRead:
    n = await service.mark_read(session, principal, notification_id)
    await commit(session)
    return NotificationRead.model_validate(n)
