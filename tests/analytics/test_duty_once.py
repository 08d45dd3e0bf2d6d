"""A monitoring rule that "sends alerts to the HR person on duty at once": HR on duty hears of
each alert once — the duty roster's notification names the rule, in-app and through the
robots — and, with nobody on duty, the rule tells the tenant's HR accounts itself."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.chat.helpers import active_conversation

from probity.auth.deps import commit
from probity.duty import service as duty
from probity.models import Alert, Notification, NotificationRule, Tenant, User
from probity.models.base import utcnow
from probity.models.duty import DutyShift
from probity.monitoring import enforce

BLOCKED = "加我vx abc12345，私下聊"


async def _setup(as_user: Any, db: AsyncSession, monkeypatch: pytest.MonkeyPatch, *,
                 on_duty: bool) -> tuple[int, User, dict[str, Any], list[Any]]:
    ecom = await db.scalar(select(Tenant.id).where(Tenant.code == "ECOM"))
    hr = await db.scalar(select(User).where(User.username == "hr"))
    assert ecom is not None and hr is not None and hr.employee_id is not None
    await db.execute(delete(DutyShift))
    if on_duty:
        now = utcnow()
        await duty.add_duty(db, None, tenant_id=ecom, employee_id=hr.employee_id,
                            starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=2))
    db.add(NotificationRule(tenant_id=ecom, role=None, min_severity=1, channel="wecom",
                            events="duty.alert", target="https://robot.invalid/hook",
                            secret=None, active=True))
    await db.flush()
    sent: list[Any] = []

    async def fake_send(outgoing: list[Any], _settings: Any) -> None:
        sent.extend(outgoing)

    monkeypatch.setattr("probity.notify.service.send_all", fake_send)
    conv_id, team = await active_conversation(as_user)
    compliance = await as_user("compliance")
    r = await compliance.post("/api/v1/monitoring/rules", json={
        "finding_key": f"team:{team}", "title": "测试规则：值班只通知一次",
        "expires_on": (date.today() + timedelta(days=14)).isoformat(), "notify_duty": True})
    assert r.status_code == 201, r.text
    enforce.reset()
    return conv_id, hr, r.json(), sent


async def _send(c: httpx.AsyncClient, conv_id: int, text: str) -> None:
    r = await c.post(f"/api/v1/chat/conversations/{conv_id}/messages", json={"text": text})
    assert r.status_code == 201, r.text
    assert r.json()["decision"] == "block"


async def test_hr_on_duty_is_told_once_naming_the_rule(
        as_user: Any, db: AsyncSession, monkeypatch: pytest.MonkeyPatch) -> None:
    conv_id, hr, rule, sent = await _setup(as_user, db, monkeypatch, on_duty=True)
    since = utcnow()
    agent = await as_user("agent")
    await _send(agent, conv_id, BLOCKED)
    await commit(db)  # the robots go after commit
    alert = await db.scalar(select(Alert).where(Alert.conversation_id == conv_id)
                            .order_by(Alert.id.desc()).limit(1))
    assert alert is not None
    notes = (await db.scalars(select(Notification).where(
        Notification.user_id == hr.id, Notification.created_at >= since,
        Notification.event.in_(["duty.alert", "monitoring.alert"])))).all()
    assert len(notes) == 1, [(n.event, n.title) for n in notes]
    assert notes[0].event == "duty.alert" and notes[0].body == f"/alerts?alert={alert.id}"
    assert f"#{alert.id}" in notes[0].title and rule["title"] in notes[0].title
    assert "Duty alert" not in notes[0].title  # one language in-app
    robots = [o for o in sent if o.channel == "wecom"]
    assert len(robots) == 1 and rule["title"] in robots[0].text and "林芳" in robots[0].text


async def test_with_nobody_on_duty_the_rule_tells_the_hr_accounts(
        as_user: Any, db: AsyncSession, monkeypatch: pytest.MonkeyPatch) -> None:
    conv_id, hr, rule, sent = await _setup(as_user, db, monkeypatch, on_duty=False)
    since = utcnow()
    agent = await as_user("agent")
    await _send(agent, conv_id, BLOCKED)
    await commit(db)
    notes = (await db.scalars(select(Notification).where(
        Notification.user_id == hr.id, Notification.created_at >= since,
        Notification.event.in_(["duty.alert", "monitoring.alert"])))).all()
    assert [n.event for n in notes] == ["monitoring.alert"]
    assert rule["title"] in notes[0].title and str(conv_id) in notes[0].body
    assert [o for o in sent if o.channel == "wecom"] == []  # nobody on duty: no duty robots
