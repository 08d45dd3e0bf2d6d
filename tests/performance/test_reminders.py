"""Cycle reminders: leads are told an ended cycle waits for review, HR that a reviewed one
waits for sign-off; each person once per cycle and stage, whatever how often the job runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.performance.helpers import ids, setup_cycle

from probity.jobs.registry import get_task, load_tasks
from probity.models import Notification, User
from probity.performance.reminders import send_cycle_reminders

AFTER_MONTH = datetime(2027, 4, 2, 3, 0, tzinfo=UTC)


async def _reminded(db: AsyncSession, username: str, event: str, cycle_id: int) -> int:
    uid = await db.scalar(select(User.id).where(User.username == username))
    return int(await db.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == uid, Notification.event == event,
        Notification.body.contains(f"/performance/cycles/{cycle_id}"))) or 0)


async def test_review_then_signoff_reminders_once_each(as_user: Any, db: AsyncSession) -> None:
    t = await ids(db)
    cycle = await setup_cycle(await as_user("hr"), t["ecom"].id)
    # Still running: nobody is reminded of it yet (the demo's own cycles may be).
    await send_cycle_reminders(db, datetime(2027, 3, 20, tzinfo=UTC))
    assert await _reminded(db, "lead", "performance.review_due", cycle["id"]) == 0
    assert await send_cycle_reminders(db, AFTER_MONTH) > 0
    assert await _reminded(db, "lead", "performance.review_due", cycle["id"]) == 1
    assert await _reminded(db, "hr", "performance.review_due", cycle["id"]) == 0
    assert await send_cycle_reminders(db, AFTER_MONTH) == 0  # idempotent
    lead = await as_user("lead")
    assert (await lead.post(f"/api/v1/performance/cycles/{cycle['id']}/review")).status_code \
        == 200
    await send_cycle_reminders(db, AFTER_MONTH)
    assert await _reminded(db, "hr", "performance.signoff_due", cycle["id"]) == 1
    assert await _reminded(db, "lead", "performance.signoff_due", cycle["id"]) == 0
    note = await db.scalar(select(Notification).where(
        Notification.event == "performance.signoff_due"))
    assert note is not None and "请签字确认" in note.title


def test_reminders_are_a_scheduled_job() -> None:
    from probity.jobs.registry import SCHEDULES

    load_tasks()
    assert get_task("performance.cycle_reminders")
    assert any(s.task == "performance.cycle_reminders" for s in SCHEDULES.values())
