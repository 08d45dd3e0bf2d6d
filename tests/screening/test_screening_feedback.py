"""Reviewer feedback round trip: compliance labels an alert a false positive and marks an allowed
message "missed"; the labels (with the policy version) export as training lines, and a model
trained with them scores the missed message higher than one trained without."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.chat.helpers import active_conversation

from probity.alerts.feedback import export_training_lines
from probity.models import Alert, AuditEntry, Message, ScreeningLabel
from probity.screening.intent import load_model
from probity.screening.train import train_files

MISSED = "明天老地方见，东西带上"


async def _send(as_user: Any, who: str, conv_id: int, text: str) -> dict[str, Any]:
    c: httpx.AsyncClient = await as_user(who)
    r = await c.post(f"/api/v1/chat/conversations/{conv_id}/messages", json={"text": text})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_feedback_to_training_round_trip(as_user: Any, db: AsyncSession,
                                               tmp_path: Path) -> None:
    conv_id, _team = await active_conversation(as_user)
    missed = await _send(as_user, "customer", conv_id, MISSED)
    assert missed["decision"] == "allow"
    await _send(as_user, "customer", conv_id, "加我微信 abc12345")
    alert = await db.scalar(select(Alert).where(Alert.conversation_id == conv_id))
    assert alert is not None

    reviewer = await as_user("compliance")
    r = await reviewer.post(f"/api/v1/alerts/{alert.id}/label",
                            json={"verdict": "false_positive", "note": "test"})
    assert r.status_code == 201, r.text
    r = await reviewer.post(f"/api/v1/messages/{missed['id']}/missed",
                            json={"categories": ["contact"]})
    assert r.status_code == 201, r.text
    body = r.json()
    version = await db.scalar(select(Message.policy_version).where(Message.id == missed["id"]))
    assert body["verdict"] == "missed" and body["policy_version"] == version
    # bad input: no category, unknown verdict, a flagged message marked missed
    assert (await reviewer.post(f"/api/v1/messages/{missed['id']}/missed",
                                json={"categories": []})).status_code == 422
    assert (await reviewer.post(f"/api/v1/alerts/{alert.id}/label",
                                json={"verdict": "maybe"})).status_code == 422
    flagged_id = alert.message_id
    r = await reviewer.post(f"/api/v1/messages/{flagged_id}/missed",
                            json={"categories": ["contact"]})
    assert r.status_code == 422 and r.json()["code"] == "already_flagged"
    # an agent may not label
    agent = await as_user("agent")
    assert (await agent.post(f"/api/v1/messages/{missed['id']}/missed",
                             json={"categories": ["contact"]})).status_code == 403
    assert await db.scalar(select(AuditEntry.id).where(
        AuditEntry.action == "screening.label.missed"))
    assert len((await db.scalars(select(ScreeningLabel))).all()) >= 2

    lines = [line async for line in export_training_lines(db)]
    by_id = {ln["message_id"]: ln for ln in lines}
    assert by_id[missed["id"]]["label"] == ["contact"]
    assert by_id[flagged_id]["label"] == []

    base = [{"text": t, "role": "customer", "label": lab} for t, lab in (
        ("加我微信吧", ["contact"]), ("你电话多少", ["contact"]), ("订单什么时候到", []),
        ("明天能送到吗", []), ("东西坏了怎么办", []), ("老地方的快递柜满了", []))] * 8
    data = tmp_path / "base.jsonl"
    data.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in base), "utf-8")
    fb = tmp_path / "labels.jsonl"
    fb.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines * 6),
                  "utf-8")
    without, with_fb = tmp_path / "a.json", tmp_path / "b.json"
    train_files([data], without, 1, iterations=80)
    train_files([data, fb], with_fb, 2, iterations=80)
    before = load_model(without).score(MISSED, "customer").scores["contact"]
    after = load_model(with_fb).score(MISSED, "customer").scores["contact"]
    assert after > before + 0.2, (before, after)
