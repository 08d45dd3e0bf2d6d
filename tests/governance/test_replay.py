"""Replay before publishing (equal to screening each message on its own), the publish gate
(409 without a replay or an override), and retro-screening into retrospective alerts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.governance.replay import ReplayItem, replay_batch
from probity.jobs.runtime import InlineRuntime
from probity.models import Alert, AuditEntry, CaseAlert, Conversation, Message, Tenant
from probity.models.base import utcnow
from probity.models.chat import MessageKind
from probity.policy.schemas import PolicyOverlay
from probity.policy.service import apply_overlay
from probity.screening import compile_policy, default_policy_spec, screen_message

TERM = "龙井茶叶"
CANDIDATE = {"lexicon": [{"term": TERM, "category": "bribe", "severity": 3}]}
# The first is allowed by the shipped policy (the learned layer reads it as ordinary without the
# tenant's term) and flagged once the tenant adds the term.
TEXTS = [("customer", f"{TERM}已经发出了，注意查收"), ("agent", "您好，请问有什么可以帮您？"),
         ("customer", "加我微信 wx123456 私下聊"), ("agent", f"不用了，{TERM}我不能收"),
         ("customer", "订单什么时候发货"), ("customer", f"{TERM}，老规矩，转我支付宝")]


@pytest.fixture
def shared_jobs(app: Any, db: AsyncSession) -> InlineRuntime:
    """Background jobs run on the test's session (its rolled-back transaction)."""

    @asynccontextmanager
    async def same_session() -> AsyncIterator[AsyncSession]:
        yield db

    runtime: InlineRuntime = app.state.jobs
    runtime.sessions = same_session
    return runtime


async def _ids(db: AsyncSession) -> dict[str, int]:
    return {code: tid for code, tid in (await db.execute(select(Tenant.code, Tenant.id)))}


async def _fixture_messages(db: AsyncSession, tenant_code: str) -> list[Message]:
    ids = await _ids(db)
    conv = await db.scalar(select(Conversation).where(
        Conversation.tenant_id == ids[tenant_code]).order_by(Conversation.id).limit(1))
    assert conv is not None
    seq = int(await db.scalar(select(func.max(Message.seq)).where(
        Message.conversation_id == conv.id)) or 0)
    rows = []
    for i, (role, text) in enumerate(TEXTS, 1):
        res = screen_message(text, role)
        rows.append(Message(conversation_id=conv.id, tenant_id=conv.tenant_id, seq=seq + i,
                            sender_role=role, kind=MessageKind.text, body=text,
                            decision=res.decision, categories=list(res.categories),
                            severity=res.severity, spans=[], created_at=utcnow()))
    db.add_all(rows)
    await db.flush()
    return rows


def test_replay_equals_screening_each_message_on_its_own() -> None:
    current = compile_policy(default_policy_spec())
    candidate = compile_policy(apply_overlay(default_policy_spec(),
                                             PolicyOverlay.model_validate(CANDIDATE)))
    items = [ReplayItem(i, 1, 7, role, text) for i, (role, text) in enumerate(TEXTS * 50)]
    tally = replay_batch(items, {7: current}, {7: candidate})
    expected_new: dict[str, int] = {}
    expected_cleared: dict[str, int] = {}
    changed = 0
    for role, text in TEXTS * 50:
        b, a = screen_message(text, role, current), screen_message(text, role, candidate)
        fb = set(b.categories) & {"contact", "bribe", "payment"} if b.decision != "allow" else set()
        fa = set(a.categories) & {"contact", "bribe", "payment"} if a.decision != "allow" else set()
        changed += bool(fa ^ fb) or b.decision != a.decision
        for c in fa - fb:
            expected_new[c] = expected_new.get(c, 0) + 1
        for c in fb - fa:
            expected_cleared[c] = expected_cleared.get(c, 0) + 1
    assert tally.screened == len(items) and tally.changed == changed
    assert {c: n for (_t, c, k), n in tally.counts.items() if k == "new"} == expected_new
    assert {c: n for (_t, c, k), n in tally.counts.items() if k == "cleared"} == expected_cleared
    assert expected_new.get("bribe", 0) >= 50  # the fixture does change decisions


async def test_replay_job_then_publish_gate(as_user: Any, db: AsyncSession,
                                            shared_jobs: InlineRuntime) -> None:
    ids = await _ids(db)
    fixture = await _fixture_messages(db, "ECOM")
    admin = await as_user("admin")
    url = f"/api/v1/policies/{ids['ECOM']}"
    r = await admin.put(url, json=CANDIDATE)
    assert r.status_code == 409 and r.json()["code"] == "replay_required"
    r = await admin.post(f"{url}/replays", json=CANDIDATE)
    assert r.status_code == 202, r.text
    replay_id = r.json()["id"]
    await shared_jobs.wait()
    view = (await admin.get(f"/api/v1/replays/{replay_id}")).json()
    assert view["status"] == "done" and view["done"] == view["total"] > 0
    # Equal to screening each replayed message on its own with both policies.
    current = compile_policy(default_policy_spec())
    candidate = compile_policy(apply_overlay(default_policy_spec(),
                                             PolicyOverlay.model_validate(CANDIDATE)))
    msgs = (await db.scalars(select(Message).where(
        Message.tenant_id.in_([ids["ECOM"], ids["ECOM-SOUTH"]]),
        Message.kind == MessageKind.text, Message.recalled_at.is_(None),
        Message.sender_role.in_(("customer", "agent")), Message.body != ""))).all()
    new_bribes = {m.id for m in msgs
                  if "bribe" in screen_message(m.body, m.sender_role, candidate).categories
                  and screen_message(m.body, m.sender_role, candidate).decision != "allow"
                  and not ("bribe" in screen_message(m.body, m.sender_role, current).categories
                           and screen_message(m.body, m.sender_role, current).decision
                           != "allow")}
    counted = sum(s["messages"] for s in view["summary"]
                  if s["category"] == "bribe" and s["kind"] == "new")
    assert counted == len(new_bribes) and {m.id for m in fixture} & new_bribes
    assert {s["tenant"] for s in view["summary"]} <= {"廉盾电商有限公司", "廉盾电商华南大区"}
    assert view["samples"] and view["samples"][0]["masked"] is not None  # HQ admin supervises
    # Samples' text is for those who may read those conversations: HR of ECOM may.
    # Publishing: a replay of another overlay does not count; this one does.
    r = await admin.put(url, json={"lexicon": [], "replay_id": replay_id})
    assert r.status_code == 409 and r.json()["code"] == "replay_mismatch"
    r = await admin.put(url, json={**CANDIDATE, "replay_id": replay_id, "note": "tea"})
    assert r.status_code == 201, r.text
    # The chain changed since: the same replay is now stale.
    r = await admin.put(url, json={**CANDIDATE, "replay_id": replay_id})
    assert r.status_code == 409 and r.json()["code"] == "replay_stale"
    r = await admin.put(url, json={**CANDIDATE, "override_reason": "same again, on purpose"})
    assert r.status_code == 201
    audit = (await db.scalars(select(AuditEntry).where(AuditEntry.action == "policy.change")
                              .order_by(AuditEntry.id))).all()
    assert audit[-2].after["replay_id"] == replay_id
    assert audit[-1].after["override_reason"] == "same again, on purpose"


async def test_retro_screening_raises_retrospective_alerts(as_user: Any, db: AsyncSession,
                                                           shared_jobs: InlineRuntime) -> None:
    ids = await _ids(db)
    fixture = await _fixture_messages(db, "ECOM")
    admin = await as_user("admin")
    r = await admin.put(f"/api/v1/policies/{ids['HQ']}",
                        json={**CANDIDATE, "override_reason": "seen in cases"})
    assert r.status_code == 201
    since = min(m.created_at for m in fixture).isoformat()
    r = await admin.post(f"/api/v1/policies/{ids['ECOM']}/retro",
                         json={"since": since, "until": utcnow().isoformat()})
    assert r.status_code == 202, r.text
    await shared_jobs.wait()
    view = (await admin.get(f"/api/v1/replays/{r.json()['id']}")).json()
    assert view["status"] == "done" and view["changed"] >= 1
    allowed_before = {m.id for m in fixture if m.decision == "allow"}
    alerts = (await db.scalars(select(Alert).where(Alert.source == "retro_screening"))).all()
    assert alerts and {a.message_id for a in alerts} <= allowed_before
    for a in alerts:
        assert a.decision == "retro" and a.evidence and a.evidence["retrospective"] is True
        # It joined a case like any other alert.
        assert await db.scalar(select(CaseAlert.case_id).where(CaseAlert.alert_id == a.id))
    # The messages themselves are unchanged: delivered then, never a real-time block.
    for m in fixture:
        await db.refresh(m)
        assert m.decision != "block" or m.id not in allowed_before
