"""A case's evidence pack: chat (with the blocked message), its alerts, payments and case
actions, each ledger entry with its proof — verifies offline; the export is access-logged."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.chat.helpers import active_conversation

from probity.ledger import verify_pack
from probity.ledger.service import default_keyring
from probity.models import AccessEntry, CaseAlert


async def test_case_pack_from_a_screened_conversation(db: AsyncSession, as_user: Any) -> None:
    conv_id, _ = await active_conversation(as_user)
    customer = await as_user("customer")
    for text in ("你好，订单什么时候到？", "加我vx abc12345，私下转账给你"):
        r = await customer.post(f"/api/v1/chat/conversations/{conv_id}/messages",
                                json={"text": text})
        assert r.status_code == 201, r.text
    comp = await as_user("compliance")
    r = await comp.post("/api/v1/cases/group")
    assert r.status_code == 200, r.text
    alerts = (await comp.get(f"/api/v1/alerts?conversation_id={conv_id}")).json()
    assert alerts, "the private-contact message raised an alert"
    case_id = await db.scalar(select(CaseAlert.case_id).where(
        CaseAlert.alert_id == alerts[0]["id"]))
    assert case_id
    await comp.post(f"/api/v1/cases/{case_id}/transition", json={"to": "triage"})
    await comp.post(f"/api/v1/cases/{case_id}/notes", json={"body": "客户称客服主动加微信"})

    # The timeline shows the conversation, and that read is access-logged with the case.
    items = (await comp.get(f"/api/v1/cases/{case_id}/timeline?kinds=message")).json()
    assert any("vx" in i["text"] or i["data"].get("hidden") for i in items)
    logged = await db.scalar(select(AccessEntry).where(
        AccessEntry.target_type == "conversation", AccessEntry.target_id == str(conv_id),
        AccessEntry.reason == f"case #{case_id}"))
    assert logged is not None

    r = await comp.get(f"/api/v1/cases/{case_id}/evidence-pack")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    pack = r.content
    z = zipfile.ZipFile(io.BytesIO(pack))
    types = {e["type"] for e in json.loads(z.read("entries.json"))}
    assert {"chat.message", "alert.raised", "case.opened", "case.transition",
            "case.note"} <= types
    names = z.namelist()
    assert any("case" in n for n in names)
    result = verify_pack(pack, default_keyring())
    assert result.ok, result.problems
    assert result.subject is not None and result.subject["kind"] == "case"
    exported = await db.scalar(select(AccessEntry).where(
        AccessEntry.target_type == "case", AccessEntry.target_id == str(case_id),
        AccessEntry.action == "export"))
    assert exported is not None
    hr = await as_user("hr")  # case.read but no evidence.export
    assert (await hr.get(f"/api/v1/cases/{case_id}/evidence-pack")).status_code == 403
