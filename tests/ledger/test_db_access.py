"""The access log: non-participants' reads of a conversation are recorded (with a reason where
the policy asks for one), participants' are not; auditors list and export them."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from tests.chat.helpers import active_conversation

from probity.models import AccessEntry


async def _entries(db: AsyncSession, conv_id: int) -> list[AccessEntry]:
    return list((await db.scalars(select(AccessEntry).where(
        AccessEntry.target_type == "conversation", AccessEntry.target_id == str(conv_id))
        .order_by(AccessEntry.id))).all())


async def test_participants_reads_are_not_logged(as_user: Any, db: AsyncSession) -> None:
    conv_id, _ = await active_conversation(as_user)
    for who in ("customer", "agent"):
        c = await as_user(who)
        assert (await c.get(f"/api/v1/chat/conversations/{conv_id}/messages")).status_code == 200
        assert (await c.get(f"/api/v1/chat/conversations/{conv_id}")).status_code == 200
    assert await _entries(db, conv_id) == []


async def test_compliance_must_give_a_reason(as_user: Any, db: AsyncSession) -> None:
    conv_id, _ = await active_conversation(as_user)
    comp = await as_user("compliance")
    r = await comp.get(f"/api/v1/chat/conversations/{conv_id}/messages")
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "reason_required" and "reason" in r.json()["detail"]
    r = await comp.get(f"/api/v1/chat/conversations/{conv_id}/messages",
                       params={"reason": "   "})
    assert r.status_code == 422
    assert await _entries(db, conv_id) == []
    r = await comp.get(f"/api/v1/chat/conversations/{conv_id}/messages",
                       params={"reason": "预警 #12 复核"})
    assert r.status_code == 200, r.text
    (entry,) = await _entries(db, conv_id)
    assert entry.actor_name == "compliance" and entry.reason == "预警 #12 复核"
    assert entry.action == "read" and "compliance" in entry.actor_roles
    assert entry.created_at.tzinfo is not None


async def test_reason_optional_for_team_lead_and_when_switched_off(
        as_user: Any, db: AsyncSession, app: Any) -> None:
    conv_id, _ = await active_conversation(as_user)
    lead = await as_user("lead")
    r = await lead.get(f"/api/v1/chat/conversations/{conv_id}")
    assert r.status_code == 200, r.text
    entries = await _entries(db, conv_id)
    assert [(e.actor_name, e.reason) for e in entries] == [("lead", None)]
    app.state.settings.access_reason_required = False
    hr = await as_user("hr")
    assert (await hr.get(f"/api/v1/chat/conversations/{conv_id}/messages")).status_code == 200
    assert [e.actor_name for e in await _entries(db, conv_id)] == ["lead", "hr"]


async def test_auditor_lists_and_exports(as_user: Any, db: AsyncSession) -> None:
    conv_id, _ = await active_conversation(as_user)
    comp = await as_user("compliance")
    reason = "=HYPERLINK(1) 投诉核查"
    assert (await comp.get(f"/api/v1/chat/conversations/{conv_id}/messages",
                           params={"reason": reason})).status_code == 200
    aud = await as_user("auditor")
    rows = (await aud.get("/api/v1/access-log", params={"target_id": str(conv_id)})).json()
    assert [(r["actor_name"], r["reason"]) for r in rows] == [("compliance", reason)]
    r = await aud.get("/api/v1/access-log.csv", params={"target_id": str(conv_id)})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert table[0]["actor_name"] == "compliance"
    assert table[0]["reason"] == "'" + reason  # no formula injection in spreadsheets
    page = await aud.get("/access-log", headers={"accept": "text/html"})
    assert page.status_code == 200 and "投诉核查" in page.text
    # Compliance reads conversations but does not read the access log.
    comp = await as_user("compliance")
    assert (await comp.get("/api/v1/access-log")).status_code == 403


async def test_access_entries_are_append_only(as_user: Any, db: AsyncSession) -> None:
    conv_id, _ = await active_conversation(as_user)
    lead = await as_user("lead")
    assert (await lead.get(f"/api/v1/chat/conversations/{conv_id}")).status_code == 200
    (entry,) = await _entries(db, conv_id)
    for sql in ("UPDATE access_entries SET reason = 'x' WHERE id = :id",
                "DELETE FROM access_entries WHERE id = :id"):
        with pytest.raises(DBAPIError):
            async with db.begin_nested():
                await db.execute(text(sql), {"id": entry.id})
