"""What an alert row on a page shows: the sender's name, the case it joined, the customer, and
the message text for roles that may read blocked content (the masked snippet otherwise)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.auth.permissions import Perm, Principal
from probity.models import Alert, CaseAlert, Customer, Employee, Message, User

FILTERS = ("decision", "category", "source")


@dataclass(frozen=True)
class AlertRow:
    alert: Alert
    sender: str | None  # the sender's display name, when a person sent it
    agent: str | None  # the agent concerned (finance alerts name one)
    customer: str | None
    case_id: int | None
    text: str  # the message for evidence readers, else the masked snippet
    readable: bool  # text is the message itself


async def alert_rows(session: AsyncSession, principal: Principal, alerts: list[Alert]
                     ) -> list[AlertRow]:
    if not alerts:
        return []
    user_ids = {a.sender_user_id for a in alerts if a.sender_user_id}
    emp_ids = {a.agent_employee_id for a in alerts if a.agent_employee_id}
    cust_ids = {a.customer_id for a in alerts if a.customer_id}
    users = dict((await session.execute(select(User.id, User.display_name).where(
        User.id.in_(user_ids)))).all()) if user_ids else {}
    emps = dict((await session.execute(select(Employee.id, Employee.name).where(
        Employee.id.in_(emp_ids)))).all()) if emp_ids else {}
    custs = dict((await session.execute(select(Customer.id, Customer.name).where(
        Customer.id.in_(cust_ids)))).all()) if cust_ids else {}
    cases = dict((await session.execute(select(CaseAlert.alert_id, CaseAlert.case_id).where(
        CaseAlert.alert_id.in_([a.id for a in alerts])))).all())
    bodies: dict[int, str] = {}
    if principal.can(Perm.chat_evidence):
        msg_ids = {a.message_id for a in alerts if a.message_id}
        if msg_ids:
            bodies = {i: b for i, b in (await session.execute(select(Message.id, Message.body)
                      .where(Message.id.in_(msg_ids)))).all() if b}
    out = []
    for a in alerts:
        body = bodies.get(a.message_id) if a.message_id else None
        out.append(AlertRow(alert=a, sender=users.get(a.sender_user_id or 0),
                            agent=emps.get(a.agent_employee_id or 0),
                            customer=custs.get(a.customer_id or 0), case_id=cases.get(a.id),
                            text=body or a.snippet, readable=body is not None))
    return out


def matches(alert: Alert, filters: dict[str, Any]) -> bool:
    return all(not v or getattr(alert, k) == v for k, v in filters.items())
