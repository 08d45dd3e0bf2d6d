"""Retention and legal hold: a purge removes personal content but keeps every hash (the ledger
still verifies), swaps the append-only triggers only inside its own transaction, and never
touches anything under a legal hold. Rules, holds and purges are themselves ledgered."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from tests.chat.helpers import active_conversation

from probity.auth.deps import after_commit, commit
from probity.config import Settings
from probity.governance import change_settings
from probity.ledger.retention import _saved_triggers, purge, without_triggers
from probity.ledger.service import verify_tenant
from probity.models import Alert, Conversation, LedgerEntry, Message, Tenant
from probity.models.base import utcnow

LATER = timedelta(days=40)  # "now" for the purge: past a 30-day rule


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 30)).save(buf, format="PNG")
    return buf.getvalue()


async def _chat(as_user: Any, settings: Settings) -> tuple[int, list[int], str]:
    """A conversation with a normal message, a blocked one (+ alert) and an image."""
    conv_id, _ = await active_conversation(as_user)
    c: httpx.AsyncClient = await as_user("customer")
    ids = []
    for body in ("我的订单还没发货", "加我vx abc12345，私下聊"):
        r = await c.post(f"/api/v1/chat/conversations/{conv_id}/messages", json={"text": body})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    r = await c.post(f"/api/v1/chat/conversations/{conv_id}/attachments",
                     files={"file": ("a.png", _png(), "image/png")}, data={"kind": "image"})
    assert r.status_code == 201, r.text
    ids.append(r.json()["id"])
    return conv_id, ids, r.json()["message"]["attachment"]


async def _set_rules(db: AsyncSession, as_user: Any, tenant_id: int) -> None:
    # The demo group's standard keeps chat three years (HQ, locked): shorten it for the test.
    hq = await db.scalar(select(Tenant.id).where(Tenant.parent_id.is_(None)))
    assert hq is not None
    await change_settings(db, None, hq, "retention", {"chat_message_days": 30, "alert_days": 30},
                          reason="test", actor_name="test")
    comp = await as_user("compliance")
    for record_type in ("chat.message", "alert.raised"):
        r = await comp.put("/api/v1/retention/rules", json={
            "tenant_id": tenant_id, "record_type": record_type, "days": 30})
        assert r.status_code == 200, r.text


async def _purge(db: AsyncSession, settings: Settings, tenant_id: int,
                 dry_run: bool = False) -> list[Any]:
    outcomes = await purge(db, None, tenant_ids=[tenant_id], dry_run=dry_run,
                           attachments_dir=settings.attachments_dir, after_commit=after_commit,
                           now=utcnow() + LATER)
    await commit(db)
    return outcomes


async def _entries(db: AsyncSession, tenant_id: int, type_: str) -> list[LedgerEntry]:
    return list((await db.scalars(select(LedgerEntry).where(
        LedgerEntry.tenant_id == tenant_id, LedgerEntry.type == type_)
        .order_by(LedgerEntry.seq))).all())


async def test_purge_removes_content_keeps_hashes_and_verifies(
        as_user: Any, db: AsyncSession, settings: Settings) -> None:
    conv_id, msg_ids, sha = await _chat(as_user, settings)
    conv = await db.get(Conversation, conv_id)
    assert conv is not None
    tenant_id = conv.tenant_id
    await _set_rules(db, as_user, tenant_id)
    stored = settings.attachments_dir / sha[:2] / sha[2:4] / sha
    assert stored.exists()
    before = {e.seq: e.entry_hash for e in await _entries(db, tenant_id, "chat.message")}

    dry = await _purge(db, settings, tenant_id, dry_run=True)
    assert {o.record_type: o.purged for o in dry}["chat.message"] >= 3
    assert all(e.payload is not None for e in await _entries(db, tenant_id, "chat.message"))

    outcomes = {o.record_type: o for o in await _purge(db, settings, tenant_id)}
    assert outcomes["chat.message"].purged >= 3 and outcomes["chat.message"].held == 0
    assert outcomes["alert.raised"].purged >= 1
    after = await _entries(db, tenant_id, "chat.message")
    assert all(e.payload is None for e in after)
    assert {e.seq: e.entry_hash for e in after} == before  # hashes kept
    for mid in msg_ids:
        msg = await db.get(Message, mid)
        assert msg is not None and msg.body == "" and msg.spans == []
    assert msg is not None and msg.attachment_sha256 == sha  # the hash stays, the file goes
    assert not stored.exists()
    alert = await db.scalar(select(Alert).where(Alert.message_id == msg_ids[1]))
    assert alert is not None and alert.snippet == ""
    records = await _entries(db, tenant_id, "retention.purge")
    assert {json.loads(r.payload or "{}")["record_type"] for r in records} == {
        "chat.message", "alert.raised"}
    assert all(json.loads(r.payload or "{}")["seqs"] for r in records)
    result = await verify_tenant(db, tenant_id)
    assert result.ok, result.message
    # The triggers are back: nothing else may update or delete.
    for sql in ("UPDATE ledger_entries SET payload = NULL WHERE tenant_id = :t",
                "DELETE FROM ledger_entries WHERE tenant_id = :t",
                "UPDATE messages SET body = 'x' WHERE tenant_id = :t"):
        with pytest.raises(DBAPIError):
            async with db.begin_nested():
                await db.execute(text(sql), {"t": tenant_id})
    # A second run finds nothing left to purge.
    again = {o.record_type: o for o in await _purge(db, settings, tenant_id)}
    assert again["chat.message"].eligible == 0


@pytest.mark.parametrize("subject", ["conversation", "customer", "employee"])
async def test_legal_hold_blocks_the_purge_until_released(
        subject: str, as_user: Any, db: AsyncSession, settings: Settings) -> None:
    conv_id, _msg_ids, sha = await _chat(as_user, settings)
    conv = await db.get(Conversation, conv_id)
    assert conv is not None and conv.agent_employee_id is not None
    tenant_id = conv.tenant_id
    await _set_rules(db, as_user, tenant_id)
    subject_id = {"conversation": conv.id, "customer": conv.customer_id,
                  "employee": conv.agent_employee_id}[subject]
    comp = await as_user("compliance")
    r = await comp.post("/api/v1/legal-holds", json={
        "tenant_id": tenant_id, "subject_type": subject, "subject_id": subject_id,
        "reason": "诉讼保全 2026-民-001"})
    assert r.status_code == 201, r.text
    hold_id = r.json()["id"]
    outcomes = {o.record_type: o for o in await _purge(db, settings, tenant_id)}
    mine = [e for e in await _entries(db, tenant_id, "chat.message")
            if e.payload and json.loads(e.payload)["conversation_id"] == conv_id]
    assert len(mine) >= 3  # untouched
    assert outcomes["chat.message"].held >= 3
    assert (settings.attachments_dir / sha[:2] / sha[2:4] / sha).exists()
    held = await _entries(db, tenant_id, "legal_hold.set")
    assert json.loads(held[-1].payload or "{}")["hold_id"] == hold_id
    # Released: the next purge takes them.
    r = await comp.post(f"/api/v1/legal-holds/{hold_id}/release", json={"reason": "结案"})
    assert r.status_code == 200 and r.json()["released_at"]
    assert (await comp.post(f"/api/v1/legal-holds/{hold_id}/release",
                            json={"reason": "again"})).status_code == 409
    assert (await _entries(db, tenant_id, "legal_hold.release"))
    await _purge(db, settings, tenant_id)
    assert all(e.payload is None for e in await _entries(db, tenant_id, "chat.message"))
    assert (await verify_tenant(db, tenant_id)).ok


async def test_failed_purge_leaves_the_triggers(db: AsyncSession, dialect: str) -> None:
    class Boom(Exception):
        pass

    before = await _saved_triggers(db, "ledger_entries")
    assert len(before) >= 2
    with pytest.raises(Boom):
        async with db.begin_nested(), without_triggers(db, ["ledger_entries"]):
            assert await _saved_triggers(db, "ledger_entries") == []
            raise Boom
    assert await _saved_triggers(db, "ledger_entries") == before
    async with db.begin_nested(), without_triggers(db, ["ledger_entries", "messages"]):
        pass
    assert await _saved_triggers(db, "ledger_entries") == before


async def test_api_rules_holds_and_purge_access(as_user: Any, db: AsyncSession) -> None:
    comp = await as_user("compliance")
    tenant_id = (await comp.get("/api/v1/me")).json().get("tenant_id", 1)
    # chat.message: at least 1,095 days under the demo group's standard.
    r = await comp.put("/api/v1/retention/rules", json={
        "tenant_id": tenant_id, "record_type": "chat.message", "days": 1200})
    assert r.status_code == 200, r.text
    r = await comp.put("/api/v1/retention/rules", json={
        "tenant_id": tenant_id, "record_type": "chat.message", "days": 1500})
    assert r.json()["days"] == 1500
    assert (await comp.put("/api/v1/retention/rules", json={
        "tenant_id": 999_999, "record_type": "chat.message", "days": 5})).status_code == 422
    assert (await comp.post("/api/v1/legal-holds", json={
        "tenant_id": tenant_id, "subject_type": "customer", "subject_id": 999_999,
        "reason": "x"})).status_code == 422
    r = await comp.post("/api/v1/retention/purge", json={"dry_run": True})
    assert r.status_code == 200 and r.json()["dry_run"] is True
    aud = await as_user("auditor")
    rules = (await aud.get("/api/v1/retention/rules")).json()
    assert any(x["record_type"] == "chat.message" and x["days"] == 1500 for x in rules)
    assert (await aud.put("/api/v1/retention/rules", json={
        "tenant_id": tenant_id, "record_type": "chat.message", "days": 1})).status_code == 403
    assert (await aud.post("/api/v1/retention/purge", json={})).status_code == 403


async def test_purged_entries_stay_in_the_evidence_pack(
        as_user: Any, db: AsyncSession, settings: Settings) -> None:
    """Packs find entries through the ledger_refs index written at append time, not by
    matching payload text, so a purge (payload → NULL) no longer drops them from the pack."""
    import io as _io
    import zipfile

    from probity.ledger.pack import verify_pack
    from probity.ledger.service import default_keyring

    conv_id, msg_ids, _sha = await _chat(as_user, settings)
    conv = await db.get(Conversation, conv_id)
    assert conv is not None
    await _set_rules(db, as_user, conv.tenant_id)
    await _purge(db, settings, conv.tenant_id)
    comp = await as_user("compliance")
    r = await comp.get(f"/api/v1/conversations/{conv_id}/evidence-pack",
                       params={"reason": "retention check"})
    assert r.status_code == 200, r.text
    entries = json.loads(zipfile.ZipFile(_io.BytesIO(r.content)).read("entries.json"))
    messages = [e for e in entries if e["type"] == "chat.message"]
    assert len(messages) >= len(msg_ids) and all(e["payload"] is None for e in messages)
    assert verify_pack(r.content, default_keyring()).ok


async def test_the_group_standard_is_a_floor_for_rules_and_purges(as_user: Any,
                                                                   db: AsyncSession) -> None:
    conv = await db.scalar(select(Conversation).order_by(Conversation.id))
    assert conv is not None
    comp = await as_user("compliance")
    # HQ keeps chat at least 1,095 days (demo standard): a subsidiary cannot go shorter.
    r = await comp.put("/api/v1/retention/rules", json={
        "tenant_id": conv.tenant_id, "record_type": "chat.message", "days": 30})
    assert r.status_code == 422 and "1095" in r.text, r.text
    r = await comp.put("/api/v1/retention/rules", json={
        "tenant_id": conv.tenant_id, "record_type": "chat.message", "days": 2000})
    assert r.status_code == 200, r.text
    # A legal hold needs a written reason (standard); whitespace is not one.
    r = await comp.post("/api/v1/legal-holds", json={
        "tenant_id": conv.tenant_id, "subject_type": "conversation", "subject_id": conv.id,
        "reason": "   "})
    assert r.status_code == 422, r.text
