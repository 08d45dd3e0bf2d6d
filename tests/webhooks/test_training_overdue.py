"""`training.overdue` end to end: the daily training job finds an overdue assignment and the
subscribed endpoint receives the signed event on a real HTTP receiver — once."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook
from tests.cases.helpers import tenant
from tests.webhooks.conftest import Receiver
from tests.webhooks.test_webhooks import subscribe

from probity.auth.deps import commit
from probity.config import Settings
from probity.jobs import enqueue
from probity.jobs.runtime import InlineRuntime
from probity.models import Assignment, User
from probity.models.base import utcnow
from probity.models.webhooks import WebhookDelivery


async def test_overdue_training_is_delivered_once(db: AsyncSession, as_user: Any,
                                                  receiver: Receiver, jobs: InlineRuntime,
                                                  webhook_settings: Settings) -> None:
    hq = await tenant(db, "HQ")
    admin = await as_user("admin")
    ep = await subscribe(admin, hq.id, receiver.url, ["training.overdue"])
    agent = await db.scalar(select(User).where(User.username == "agent"))
    assert agent is not None
    a = await db.scalar(select(Assignment).where(Assignment.employee_id == agent.employee_id))
    assert a is not None
    a.due_at = utcnow() - timedelta(days=1)
    a.completed_at, a.overdue_notified_at = None, None
    await db.flush()

    await enqueue(db, "training.daily")
    await commit(db)
    await jobs.wait()  # the training job, then the delivery it queued

    bodies = [json.loads(g.body) for g in receiver.got]
    mine = [b for b in bodies if b["data"]["assignment_id"] == a.id]
    assert len(mine) == 1, bodies
    event = Webhook(ep["secret"]).verify(receiver.got[bodies.index(mine[0])].body,
                                         receiver.got[bodies.index(mine[0])].headers)
    assert event["type"] == "training.overdue"
    assert event["tenant_id"] == a.tenant_id
    assert event["data"]["employee_id"] == agent.employee_id
    assert event["data"]["course_id"] == a.course_id
    states = set((await db.scalars(select(WebhookDelivery.state).where(
        WebhookDelivery.event_type == "training.overdue"))).all())
    assert states == {"delivered"}

    # The next morning's run announces nothing again.
    seen = len(receiver.got)
    await enqueue(db, "training.daily")
    await commit(db)
    await jobs.wait()
    assert len(receiver.got) == seen
