"""Helpers shared by the chat API tests."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import Order, RoleAssignment, User
from probity.models import Role as R


async def team_agents(db: AsyncSession, team_id: int) -> list[str]:
    rows = (await db.execute(
        select(User.username).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role == R.agent, RoleAssignment.org_unit_id == team_id)
        .order_by(User.id))).scalars().all()
    return list(rows)


async def go_available(as_user: Any, username: str, available: bool = True) -> httpx.AsyncClient:
    c: httpx.AsyncClient = await as_user(username)
    r = await c.put("/api/v1/chat/agent/availability", json={"available": available})
    assert r.status_code == 200, r.text
    return c


async def start_as_customer(as_user: Any, **body: Any) -> dict[str, Any]:
    c: httpx.AsyncClient = await as_user("customer")
    r = await c.post("/api/v1/chat/conversations", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def active_conversation(as_user: Any) -> tuple[int, int]:
    """`agent` available, `customer` starts: returns (conversation id, team id)."""
    r = await go_available(as_user, "agent")
    team = (await r.put("/api/v1/chat/agent/availability", json={"available": True})).json()
    started = await start_as_customer(as_user)
    conv = started["conversation"]
    assert conv["status"] == "active", started
    return conv["id"], team["org_unit_id"]


async def an_order(db: AsyncSession, customer_username: str | None = None) -> Order:
    q = select(Order).where(Order.contact_phone.is_not(None)).order_by(Order.id).limit(1)
    order = await db.scalar(q)
    assert order is not None
    return order
