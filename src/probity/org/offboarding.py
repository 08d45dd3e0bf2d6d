"""Offboarding: an employee who leaves loses every way in at once.

Moving an employee to "left" (`service.transition_employee`) calls `offboard`, in the same
transaction: each account bound to the employee is deactivated, its bearer tokens revoked, its
cookie sessions ended (session version bumped) and, after commit, its open WebSockets told to
close (they also re-check their principal on every frame). Its open conversations go to another
agent of the team or back to the team's queue. One audit row per account says what was done.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.permissions import Principal
from probity.auth.sessions import Publish, end_sessions, revoke_tokens
from probity.chat import routing
from probity.models import Employee, User

__all__ = ["offboard"]


async def offboard(session: AsyncSession, actor: Principal, emp: Employee,
                   publish: Publish | None) -> list[int]:
    """Shut every account of *emp*; returns their ids."""
    from probity import webhooks

    await webhooks.emit(session, emp.tenant_id, "employee.left", {
        "employee_id": emp.id, "org_unit_id": emp.org_unit_id,
        "position_id": getattr(emp, "position_id", None)})
    users = list((await session.scalars(
        select(User).where(User.employee_id == emp.id).order_by(User.id))).all())
    ids = [u.id for u in users]
    if not ids:
        return []
    for user in users:
        user.is_active = False
    await session.flush()
    tokens = await revoke_tokens(session, ids)
    await end_sessions(session, ids, publish)
    convs = await routing.requeue_agent(session, ids, publish, actor_user_id=actor.user_id,
                                        reason="employee left")
    for user in users:
        record_audit(session, actor, "user.offboard", target_type="user", target_id=user.id,
                     tenant_id=user.tenant_id, before={"is_active": True},
                     after={"is_active": False, "employee_id": emp.id,
                            "tokens_revoked": tokens,
                            "conversations_requeued": [c.id for c in convs]})
    await session.flush()
    return ids
