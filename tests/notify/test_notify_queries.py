"""Case notifications run inside the chat writer's transaction: their query count must not grow
with the number of rules (every tenant's), nor with rules that share a role (issue 16)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.cases.helpers import tenant

from probity.models import Case, NotificationRule, Tenant
from probity.notify.service import notify_case


async def _count(db: AsyncSession, case: Case) -> int:
    seen: list[str] = []
    target = db.bind.sync_connection  # type: ignore[union-attr]

    def hook(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(target, "before_cursor_execute", hook)
    try:
        await notify_case(db, case, "case.opened")
    finally:
        event.remove(target, "before_cursor_execute", hook)
    return len(seen)


async def _rules(db: AsyncSession, tenant_ids: list[int], n: int) -> None:
    for i in range(n):
        db.add(NotificationRule(tenant_id=tenant_ids[i % len(tenant_ids)], role="compliance",
                                channel="in_app", min_severity=1, events="case.opened"))
    await db.flush()


async def test_notify_case_queries_do_not_grow_with_rules(db: AsyncSession) -> None:
    t = await tenant(db, "ECOM")
    others = list((await db.scalars(select(Tenant.id).where(Tenant.id != t.id))).all())
    case = await db.scalar(select(Case).where(Case.tenant_id == t.id).order_by(Case.id))
    if case is None:
        case = await db.scalar(select(Case).order_by(Case.id))
    assert case is not None
    await _rules(db, [case.tenant_id, *others], 4)
    few = await _count(db, case)
    await _rules(db, [case.tenant_id, *others], 40)
    many = await _count(db, case)
    assert many == few, (few, many)
