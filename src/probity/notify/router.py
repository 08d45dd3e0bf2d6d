"""Notification rules (per role, severity, channel) and each user's in-app inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from probity.auth.deps import CurrentPrincipal, Session, commit, require
from probity.auth.permissions import Perm, Principal
from probity.notify import service

router = APIRouter(tags=["notifications"])
CaseManager = Annotated[Principal, Depends(require(Perm.case_manage))]


class RuleCreate(BaseModel):
    tenant_id: int
    channel: str = Field(pattern="^(in_app|email|wecom|dingtalk|feishu)$")
    role: str | None = Field(default=None, max_length=16)
    min_severity: int = Field(default=1, ge=1, le=4)
    events: str = Field(default="case.opened", max_length=200)
    target: str | None = Field(default=None, max_length=500)
    secret: str | None = Field(default=None, max_length=200)


class RuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    tenant_id: int
    channel: str
    role: str | None
    min_severity: int
    events: str
    target: str | None
    active: bool
    has_secret: bool = False


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: int | None
    event: str
    title: str
    body: str
    read_at: datetime | None
    created_at: datetime


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
