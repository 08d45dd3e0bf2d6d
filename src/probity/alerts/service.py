"""Alert queries, always narrowed to the caller's `alerts.read` scope."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Perm, Principal
from probity.errors import NotFound
from probity.models import Alert, Tenant


def _scoped(principal: Principal) -> Select[Alert]:
    scope = principal.scope(Perm.alerts_read)
    return select(Alert).where(scope.filter(Alert.tenant_id, Alert.org_unit_id))


async def list_alerts(session: AsyncSession, principal: Principal, *, limit: int = 50,
                      offset: int = 0, decision: str | None = None,
                      conversation_id: int | None = None, after_id: int | None = None
                      ) -> list[Alert]:
    q = _scoped(principal)
    if decision:
        q = q.where(Alert.decision == decision)
    if conversation_id is not None:
        q = q.where(Alert.conversation_id == conversation_id)
    if after_id is not None:
        q = q.where(Alert.id > after_id)
    q = q.order_by(Alert.id.desc()).limit(limit).offset(offset)
    return list((await session.scalars(q)).all())


async def get_alert(session: AsyncSession, principal: Principal, alert_id: int) -> Alert:
    alert = await session.scalar(_scoped(principal).where(Alert.id == alert_id))
    if alert is None:
        raise NotFound("no such alert")
    return alert


class FeedFilter:
    """Decides, per live event, whether it falls inside a subscriber's scope."""

    def __init__(self, tenant_ids: frozenset[int], org_unit_ids: frozenset[int]) -> None:
        self.tenant_ids = tenant_ids
        self.org_unit_ids = org_unit_ids

    def covers(self, alert: dict[str, Any]) -> bool:
        return alert.get("tenant_id") in self.tenant_ids or (
            alert.get("org_unit_id") in self.org_unit_ids)


async def feed_filter(session: AsyncSession, principal: Principal) -> FeedFilter:
    scope = principal.scope(Perm.alerts_read)
    ids: frozenset[int] = frozenset()
    if scope.tenant_paths:
        ids = frozenset((await session.scalars(
            select(Tenant.id).where(scope.tenant_ids_query()))).all())
    return FeedFilter(ids, frozenset(scope.org_unit_ids))
