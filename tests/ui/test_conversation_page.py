"""The read-only conversation page (issue 15): compliance and HR reach a conversation from an
alert or a case, read it with names, times and screening decisions, and the reading is recorded
(access log and audit trail); the scope is the `chat.supervise` grant, so a conversation out of
scope is a 404 and a role without it a 403."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.models import AccessEntry, AuditEntry, Conversation, Message, Tenant


async def _linked_from_alerts(client: httpx.AsyncClient) -> list[tuple[str, str]]:
    page = (await client.get("/alerts")).text
    return re.findall(
        r'href="/conversations/(\d+)\?reason=([^"]+)" data-testid="alert-conversation"', page)


async def test_compliance_reads_an_alerts_conversation_and_it_is_recorded(
        as_user: Any, db: AsyncSession) -> None:
    client = await as_user("compliance")
    linked = await _linked_from_alerts(client)
    assert linked, "the alerts feed links no conversation"
    conv_id, reason = linked[0]
    before = await db.scalar(select(func.count()).select_from(AccessEntry).where(
        AccessEntry.target_type == "conversation", AccessEntry.target_id == conv_id))
    page = await client.get(f"/conversations/{conv_id}?reason={reason}")
    assert page.status_code == 200
    html = page.text
    assert 'data-testid="transcript"' in html
    # Names, not roles or ids; times in the one display format; decisions in words.
    names = re.findall(r'data-testid="sender-name">([^<]+)<', html)
    assert names and all(not n.startswith(("agent", "customer", "#")) for n in names)
    assert re.search(r"<time datetime=\"[^\"]+\">\d{4}-\d{2}-\d{2} \d{2}:\d{2}</time>", html)
    assert "拦截" in html or "警告" in html
    assert 'data-testid="access-reason">预警 #' in html
    entries = (await db.scalars(select(AccessEntry).where(
        AccessEntry.target_type == "conversation", AccessEntry.target_id == conv_id)
        .order_by(AccessEntry.id))).all()
    assert len(entries) == before + 1
    assert entries[-1].actor_name == "compliance" and entries[-1].reason.startswith("alert #")
    audit = await db.scalar(select(AuditEntry).where(
        AuditEntry.action == "conversation.read", AuditEntry.target_id == conv_id,
        AuditEntry.actor_name == "compliance"))
    assert audit is not None


async def test_a_reason_is_asked_for_first_and_nothing_is_recorded_without_one(
        as_user: Any, db: AsyncSession) -> None:
    client = await as_user("hr")
    conv_id = (await _linked_from_alerts(client))[0][0]
    before = await db.scalar(select(func.count()).select_from(AccessEntry))
    page = await client.get(f"/conversations/{conv_id}")
    assert page.status_code == 200 and 'data-testid="reason-form"' in page.text
    assert 'data-testid="transcript"' not in page.text
    assert await db.scalar(select(func.count()).select_from(AccessEntry)) == before
    read = await client.get(f"/conversations/{conv_id}", params={"reason": "复核预警"})
    assert 'data-testid="transcript"' in read.text
    assert await db.scalar(select(func.count()).select_from(AccessEntry)) == before + 1


async def test_blocked_text_needs_the_evidence_grant(as_user: Any, db: AsyncSession) -> None:
    blocked = (await db.execute(select(Message.conversation_id, Message.body).where(
        Message.decision == "block", Message.body != "").limit(1))).first()
    assert blocked is not None
    conv_id, body = blocked
    hr = await as_user("hr")  # chat.supervise without chat.evidence
    page = (await hr.get(f"/conversations/{conv_id}", params={"reason": "x"})).text
    assert 'data-testid="withheld"' in page and body not in page
    compliance = await as_user("compliance")  # chat.evidence
    page = (await compliance.get(f"/conversations/{conv_id}", params={"reason": "x"})).text
    assert 'data-testid="withheld"' not in page
    assert re.sub(r"<[^>]+>", "", page).count(body) >= 1


async def test_scope_and_permission(as_user: Any, db: AsyncSession) -> None:
    # A conversation of another subsidiary is a 404 for a subsidiary's compliance officer,
    # like a missing one; a role without chat.supervise gets a 403.
    hq = await db.scalar(select(Tenant.id).where(Tenant.parent_id.is_(None)))
    own = await db.scalar(select(Tenant.id).join(
        Conversation, Conversation.tenant_id == Tenant.id).where(Tenant.parent_id == hq)
        .order_by(Tenant.id).limit(1))
    other = await db.scalar(select(Conversation.id).where(
        Conversation.tenant_id != own).limit(1))
    client = await as_user("compliance")
    if other is not None:
        assert (await client.get(f"/conversations/{other}?reason=x")).status_code == 404
    assert (await client.get("/conversations/999999?reason=x")).status_code == 404
    finance = await as_user("finance")
    assert (await finance.get("/conversations/1?reason=x")).status_code == 403


async def test_the_case_page_links_its_conversations(as_user: Any) -> None:
    client = await as_user("compliance")
    cases = re.findall(r'href="/cases/(\d+)"', (await client.get("/cases")).text)
    for case_id in cases:
        page = (await client.get(f"/cases/{case_id}")).text
        links = re.findall(r'href="/conversations/(\d+)\?reason=case%20%23(\d+)"', page)
        if links:
            assert all(c == case_id for _conv, c in links)
            return
    raise AssertionError("no case page links a conversation")


async def test_english_page(as_user: Any) -> None:
    client = await as_user("compliance")
    conv_id = (await _linked_from_alerts(client))[0][0]
    client.cookies.set("lang", "en")
    page = (await client.get(f"/conversations/{conv_id}", params={"reason": "review"},
                             headers={"Accept-Language": "en"})).text
    assert "Read-only: your reading is recorded." in page
